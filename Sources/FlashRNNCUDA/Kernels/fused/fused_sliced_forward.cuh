// Persistent forward sweep for a head larger than one SM: the head's output features are split
// over the KS CTAs of one thread-block cluster ("slices" of DS features; DP = KS·DS). CTA k keeps
// the R rows of its features (all gates, the full K = DP reduction) on chip, computes
//   pre[G_R·DS features, 8 batch] = R[G_R, slice, DP] · h_{t-1}[DP, 8 batch]   (mma.sync, fp32 acc)
// runs the cell on the product's registers exactly as the one-SM sweep does, and publishes its
// slice of h_t into the double-buffered h tile of every CTA of the cluster (distributed shared
// memory); the exchange's completion (a cluster barrier, or mbarriers: ClusterExchange's SYNC)
// then gives every CTA all of h_t.
// Outputs, the gradient cache and their layouts are those of fused_forward.cuh.
#pragma once
#include "fused/fused_forward.cuh"
#include "fused/fused_sliced_cluster.cuh"

namespace flashrnn {
namespace fused {

// Shared memory and tiling of one CTA of the sliced sweeps. DS: features per CTA (a multiple of
// 16), KS: CTAs per head (the cluster size), KW: warps that split the K range of one group of 16
// features (the forward's K split; the backward runs KW = 1). Warp w owns features
// (w mod DS/16)·16 … +16 of the slice and K columns [kw·kWarpColumns, (kw+1)·kWarpColumns),
// kw = w div DS/16. A warp's R tiles are ordered by K column kt, all gates of a column together:
// columns kt < kRegColumns live in registers (AREG / G_R columns), the rest in shared memory, so
// one B fragment serves every gate.
template <class Cell, class S, int DS, int KS, int AREG, int KW = 1>
struct SlicedShape {
    using M = MmaTraits<S>;
    static constexpr int kGR = Cell::kGatesR;
    static constexpr int kSlice = DS, kCtasPerHead = KS;
    static constexpr int kDP = DS * KS;
    static constexpr int kFeatureWarps = DS / 16;
    static constexpr int kSplit = KW;
    static constexpr int kWarps = kFeatureWarps * KW;
    static constexpr int kThreads = kWarps * 32;
    static constexpr int kColumns = kDP / M::kK / KW;                  // K columns per warp
    static constexpr int kTiles = kGR * kColumns;                      // A tiles per warp
    static constexpr int kRegColumns = AREG / kGR < kColumns ? AREG / kGR : kColumns;
    static constexpr int kRegisterTiles = kGR * kRegColumns;
    static constexpr int kSharedTiles = kTiles - kRegisterTiles;
    // float32 partial sums of the K split: forward [warps, G_R, 4 cells, 32 lanes], backward
    // (gates summed first) [warps, 4, 32]; none without a split.
    static constexpr int kPartialFloats = KW > 1 ? kWarps * kGR * 4 * 32 : 0;
    static constexpr int kBackwardPartialFloats = KW > 1 ? kWarps * 4 * 32 : 0;
    using HTile = OperandTile<S, kDP>;                                 // [8 batch, DP] h_{t-1}
    using GTile = OperandTile<S, kGR * kDP>;                           // [8 batch, G_R·DP] dG_{t+1}
    static_assert(DS % 16 == 0, "the slice DS must be a multiple of 16");
    static_assert(KS >= 1, "a head needs at least one CTA");
    static_assert(KW >= 1 && (kDP / M::kK) % KW == 0, "KW must divide the K columns DP / 16");
    static_assert(AREG == kRegisterTiles, "AREG must be G_R times the register-resident K columns");
    __device__ __forceinline__ static int featureWarp() { return (threadIdx.x >> 5) % kFeatureWarps; }
    __device__ __forceinline__ static int splitWarp() { return (threadIdx.x >> 5) / kFeatureWarps; }
};

// The A fragment of gate k, K column kt for this warp: rows are its 16 features (forward: output
// features of R_k; backward: input features of R_kᵀ), K the other feature index.
template <class S, bool kTransposed>
__device__ __forceinline__ void load_sliced_tile(unsigned (&frag)[4], const typename S::Bits* R, int n, int N, int D,
                                                 int row0, int k, int kt) {
    const typename S::Bits* Rk = R + (long long)(k * N + n) * D * D;                   // [D out, D in]
    load_a_fragment<S>(frag, [&](int row, int col) {
        if (row >= D || col >= D) return 0.0f;
        return kTransposed ? S::load(Rk + ((long long)col * D + row)) : S::load(Rk + ((long long)row * D + col));
    }, row0, kt * MmaTraits<S>::kK);
}

// Loads the warp's A tiles in the order SlicedShape describes.
template <class Shape, class S, bool kTransposed>
__device__ __forceinline__ void load_sliced_weights(unsigned (&a)[Shape::kRegisterTiles > 0 ? Shape::kRegisterTiles : 1][4],
                                                    uint4* rShared, const typename S::Bits* R, int n, int N, int D, int row0) {
    constexpr int GR = Shape::kGR;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
#pragma unroll
    const int kt0 = Shape::splitWarp() * Shape::kColumns;
    for (int i = 0; i < Shape::kRegisterTiles; ++i) load_sliced_tile<S, kTransposed>(a[i], R, n, N, D, row0, i % GR, kt0 + i / GR);
    // Not unrolled: the shared tiles pass through registers one at a time.
#pragma unroll 1
    for (int j = 0; j < Shape::kSharedTiles; ++j) {
        unsigned frag[4];
        load_sliced_tile<S, kTransposed>(frag, R, n, N, D, row0, j % GR, kt0 + Shape::kRegColumns + j / GR);
        rShared[(j * Shape::kWarps + warp) * 32 + lane] = make_uint4(frag[0], frag[1], frag[2], frag[3]);
    }
}

// acc[k] = Σ_kt A(k, kt) · B(k, kt) over the warp's K columns kt0 + kt for every gate k. B comes
// from `tile` at K index (kt0 + kt)·kK, or k·DP + (kt0 + kt)·kK when every gate has its own
// operand (kGateOperands, the backward's dG).
template <class Shape, class S, class Tile, bool kGateOperands>
__device__ __forceinline__ void sliced_product(float (&acc)[Shape::kGR][4],
                                               const unsigned (&a)[Shape::kRegisterTiles > 0 ? Shape::kRegisterTiles : 1][4],
                                               const uint4* rShared, const unsigned* tile) {
    using M = MmaTraits<S>;
    constexpr int GR = Shape::kGR, DP = Shape::kDP;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int k0 = Shape::splitWarp() * Shape::kColumns * M::kK;
#pragma unroll
    for (int k = 0; k < GR; ++k)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[k][e] = 0.0f;
#pragma unroll
    for (int kt = 0; kt < Shape::kRegColumns; ++kt) {
        unsigned b0, b1;
        if (!kGateOperands) Tile::load_b(tile, k0 + kt * M::kK, b0, b1);
#pragma unroll
        for (int k = 0; k < GR; ++k) {
            if (kGateOperands) Tile::load_b(tile, k * DP + k0 + kt * M::kK, b0, b1);
            M::mma(acc[k], a[kt * GR + k], b0, b1);
        }
    }
    // Partly unrolled: a full unroll lets the compiler hoist every shared-memory A load ahead of
    // the products and spill.
#pragma unroll 2
    for (int kt = Shape::kRegColumns; kt < Shape::kColumns; ++kt) {
        unsigned b0, b1;
        if (!kGateOperands) Tile::load_b(tile, k0 + kt * M::kK, b0, b1);
        const uint4* column = rShared + ((kt - Shape::kRegColumns) * GR * Shape::kWarps + warp) * 32 + lane;
#pragma unroll
        for (int k = 0; k < GR; ++k) {
            if (kGateOperands) Tile::load_b(tile, k * DP + k0 + kt * M::kK, b0, b1);
            unsigned frag[4];
            load_shared_fragment(frag, column + k * Shape::kWarps * 32);
            M::mma(acc[k], frag, b0, b1);
        }
    }
}

// Where this lane works in a sliced sweep: head n, the first feature f0 of its group of 16 (its
// CTA's slice of DS features, then 16 per feature warp; the KW warps that split K share it), and
// the C-fragment cells it runs the cell on. With K split, the warps' partial sums meet in shared
// memory and the fragment's four cells are shared out: warp kw < kCellWarps runs cells
// e = kw, kw + kCellWarps, … (kCells each), so the pointwise work is spread over up to four warps.
template <class Shape>
struct SliceCells {
    static constexpr int kCellWarps = Shape::kSplit < 4 ? Shape::kSplit : 4;
    static constexpr int kCells = 4 / kCellWarps;
    static_assert(Shape::kSplit == 1 || Shape::kSplit == 2 || Shape::kSplit % 4 == 0, "KW is 1, 2 or a multiple of 4");
    int n, f0;
    bool runs;                                      // warp-uniform
    int e[kCells], d[kCells], b[kCells];            // fragment cell, feature, batch column
    bool valid[kCells];                             // inside D × B (never for a warp that runs no cells)
    __device__ __forceinline__ SliceCells(int rank, int D, int B) {
        const int lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3, kw = Shape::splitWarp();
        n = blockIdx.x / Shape::kCtasPerHead;
        f0 = rank * Shape::kSlice + Shape::featureWarp() * 16;
        runs = kw < kCellWarps;
#pragma unroll
        for (int i = 0; i < kCells; ++i) {
            e[i] = (kw + kCellWarps * i) & 3;
            d[i] = f0 + g + 8 * (e[i] >> 1);
            b[i] = blockIdx.y * 8 + 2 * q + (e[i] & 1);
            valid[i] = runs && d[i] < D && b[i] < B;
        }
    }
};

// X: how the KS CTAs of a head exchange h_t (ClusterExchange, GridExchange).
template <class Cell, class S, int DS, int KS, int KW, int AREG, class X>
__device__ __forceinline__ void sliced_forward_sweep(const FusedParams& p, X& x) {
    // Where the next step's Wx loads go: with the mbarrier exchange (and the split barrier, whose
    // arrive fences) after publishing h_t, where a cell thread waits for its peers anyway. At the
    // step's start (before the product) their address arithmetic, the four loads and the prefetch
    // branch delayed the product of every cell warp, so the K split's barrier and the whole cluster
    // (H200, LSTM bf16 B = 16 T = 1024 forward: 128 × 6 0.76 → 0.66 ms, 64 × 12 0.61 → 0.52, 256 × 3
    // 0.99 → 0.84; docs/performance-fused.md, round fwcluster, with the experiments that lost: loads
    // after the product, two steps of lead, L2-only loads, one waiter, test_wait spin, no prefetch).
    // The acquire's CCTL.IVALL waits on the try_wait's scoreboard only (control bits of the SASS),
    // not the loads'. X::kForwardLoadsAtStart (FLASHRNN_FUSED_CLUSTER_FW=2) keeps the old place.
    constexpr bool kLoadAfterArrive = !X::kForwardLoadsAtStart && (X::kNeedsCtaBarrierBeforePublish || X::kArriveFences);
    using Shape = SlicedShape<Cell, S, DS, KS, AREG, KW>;
    using Cells = SliceCells<Shape>;
    using HTile = typename Shape::HTile;
    using M = MmaTraits<S>;
    constexpr int GR = Cell::kGatesR, GW = Cell::kGatesW, GT = Cell::kGatesT, kS = Cell::kStates;
    constexpr int kROff = Cell::kRecurrentGateOffset, kWOff = Cell::kInputGateOffset;
    constexpr int kRegTiles = Shape::kRegisterTiles, kWarps = Shape::kWarps;
    constexpr int C = Cells::kCells;
    static_assert(M::kPerWord == 2, "the sliced kernels exchange 16-bit operands");

    extern __shared__ uint4 shared[];
    uint4* rShared = shared;                                                   // [kSharedTiles, kWarps, 32]
    unsigned* hTiles = reinterpret_cast<unsigned*>(shared + Shape::kSharedTiles * kWarps * 32);  // [2, HTile]
    // [X::kPartialSumBuffers, kWarps, G_R, 4, 32]: step t uses copy t mod kPartialSumBuffers.
    float* partials = reinterpret_cast<float*>(hTiles + 2 * HTile::kWords);

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
    const int fw = Shape::featureWarp();
    const int B = p.B, T = p.T, N = p.N, D = p.D;
    const Cells cells(x.rank(), D, B);
    const int n = cells.n, f0 = cells.f0;
    const bool runsCells = cells.runs;
    const auto& dOf = cells.d;
    const auto& bOf = cells.b;
    const auto& eOf = cells.e;
    const auto& valid = cells.valid;
    const long long ND = (long long)N * D;

    unsigned a[kRegTiles > 0 ? kRegTiles : 1][4];
    load_sliced_weights<Shape, S, false>(a, rShared, address<const typename S::Bits>(p.r), n, N, D, f0);

    const typename S::Bits* bias = address<const typename S::Bits>(p.bias);
    float biasOf[GT][C];
#pragma unroll
    for (int k = 0; k < GT; ++k)
#pragma unroll
        for (int i = 0; i < C; ++i) biasOf[k][i] = load_or_zero<S>(bias, (long long)k * ND + n * D + dOf[i], runsCells && dOf[i] < D);

    const typename S::Bits* s0 = address<const typename S::Bits>(p.s0);
    float state[C][4];
#pragma unroll
    for (int i = 0; i < C; ++i)
#pragma unroll
        for (int s = 0; s < 4; ++s)
            state[i][s] = (s < kS && s0 != nullptr)
                ? load_or_zero<S>(s0, ((long long)s * B + bOf[i]) * ND + n * D + dOf[i], valid[i]) : 0.0f;

    using Bits = typename S::Bits;
    const Bits* wx = address<const Bits>(p.wx);
    // Raw bits, widened in the step that uses them (see raw_if): widened here, the conversion
    // waited out the load's latency in the step that issued it.
    auto loadWx = [&](int t, Bits (&w)[GW][C]) {
#pragma unroll
        for (int j = 0; j < GW; ++j)
#pragma unroll
            for (int i = 0; i < C; ++i)
                w[j][i] = raw_if<S>(wx + (bOf[i] * p.wxStrideB + (long long)t * p.wxStrideT + j * ND + n * D + dOf[i]), valid[i]);
    };
    auto prefetchWx = [&](int t) {
        if (t + kPrefetchSteps < T && g == 0) {
#pragma unroll
            for (int j = 0; j < GW; ++j)
#pragma unroll
                for (int i = 0; i < C; ++i)
                    if (valid[i])
                        prefetch_l2(wx + (bOf[i] * p.wxStrideB + (long long)(t + kPrefetchSteps) * p.wxStrideT + j * ND + n * D + dOf[i]));
        }
    };
    typename S::Bits* states = address<typename S::Bits>(p.states);
    typename S::Bits* last = address<typename S::Bits>(p.last);
    float* preOut = address<float>(p.pre);
    float* states32 = address<float>(p.states32);
    const float clip = p.forwardClip;
    const bool hasClip = p.hasForwardClip != 0;

    // Publishes h of this lane's cells into `buffer`: lanes g and g^1 hold adjacent features of
    // the same batch column and build the same word; each hands it to half of the peers.
    auto publish = [&](int buffer, const float (&h)[C]) {
#pragma unroll
        for (int i = 0; i < C; ++i) {
            const int feature = f0 + (g & ~1) + 8 * (eOf[i] >> 1);
            x.template publish_word<HTile>(hTiles, buffer, operand_word<HTile>(2 * q + (eOf[i] & 1), feature),
                                           pack_feature_pair<S>(h[i]), g & 1);
        }
    };

    // Every word of the h tile but its row padding arrives once per step (16-bit pairs).
    x.start(reinterpret_cast<unsigned long long*>(partials + X::kPartialSumBuffers * Shape::kPartialFloats), 8 * (Shape::kDP / 2));
    if (runsCells) {
        float h0[C];
#pragma unroll
        for (int i = 0; i < C; ++i) h0[i] = state[i][0];
        publish(0, h0);
    }
    x.arrive();
    x.template complete<HTile>(hTiles, 0);

    // One step; `use` holds Wx of step t, `fetch` receives Wx of step t+1 (see fused_forward.cuh),
    // after publishing (kLoadAfterArrive above; the split barrier's arrive fences, so its fence
    // does not wait for them either) or at the step's start.
    auto step = [&](int t, const Bits (&use)[GW][C], Bits (&fetch)[GW][C]) {
        const unsigned* hNow = hTiles + (t & 1) * HTile::kWords;
        if (!kLoadAfterArrive) {
            if (t + 1 < T) loadWx(t + 1, fetch);
            prefetchWx(t);
        }

        float acc[GR][4];
        sliced_product<Shape, S, HTile, false>(acc, a, rShared, hNow);

        // The recurrent pre-activations of this lane's cells: the warp's own sums, or with K split
        // the sum of every split warp's partial sums (one CTA barrier; the copy is rewritten only
        // after a barrier every warp reaches after these reads: ClusterExchange::kPartialSumBuffers).
        float recurrent[GR][C];
        if constexpr (KW == 1) {
#pragma unroll
            for (int k = 0; k < GR; ++k)
#pragma unroll
                for (int i = 0; i < C; ++i) recurrent[k][i] = acc[k][i];
        } else {
            float* sums = partials + (X::kPartialSumBuffers > 1 ? (t & 1) * Shape::kPartialFloats : 0);
#pragma unroll
            for (int k = 0; k < GR; ++k)
#pragma unroll
                for (int e = 0; e < 4; ++e) sums[((warp * GR + k) * 4 + e) * 32 + lane] = acc[k][e];
            // Also the barrier the mbarrier exchange needs between this step's reads of hNow and
            // the publishing below.
            __syncthreads();
            if (runsCells) {
#pragma unroll
                for (int k = 0; k < GR; ++k)
#pragma unroll
                    for (int i = 0; i < C; ++i) {
                        float sum = 0.0f;
#pragma unroll
                        for (int w = 0; w < KW; ++w)
                            sum += sums[(((w * Shape::kFeatureWarps + fw) * GR + k) * 4 + eOf[i]) * 32 + lane];
                        recurrent[k][i] = sum;
                    }
            }
        }

        static_assert(KW > 1 || !X::kNeedsCtaBarrierBeforePublish,
                      "the mbarrier exchange needs the K split's CTA barrier before publishing");
        float pre[C][4], next[C][4];
        if (runsCells) {
            float hOut[C];
#pragma unroll
            for (int i = 0; i < C; ++i) {
#pragma unroll
                for (int k = 0; k < 4; ++k) pre[i][k] = 0.0f;
#pragma unroll
                for (int k = 0; k < GT; ++k) pre[i][k] = biasOf[k][i];
#pragma unroll
                for (int k = 0; k < GR; ++k) pre[i][k + kROff] += recurrent[k][i];
#pragma unroll
                for (int j = 0; j < GW; ++j) pre[i][j + kWOff] += S::load(&use[j][i]);
                Cell::template forward<typename S::Math>(pre[i], state[i], next[i]);
                if (hasClip) next[i][0] = fminf(fmaxf(next[i][0], -clip), clip);
                if (!valid[i]) {
#pragma unroll
                    for (int s = 0; s < 4; ++s) next[i][s] = 0.0f;
                }
#pragma unroll
                for (int s = 0; s < 4; ++s) state[i][s] = next[i][s];
                hOut[i] = next[i][0];
            }
            publish((t + 1) & 1, hOut);
        }
        x.arrive();
        if (kLoadAfterArrive) {
            if (t + 1 < T) loadWx(t + 1, fetch);
            prefetchWx(t);
        }
        // The step's outputs: after the publishing stores, so a split barrier's fence does not
        // wait for them.
        if (runsCells) {
#pragma unroll
            for (int i = 0; i < C; ++i) {
                if (valid[i]) {
                    const long long cell = n * D + dOf[i];
#pragma unroll
                    for (int s = 0; s < kS; ++s)
                        S::store(states + ((((long long)s * B + bOf[i]) * T + t) * ND + cell), next[i][s]);
                    if (preOut != nullptr) {
#pragma unroll
                        for (int k = 0; k < GT; ++k)
                            preOut[(((long long)bOf[i] * T + t) * GT + k) * ND + cell] = pre[i][k];
#pragma unroll
                        for (int s = 0; s < kS; ++s)
                            states32[(((long long)s * B + bOf[i]) * T + t) * ND + cell] = next[i][s];
                    }
                    if (t == T - 1) {
#pragma unroll
                        for (int s = 0; s < kS; ++s)
                            S::store(last + (((long long)s * B + bOf[i]) * ND + cell), next[i][s]);
                    }
                }
            }
        }
        x.template complete<HTile>(hTiles, (t + 1) & 1);
    };

    Bits wxA[GW][C], wxB[GW][C];
    loadWx(0, wxA);
    int t = 0;
    for (; t + 1 < T; t += 2) {
        step(t, wxA, wxB);
        step(t + 1, wxB, wxA);
    }
    if (t < T) step(t, wxA, wxB);
    x.finish();
}

}  // namespace fused
}  // namespace flashrnn
