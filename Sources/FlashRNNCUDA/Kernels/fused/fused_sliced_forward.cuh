// Persistent forward sweep for a head larger than one SM: the head's output features are split
// over the KS CTAs of one thread-block cluster ("slices" of DS features; DP = KS·DS). CTA k keeps
// the R rows of its features (all gates, the full K = DP reduction) on chip, computes
//   pre[G_R·DS features, 8 batch] = R[G_R, slice, DP] · h_{t-1}[DP, 8 batch]   (mma.sync, fp32 acc)
// runs the cell on the product's registers exactly as the one-SM sweep does, and publishes its
// slice of h_t into the double-buffered h tile of every CTA of the cluster (distributed shared
// memory); one cluster barrier per step then gives every CTA all of h_t.
// Outputs, the gradient cache and their layouts are those of fused_forward.cuh.
#pragma once
#include "fused/fused_forward.cuh"
#include "fused/fused_sliced_cluster.cuh"

namespace flashrnn {
namespace fused {

// Shared memory and tiling of one CTA of the sliced sweeps. DS: features per CTA (a multiple of
// 16, one warp per 16), KS: CTAs per head (the cluster size). A warp's R tiles are ordered by K
// column kt, all gates of a column together: columns kt < kRegColumns live in registers
// (AREG / G_R columns), the rest in shared memory, so one B fragment serves every gate.
template <class Cell, class S, int DS, int KS, int AREG>
struct SlicedShape {
    using M = MmaTraits<S>;
    static constexpr int kGR = Cell::kGatesR;
    static constexpr int kDP = DS * KS;
    static constexpr int kWarps = DS / 16;
    static constexpr int kThreads = kWarps * 32;
    static constexpr int kColumns = kDP / M::kK;                       // KT
    static constexpr int kTiles = kGR * kColumns;                      // A tiles per warp
    static constexpr int kRegColumns = AREG / kGR < kColumns ? AREG / kGR : kColumns;
    static constexpr int kRegisterTiles = kGR * kRegColumns;
    static constexpr int kSharedTiles = kTiles - kRegisterTiles;
    using HTile = OperandTile<S, kDP>;                                 // [8 batch, DP] h_{t-1}
    using GTile = OperandTile<S, kGR * kDP>;                           // [8 batch, G_R·DP] dG_{t+1}
    static_assert(DS % 16 == 0, "the slice DS must be a multiple of 16");
    static_assert(KS >= 1, "a head needs at least one CTA");
    static_assert(AREG == kRegisterTiles, "AREG must be G_R times the register-resident K columns");
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
    for (int i = 0; i < Shape::kRegisterTiles; ++i) load_sliced_tile<S, kTransposed>(a[i], R, n, N, D, row0, i % GR, i / GR);
    // Not unrolled: the shared tiles pass through registers one at a time.
#pragma unroll 1
    for (int j = 0; j < Shape::kSharedTiles; ++j) {
        unsigned frag[4];
        load_sliced_tile<S, kTransposed>(frag, R, n, N, D, row0, j % GR, Shape::kRegColumns + j / GR);
        rShared[(j * Shape::kWarps + warp) * 32 + lane] = make_uint4(frag[0], frag[1], frag[2], frag[3]);
    }
}

// acc[k] = Σ_kt A(k, kt) · B(k, kt) for every gate k. B comes from `tile` at K index kt·kK, or
// k·DP + kt·kK when every gate has its own operand (kGateOperands, the backward's dG).
template <class Shape, class S, class Tile, bool kGateOperands>
__device__ __forceinline__ void sliced_product(float (&acc)[Shape::kGR][4],
                                               const unsigned (&a)[Shape::kRegisterTiles > 0 ? Shape::kRegisterTiles : 1][4],
                                               const uint4* rShared, const unsigned* tile) {
    using M = MmaTraits<S>;
    constexpr int GR = Shape::kGR, DP = Shape::kDP;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
#pragma unroll
    for (int k = 0; k < GR; ++k)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[k][e] = 0.0f;
#pragma unroll
    for (int kt = 0; kt < Shape::kRegColumns; ++kt) {
        unsigned b0, b1;
        if (!kGateOperands) Tile::load_b(tile, kt * M::kK, b0, b1);
#pragma unroll
        for (int k = 0; k < GR; ++k) {
            if (kGateOperands) Tile::load_b(tile, k * DP + kt * M::kK, b0, b1);
            M::mma(acc[k], a[kt * GR + k], b0, b1);
        }
    }
    // Partly unrolled: a full unroll lets the compiler hoist every shared-memory A load ahead of
    // the products and spill.
#pragma unroll 2
    for (int kt = Shape::kRegColumns; kt < Shape::kColumns; ++kt) {
        unsigned b0, b1;
        if (!kGateOperands) Tile::load_b(tile, kt * M::kK, b0, b1);
        const uint4* column = rShared + ((kt - Shape::kRegColumns) * GR * Shape::kWarps + warp) * 32 + lane;
#pragma unroll
        for (int k = 0; k < GR; ++k) {
            if (kGateOperands) Tile::load_b(tile, k * DP + kt * M::kK, b0, b1);
            unsigned frag[4];
            load_shared_fragment(frag, column + k * Shape::kWarps * 32);
            M::mma(acc[k], frag, b0, b1);
        }
    }
}

// Where this lane works in a sliced sweep: head n, the warp's first feature f0 (its CTA's slice
// of DS features, then 16 per warp) and its four C-fragment cells (feature d, batch column b),
// valid inside D × B.
template <int DS, int KS>
struct SliceLane {
    int n, f0, d[4], b[4];
    bool valid[4];
    __device__ __forceinline__ SliceLane(int rank, int D, int B) {
        const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
        n = blockIdx.x / KS;
        f0 = rank * DS + warp * 16;
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            d[e] = f0 + g + 8 * (e >> 1);
            b[e] = blockIdx.y * 8 + 2 * q + (e & 1);
            valid[e] = d[e] < D && b[e] < B;
        }
    }
};

// X: how the KS CTAs of a head exchange h_t (ClusterExchange, GridExchange).
template <class Cell, class S, int DS, int KS, int AREG, class X>
__device__ __forceinline__ void sliced_forward_sweep(const FusedParams& p, X& x) {
    using Shape = SlicedShape<Cell, S, DS, KS, AREG>;
    using M = MmaTraits<S>;
    using HTile = typename Shape::HTile;
    constexpr int GR = Cell::kGatesR, GW = Cell::kGatesW, GT = Cell::kGatesT, kS = Cell::kStates;
    constexpr int kROff = Cell::kRecurrentGateOffset, kWOff = Cell::kInputGateOffset;
    constexpr int kRegTiles = Shape::kRegisterTiles, kWarps = Shape::kWarps;

    extern __shared__ uint4 shared[];
    uint4* rShared = shared;                                                   // [kSharedTiles, kWarps, 32]
    unsigned* hTiles = reinterpret_cast<unsigned*>(shared + Shape::kSharedTiles * kWarps * 32);  // [2, HTile]

    const int g = (threadIdx.x & 31) >> 2;
    const int B = p.B, T = p.T, N = p.N, D = p.D;
    const SliceLane<DS, KS> cells(x.rank(), D, B);
    const int n = cells.n, f0 = cells.f0;
    const auto& dOf = cells.d;
    const auto& bOf = cells.b;
    const auto& valid = cells.valid;
    const long long ND = (long long)N * D;

    unsigned a[kRegTiles > 0 ? kRegTiles : 1][4];
    load_sliced_weights<Shape, S, false>(a, rShared, address<const typename S::Bits>(p.r), n, N, D, f0);


    const typename S::Bits* bias = address<const typename S::Bits>(p.bias);
    float biasOf[GT][4];
#pragma unroll
    for (int k = 0; k < GT; ++k)
#pragma unroll
        for (int e = 0; e < 4; ++e) biasOf[k][e] = load_or_zero<S>(bias, (long long)k * ND + n * D + dOf[e], dOf[e] < D);

    const typename S::Bits* s0 = address<const typename S::Bits>(p.s0);
    float state[4][4];
#pragma unroll
    for (int e = 0; e < 4; ++e)
#pragma unroll
        for (int s = 0; s < 4; ++s)
            state[e][s] = (s < kS && s0 != nullptr)
                ? load_or_zero<S>(s0, ((long long)s * B + bOf[e]) * ND + n * D + dOf[e], valid[e]) : 0.0f;

    const typename S::Bits* wx = address<const typename S::Bits>(p.wx);
    auto loadWx = [&](int t, float (&w)[GW][4]) {
#pragma unroll
        for (int j = 0; j < GW; ++j)
#pragma unroll
            for (int e = 0; e < 4; ++e)
                w[j][e] = load_or_zero<S>(wx, bOf[e] * p.wxStrideB + t * p.wxStrideT + j * ND + n * D + dOf[e], valid[e]);
    };
    typename S::Bits* states = address<typename S::Bits>(p.states);
    typename S::Bits* last = address<typename S::Bits>(p.last);
    float* preOut = address<float>(p.pre);
    float* states32 = address<float>(p.states32);
    const float clip = p.forwardClip;
    const bool hasClip = p.hasForwardClip != 0;

    x.start();
    {
        const float h0[4] = {state[0][0], state[1][0], state[2][0], state[3][0]};
        x.template publish<S, HTile>(hTiles, 0, f0, h0);
    }
    x.template complete<HTile>(hTiles, 0);

    // One step; `use` holds Wx of step t, `fetch` receives Wx of step t+1 (see fused_forward.cuh).
    auto step = [&](int t, const float (&use)[GW][4], float (&fetch)[GW][4]) {
        const unsigned* hNow = hTiles + (t & 1) * HTile::kWords;
        if (t + 1 < T) loadWx(t + 1, fetch);
        if (t + kPrefetchSteps < T && g == 0) {
#pragma unroll
            for (int j = 0; j < GW; ++j)
#pragma unroll
                for (int e = 0; e < 4; ++e)
                    if (valid[e])
                        prefetch_l2(wx + (bOf[e] * p.wxStrideB + (t + kPrefetchSteps) * p.wxStrideT + j * ND + n * D + dOf[e]));
        }

        float acc[GR][4];
        sliced_product<Shape, S, HTile, false>(acc, a, rShared, hNow);

        float hOut[4];
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            float pre[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
            for (int k = 0; k < GT; ++k) pre[k] = biasOf[k][e];
#pragma unroll
            for (int k = 0; k < GR; ++k) pre[k + kROff] += acc[k][e];
#pragma unroll
            for (int j = 0; j < GW; ++j) pre[j + kWOff] += use[j][e];
            float next[4];
            Cell::template forward<typename S::Math>(pre, state[e], next);
            if (hasClip) next[0] = fminf(fmaxf(next[0], -clip), clip);
            if (!valid[e]) {
#pragma unroll
                for (int s = 0; s < 4; ++s) next[s] = 0.0f;
            }
#pragma unroll
            for (int s = 0; s < 4; ++s) state[e][s] = next[s];
            hOut[e] = next[0];
            if (valid[e]) {
                const long long cell = n * D + dOf[e];
#pragma unroll
                for (int s = 0; s < kS; ++s)
                    S::store(states + ((((long long)s * B + bOf[e]) * T + t) * ND + cell), next[s]);
                if (preOut != nullptr) {
#pragma unroll
                    for (int k = 0; k < GT; ++k)
                        preOut[(((long long)bOf[e] * T + t) * GT + k) * ND + cell] = pre[k];
#pragma unroll
                    for (int s = 0; s < kS; ++s)
                        states32[(((long long)s * B + bOf[e]) * T + t) * ND + cell] = next[s];
                }
                if (t == T - 1) {
#pragma unroll
                    for (int s = 0; s < kS; ++s)
                        S::store(last + (((long long)s * B + bOf[e]) * ND + cell), next[s]);
                }
            }
        }
        x.template publish<S, HTile>(hTiles, (t + 1) & 1, f0, hOut);
        x.template complete<HTile>(hTiles, (t + 1) & 1);
    };

    float wxA[GW][4], wxB[GW][4];
    loadWx(0, wxA);
    int t = 0;
    for (; t + 1 < T; t += 2) {
        step(t, wxA, wxB);
        step(t + 1, wxB, wxA);
    }
    if (t < T) step(t, wxA, wxB);
}

}  // namespace fused
}  // namespace flashrnn
