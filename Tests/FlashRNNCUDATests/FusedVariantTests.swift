import Foundation
import Testing
import FlashRNNCore
import FlashRNN
@testable import FlashRNNCUDA

/// The fused backend's variant choice and limits, on the CPU (no GPU needed). Numerics are
/// checked on the GPU by `flashrnn check --backend cuda-fused` and scripts/fused/fused_harness.cu.
struct FusedVariantTests {
    @Test(arguments: CellKind.allCases, [DType.float16, .bfloat16])
    func everyHeadDimUpToTheOneSMLimitRuns(cell: CellKind, dtype: DType) {
        for d in [1, 5, 15, 16, 17, 33, 64, 100, 113, 127, FusedVariant.maxHeadDim] {
            #expect(FusedVariant.limitation(cell: cell, headDim: d, dtype: dtype) == nil, "D=\(d)")
        }
    }

    @Test(arguments: CellKind.allCases)
    func aHeadBeyondOneSMIsRefusedNamingTheLimit(cell: CellKind) throws {
        let reason = try #require(FusedVariant.limitation(cell: cell, headDim: FusedVariant.maxHeadDim + 1, dtype: .bfloat16))
        #expect(reason.contains("D ≤ \(FusedVariant.maxHeadDim)"))
        #expect(reason.contains("cudaAlternating"))
        #expect(FusedVariant.limitation(cell: cell, headDim: 768, dtype: .float16) != nil)
    }

    @Test func float64IsRefused() throws {
        let reason = try #require(FusedVariant.limitation(cell: .lstm, headDim: 64, dtype: .float64))
        #expect(reason.contains("cudaFused") && reason.contains("float64"))
        #expect(!FusedVariant.dtypes.contains(.float64) && !FusedVariant.oneSMOnlyDTypes.contains(.float64))
    }

    /// float32 (FMA forward and backward; the 3xTF32 backward's R in two parts also fits) runs on one SM up to D = 64 for the gated cells
    /// and the whole one-SM range for Elman; beyond, the reason names the largest float32 D.
    @Test(arguments: [(CellKind.lstm, 64), (.slstm, 64), (.gru, 64), (.elman, 128)])
    func float32RunsOnOneSMUpToItsLargestHead(cell: CellKind, largest: Int) throws {
        #expect(FusedVariant.maxFloat32HeadDim(cell: cell) == largest)
        for d in [1, 5, 16, 17, 33, 47, largest - 1, largest] {
            #expect(FusedVariant.limitation(cell: cell, headDim: d, dtype: .float32) == nil, "D=\(d)")
        }
        for d in [largest + 1, 129, 256, 768] {
            let reason = try #require(FusedVariant.limitation(cell: cell, headDim: d, dtype: .float32), "D=\(d)")
            #expect(reason.contains("float32") && reason.contains("D ≤ \(largest)") && reason.contains("D = \(d)"))
            #expect(reason.contains("cudaAlternating"))
        }
    }

    /// The float32 check grid has each cell's largest float32 head and the first one beyond it.
    @Test(arguments: CellKind.allCases)
    func theCheckGridCoversTheFloat32Boundary(cell: CellKind) {
        let cases = CorrectnessCheck.shapes(cell: cell, dtype: .float32, backend: .cudaFused, quick: false)
        let largest = FusedVariant.maxFloat32HeadDim(cell: cell)
        #expect(cases.contains { $0.headDim == largest }, "D=\(largest)")
        #expect(cases.contains { $0.headDim == largest + 1 }, "D=\(largest + 1)")
    }

    /// float32: the 3xTF32 backward (FLASHRNN_FUSED_F32_BACKWARD=tf32) keeps tiles with R in two
    /// parts; the forward is the FMA sweep, one thread per gate row (at least min(4·DP, 256) for the
    /// cells), no tiles.
    @Test func float32VariantsSplitTheBackwardOperandsAndRunTheFMAForward() {
        let f32 = FusedVariant(cell: .lstm, dtype: .float32, headDim: 64)
        let f16 = FusedVariant(cell: .lstm, dtype: .float16, headDim: 64)
        #expect(f32.operandParts == 2 && f16.operandParts == 1)
        #expect(f32.backwardRegisterTiles == 4 && f32.forwardRegisterTiles == 0)
        #expect(f32.forwardKernelName == "&flashrnn::fused::forward_f32_kernel<flashrnn::LSTMCell, 64>")
        #expect(f32.forwardKernelName(stagingWx: true, splittingH: true) == f32.forwardKernelName)
        #expect(f32.backwardKernelName(stagingStepInputs: false, float32FMA: false)
                == "&flashrnn::fused::backward_kernel<flashrnn::LSTMCell, flashrnn::F32, 64, 4>")
        for header in ["fused/fused_forward_f32.cuh", "fused/fused_backward_f32.cuh"] {
            #expect(f32.forwardSpec.mainSource.contains(header) && f32.backwardSpec.mainSource.contains(header))
            #expect(!f16.forwardSpec.mainSource.contains(header))
        }
        // Shared memory: h [8, DP] and the gate sums [G_R, 8, DP], float32.
        #expect(f32.forwardSharedBytes == (1 + 4) * 8 * 64 * 4)
        #expect(f32.forwardSharedBytes(stagingWx: true, splittingH: true) == f32.forwardSharedBytes)
    }

    /// float32 runs the FMA backward by default: its kernel takes only the cell and DP (the batch
    /// slice is chosen at launch), the forward's threads and grid, and dG plus the gates' parts of
    /// Rᵀ·dG [2, G_R, 8, DP] float32 in shared memory; 16-bit storage never does.
    @Test(arguments: [(CellKind.lstm, 64, "LSTMCell"), (.slstm, 48, "SLSTMCell"), (.gru, 17, "GRUCell"), (.elman, 128, "ElmanCell"),
                      (.elman, 1, "ElmanCell")])
    func float32RunsTheFMABackward(cell: CellKind, headDim: Int, name: String) {
        let v = FusedVariant(cell: cell, dtype: .float32, headDim: headDim)
        #expect(FusedVariant.float32BackwardFMA)
        #expect(v.runsFloat32FMABackward)
        // Staged (the step inputs through a cp.async ring) unless FLASHRNN_FUSED_STAGE_BW=0.
        #expect(FusedVariant.stagesStepInputs && v.stagesBackwardInputs)
        #expect(v.backwardKernelName == "&flashrnn::fused::backward_f32_kernel<flashrnn::\(name), \(v.paddedHeadDim), true>")
        #expect(v.backwardKernelName(stagingStepInputs: false) == "&flashrnn::fused::backward_f32_kernel<flashrnn::\(name), \(v.paddedHeadDim), false>")
        #expect(v.backwardSpec.nameExpressions == [v.backwardKernelName])
        #expect(v.backwardThreads == v.forwardThreads)
        let base = 2 * cell.gatesR * 8 * v.paddedHeadDim * 4, ring = 4 * 8 * (cell.gatesT + 2 * cell.states) * v.paddedHeadDim * 4
        #expect(v.float32FMABackwardSharedBytes(stagingStepInputs: false) == base)
        #expect(v.float32FMABackwardSharedBytes(stagingStepInputs: true) == base + ring)
        #expect(v.launchedBackwardSharedBytes == base + ring && v.launchedBackwardSharedBytes <= 227 * 1024)
        let f16 = FusedVariant(cell: cell, dtype: .float16, headDim: headDim)
        #expect(!f16.runsFloat32FMABackward && f16.backwardThreads == f16.threads)
        #expect(f16.launchedBackwardSharedBytes == f16.backwardSharedBytes && f16.otherFloat32BackwardSpec == nil)
    }

    /// The other float32 backward (3xTF32 by default) is compiled alone beside each float32 module.
    @Test func theOtherFloat32BackwardIsInTheCatalog() throws {
        let v = FusedVariant(cell: .gru, dtype: .float32, headDim: 32)
        let other = try #require(v.otherFloat32BackwardSpec)
        #expect(other.nameExpressions == ["&flashrnn::fused::backward_kernel<flashrnn::GRUCell, flashrnn::F32, 32, \(v.backwardRegisterTiles)>"])
        #expect(other.label == "fused gru float32 DP=32 backward 3xTF32" && other.mainSource == v.backwardSpec.mainSource)
        let labels = Set(KernelCatalog.all().map(\.label))
        for variant in FusedVariant.all where variant.dtype == .float32 {
            #expect(labels.contains(try #require(variant.otherFloat32BackwardSpec).label), "\(variant)")
        }
    }

    /// FLASHRNN_FUSED_F32_BACKWARD: "tf32" selects the 3xTF32 sweep, anything else the FMA sweep.
    @Test(arguments: [("tf32", false), (nil, true), ("", true), ("fma", true), ("TF32", true)] as [(String?, Bool)])
    func theFloat32BackwardSwitchReadsTF32(value: String?, fma: Bool) {
        #expect(FusedVariant.float32BackwardFMA(value) == fma)
    }

    /// FLASHRNN_FUSED_F32_DB64: the float64 cross-CTA db sum is on unless the variable is "0".
    @Test(arguments: [("1", true), (nil, true), ("", true), ("0", false), ("yes", true)] as [(String?, Bool)])
    func theFloat64DBSumIsTheDefault(value: String?, on: Bool) {
        #expect(FusedVariant.float32BackwardDB64(value) == on)
    }

    @Test(arguments: [(CellKind.lstm, 64, 256), (.lstm, 16, 64), (.slstm, 48, 192), (.gru, 64, 256), (.gru, 16, 64),
                      (.elman, 16, 64), (.elman, 33, 192), (.elman, 64, 256), (.elman, 128, 256)])
    func theFloat32ForwardRunsAThreadPerGateRow(cell: CellKind, headDim: Int, threads: Int) {
        let variant = FusedVariant(cell: cell, dtype: .float32, headDim: headDim)
        #expect(variant.forwardThreads == threads)
        #expect(variant.forwardThreads >= cell.gatesR * variant.paddedHeadDim)
        #expect(variant.forwardWarps * 32 == variant.forwardThreads)
        #expect(variant.forwardSharedBytes == (1 + cell.gatesR) * 8 * variant.paddedHeadDim * 4)
    }

    /// The smallest slice whose N · ⌈B / slice⌉ CTAs fit the SMs, else 8; the grid covers the batch.
    @Test(arguments: [(16, 1, 1), (16, 48, 8), (16, 12, 2), (16, 24, 4), (1, 1, 1), (11, 1, 1), (7, 20, 2),
                      (7, 40, 4), (300, 1, 4), (1000, 1, 8), (1000, 600, 8)])
    func theFloat32ForwardSliceFillsTheSMs(batch: Int, heads: Int, slice: Int) {
        #expect(FusedVariant.float32ForwardSlice(batch: batch, heads: heads, multiprocessors: 132) == slice)
        let shape = ProblemShape(cell: .gru, batch: batch, length: 3, heads: heads, headDim: 8)
        let grid = CUDAFusedBackend.float32ForwardGrid(shape, 132, forcedSlice: nil)
        #expect(grid.0 == heads && grid.2 == 1 && grid.1 * slice >= batch && (grid.1 - 1) * slice < batch)
        // The kernel's slice from gridDim.y: the smallest of 1, 2, 4, 8 covering ⌈B / gridDim.y⌉, within the launch's.
        let columns = (batch + grid.1 - 1) / grid.1
        let kernelSlice = FusedVariant.float32ForwardSlices.first { $0 >= columns } ?? 8
        #expect(kernelSlice <= slice && kernelSlice * grid.1 >= batch)
    }

    @Test(arguments: [("4", 4), ("1", 1), ("8", 8), ("3", 2), ("x", 2), ("", 2)])
    func theFloat32SliceCanBeForcedForMeasuring(value: String, slice: Int) {
        let shape = ProblemShape(cell: .lstm, batch: 16, length: 3, heads: 12, headDim: 64)
        let grid = CUDAFusedBackend.float32ForwardGrid(shape, 132, forcedSlice: FusedVariant.forcedSlice(value))
        #expect(grid.1 == (16 + slice - 1) / slice)
    }

    @Test func paddingRoundsUpToTheTensorCoreTile() {
        #expect(FusedVariant(cell: .lstm, dtype: .bfloat16, headDim: 1).paddedHeadDim == 16)
        #expect(FusedVariant(cell: .lstm, dtype: .bfloat16, headDim: 16).paddedHeadDim == 16)
        #expect(FusedVariant(cell: .lstm, dtype: .bfloat16, headDim: 17).paddedHeadDim == 32)
        #expect(FusedVariant(cell: .gru, dtype: .float16, headDim: 113).paddedHeadDim == 128)
    }

    @Test func everyVariantFitsTheSharedMemoryAndThreadLimits() {
        for variant in FusedVariant.all {
            #expect(variant.forwardSharedBytes <= 227 * 1024, "\(variant)")
            #expect(variant.backwardSharedBytes <= 227 * 1024, "\(variant)")
            #expect(variant.threads <= 1024 && variant.threads % 32 == 0, "\(variant)")
            #expect(variant.forwardThreads <= 1024 && variant.forwardThreads % 32 == 0, "\(variant)")
            #expect(variant.backwardThreads <= 1024 && variant.backwardThreads % 32 == 0, "\(variant)")
            #expect(variant.launchedBackwardSharedBytes <= 227 * 1024, "\(variant)")
            #expect(variant.forwardRegisterTiles <= variant.forwardTiles && variant.backwardRegisterTiles <= variant.tiles)
        }
        // 4 cells × 2 storage types × DP ∈ {16, 32, …, 128}, and float32 up to each cell's largest head
        let float32 = FusedVariant.float32Cells.map { FusedVariant.maxFloat32HeadDim(cell: $0) / 16 }.reduce(0, +)
        #expect(FusedVariant.all.count == 4 * 2 * (FusedVariant.maxHeadDim / 16) + float32)
        #expect(FusedVariant.all.filter { $0.dtype == .float32 }.count == 3 * 4 + 8)
    }

    @Test(arguments: [(1, 16), (16, 16), (17, 32), (32, 32), (33, 64), (64, 64), (113, 64), (128, 64)])
    func theWeightGradientTileIsTheSmallestThatCoversTheHead(headDim: Int, tile: Int) {
        let variant = FusedVariant(cell: .gru, dtype: .bfloat16, headDim: headDim)
        #expect(variant.weightTile == tile)
    }

    @Test(arguments: [(16, 8, 4), (48, 8, 2), (64, 8, 2), (80, 8, 1), (96, 8, 1), (112, 16, 1), (128, 16, 1)])
    func warpLayoutsFollowTheRegisterBudget(headDim: Int, forwardFeatures: Int, backwardSplit: Int) {
        let variant = FusedVariant(cell: .lstm, dtype: .float16, headDim: headDim)
        #expect(variant.forwardFeaturesPerWarp == forwardFeatures)
        #expect(variant.forwardThreads == headDim / forwardFeatures * 32)
        #expect(variant.backwardSplit == backwardSplit)
        #expect(variant.threads == headDim / 16 * backwardSplit * 32)
        // float32 (the TF32 sweep, FLASHRNN_FUSED_F32_BACKWARD=tf32) never splits in four.
        let float32 = FusedVariant(cell: .lstm, dtype: .float32, headDim: headDim)
        #expect(float32.backwardSplit == min(backwardSplit, 2))
    }

    @Test func batchAndLengthNeverSelectAVariant() {
        // The variant is a function of (cell, dtype, D) only; B and T are run-time values.
        let a = FusedVariant(cell: .slstm, dtype: .bfloat16, headDim: 64)
        #expect(a == FusedVariant(cell: .slstm, dtype: .bfloat16, headDim: 64))
        // One kernel per sweep module (dR is WeightGradientModule's, shared by every cell and head).
        #expect(a.forwardSpec.nameExpressions == [a.forwardKernelName] && a.backwardSpec.nameExpressions == [a.backwardKernelName])
        // The names with the rings off (FLASHRNN_FUSED_STAGE_WX=0, _BW=0); the staged names are tested below.
        #expect(a.forwardKernelName(stagingWx: false, splittingH: false) == "&flashrnn::fused::forward_kernel<flashrnn::SLSTMCell, flashrnn::BF16, 64, 8, false>")
        #expect(a.forwardKernelName == a.forwardKernelName(stagingWx: FusedVariant.stagesWx, splittingH: a.splitsH))
        #expect(a.backwardKernelName(stagingStepInputs: false) == "&flashrnn::fused::backward_kernel<flashrnn::SLSTMCell, flashrnn::BF16, 64, 8>")
    }

    /// The Wx ring (on unless FLASHRNN_FUSED_STAGE_WX=0): 4 steps × 8 batch rows × (G_W · DP + 8)
    /// 16-bit elements beside the forward's shared memory, within the limit for every variant
    /// (float32 never stages: no ring).
    @Test func theStagedForwardAddsItsWxRingAndNamesItsKernel() {
        for variant in FusedVariant.all {
            let ring = variant.dtype == .float32 ? 0 : 4 * 8 * (variant.cell.gatesW * variant.paddedHeadDim + 8) * 2
            #expect(variant.forwardWxRingBytes == ring, "\(variant)")
            for split in [false, true] {
                #expect(variant.forwardSharedBytes(stagingWx: true, splittingH: split)
                        == variant.forwardSharedBytes(stagingWx: false, splittingH: split) + ring)
                #expect(variant.forwardSharedBytes(stagingWx: true, splittingH: split) <= 227 * 1024, "\(variant)")
            }
        }
        let v = FusedVariant(cell: .gru, dtype: .float16, headDim: 33)
        #expect(v.forwardKernelName(stagingWx: true, splittingH: false) == "&flashrnn::fused::forward_staged_kernel<flashrnn::GRUCell, flashrnn::F16, 48, 6, false>")
        #expect(v.forwardKernelName(stagingWx: false, splittingH: false) == "&flashrnn::fused::forward_kernel<flashrnn::GRUCell, flashrnn::F16, 48, 6, false>")
    }

    /// The opt-in step-input ring of the backward (FLASHRNN_FUSED_STAGE_BW=1): per step 8 batch
    /// rows of (G_T + S)·DP + 4 float32 and S·DP + 8 16-bit elements, as many steps (4, 3, 2) as
    /// fit beside the rest in 227 KB, for every variant (float32 never stages: no ring).
    @Test func theStagedBackwardAddsItsStepRingAndNamesItsKernel() {
        let limit = 227 * 1024
        for variant in FusedVariant.all {
            let dp = variant.paddedHeadDim, cell = variant.cell
            let step = variant.dtype == .float32 ? 0
                : 8 * ((cell.gatesT + cell.states) * dp + 4) * 4 + 8 * (cell.states * dp + 8) * 2
            let base = variant.backwardSharedBytes(stagingStepInputs: false)
            #expect(variant.backwardStageBytes == step, "\(variant)")
            #expect((2...4).contains(variant.backwardStages), "\(variant)")
            #expect(variant.backwardRingBytes == variant.backwardStages * step, "\(variant)")
            #expect(variant.backwardSharedBytes(stagingStepInputs: true) == base + variant.backwardRingBytes, "\(variant)")
            #expect(variant.backwardSharedBytes(stagingStepInputs: true) <= limit, "\(variant)")
            // The most steps that fit: one more would not (below the cap of 4).
            if variant.backwardStages < 4 { #expect(base + (variant.backwardStages + 1) * step > limit, "\(variant)") }
        }
        let v = FusedVariant(cell: .gru, dtype: .float16, headDim: 33)
        #expect(v.backwardKernelName(stagingStepInputs: true) == "&flashrnn::fused::backward_staged_kernel<flashrnn::GRUCell, flashrnn::F16, 48, 5>")
        #expect(v.backwardKernelName(stagingStepInputs: false) == "&flashrnn::fused::backward_kernel<flashrnn::GRUCell, flashrnn::F16, 48, 5>")
        #expect(v.backwardKernelName == v.backwardKernelName(stagingStepInputs: FusedVariant.stagesStepInputs))
        #expect(v.canStageStepInputs)
    }

    /// The variants whose staged backward spilled (LSTM DP = 80, sLSTM DP = 80 and 112) and
    /// float32 keep the register backward, with or without FLASHRNN_FUSED_STAGE_BW.
    @Test func theSpillingAndFloat32VariantsKeepTheRegisterBackward() {
        for variant in FusedVariant.all {
            let spills = (variant.cell == .lstm && variant.paddedHeadDim == 80)
                || (variant.cell == .slstm && [80, 112].contains(variant.paddedHeadDim))
            #expect(variant.canStageStepInputs == (variant.dtype != .float32 && !spills), "\(variant)")
            // float32 stages in its FMA backward only (the 3xTF32 sweep never does).
            #expect(variant.stagesBackwardInputs
                    == (FusedVariant.stagesStepInputs && (variant.canStageStepInputs || variant.runsFloat32FMABackward)), "\(variant)")
            #expect(variant.backwardKernelName == variant.backwardKernelName(stagingStepInputs: variant.stagesBackwardInputs), "\(variant)")
            #expect(variant.backwardSharedBytes == variant.backwardSharedBytes(stagingStepInputs: variant.stagesBackwardInputs), "\(variant)")
        }
        #expect(!FusedVariant(cell: .lstm, dtype: .bfloat16, headDim: 80).canStageStepInputs)
        #expect(FusedVariant(cell: .lstm, dtype: .bfloat16, headDim: 96).canStageStepInputs)
    }

    /// Ring steps at the sizes the targets measure and at the largest heads: LSTM DP = 128 keeps 3
    /// steps beside its 128.5 KB of Rᵀ and dG tiles, sLSTM DP = 128 (four states) 2.
    @Test(arguments: [(CellKind.lstm, 16, 4), (.lstm, 64, 4), (.lstm, 128, 3), (.slstm, 112, 3), (.slstm, 128, 2),
                      (.gru, 128, 4), (.elman, 128, 4), (.lstm, 47, 4)])
    func theBackwardRingKeepsAsManyStepsAsFit(cell: CellKind, headDim: Int, stages: Int) {
        for dtype in FusedVariant.dtypes {
            #expect(FusedVariant(cell: cell, dtype: dtype, headDim: headDim).backwardStages == stages)
        }
    }

    @Test func theCatalogCompilesEveryFusedVariant() {
        let specs = KernelCatalog.all()
        let labels = Set(specs.map(\.label))
        for variant in FusedVariant.all {
            #expect(labels.contains(variant.forwardSpec.label) && labels.contains(variant.backwardSpec.label))
        }
        // Both h-split choices of every 16-bit forward: the variant's module and the other one's.
        let names = Set(specs.flatMap(\.nameExpressions))
        for variant in FusedVariant.all where variant.canSplitH {
            let staging = FusedVariant.stagesWx && variant.forwardWxRingBytes > 0
            for split in [false, true] { #expect(names.contains(variant.forwardKernelName(stagingWx: staging, splittingH: split)), "\(variant)") }
        }
        // Every 16-bit one-SM variant but sLSTM DP = 112 and 128 (which never split).
        #expect(FusedVariant.all.filter { $0.otherSplitForwardSpec != nil }.count == 4 * 2 * (FusedVariant.maxHeadDim / 16) - 2 * 2)
    }

    /// FLASHRNN_FUSED_SPLIT_H: "0" and "1" override the policy, anything else leaves it.
    @Test(arguments: [("0", false as Bool?), ("1", true), (nil, nil), ("", nil), ("2", nil), ("true", nil)] as [(String?, Bool?)])
    func theSplitHOverrideReadsZeroAndOne(value: String?, override: Bool?) {
        #expect(FusedVariant.splitHOverride(value) == override)
    }

    /// The policy: 16-bit storage splits h at DP = 16 (unless overridden); float32
    /// never takes the flag (its forward is the FMA kernel, which never rounds h), whatever the override says.
    @Test(arguments: CellKind.allCases)
    func sixteenBitForwardsSplitHAndNameIt(cell: CellKind) {
        for variant in FusedVariant.all where variant.cell == cell {
            #expect(variant.canSplitH == (variant.dtype != .float32 && !(cell == .slstm && variant.paddedHeadDim >= 112)), "\(variant)")
            let expected = variant.canSplitH
                && (FusedVariant.splitHOverride ?? (variant.paddedHeadDim <= FusedVariant.splitHMaxPaddedHeadDim))
            #expect(variant.splitsH == expected, "\(variant)")
            if variant.dtype == .float32 {
                #expect(variant.forwardKernelName.hasPrefix("&flashrnn::fused::forward_f32_kernel<"), "\(variant)")
            } else {
                #expect(variant.forwardKernelName.hasSuffix(", \(variant.forwardRegisterTiles), \(expected)>"), "\(variant)")
            }
        }
        #expect(FusedVariant.splitHMaxPaddedHeadDim == 16)
        let f32 = FusedVariant(cell: cell, dtype: .float32, headDim: 16)
        #expect(!f32.canSplitH && !f32.splitsH)
        #expect(f32.forwardKernelName(stagingWx: false, splittingH: true) == f32.forwardKernelName(stagingWx: false, splittingH: false))
        #expect(f32.otherSplitForwardSpec == nil)
    }

    /// The split LSTM forward at 16 features per warp (DP = 112, 128) keeps 20 R tiles in
    /// registers instead of 24 (24 spilled on sm_90a); the rest move to shared memory.
    @Test(arguments: [(CellKind.lstm, 100, 20), (.lstm, 128, 20), (.lstm, 96, 12), (.slstm, 96, 12), (.gru, 128, 24), (.elman, 128, 8)])
    func theSplitLSTMAtSixteenFeaturesPerWarpKeepsFewerRegisterTiles(cell: CellKind, headDim: Int, tiles: Int) {
        for dtype in FusedVariant.dtypes {
            let v = FusedVariant(cell: cell, dtype: dtype, headDim: headDim)
            #expect(v.forwardRegisterTiles(splittingH: true) == tiles)
            #expect(v.forwardRegisterTiles(splittingH: false) == min(v.forwardTiles, 24))
            #expect(v.forwardRegisterTiles == v.forwardRegisterTiles(splittingH: v.splitsH))
            #expect(v.forwardKernelName(stagingWx: true, splittingH: true).hasSuffix(", \(tiles), true>"))
            let moved = v.forwardRegisterTiles(splittingH: false) - tiles
            #expect(v.forwardSharedBytes(stagingWx: false, splittingH: true) - v.forwardSharedBytes(stagingWx: false, splittingH: false)
                    == moved * v.forwardWarps * 32 * 16 + 2 * 8 * (v.paddedHeadDim / 2 + 4) * 4)
        }
    }

    /// The split doubles the h tile [2 steps, 8 batch, DP / 2 + 4 words] of 16-bit storage and
    /// nothing else; float32's h tile is in two parts either way.
    @Test(arguments: [(CellKind.lstm, 1), (.lstm, 64), (.lstm, 96), (.slstm, 47), (.slstm, 96), (.gru, 113), (.elman, 5), (.elman, 128)])
    func theSplitDoublesTheSixteenBitHTile(cell: CellKind, headDim: Int) {
        for dtype in FusedVariant.dtypes {
            let v = FusedVariant(cell: cell, dtype: dtype, headDim: headDim)
            let hTile = 2 * 8 * (v.paddedHeadDim / 2 + 4) * 4
            let rShared = (v.forwardTiles - v.forwardRegisterTiles(splittingH: false)) * v.forwardWarps * 32 * 16
            for staging in [false, true] {
                let ring = staging ? v.forwardWxRingBytes : 0
                #expect(v.forwardSharedBytes(stagingWx: staging, splittingH: false) == rShared + hTile + ring)
                #expect(v.forwardSharedBytes(stagingWx: staging, splittingH: true) == rShared + 2 * hTile + ring)
            }
            #expect(v.forwardHParts(splittingH: true) == 2 && v.forwardHParts(splittingH: false) == 1)
            #expect(v.forwardSharedBytes == v.forwardSharedBytes(stagingWx: FusedVariant.stagesWx, splittingH: v.splitsH))
            #expect(v.forwardRegisterTiles(splittingH: true) == v.forwardRegisterTiles(splittingH: false))
            let name = v.forwardKernelName(stagingWx: true, splittingH: true)
            #expect(name == "&flashrnn::fused::forward_staged_kernel<\(KernelNames.cell(cell)), \(KernelNames.storage(dtype)!), \(v.paddedHeadDim), \(v.forwardRegisterTiles(splittingH: true)), true>")
            let other = v.otherSplitForwardSpec
            #expect(other?.nameExpressions == [v.forwardKernelName(stagingWx: FusedVariant.stagesWx, splittingH: !v.splitsH)])
            #expect(other?.label.hasPrefix(v.forwardSpec.label) == true)
        }
        let f32 = FusedVariant(cell: cell, dtype: .float32, headDim: min(headDim, 64))
        #expect(f32.forwardHParts(splittingH: false) == 2)
        #expect(f32.forwardSharedBytes(stagingWx: false, splittingH: true) == f32.forwardSharedBytes(stagingWx: false, splittingH: false))
    }

    /// With NVRTC present (CI), the largest variant of each cell compiles for Hopper.
    @Test(arguments: CellKind.allCases)
    func theLargestVariantCompiles(cell: CellKind) throws {
        guard (try? NVRTCLibrary.version()) != nil else {
            print("NVRTC not found; fused kernel compilation not exercised here")
            return
        }
        let variant = FusedVariant(cell: cell, dtype: .bfloat16, headDim: FusedVariant.maxHeadDim)
        let compiler = try KernelCompiler(options: KernelOptions(architecture: "sm_90a"), useDiskCache: false)
        for spec in [variant.forwardSpec, variant.backwardSpec] {
            let module = try compiler.compile(mainSource: spec.mainSource, nameExpressions: spec.nameExpressions)
            #expect(!module.cubin.isEmpty)
            #expect(Set(module.loweredNames.keys) == Set(spec.nameExpressions))
        }
        // The forward with the other h-split choice (FLASHRNN_FUSED_SPLIT_H), where there is one.
        if let other = variant.otherSplitForwardSpec {
            let otherModule = try compiler.compile(mainSource: other.mainSource, nameExpressions: other.nameExpressions)
            #expect(Set(otherModule.loweredNames.keys) == Set(other.nameExpressions))
        }
    }

    /// With NVRTC present (CI), the staged backward (FLASHRNN_FUSED_STAGE_BW=1) of each cell's
    /// largest 16-bit head compiles for Hopper.
    @Test(arguments: CellKind.allCases)
    func theLargestStagedBackwardCompiles(cell: CellKind) throws {
        guard (try? NVRTCLibrary.version()) != nil else {
            print("NVRTC not found; staged backward compilation not exercised here")
            return
        }
        let compiler = try KernelCompiler(options: KernelOptions(architecture: "sm_90a"), useDiskCache: false)
        let variant = FusedVariant(cell: cell, dtype: .bfloat16, headDim: FusedVariant.maxHeadDim)
        let name = variant.backwardKernelName(stagingStepInputs: true)
        let module = try compiler.compile(mainSource: variant.backwardSpec.mainSource, nameExpressions: [name])
        #expect(!module.cubin.isEmpty)
        #expect(Set(module.loweredNames.keys) == [name])
    }

    /// sLSTM's split forward spills from DP = 112: those heads keep h in one part, override or not.
    @Test(arguments: [112, 128])
    func largeSLSTMHeadsNeverSplitH(headDim: Int) {
        for dtype in [DType.float16, .bfloat16] {
            let v = FusedVariant(cell: .slstm, dtype: dtype, headDim: headDim)
            #expect(!v.canSplitH && !v.splitsH && v.otherSplitForwardSpec == nil)
            #expect(v.forwardKernelName(stagingWx: true, splittingH: true) == v.forwardKernelName(stagingWx: true, splittingH: false))
        }
    }
}
