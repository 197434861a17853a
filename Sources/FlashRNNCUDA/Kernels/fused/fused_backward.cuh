// Persistent reverse sweep, decomposed like the forward one: one CTA per (head n, batch slice
// of 8), Rᵀ resident on chip. Each 16 input features p ∈ [16w, 16w+16) have one warp, or two or four
// splitting the K range (see BackwardShape); per step
//   dh_rec[16 features, 8 batch] = Rᵀ[16 features, G_R·D] · dG_{t+1}[G_R·D, 8 batch]   (mma.sync)
// lands on the same (feature, batch) cells the thread updates with the cell's backward, which
// writes dG_t into the other half of a double-buffered shared-memory tile (one __syncthreads a
// step). Gate gradients leave the CTA as dWx (storage type, the caller's layout), as float32
// recurrent-gate gradients for the dR product, and as per-thread partial sums of db reduced once
// at the end. float32 storage: Rᵀ fragments as a high and a low TF32 part (MmaTraits<F32>::kParts),
// so the product is 3xTF32 (hi·hi + hi·lo + lo·hi with dG's two parts).
#pragma once
#include "common/async_copy.cuh"
#include "fused/fused_mma.cuh"
#include "fused/fused_params.cuh"

namespace flashrnn {
namespace fused {

// Up to DP = 64 several warps share each group of 16 input features and split the K range
// (G_R·DP) of the product: each computes a partial dh for all 16 × 8 cells, hands its partners
// the cells it does not keep through shared memory (one named barrier per group), and runs the
// cell backward on its own: four warps (16-bit storage, DP = 16) keep one cell per lane, two a
// row half, 2 cells per lane. More warps hide more latency and each lane has less pointwise
// work and fewer Rᵀ tiles; at DP = 64 the fourfold split lost more to its exchange than it
// gained (round split4).
// Beyond DP = 64 the extra warps would leave too few registers per thread (DP = 80 and 96
// spilled on sm_80 with two), so one warp owns a group and runs 4 cells per lane.
template <class Cell, class S, int DP, int AREG>
struct BackwardShape {
    using M = MmaTraits<S>;
    // Warps per 16-feature group: 16-bit storage at DP = 16 four (each keeps one C-fragment cell
    // per lane), up to DP = 64 two, beyond one. Four at DP = 32 and 64 measured slower or even
    // (H200, round split4: LSTM bf16 fw+bw 64 × 12 2.06 → 2.15 ms, 32 × 24 1.52 → 1.51; 16 × 48
    // 1.51 → 1.29). Mirrored by FusedVariant.backwardSplit.
    static constexpr int kSplit = DP > 64 ? 1 : DP == 16 && M::kPerWord == 2 ? 4 : 2;
    static constexpr int kWarps = DP / 16 * kSplit;
    static constexpr int kThreads = kWarps * 32;
    static constexpr int kCells = 4 / kSplit;                            // (feature, batch) cells per lane
    static constexpr int kColumns = kCells >= 2 ? 2 : 1;                 // batch columns per lane
    static constexpr int kProductTiles = Cell::kGatesR * (DP / M::kK);   // K tiles of Rᵀ · dG
    static constexpr int kTiles = (kProductTiles + kSplit - 1) / kSplit; // A tiles per warp
    static constexpr int kRegisterTiles = AREG < kTiles ? AREG : kTiles;
    static constexpr int kSharedTiles = kTiles - kRegisterTiles;
    static constexpr int kParts = M::kParts;                             // fragments per Rᵀ tile
    using GTile = OperandTile<S, Cell::kGatesR * DP>;                 // [8 batch, G_R·DP] dG
    // Partial sums handed between split warps, [kWarps, 32 lanes] of a float4 (split in four: all
    // four sums of the lane's C fragment) or a float2 (in two: the row half the partner keeps).
    static constexpr int kExchangeBytes = kSplit == 4 ? kWarps * 32 * 16 : kSplit == 2 ? kWarps * 32 * 8 : 0;
    static constexpr int kSharedBytes = kSharedTiles * kParts * kWarps * 32 * 16 + 4 * GTile::kWords * 4 + kExchangeBytes;

    // Step-input staging (STAGE, 16-bit storage, D % 8 == 0, 16-byte aligned dStates): a ring of
    // kStages steps of the CTA's inputs, filled by cp.async kStages − 1 steps ahead in 16-byte
    // chunks. A step is [8 batch][G_T·DP pre-activations, S·DP previous states, 4 pad] float32
    // rows, then [8 batch][S·DP + 8] dStates rows; the pads put the batch columns a warp reads
    // 8 banks apart. As many steps (4, 3 or 2) as fit beside kSharedBytes in 227 KB; the ring
    // follows kSharedBytes. Mirrored by FusedVariant.backwardStages.
    static constexpr bool kCanStage = sizeof(typename S::Bits) == 2;
    static constexpr int kStageFloats = (Cell::kGatesT + Cell::kStates) * DP + 4;   // per batch row
    static constexpr int kStageBits = Cell::kStates * DP + 8;                       // per batch row
    static constexpr int kStageBytes = 8 * kStageFloats * 4 + 8 * kStageBits * 2;
    static constexpr int kStageLimit = 227 * 1024;
    static constexpr int kStages = kSharedBytes + 4 * kStageBytes <= kStageLimit ? 4
                                 : kSharedBytes + 3 * kStageBytes <= kStageLimit ? 3 : 2;
    static constexpr int kRingBytes = kStages * kStageBytes;
    static constexpr int kFloatChunksPerRow = (Cell::kGatesT + Cell::kStates) * DP / 4;
    static constexpr int kBitsChunksPerRow = Cell::kStates * DP / 8;
    static constexpr int kFloatSlots = (8 * kFloatChunksPerRow + kThreads - 1) / kThreads;   // chunks per thread
    static constexpr int kBitsSlots = (8 * kBitsChunksPerRow + kThreads - 1) / kThreads;
};

// STAGE: stage the step inputs through the shared-memory ring (BackwardShape) where D and dStates'
// alignment allow; backward_staged_kernel, chosen by FusedVariant.stagesStepInputs.
template <class Cell, class S, int DP, int AREG, bool STAGE = false>
__device__ __forceinline__ void backward_sweep(const FusedParams& p) {
    using Shape = BackwardShape<Cell, S, DP, AREG>;
    using M = MmaTraits<S>;
    using GTile = typename Shape::GTile;
    using Bits = typename S::Bits;
    constexpr int GR = Cell::kGatesR, GW = Cell::kGatesW, GT = Cell::kGatesT, kS = Cell::kStates;
    constexpr int kROff = Cell::kRecurrentGateOffset, kWOff = Cell::kInputGateOffset;
    constexpr int KT = DP / M::kK;
    constexpr int kTiles = Shape::kTiles, kRegTiles = Shape::kRegisterTiles, kWarps = Shape::kWarps;
    constexpr int kProductTiles = Shape::kProductTiles, kSplit = Shape::kSplit, E = Shape::kCells;
    constexpr int kParts = Shape::kParts;

    extern __shared__ uint4 shared[];
    uint4* rShared = shared;                                                   // [kSharedTiles, kParts, kWarps, 32]
    // [2 steps, 2 parts, GTile]: dG as a high and a low part (see recurrentProduct).
    unsigned* gTiles = reinterpret_cast<unsigned*>(shared + Shape::kSharedTiles * kParts * kWarps * 32);
    float* exchange = reinterpret_cast<float*>(gTiles + 4 * GTile::kWords);    // Shape::kExchangeBytes

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
    const int group = warp / kSplit, half = warp % kSplit;      // feature group; K part (and cells kept)
    const int n = blockIdx.x, batch0 = blockIdx.y * 8;
    const int B = p.B, T = p.T, N = p.N, D = p.D;
    const long long ND = (long long)N * D;

    // Rᵀ fragments: rows are input features p, K runs over (gate k, output feature d) = k·DP + d;
    // this warp's tiles are K tiles [half·kTiles, half·kTiles + kTiles) (beyond the product: zero).
    unsigned a[kRegTiles > 0 ? kRegTiles : 1][kParts][4];
    const Bits* R = address<const Bits>(p.r);
    auto loadTile = [&](int i, unsigned (&frag)[kParts][4]) {
        load_a_parts<S>(frag, [&](int row, int col) {
            const int k = col / DP, d = col - k * DP;
            return (k < GR && row < D && d < D) ? S::load(R + (((long long)(k * N + n) * D + d) * D + row)) : 0.0f;
        }, group * 16, (half * kTiles + i) * M::kK);
    };
#pragma unroll
    for (int i = 0; i < kRegTiles; ++i) loadTile(i, a[i]);
    // Not unrolled: the shared tiles pass through registers one at a time.
#pragma unroll 1
    for (int i = kRegTiles; i < kTiles; ++i) {
        unsigned frag[kParts][4];
        loadTile(i, frag);
#pragma unroll
        for (int part = 0; part < kParts; ++part)
            rShared[(((i - kRegTiles) * kParts + part) * kWarps + warp) * 32 + lane] =
                make_uint4(frag[part][0], frag[part][1], frag[part][2], frag[part][3]);
    }

    // This lane's cells: feature dBase + 8·(e / 2), batch column column0 + e % 2 (E = 4: the whole
    // C fragment of the lane). With the K split in two a warp keeps row half `half` of the C
    // fragment (features g or g + 8 of the group, both columns); in four, one cell: row half
    // half / 2, column 2q + half % 2.
    const int dBase = group * 16 + g + (kSplit == 2 ? 8 * half : kSplit == 4 ? 8 * (half >> 1) : 0);
    const int column0 = 2 * q + (kSplit == 4 ? (half & 1) : 0);
    // The lane's column of cell e (its pointers' index, < kColumns).
    auto columnOf = [](int e) { return Shape::kColumns > 1 ? (e & 1) : 0; };
    int dOf[E], bOf[E];
    bool valid[E];
#pragma unroll
    for (int e = 0; e < E; ++e) {
        dOf[e] = dBase + 8 * (e >> 1);
        bOf[e] = batch0 + column0 + columnOf(e);
        valid[e] = dOf[e] < D && bOf[e] < B;
    }
    const long long cell = (long long)n * D + dBase;

    const Bits* s0 = address<const Bits>(p.s0);
    const Bits* dLast = address<const Bits>(p.dLast);
    const bool hasDStates = p.dStates != 0;
    const bool cut = p.gradientCut != 0;
    const bool hasGradientClip = p.hasGradientClip != 0, hasForwardClip = p.hasForwardClip != 0;
    const float gradientClip = p.gradientClip, forwardClip = p.forwardClip;
    const long long plane = (long long)B * T * ND;          // between states of [S, B, T, N, D]

    // Pointers per batch column c (the lane's kColumns) at feature dBase: the loads' at the step
    // being fetched, the stores' at the step being computed; both move back one step at a time.
    constexpr int kColumns = Shape::kColumns;
    const float* preAt[kColumns];
    const float* previousAt[kColumns];     // states32 at t − 1
    const Bits* dStatesAt[kColumns];
    float* dGRAt[kColumns];
    Bits* dWxAt[kColumns];
    {
        const float* preIn = address<const float>(p.pre);
        const float* states32 = address<const float>(p.states32);
        const Bits* dStates = address<const Bits>(p.dStates);
        float* dGR = address<float>(p.dGR);
        Bits* dWx = address<Bits>(p.dWx);
#pragma unroll
        for (int c = 0; c < kColumns; ++c) {
            const long long row = (long long)bOf[c] * T + (T - 1);      // (b, t = T − 1)
            preAt[c] = preIn + (row * GT * ND + cell);
            previousAt[c] = states32 + ((row - 1) * ND + cell);
            dStatesAt[c] = dStates + (row * ND + cell);
            dGRAt[c] = dGR + (row * GR * ND + cell);
            dWxAt[c] = dWx + (bOf[c] * p.wxStrideB + (long long)(T - 1) * p.wxStrideT + cell);
        }
    }
    const long long wxStrideT = p.wxStrideT;

    float dNext[E][4];                 // direct-path gradients from step t+1, per cell
    typename RowSum<S>::Type dbSum[GT][E];
    // The gradient arriving at the last state starts the direct paths (it is added to step T−1's
    // output gradient, as an input of that step would be).
#pragma unroll
    for (int e = 0; e < E; ++e)
#pragma unroll
        for (int s = 0; s < 4; ++s)
            dNext[e][s] = s < kS ? load_if<S>(dLast + (((long long)s * B + bOf[e]) * ND + cell + 8 * (e >> 1)),
                                              valid[e] && dLast != nullptr) : 0.0f;
#pragma unroll
    for (int k = 0; k < GT; ++k)
#pragma unroll
        for (int e = 0; e < E; ++e) dbSum[k][e] = 0;

    // dh_rec = Rᵀ · dG from a tile for this lane's cells: dG = high + low part (the operand
    // rounded to the storage type, and the rounding's remainder; dG rounded alone put the D = 1
    // gradients 3-4x above the rounded-input error), each over two accumulator chains across the
    // warp's K tiles, then (with the K split) the partner's partial sums of the kept row half.
    // float32: Rᵀ has two parts too; its low part times dG's high part joins the low chains.
    // One tile: high chain += Rᵀ_hi·dG_hi (float32: added rounded, see mma_high_rounded); low
    // chain += Rᵀ_hi·dG_lo (+ Rᵀ_lo·dG_hi for float32).
    auto rtProduct = [&](float (&acc)[4][4], const unsigned (&frag)[kParts][4], const unsigned (&b)[2][2], int chain) {
        if constexpr (kParts == 2) mma_high_rounded<S>(acc[chain], frag[0], b[0][0], b[0][1]);
        else M::mma(acc[chain], frag[0], b[0][0], b[0][1]);
        M::mma(acc[2 + chain], frag[0], b[1][0], b[1][1]);
        if constexpr (kParts == 2) M::mma(acc[2 + chain], frag[1], b[0][0], b[0][1]);
    };
    auto recurrentProduct = [&](const unsigned* tile, float (&out)[E]) {
        float acc[4][4];
#pragma unroll
        for (int c = 0; c < 4; ++c)
#pragma unroll
            for (int v = 0; v < 4; ++v) acc[c][v] = 0.0f;
#pragma unroll
        for (int i = 0; i < kTiles; ++i) {
            const int kTile = half * kTiles + i;
            // Tiles beyond the product: with the split in two only the last of the second half
            // (odd tile count), in four any of the last warps' (they would read past dG's K).
            if (kSplit > 1 && kTiles * kSplit != kProductTiles && (kSplit == 4 || i == kTiles - 1) && kTile >= kProductTiles) break;
            unsigned b0, b1, l0, l1;
            // The lane-base form where K is split (DP ≤ 64, round bwdiet); beyond, one warp per
            // group at 255 registers: there it spilled sLSTM DP = 80 and 96 (8-32 B, sm_80/sm_90a).
            if constexpr (kSplit > 1) {
                GTile::load_b_from_lane(tile, kTile * M::kK, b0, b1);
                GTile::load_b_from_lane(tile + GTile::kWords, kTile * M::kK, l0, l1);
            } else {
                GTile::load_b(tile, kTile * M::kK, b0, b1);
                GTile::load_b(tile + GTile::kWords, kTile * M::kK, l0, l1);
            }
            const unsigned b[2][2] = {{b0, b1}, {l0, l1}};
            if (i < kRegTiles) {
                rtProduct(acc, a[i < kRegTiles ? i : 0], b, i & 1);
            } else {
                unsigned frag[kParts][4];
#pragma unroll
                for (int part = 0; part < kParts; ++part)
                    load_shared_fragment(frag[part], rShared + (((i - kRegTiles) * kParts + part) * kWarps + warp) * 32 + lane);
                rtProduct(acc, frag, b, i & 1);
            }
        }
        float sum[4];
#pragma unroll
        for (int v = 0; v < 4; ++v) sum[v] = (acc[0][v] + acc[1][v]) + (acc[2][v] + acc[3][v]);
        if constexpr (kSplit == 4) {
            // Every warp of the group hands out all four sums and adds its own cell's four parts
            // in warp order; the group meets at barrier 1 + group (128 threads). Cell `half` of
            // the C fragment is sum[half] (row half half / 2, column half % 2).
            reinterpret_cast<float4*>(exchange)[warp * 32 + lane] = make_float4(sum[0], sum[1], sum[2], sum[3]);
            asm volatile("bar.sync %0, 128;" :: "r"(1 + group) : "memory");
            float v = 0.0f;
#pragma unroll
            for (int w = 0; w < 4; ++w) v += exchange[((group * 4 + w) * 32 + lane) * 4 + half];
            out[0] = v;
        } else if constexpr (kSplit == 2) {
            // Send the row half the partner keeps, take ours; the pair meets at barrier 1 + group.
            // The staged sweep selects: there an index on the run-time `half` put sum in local
            // memory (the register sweep keeps its checked form).
            const bool upper = half != 0;
            const int give = 2 * (1 - half);
            float2* pairs = reinterpret_cast<float2*>(exchange);
            pairs[warp * 32 + lane] = STAGE ? make_float2(upper ? sum[0] : sum[2], upper ? sum[1] : sum[3])
                                            : make_float2(sum[give], sum[give + 1]);
            asm volatile("bar.sync %0, 64;" :: "r"(1 + group) : "memory");
            const float2 other = pairs[(warp ^ 1) * 32 + lane];
            out[0] = (STAGE ? (upper ? sum[2] : sum[0]) : sum[2 * half]) + other.x;
            out[1] = (STAGE ? (upper ? sum[3] : sum[1]) : sum[2 * half + 1]) + other.y;
        } else {
#pragma unroll
            for (int e = 0; e < E; ++e) out[e] = sum[e];
        }
#pragma unroll
        for (int e = 0; e < E; ++e)
            if (hasGradientClip) out[e] = fminf(fmaxf(out[e], -gradientClip), gradientClip);
    };

    // What step t reads besides the product: pre-activations, previous states, output gradients,
    // as loaded (external: raw bits, see raw_if): any arithmetic on them here would be scheduled
    // right behind the loads and wait out their latency in the step that issues them. The
    // boundary inputs stay out of this pipeline: dLast starts dNext, s_0 is read by step 0.
    // Called for t = T−1, T−2, …, 0 in turn; each call moves the load pointers back one step.
    struct StepInputs { float pre[E][4], previous[E][4]; Bits external[E][4]; };
    auto loadStep = [&](int t, StepInputs& in) {
#pragma unroll
        for (int e = 0; e < E; ++e) {
            const int c = columnOf(e), f = 8 * (e >> 1);
#pragma unroll
            for (int k = 0; k < 4; ++k)
                in.pre[e][k] = k < GT ? predicated_load(preAt[c] + (k * ND + f), valid[e]) : 0.0f;
#pragma unroll
            for (int s = 0; s < 4; ++s) {
                // Predicated loads, no branches: a load inside a branch is waited for where the
                // branch ends. So the predicates are the cell's validity and kernel constants.
                // Step 0's previous state is s_0 (read by step 0 itself); its load here reads
                // states32 at step 0 instead of step −1, an address that exists, and is unused.
                in.previous[e][s] = s < kS ? predicated_load(previousAt[c] + (s * plane + f + (t > 0 ? 0 : ND)), valid[e]) : 0.0f;
                in.external[e][s] = s < kS ? raw_if<S>(dStatesAt[c] + (s * plane + f), valid[e] && hasDStates) : Bits{};
            }
        }
#pragma unroll
        for (int c = 0; c < kColumns; ++c) {
            preAt[c] -= GT * ND;
            previousAt[c] -= ND;
            dStatesAt[c] -= ND;
        }
    };

    // Step t's work on its inputs `use` (everything but fetching the next inputs); the CTA
    // barrier that ends the step is the caller's. Step 0 (`first`, a literal at each inlined
    // call) reads s_0 instead of use.previous.
    auto compute = [&](int t, const StepInputs& use, bool first) {
        const unsigned* gNow = gTiles + ((t + 1) & 1) * 2 * GTile::kWords;   // dG_{t+1}
        unsigned* gNext = gTiles + (t & 1) * 2 * GTile::kWords;               // dG_t
        const float (&pre)[E][4] = use.pre;
        float previous[E][4], external[E][4];
#pragma unroll
        for (int e = 0; e < E; ++e)
#pragma unroll
            for (int s = 0; s < 4; ++s) {
                // Step 0: the state before the sequence, s_0 (zero without one), read here once.
                previous[e][s] = !first ? use.previous[e][s]
                    : s < kS ? load_if<S>(s0 + (((long long)s * B + bOf[e]) * ND + cell + 8 * (e >> 1)), valid[e] && s0 != nullptr)
                    : 0.0f;
                external[e][s] = S::load(&use.external[e][s]);
            }

        float recurrent[E];
#pragma unroll
        for (int e = 0; e < E; ++e) recurrent[e] = 0.0f;
        if (t < T - 1 && !cut) recurrentProduct(gNow, recurrent);

#pragma unroll
        for (int e = 0; e < E; ++e) {
            float dNew[4];
#pragma unroll
            for (int s = 0; s < 4; ++s) dNew[s] = dNext[e][s] + external[e][s];
            dNew[0] += recurrent[e];
            if (hasForwardClip) {
                // The clamp passes gradient only where it did not bind.
                float h[4];
                Cell::template forward<typename S::Math>(pre[e], previous[e], h);
                if (fabsf(h[0]) > forwardClip) dNew[0] = 0.0f;
            }
            float dPre[4], dPrevious[4];
            Cell::template backward<typename S::Math>(pre[e], previous[e], dNew, dPre, dPrevious);
            if (!valid[e]) {
#pragma unroll
                for (int k = 0; k < 4; ++k) { dPre[k] = 0.0f; dPrevious[k] = 0.0f; }
            }
#pragma unroll
            for (int s = 0; s < 4; ++s) dNext[e][s] = dPrevious[s];
            const int c = columnOf(e), column = column0 + c, f = 8 * (e >> 1);
#pragma unroll
            for (int k = 0; k < GR; ++k) GTile::store_split(gNext, column, k * DP + dOf[e], dPre[k + kROff]);
            if (valid[e]) {
#pragma unroll
                for (int k = 0; k < GR; ++k) dGRAt[c][k * ND + f] = dPre[k + kROff];
#pragma unroll
                for (int j = 0; j < GW; ++j) S::store(dWxAt[c] + (j * ND + f), dPre[j + kWOff]);
            }
#pragma unroll
            for (int k = 0; k < GT; ++k) dbSum[k][e] += dPre[k];
        }
#pragma unroll
        for (int c = 0; c < kColumns; ++c) {
            dGRAt[c] -= GR * ND;
            dWxAt[c] -= wxStrideT;
        }
    };

    // One step; `use` holds step t's inputs, `fetch` receives step t-1's. Two named buffers
    // alternate (the loop below is unrolled by two) so the loads overlap a whole step. Step 0
    // (`first`, a literal at each inlined call) is peeled off the loop: it fetches nothing and
    // reads s_0.
    auto step = [&](int t, const StepInputs& use, StepInputs& fetch, bool first) {
        // The inputs of step t − kPrefetchSteps into L2 (nothing else brings them on chip early:
        // they were written by the forward sweep, long evicted). Lane g asks for line item g and
        // g + 8 of its two batch columns: pre-activation gate k, states32 s, dStates s; the
        // warp's features share each line. The load pointers point at step t − 1 here. One
        // predicate and selected addresses, no branches (the loads below would be drawn in).
        if (!first) {
            constexpr int kItems = GT + 2 * kS;
            constexpr long long back = kPrefetchSteps - 1;
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                const int item = g + 8 * r;
                const bool isState = item >= GT, isGradient = item >= GT + kS;
#pragma unroll
                for (int c = 0; c < kColumns; ++c) {
                    const float* at32 = isState ? previousAt[c] + ((item - GT) * plane - back * ND)
                                                : preAt[c] + (item - back * GT) * ND;
                    const Bits* at16 = dStatesAt[c] + ((item - GT - kS) * plane - back * ND);
                    const void* at = isGradient ? static_cast<const void*>(at16) : static_cast<const void*>(at32);
                    if (t > kPrefetchSteps && valid[c] && item < kItems && (!isGradient || hasDStates)) prefetch_l2(at);
                }
            }
            loadStep(t - 1, fetch);
        }
        compute(t, use, first);
        __syncthreads();
    };

    // Staging (see BackwardShape): float chunk i of a step is batch row i / kFloatChunksPerRow
    // and 4 elements of the rest (pre-activation gate k, or state s at t − 1; the ring row holds
    // them in that order, so the chunk's place is 4·(i % kFloatChunksPerRow)); dStates chunk i is
    // batch row i / kBitsChunksPerRow, 8 elements of state s. This thread copies chunks
    // threadIdx.x + kThreads·c of each kind; the sources move back one step per staged step.
    constexpr bool kStage = STAGE && Shape::kCanStage;
    constexpr int kStages = Shape::kStages, kFloatSlots = Shape::kFloatSlots, kBitsSlots = Shape::kBitsSlots;
    constexpr int kRowF = Shape::kStageFloats, kRowB = Shape::kStageBits;
    const bool stage = kStage && D % 8 == 0 && p.pre % 16 == 0 && p.states32 % 16 == 0 && (!hasDStates || p.dStates % 16 == 0);
    const unsigned ringAddress = shared_address(reinterpret_cast<unsigned char*>(shared) + Shape::kSharedBytes);
    const float* floatFrom[kStage ? kFloatSlots : 1];
    unsigned floatTo[kStage ? kFloatSlots : 1];
    // Bit c: float slot c copies real data (else it zero-fills); floatValidLast, at step 0, where
    // the state chunks have no previous state to copy. Bit masks, not bool arrays: those were
    // bytes in registers, widened and tested again at every copy.
    unsigned floatValid = 0, floatValidLast = 0;
    bool floatIsState[kStage ? kFloatSlots : 1];
    const Bits* bitsFrom[kStage ? kBitsSlots : 1];
    unsigned bitsTo[kStage ? kBitsSlots : 1];
    bool bitsValid[kStage ? kBitsSlots : 1];
    if constexpr (kStage) {
        const float* preIn = address<const float>(p.pre);
        const float* states32 = address<const float>(p.states32);
        const Bits* dStates = address<const Bits>(p.dStates);
        constexpr int kQuarter = DP / 4;
#pragma unroll
        for (int c = 0; c < kFloatSlots; ++c) {
            const int i = threadIdx.x + Shape::kThreads * c;
            const int row = i / Shape::kFloatChunksPerRow, j = i % Shape::kFloatChunksPerRow;
            const bool isState = j >= GT * kQuarter;
            const int k = (isState ? j - GT * kQuarter : j) / kQuarter, f = 4 * (j % kQuarter);
            const long long bt = (long long)(batch0 + row) * T + (T - 1);   // (b, t = T − 1)
            const bool valid = i < 8 * Shape::kFloatChunksPerRow && batch0 + row < B && f < D;
            floatValid |= (unsigned)valid << c;
            floatValidLast |= (unsigned)(valid && !isState) << c;
            floatIsState[c] = isState;
            floatFrom[c] = !valid ? preIn
                : isState ? states32 + (k * plane + (bt - 1) * ND + (long long)n * D + f)
                          : preIn + (bt * GT * ND + k * ND + (long long)n * D + f);
            floatTo[c] = (row * kRowF + 4 * j) * 4;
        }
#pragma unroll
        for (int c = 0; c < kBitsSlots; ++c) {
            const int i = threadIdx.x + Shape::kThreads * c;
            const int row = i / Shape::kBitsChunksPerRow, j = i % Shape::kBitsChunksPerRow;
            const int s = j / (DP / 8), f = 8 * (j % (DP / 8));
            const long long bt = (long long)(batch0 + row) * T + (T - 1);
            bitsValid[c] = i < 8 * Shape::kBitsChunksPerRow && batch0 + row < B && f < D && hasDStates;
            bitsFrom[c] = !bitsValid[c] ? dStates : dStates + (s * plane + bt * ND + (long long)n * D + f);
            bitsTo[c] = 8 * kRowF * 4 + (row * kRowB + 8 * j) * 2;
        }
    }
    // Copies the inputs of the next step not yet staged (t = T − 1 − stagedSteps) into its slot,
    // as one group (empty past step 0, so the group count stays one per step). Step 0 has no
    // previous state in states32 (s_0 is read by step 0): those chunks are zero-filled.
    int stagedSteps = 0, stageSlot = 0;
    auto stageNext = [&]() {
        if (stagedSteps < T) {
            const unsigned slot = ringAddress + stageSlot * Shape::kStageBytes;
            const unsigned floatCopies = stagedSteps < T - 1 ? floatValid : floatValidLast;
#pragma unroll
            for (int c = 0; c < kFloatSlots; ++c) {
                // Slots every thread has need no test of the thread index.
                const bool everyThread = Shape::kThreads * (c + 1) <= 8 * Shape::kFloatChunksPerRow;
                if (everyThread || threadIdx.x + Shape::kThreads * c < 8 * Shape::kFloatChunksPerRow)
                    copy16_async(slot + floatTo[c], floatFrom[c], (floatCopies >> c) & 1u);
                floatFrom[c] -= floatIsState[c] ? ND : GT * ND;
            }
#pragma unroll
            for (int c = 0; c < kBitsSlots; ++c) {
                const bool everyThread = Shape::kThreads * (c + 1) <= 8 * Shape::kBitsChunksPerRow;
                if (everyThread || threadIdx.x + Shape::kThreads * c < 8 * Shape::kBitsChunksPerRow)
                    copy16_async(slot + bitsTo[c], bitsFrom[c], bitsValid[c]);
                bitsFrom[c] -= ND;
            }
            stageSlot = stageSlot + 1 == kStages ? 0 : stageSlot + 1;
        }
        ++stagedSteps;
        commit_async_copies();
    };
    // Step t's inputs from ring slot `slot` (zero where the chunk was invalid: rows beyond B,
    // features beyond D, no dStates).
    auto readStaged = [&](int slot, StepInputs& in) {
        const float* rowsF = reinterpret_cast<const float*>(reinterpret_cast<const unsigned char*>(shared)
                                                            + Shape::kSharedBytes + slot * Shape::kStageBytes);
        const Bits* rowsB = reinterpret_cast<const Bits*>(rowsF + 8 * kRowF);
        // Cell e is batch column column0 + columnOf(e), feature dBase + 8 · (e >> 1): one lane
        // base per step, constant offsets (indices from dOf put an address add before each read).
        const float* laneF = rowsF + (column0 * kRowF + dBase);
        const Bits* laneB = rowsB + (column0 * kRowB + dBase);
#pragma unroll
        for (int e = 0; e < E; ++e) {
            const int fOff = columnOf(e) * kRowF + 8 * (e >> 1), bOff = columnOf(e) * kRowB + 8 * (e >> 1);
#pragma unroll
            for (int k = 0; k < 4; ++k) in.pre[e][k] = k < GT ? laneF[fOff + k * DP] : 0.0f;
#pragma unroll
            for (int s = 0; s < 4; ++s) {
                in.previous[e][s] = s < kS ? laneF[fOff + (GT + s) * DP] : 0.0f;
                in.external[e][s] = s < kS ? laneB[bOff + s * DP] : Bits{};
            }
        }
    };

    if (kStage && stage) {
        // The first kStages − 1 steps in flight; then each step stages step t − (kStages − 1)
        // into the slot step t + 1 read (free after its barrier) and, before its own barrier,
        // waits for the group of step t − 1 only.
#pragma unroll 1
        for (int s = 0; s < kStages - 1; ++s) stageNext();
        wait_async_groups<kStages - 2>();
        __syncthreads();
        int readSlot = 0;
#pragma unroll 1
        for (int t = T - 1; t >= 1; --t) {
            stageNext();
            StepInputs in;
            readStaged(readSlot, in);
            readSlot = readSlot + 1 == kStages ? 0 : readSlot + 1;
            compute(t, in, false);
            wait_async_groups<kStages - 2>();
            __syncthreads();
        }
        StepInputs in;
        readStaged(readSlot, in);
        compute(0, in, true);
        __syncthreads();
    } else {
        StepInputs inA, inB;
        loadStep(T - 1, inA);
        int t = T - 1;
        for (; t >= 2; t -= 2) {
            step(t, inA, inB, false);
            step(t - 1, inB, inA, false);
        }
        if (t == 1) {
            step(1, inA, inB, false);
            inA = inB;
        }
        step(0, inA, inB, true);

    }

    // What reaches s_0: the direct paths plus Rᵀ·dG_0 for h.
    float recurrent[E];
#pragma unroll
    for (int e = 0; e < E; ++e) recurrent[e] = 0.0f;
    if (!cut) recurrentProduct(gTiles, recurrent);
    Bits* dInitial = address<Bits>(p.dInitial);
#pragma unroll
    for (int e = 0; e < E; ++e) {
        if (!valid[e]) continue;
#pragma unroll
        for (int s = 0; s < kS; ++s) {
            float v = dNext[e][s] + (s == 0 ? recurrent[e] : 0.0f);
            S::store(dInitial + (((long long)s * B + bOf[e]) * ND + cell + 8 * (e >> 1)), v);
        }
    }

    // db: the thread's batch columns, then the four lanes of a row (same d), then one atomic (with
    // the K split in four two per feature: the two warps of its row half hold a column each).
    float* db = address<float>(p.db);
#pragma unroll
    for (int k = 0; k < GT; ++k) {
#pragma unroll
        for (int f = 0; f < (E + 1) / 2; ++f) {
            typename RowSum<S>::Type v = dbSum[k][2 * f];
            if constexpr (E > 1) v += dbSum[k][2 * f + 1];
            v += __shfl_xor_sync(0xffffffffu, v, 1);
            v += __shfl_xor_sync(0xffffffffu, v, 2);
            const int d = dBase + 8 * f;
            if (q == 0 && d < D) atomicAdd(&db[(long long)k * ND + n * D + d], static_cast<float>(v));
        }
    }
}

}  // namespace fused
}  // namespace flashrnn
