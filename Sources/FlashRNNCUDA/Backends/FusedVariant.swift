import Foundation
import FlashRNNCore

/// What shapes one variant of the fused kernels at compile time, and how it is launched.
///
/// Decomposition "a head fits one SM": one CTA per (head n, batch slice of 8 columns). Forward:
/// a warp owns `forwardFeaturesPerWarp` features of every recurrent gate (8 up to DP = 96, two
/// gates per tensor-core tile; 16 beyond, where 8 would leave too few registers per thread).
/// Backward: each 16 input features have one warp, or up to DP = 64 two (16-bit DP = 16: four) warps that split the
/// product's K range and exchange partial sums (`backwardSplit`). R stays on chip for all T
/// steps: the first `forwardRegisterTiles` (backward: `backwardRegisterTiles`) of a warp's
/// tensor-core A tiles live in registers, the rest in shared memory. Batch size and length are
/// run-time values and never select a variant. float32: the tensor cores compute in TF32, so
/// every operand is split in a high and a low TF32 part and each tile takes three products
/// ("3xTF32", float32 accuracy); R's parts double its on-chip size, so float32 holds smaller heads
/// (`maxFloat32HeadDim`) and is not sliced over clusters. The float32 forward is not a
/// tensor-core sweep: `forward_f32_kernel` (fused_forward_f32.cuh) computes R·h in plain float32
/// FMAs (float32-exact, as the CPU float32 backend), one thread per gate row with that row of R in
/// registers, and a batch slice of 1, 2, 4 or 8 columns chosen at launch (`float32ForwardSlice`);
/// its backward is the mirror (`backward_f32_kernel`, fused_backward_f32.cuh: a thread per (gate,
/// input feature) holds that column of R, the same slices), unless FLASHRNN_FUSED_F32_BACKWARD=tf32
/// asks for the 3xTF32 sweep.
public struct FusedVariant: Hashable, Sendable, CustomStringConvertible {
    public let cell: CellKind
    public let dtype: DType
    /// D padded to a multiple of 16 (the tensor-core tile height).
    public let paddedHeadDim: Int

    /// The largest head dimension one CTA holds with no register spill (checked by
    /// `flashrnn compile-kernels` for every variant). Beyond it a head needs a thread-block
    /// cluster, which this backend does not implement yet.
    public static let maxHeadDim = 128
    /// Batch columns one CTA carries (the N extent of one tensor-core product).
    public static let batchSlice = 8
    /// A tiles in registers per warp, forward and backward. Chosen so that every variant up to
    /// `maxHeadDim` compiles without spills under `__launch_bounds__(threads, 1)` on sm_80 and
    /// sm_90 (255 registers per thread); the backward sweep holds more per-step values (all of a
    /// step's inputs are loaded together), so fewer tiles.
    /// float32 A tiles are two fragments each (high and low part), so the limits are halved.
    static let forwardRegisterTileLimit = 24
    static let backwardRegisterTileLimit = 8

    public init(cell: CellKind, dtype: DType, headDim: Int) {
        self.cell = cell
        self.dtype = dtype
        self.paddedHeadDim = (headDim + 15) / 16 * 16
    }

    /// K extent of one tensor-core product: m16n8k16 for 16-bit types, m16n8k8 (TF32) for float32.
    var productK: Int { dtype == .float32 ? 8 : 16 }
    /// Operand elements per 32-bit shared-memory word.
    var elementsPerWord: Int { dtype == .float32 ? 1 : 2 }
    /// Fragments per A tile (R or Rᵀ) and parts of the forward's h operand: 2 for float32 (a high
    /// and a low TF32 part), else 1. Mirrors `MmaTraits<S>::kParts`.
    public var operandParts: Int { dtype == .float32 ? 2 : 1 }
    /// Warps sharing one 16-feature group of the backward sweep (splitting its K range): 16-bit
    /// storage at DP = 16 four, up to DP = 64 two (where the extra warps leave enough registers
    /// and measured faster), else 1. Mirrors `BackwardShape`.
    public var backwardSplit: Int { paddedHeadDim > 64 ? 1 : paddedHeadDim == 16 && dtype != .float32 ? 4 : 2 }
    /// A tiles of Rᵀ per warp of the backward sweep: ⌈G_R · DP / kK / split⌉.
    public var tiles: Int { (cell.gatesR * paddedHeadDim / productK + backwardSplit - 1) / backwardSplit }
    /// Warps and threads of the backward sweep.
    public var warps: Int { paddedHeadDim / 16 * backwardSplit }
    public var threads: Int { warps * 32 }
    /// Features per warp of the forward sweep: 8 (two gates per A tile, so twice the warps to hide
    /// latency) while DP · 4 threads leave enough registers for R, else 16 (one gate per tile).
    /// Mirrors `ForwardShape` in fused_forward.cuh.
    public var forwardFeaturesPerWarp: Int { paddedHeadDim <= 96 ? 8 : 16 }
    public var forwardWarps: Int { dtype == .float32 ? forwardThreads / 32 : paddedHeadDim / forwardFeaturesPerWarp }
    /// float32: one thread per gate row (G_R · DP), at least min(4 · DP, 256) for the cells, rounded
    /// up to whole warps (`ForwardF32Shape`).
    public var forwardThreads: Int {
        guard dtype == .float32 else { return forwardWarps * 32 }
        return (max(cell.gatesR * paddedHeadDim, min(4 * paddedHeadDim, 256)) + 31) / 32 * 32
    }
    /// A tiles of R per warp of the forward sweep: ⌈G_R / gates per tile⌉ · DP / kK.
    public var forwardTiles: Int {
        let gatesPerTile = 16 / forwardFeaturesPerWarp
        return (cell.gatesR + gatesPerTile - 1) / gatesPerTile * (paddedHeadDim / productK)
    }
    /// 0 for float32: its FMA forward holds R rows in registers, not tensor-core tiles.
    public var forwardRegisterTiles: Int { forwardRegisterTiles(splittingH: splitsH) }
    public func forwardRegisterTiles(splittingH: Bool) -> Int {
        if dtype == .float32 { return 0 }
        // The h split's second B fragments cost LSTM at 16 features per warp (DP = 112, 128: 252-254
        // registers without it) 36 spilled bytes on sm_90a with 24 tiles.
        let limit = splittingH && canSplitH && cell == .lstm && forwardFeaturesPerWarp == 16
            ? Self.splitLSTMForwardRegisterTileLimit : Self.forwardRegisterTileLimit
        return min(forwardTiles, limit)
    }
    static let splitLSTMForwardRegisterTileLimit = 20
    public var backwardRegisterTiles: Int { min(tiles, backwardRegisterTileCap / operandParts) }
    /// sLSTM's 16-bit backward from DP = 96 holds 6: with 8 the staged DP = 96 and the register
    /// DP = 112 kernels spilled 8 B at 255 registers on sm_90a (NVRTC 13.0, after the cell's
    /// divisions became a·rcp(b), 2026-11-29).
    var backwardRegisterTileCap: Int {
        cell == .slstm && dtype != .float32 && paddedHeadDim >= 96 ? 6 : Self.backwardRegisterTileLimit
    }

    /// Bytes of shared memory per CTA: R tiles not in registers (16 bytes per lane, in
    /// `operandParts` fragments), plus the double-buffered h operand tile [2, 8 batch, K] with rows
    /// padded by 4 words (in `forwardHParts` parts), plus the Wx ring when the forward stages Wx.
    /// Mirrors `ForwardShape::kSharedBytes` (and the ring after it) in fused_forward.cuh.
    public var forwardSharedBytes: Int {
        forwardSharedBytes(stagingWx: Self.stagesWx && forwardWxRingBytes > 0, splittingH: splitsH)
    }
    /// float32 (FMA forward): h_{t-1} [8, DP] and the gate rows' sums [G_R, 8, DP] for the largest
    /// batch slice, float32 (`ForwardF32Shape::kSharedBytes`).
    public func forwardSharedBytes(stagingWx: Bool, splittingH: Bool) -> Int {
        if dtype == .float32 { return (1 + cell.gatesR) * Self.float32ForwardSlices.last! * paddedHeadDim * 4 }
        return (forwardTiles - forwardRegisterTiles(splittingH: splittingH)) * operandParts * forwardWarps * 32 * 16
            + 2 * forwardHParts(splittingH: splittingH) * 8 * (paddedHeadDim / elementsPerWord + 4) * 4
            + (stagingWx ? forwardWxRingBytes : 0)
    }
    /// Parts of the forward's h operand: float32's two TF32 parts, or with 16-bit storage 2 when
    /// the forward splits h (`splitsH`), else 1. Mirrors `ForwardShape::kHParts`.
    public func forwardHParts(splittingH: Bool) -> Int { operandParts == 2 || (splittingH && canSplitH) ? 2 : 1 }

    /// Whether the forward passes h_{t-1} to the tensor cores as a high and a low 16-bit part
    /// (`SPLIT_H` in fused_forward.cuh): two products per R tile instead of one, so the recurrent
    /// product sees h to about twice the storage type's precision, as the reference does (h in
    /// float64, only the inputs rounded). Rounding h to 16 bits each step made the small-D checks
    /// miss the 2× rule now and then (LSTM float16 D = 1 db, Elman float16 D = 5 db at 2.2×; on
    /// the H200 with the split, 0 of 1152 quick-check judgements over 8 seeds, without it 4).
    /// 16-bit storage only (float32 splits h with R into TF32 parts); `FLASHRNN_FUSED_SPLIT_H=0|1`
    /// overrides the policy (`splitHMaxPaddedHeadDim`) for measuring.
    public var splitsH: Bool { canSplitH && (Self.splitHOverride ?? (paddedHeadDim <= Self.splitHMaxPaddedHeadDim)) }
    /// Not sLSTM from DP = 112: its split forward spilled 72-96 B with 24 register tiles and
    /// 36-60 B with 20 on sm_90a/sm_80 (NVRTC 13.0, 2026-11-29), so it keeps h in one part there
    /// even when `FLASHRNN_FUSED_SPLIT_H=1` asks for the split.
    public var canSplitH: Bool { dtype != .float32 && !(cell == .slstm && paddedHeadDim >= 112) }
    /// The largest padded head whose forward splits h by default. On the H200 (round hsplit,
    /// docs/performance-fused.md) the split cost the LSTM bfloat16 forward 11 % at DP = 16 and 32,
    /// 29 % at 64, 15 % at 128 (GRU, Elman 14-26 % at 64 and 128), and every 2× rule failure it
    /// removed (and every one seen before) was at D = 1 or 5: DP = 16 only.
    public static let splitHMaxPaddedHeadDim = 16
    /// FLASHRNN_FUSED_SPLIT_H, read once: "0" never splits, "1" splits every 16-bit one-SM head,
    /// unset (or anything else) follows the policy.
    public static let splitHOverride: Bool? = splitHOverride(ProcessInfo.processInfo.environment["FLASHRNN_FUSED_SPLIT_H"])
    static func splitHOverride(_ value: String?) -> Bool? { value == "0" ? false : value == "1" ? true : nil }
    /// Whether the forward stages Wx through a shared-memory ring filled by cp.async three steps
    /// ahead (`ForwardShape::kWxStages` in fused_forward.cuh; 16-bit types, D % 8 == 0, 16-byte
    /// aligned Wx rows, else the kernel loads Wx into registers as without it). On unless
    /// FLASHRNN_FUSED_STAGE_WX=0: checked and measured on the H200 (2026-11-29, commit 56817fb:
    /// forward 8-21 % faster at D ≤ 128, docs/performance-fused.md).
    public static let stagesWx = ProcessInfo.processInfo.environment["FLASHRNN_FUSED_STAGE_WX"] != "0"
    /// `FLASHRNN_FUSED_F32_CELL=approximate`: the float32 forward runs its cells in float32 with
    /// approximate transcendentals (the 16-bit kernels' ApproximateMath) instead of float64 rounded
    /// once. For measuring what the accurate cell costs a step only: it does not hold the check's
    /// 2× rule on small outputs, and its module compiles at run time (not in the catalog).
    public static let float32ForwardApproximateCell = ProcessInfo.processInfo.environment["FLASHRNN_FUSED_F32_CELL"] == "approximate"
    /// Bytes of that ring: 4 steps × 8 batch rows × (G_W · DP + 8) 16-bit elements.
    public var forwardWxRingBytes: Int { dtype == .float32 ? 0 : 4 * 8 * (cell.gatesW * paddedHeadDim + 8) * 2 }
    /// Bytes of shared memory per CTA of the backward sweep: Rᵀ tiles not in registers, the dG
    /// tiles, the split warps' exchange, plus the step-input ring when the backward stages them.
    public var backwardSharedBytes: Int { backwardSharedBytes(stagingStepInputs: stagesBackwardInputs) }
    public func backwardSharedBytes(stagingStepInputs: Bool) -> Int {
        backwardBaseSharedBytes + (stagingStepInputs ? backwardRingBytes : 0)
    }
    var backwardBaseSharedBytes: Int {
        (tiles - backwardRegisterTiles) * operandParts * warps * 32 * 16
            + 2 * 2 * 8 * (cell.gatesR * paddedHeadDim / elementsPerWord + 4) * 4   // dG tiles: 2 steps, high and low part
            + (backwardSplit == 4 ? warps * 32 * 16 : backwardSplit == 2 ? warps * 32 * 8 : 0)   // partial sums handed between split warps
    }
    /// Whether the backward stages each step's inputs (float32 pre-activations and previous
    /// states, dStates) through a shared-memory ring filled by cp.async `backwardStages` − 1 steps
    /// ahead (`BackwardShape::kStages` in fused_backward.cuh; 16-bit types, D % 8 == 0, 16-byte
    /// aligned dStates, else the kernel loads them into registers as without it). On unless
    /// FLASHRNN_FUSED_STAGE_BW=0 (round onesm2 on the H200: fw+bw 7-24 % faster at D ≤ 128; the
    /// full check grid with it ran in the third session's last call, docs/performance-fused.md).
    public static let stagesStepInputs = ProcessInfo.processInfo.environment["FLASHRNN_FUSED_STAGE_BW"] != "0"
    /// Whether this variant's backward runs `backward_staged_kernel`: staging is on and the
    /// variant can stage.
    public var stagesBackwardInputs: Bool { Self.stagesStepInputs && (canStageStepInputs || runsFloat32FMABackward) }
    /// 16-bit storage, and a staged kernel that compiles without register spills: on sm_90a
    /// (NVRTC 13.0, `flashrnn compile-kernels`) LSTM DP = 80 (108 B) and sLSTM DP = 112 (8-52 B)
    /// spilled at 255 registers (one warp per 16 features, 8 Rᵀ tiles in registers, plus the
    /// ring's copy addresses), and since the eighth session's step-input changes (round bwdiet)
    /// sLSTM DP = 80 bfloat16 (8 B on sm_80 and sm_90a; float16 none, both kept together);
    /// those keep the register backward. float32 never stages.
    public var canStageStepInputs: Bool {
        dtype != .float32 && !Self.stagedBackwardSpills.contains(where: { $0 == (cell, paddedHeadDim) })
    }
    static let stagedBackwardSpills: [(CellKind, Int)] = [(.lstm, 80), (.slstm, 80), (.slstm, 112)]
    /// Bytes of one step of that ring: 8 batch rows of (G_T + S)·DP + 4 float32 and S·DP + 8
    /// 16-bit elements; 0 for float32 storage (never staged).
    public var backwardStageBytes: Int {
        dtype == .float32 ? 0
            : 8 * ((cell.gatesT + cell.states) * paddedHeadDim + 4) * 4 + 8 * (cell.states * paddedHeadDim + 8) * 2
    }
    /// Steps in the ring: 4, 3 or 2, as many as fit beside the rest in 227 KB.
    public var backwardStages: Int {
        let limit = 227 * 1024
        return [4, 3].first { backwardBaseSharedBytes + $0 * backwardStageBytes <= limit } ?? 2
    }
    public var backwardRingBytes: Int { backwardStages * backwardStageBytes }

    /// float32 has no Wx ring (the kernel compiles staging out), so it keeps the plain entry.
    public var forwardKernelName: String { forwardKernelName(stagingWx: Self.stagesWx && forwardWxRingBytes > 0, splittingH: splitsH) }
    public func forwardKernelName(stagingWx: Bool, splittingH: Bool) -> String {
        if dtype == .float32 {
            return "&flashrnn::fused::forward_f32_kernel<\(KernelNames.cell(cell)), \(paddedHeadDim)"
                + (Self.float32ForwardApproximateCell ? ", flashrnn::ApproximateMath>" : ">")
        }
        return "&flashrnn::fused::\(stagingWx ? "forward_staged_kernel" : "forward_kernel")<\(KernelNames.cell(cell)), \(storage), \(paddedHeadDim), \(forwardRegisterTiles(splittingH: splittingH)), \(splittingH && canSplitH)>"
    }
    public var backwardKernelName: String { backwardKernelName(stagingStepInputs: stagesBackwardInputs) }
    /// float32: the FMA backward (`backward_f32_kernel`) unless `FLASHRNN_FUSED_F32_BACKWARD=tf32`
    /// asks for the 3xTF32 tensor-core sweep (`float32BackwardFMA`).
    public func backwardKernelName(stagingStepInputs: Bool) -> String {
        backwardKernelName(stagingStepInputs: stagingStepInputs, float32FMA: Self.float32BackwardFMA)
    }
    public func backwardKernelName(stagingStepInputs: Bool, float32FMA: Bool) -> String {
        if dtype == .float32 && float32FMA {
            return "&flashrnn::fused::backward_f32_kernel<\(KernelNames.cell(cell)), \(paddedHeadDim), \(stagingStepInputs)>"
        }
        return "&flashrnn::fused::\(stagingStepInputs ? "backward_staged_kernel" : "backward_kernel")<\(KernelNames.cell(cell)), \(storage), \(paddedHeadDim), \(backwardRegisterTiles)>"
    }
    /// Side of the dR kernel's output tile: the smallest of 16, 32, 64 that covers the head, so a
    /// small head does not pay for a 64 × 64 tile it mostly leaves empty.
    public var weightTile: Int { paddedHeadDim <= 16 ? 16 : paddedHeadDim <= 32 ? 32 : 64 }
    private var storage: String { KernelNames.storage(dtype) ?? "flashrnn::F32" }

    /// The forward sweep's module. Forward, backward and dR are separate modules, so inference
    /// compiles only the forward and a cold training call compiles the three side by side.
    public var forwardSpec: KernelModuleSpec {
        KernelModuleSpec(label: "fused \(cell) \(dtype) DP=\(paddedHeadDim) forward", mainSource: mainSource, nameExpressions: [forwardKernelName])
    }
    /// The backward sweep's module (dR and the conversions are `weightGradientModule`'s).
    public var backwardSpec: KernelModuleSpec {
        KernelModuleSpec(label: "fused \(cell) \(dtype) DP=\(paddedHeadDim) backward", mainSource: mainSource, nameExpressions: [backwardKernelName])
    }
    private var mainSource: String {
        KernelNames.prelude + "#include \"fused/fused_entry.cuh\"\n"
            + (dtype == .float32 ? "#include \"fused/fused_forward_f32.cuh\"\n#include \"fused/fused_backward_f32.cuh\"\n" : "")
    }

    /// Whether float32 runs the FMA backward (`backward_f32_kernel`, fused_backward_f32.cuh: Rᵀ·dG
    /// in float32 FMAs, float32-exact as the CPU float32 backend, batch slices as the forward's)
    /// rather than the 3xTF32 tensor-core sweep (`backward_kernel<…, F32, …>`, slices of 8). Read
    /// once: on unless FLASHRNN_FUSED_F32_BACKWARD=tf32 (kept for comparing the two on the GPU).
    public static let float32BackwardFMA = float32BackwardFMA(ProcessInfo.processInfo.environment["FLASHRNN_FUSED_F32_BACKWARD"])
    static func float32BackwardFMA(_ value: String?) -> Bool { value != "tf32" }
    /// Whether the float32 FMA backward adds db across CTAs in float64 (a scratch of G_T·N·D
    /// doubles and an arrival counter; the last CTA rounds each total once) instead of float32
    /// atomics, whose B roundings at slices of 1 missed the 2× rule for db at D = 1, B = 11 (round
    /// f32bwd). Read once: on unless FLASHRNN_FUSED_F32_DB64=0 (the float32 atomics, for comparing).
    public static let float32BackwardDB64 = float32BackwardDB64(ProcessInfo.processInfo.environment["FLASHRNN_FUSED_F32_DB64"])
    static func float32BackwardDB64(_ value: String?) -> Bool { value != "0" }
    /// Whether this variant's backward is the float32 FMA sweep.
    public var runsFloat32FMABackward: Bool { dtype == .float32 && Self.float32BackwardFMA }

    /// float32 FMA backward: the forward's threads (`BackwardF32Shape::kThreads`).
    public var backwardThreads: Int { runsFloat32FMABackward ? forwardThreads : threads }
    /// float32 FMA backward: dG [8, G_R, DP] and the gates' parts of Rᵀ·dG [G_R, 8, DP] for the
    /// largest slice, float32 (`BackwardF32Shape::kSharedBytes`), plus the step-input ring where it
    /// stages: 4 steps of [8, G_T + 2·S, DP] float32 (`kRingBytes`).
    public func float32FMABackwardSharedBytes(stagingStepInputs: Bool) -> Int {
        let slice = Self.float32ForwardSlices.last!
        return 2 * cell.gatesR * slice * paddedHeadDim * 4
            + (stagingStepInputs ? 4 * slice * (cell.gatesT + 2 * cell.states) * paddedHeadDim * 4 : 0)
    }
    /// Bytes of shared memory the chosen backward launches with.
    public var launchedBackwardSharedBytes: Int {
        runsFloat32FMABackward ? float32FMABackwardSharedBytes(stagingStepInputs: Self.stagesStepInputs) : backwardSharedBytes
    }

    /// The float32 backward the switch does not choose (3xTF32 by default, else the FMA sweep),
    /// alone in a module: `flashrnn compile-kernels` compiles and spill-checks it beside `spec`.
    /// nil for 16-bit storage. The backend never loads this module.
    public var otherFloat32BackwardSpec: KernelModuleSpec? {
        guard dtype == .float32 else { return nil }
        let other = !Self.float32BackwardFMA
        return KernelModuleSpec(label: "fused \(cell) \(dtype) DP=\(paddedHeadDim) backward \(other ? "FMA" : "3xTF32")",
                                mainSource: mainSource,
                                nameExpressions: [backwardKernelName(stagingStepInputs: other && Self.stagesStepInputs, float32FMA: other)])
    }

    /// Batch columns per CTA of the float32 forward: the kernel instantiates these
    /// (`forward_f32_kernel`) and takes the smallest that covers ⌈B / gridDim.y⌉.
    public static let float32ForwardSlices = [1, 2, 4, 8]

    /// The float32 forward's batch slice: the smallest whose N · ⌈B / slice⌉ CTAs fit on the
    /// device's SMs at once (a smaller slice is a shorter step on more SMs; the total FMAs are the
    /// same), else the largest. The forward grid is (N, ⌈B / slice⌉).
    public static func float32ForwardSlice(batch: Int, heads: Int, multiprocessors: Int) -> Int {
        float32ForwardSlices.first { heads * ((batch + $0 - 1) / $0) <= multiprocessors } ?? float32ForwardSlices.last!
    }

    /// The slice FLASHRNN_FUSED_F32_SLICE names (1, 2, 4 or 8; for checking and measuring each
    /// slice), read once; nil (the automatic choice) when unset or another value.
    public static let forcedFloat32ForwardSlice = forcedSlice(ProcessInfo.processInfo.environment["FLASHRNN_FUSED_F32_SLICE"])
    static func forcedSlice(_ value: String?) -> Int? {
        value.flatMap(Int.init).flatMap { float32ForwardSlices.contains($0) ? $0 : nil }
    }

    /// The forward the h-split override can request instead of this variant's (16-bit storage;
    /// nil for float32), alone in a module: `flashrnn compile-kernels` compiles and spill-checks it
    /// beside `spec`. The backend never loads this module; it compiles `spec` as chosen at run time.
    public var otherSplitForwardSpec: KernelModuleSpec? {
        guard canSplitH else { return nil }
        return KernelModuleSpec(label: "fused \(cell) \(dtype) DP=\(paddedHeadDim) forward SPLIT_H=\(!splitsH)",
                                mainSource: mainSource,
                                nameExpressions: [forwardKernelName(stagingWx: Self.stagesWx && forwardWxRingBytes > 0, splittingH: !splitsH)])
    }

    public var description: String { "fused \(cell) \(dtype) DP=\(paddedHeadDim)" }

    /// Why the fused backend cannot run a head of `headDim` in `dtype`, or nil.
    /// `sharedMemoryLimit` is the device's opt-in shared memory per block.
    public static func limitation(cell: CellKind, headDim: Int, dtype: DType, sharedMemoryLimit: Int = 227 * 1024) -> String? {
        if dtype == .float32 {
            guard float32Cells.contains(cell) else {
                return "cudaFused float32 has not passed the float32 check for \(cell) on the H200: use cudaAlternating "
                    + "for float32 \(cell) (automatic falls back to it)"
            }
            let largest = maxFloat32HeadDim(cell: cell, sharedMemoryLimit: sharedMemoryLimit)
            guard headDim <= largest else {
                return "cudaFused keeps a float32 \(cell) head on one SM (R rows in registers forward, R columns "
                    + "backward; the 3xTF32 backward keeps R in two TF32 parts), which holds D ≤ \(largest) (beyond, the kernels spill registers or exceed the "
                    + "shared memory); D = \(headDim) in float32: use cudaAlternating (automatic falls back to it), "
                    + "or float16/bfloat16"
            }
        } else if !dtypes.contains(dtype) {
            return "cudaFused computes in float32, float16 or bfloat16, not \(dtype)"
        }
        guard headDim <= maxHeadDim else {
            return "cudaFused keeps a head on one SM, which holds D ≤ \(maxHeadDim); D = \(headDim) needs a "
                + "thread-block cluster, not implemented yet: use cudaAlternating (automatic falls back to it)"
        }
        let variant = FusedVariant(cell: cell, dtype: dtype, headDim: headDim)
        let needed = max(variant.forwardSharedBytes, variant.backwardSharedBytes)
        guard needed <= sharedMemoryLimit else {
            return "cudaFused needs \(needed) bytes of shared memory per block for \(cell) D = \(headDim) in \(dtype); "
                + "the device allows \(sharedMemoryLimit): use cudaAlternating"
        }
        return nil
    }

    /// Storage types every decomposition (one SM, cluster, grid) computes in.
    public static let dtypes: [DType] = [.float16, .bfloat16]
    /// Storage types of the one-SM kernels only (3xTF32 products, `maxFloat32HeadDim`).
    public static let oneSMOnlyDTypes: [DType] = [.float32]
    /// Cells whose float32 sweeps passed the whole float32 check grid on the H200. LSTM and sLSTM
    /// since 2026-11-29 (commits 0b79944, 56817fb); GRU and Elman with the FMA forward (round
    /// f32ffma, docs/performance-fused.md), after one failed case in each earlier check: the
    /// backward at D = 1, B = 11 (fixed by adding the hi·hi products rounded), then the forward
    /// at T = B = D = 1 (one element about 1 ulp off; its product is 0 there, h_{-1} = 0, so the
    /// gap lies in the cell's tanh against the CPU's libm and depends on the draw).
    public static let float32Cells: [CellKind] = [.lstm, .slstm, .gru, .elman]

    /// The largest float32 head (a multiple of 16, at most `maxHeadDim`) whose forward and backward
    /// sweeps fit one SM's shared memory with R in two TF32 parts and compile without spills; 0 if
    /// none does.
    public static func maxFloat32HeadDim(cell: CellKind, sharedMemoryLimit: Int = 227 * 1024) -> Int {
        var largest = 0
        for dp in stride(from: 16, through: min(maxHeadDim, float32CompiledHeadDim(cell)), by: 16) {
            let v = FusedVariant(cell: cell, dtype: .float32, headDim: dp)
            guard max(v.forwardSharedBytes, v.backwardSharedBytes) <= sharedMemoryLimit else { break }
            largest = dp
        }
        return largest
    }

    /// The largest float32 head that compiles without register spills (`flashrnn compile-kernels`,
    /// sm_80 and sm_90a): the FMA forward holds a thread's R row (DP floats) in registers, which
    /// G_R · DP threads allow up to DP = 64, or 128 with one recurrent gate (`ForwardF32Shape`).
    static func float32CompiledHeadDim(_ cell: CellKind) -> Int { cell.gatesR == 1 ? maxHeadDim : 64 }

    /// Every variant the backend can select, for ahead-of-time compilation and spill checks.
    public static var all: [FusedVariant] {
        var result: [FusedVariant] = []
        for cell in CellKind.allCases {
            for dtype in dtypes {
                for dp in stride(from: 16, through: maxHeadDim, by: 16) {
                    result.append(FusedVariant(cell: cell, dtype: dtype, headDim: dp))
                }
            }
            for dp in stride(from: 16, through: float32Cells.contains(cell) ? maxFloat32HeadDim(cell: cell) : 0, by: 16) {
                result.append(FusedVariant(cell: cell, dtype: .float32, headDim: dp))
            }
        }
        return result
    }
}
