// Persistent forward sweep for a head that fits one SM: one CTA runs all T steps of one
// (head n, batch slice of 8) with R resident on chip. Warp w owns output features
// d ∈ [16w, 16w+16) of every recurrent gate; per step it computes
//   pre[G_R·16 features, 8 batch] = R[G_R, 16 features, D] · h_{t-1}[D, 8 batch]   (mma.sync, fp32 acc)
// then the cell's pointwise update on those registers, and writes h_t into the other half of a
// double-buffered shared-memory tile, so a step needs exactly one __syncthreads.
// R fragments: the first AREG tiles (of G_R · DP/kK) live in registers, the rest in shared
// memory in fragment order (one conflict-free 16-byte load per lane).
#pragma once
#include "fused/fused_mma.cuh"
#include "fused/fused_params.cuh"

namespace flashrnn {
namespace fused {

// Shared memory of one CTA of the forward sweep, in bytes.
template <class Cell, class S, int DP, int AREG>
struct ForwardShape {
    using M = MmaTraits<S>;
    static constexpr int kWarps = DP / 16;
    static constexpr int kThreads = kWarps * 32;
    static constexpr int kTiles = Cell::kGatesR * (DP / M::kK);          // A tiles per warp
    static constexpr int kRegisterTiles = AREG < kTiles ? AREG : kTiles;
    static constexpr int kSharedTiles = kTiles - kRegisterTiles;
    using HTile = OperandTile<S, DP>;                                 // [8 batch, DP] h_{t-1}
    static constexpr int kSharedBytes = kSharedTiles * kWarps * 32 * 16 + 2 * HTile::kWords * 4;
    static_assert(DP % 16 == 0, "the padded head dimension DP must be a multiple of 16");
};

// Steps ahead that the forward sweep asks L2 to fetch Wx.
constexpr int kPrefetchSteps = 8;

template <typename T>
__device__ __forceinline__ void prefetch_l2(const T* p) {
    asm volatile("prefetch.global.L2 [%0];" :: "l"(p));
}

template <class S>
__device__ __forceinline__ float load_or_zero(const typename S::Bits* base, long long index, bool valid) {
    return valid ? S::load(base + index) : 0.0f;
}

template <class Cell, class S, int DP, int AREG>
__device__ __forceinline__ void forward_sweep(const FusedParams& p) {
    using Shape = ForwardShape<Cell, S, DP, AREG>;
    using M = MmaTraits<S>;
    using HTile = typename Shape::HTile;
    constexpr int GR = Cell::kGatesR, GW = Cell::kGatesW, GT = Cell::kGatesT, kS = Cell::kStates;
    constexpr int kROff = Cell::kRecurrentGateOffset, kWOff = Cell::kInputGateOffset;
    constexpr int KT = DP / M::kK;
    constexpr int kTiles = Shape::kTiles, kRegTiles = Shape::kRegisterTiles, kWarps = Shape::kWarps;

    extern __shared__ uint4 shared[];
    uint4* rShared = shared;                                                   // [kSharedTiles, kWarps, 32]
    unsigned* hTiles = reinterpret_cast<unsigned*>(shared + Shape::kSharedTiles * kWarps * 32);  // [2, HTile]

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
    const int n = blockIdx.x, batch0 = blockIdx.y * 8;
    const int B = p.B, T = p.T, N = p.N, D = p.D;
    const long long ND = (long long)N * D;

    // R fragments of this warp's features, all gates, all of K.
    unsigned a[kRegTiles > 0 ? kRegTiles : 1][4];
    const typename S::Bits* R = address<const typename S::Bits>(p.r);
    auto loadTile = [&](int i, unsigned (&frag)[4]) {
        const int k = i / KT, kt = i % KT;
        const typename S::Bits* Rk = R + (long long)(k * N + n) * D * D;               // [D out, D in]
        load_a_fragment<S>(frag, [&](int row, int col) {
            return (row < D && col < D) ? S::load(Rk + ((long long)row * D + col)) : 0.0f;
        }, warp * 16, kt * M::kK);
    };
#pragma unroll
    for (int i = 0; i < kRegTiles; ++i) loadTile(i, a[i]);
    // Not unrolled: the shared tiles pass through registers one at a time.
#pragma unroll 1
    for (int i = kRegTiles; i < kTiles; ++i) {
        unsigned frag[4];
        loadTile(i, frag);
        rShared[((i - kRegTiles) * kWarps + warp) * 32 + lane] = make_uint4(frag[0], frag[1], frag[2], frag[3]);
    }


    // This thread's four (feature d, batch b) cells, the C-fragment positions.
    int dOf[4], bOf[4];
    bool valid[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) {
        dOf[e] = warp * 16 + g + 8 * (e >> 1);
        bOf[e] = batch0 + 2 * q + (e & 1);
        valid[e] = dOf[e] < D && bOf[e] < B;
    }

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
#pragma unroll
    for (int e = 0; e < 4; ++e) HTile::store(hTiles, 2 * q + (e & 1), dOf[e], state[e][0]);

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
    __syncthreads();

    // One step; `use` holds Wx of step t, `fetch` receives Wx of step t+1. Two named buffers
    // alternate (the loop below is unrolled by two) so no register copy waits on the loads.
    auto step = [&](int t, const float (&use)[GW][4], float (&fetch)[GW][4]) {
        const unsigned* hNow = hTiles + (t & 1) * HTile::kWords;
        unsigned* hNext = hTiles + ((t + 1) & 1) * HTile::kWords;
        // Issued before the product so the loads overlap it; the L2 prefetch runs further ahead.
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
#pragma unroll
        for (int k = 0; k < GR; ++k)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[k][e] = 0.0f;
#pragma unroll
        for (int kt = 0; kt < KT; ++kt) {
            unsigned b0, b1;
            HTile::load_b(hNow, kt * M::kK, b0, b1);
#pragma unroll
            for (int k = 0; k < GR; ++k) {
                const int i = k * KT + kt;
                if (i < kRegTiles) {
                    M::mma(acc[k], a[i < kRegTiles ? i : 0], b0, b1);
                } else {
                    unsigned frag[4];
                    load_shared_fragment(frag, rShared + ((i - kRegTiles) * kWarps + warp) * 32 + lane);
                    M::mma(acc[k], frag, b0, b1);
                }
            }
        }

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
            HTile::store(hNext, 2 * q + (e & 1), dOf[e], next[0]);
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
        __syncthreads();
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
