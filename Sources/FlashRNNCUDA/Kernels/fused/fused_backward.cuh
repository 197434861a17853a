// Persistent reverse sweep, decomposed like the forward one: one CTA per (head n, batch slice
// of 8), Rᵀ resident on chip. Warp w owns input features p ∈ [16w, 16w+16); per step
//   dh_rec[16 features, 8 batch] = Rᵀ[16 features, G_R·D] · dG_{t+1}[G_R·D, 8 batch]   (mma.sync)
// lands on the same (feature, batch) cells the thread updates with the cell's backward, which
// writes dG_t into the other half of a double-buffered shared-memory tile (one __syncthreads a
// step). Gate gradients leave the CTA as dWx (storage type, the caller's layout), as float32
// recurrent-gate gradients for the dR product, and as per-thread partial sums of db reduced once
// at the end.
#pragma once
#include "fused/fused_mma.cuh"
#include "fused/fused_params.cuh"

namespace flashrnn {
namespace fused {

template <class Cell, class S, int DP, int AREG>
struct BackwardShape {
    using M = MmaTraits<S>;
    static constexpr int kWarps = DP / 16;
    static constexpr int kThreads = kWarps * 32;
    static constexpr int kTiles = Cell::kGatesR * (DP / M::kK);          // A tiles of Rᵀ per warp
    static constexpr int kRegisterTiles = AREG < kTiles ? AREG : kTiles;
    static constexpr int kSharedTiles = kTiles - kRegisterTiles;
    using GTile = OperandTile<S, Cell::kGatesR * DP>;                 // [8 batch, G_R·DP] dG
    static constexpr int kSharedBytes = kSharedTiles * kWarps * 32 * 16 + 2 * GTile::kWords * 4;
};

template <class Cell, class S, int DP, int AREG>
__device__ __forceinline__ void backward_sweep(const FusedParams& p) {
    using Shape = BackwardShape<Cell, S, DP, AREG>;
    using M = MmaTraits<S>;
    using GTile = typename Shape::GTile;
    constexpr int GR = Cell::kGatesR, GW = Cell::kGatesW, GT = Cell::kGatesT, kS = Cell::kStates;
    constexpr int kROff = Cell::kRecurrentGateOffset, kWOff = Cell::kInputGateOffset;
    constexpr int KT = DP / M::kK;
    constexpr int kTiles = Shape::kTiles, kRegTiles = Shape::kRegisterTiles, kWarps = Shape::kWarps;

    extern __shared__ uint4 shared[];
    uint4* rShared = shared;                                                   // [kSharedTiles, kWarps, 32]
    unsigned* gTiles = reinterpret_cast<unsigned*>(shared + Shape::kSharedTiles * kWarps * 32);  // [2, GTile]

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
    const int n = blockIdx.x, batch0 = blockIdx.y * 8;
    const int B = p.B, T = p.T, N = p.N, D = p.D;
    const long long ND = (long long)N * D;

    // Rᵀ fragments: rows are input features p, K runs over (gate k, output feature d) = k·DP + d.
    unsigned a[kRegTiles > 0 ? kRegTiles : 1][4];
    const typename S::Bits* R = address<const typename S::Bits>(p.r);
    auto loadTile = [&](int i, unsigned (&frag)[4]) {
        const int k = i / KT;
        const typename S::Bits* Rk = R + (long long)(k * N + n) * D * D;               // [D out, D in]
        load_a_fragment<S>(frag, [&](int row, int col) {
            const int d = col - k * DP;
            return (row < D && d < D) ? S::load(Rk + ((long long)d * D + row)) : 0.0f;
        }, warp * 16, i * M::kK);
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


    int dOf[4], bOf[4];
    bool valid[4];
#pragma unroll
    for (int e = 0; e < 4; ++e) {
        dOf[e] = warp * 16 + g + 8 * (e >> 1);
        bOf[e] = batch0 + 2 * q + (e & 1);
        valid[e] = dOf[e] < D && bOf[e] < B;
    }

    const float* states32 = address<const float>(p.states32);   // unrounded, as the forward carried them
    const typename S::Bits* s0 = address<const typename S::Bits>(p.s0);
    const typename S::Bits* dStates = address<const typename S::Bits>(p.dStates);
    const typename S::Bits* dLast = address<const typename S::Bits>(p.dLast);
    const float* preIn = address<const float>(p.pre);
    float* dGR = address<float>(p.dGR);
    float* db = address<float>(p.db);
    typename S::Bits* dWx = address<typename S::Bits>(p.dWx);
    const bool cut = p.gradientCut != 0;
    const bool hasGradientClip = p.hasGradientClip != 0, hasForwardClip = p.hasForwardClip != 0;
    const float gradientClip = p.gradientClip, forwardClip = p.forwardClip;

    float dNext[4][4];                 // direct-path gradients from step t+1, per cell
    float dbSum[GT][4];
#pragma unroll
    for (int e = 0; e < 4; ++e)
#pragma unroll
        for (int s = 0; s < 4; ++s) dNext[e][s] = 0.0f;
#pragma unroll
    for (int k = 0; k < GT; ++k)
#pragma unroll
        for (int e = 0; e < 4; ++e) dbSum[k][e] = 0.0f;

    // dh_rec = Rᵀ · dG from a tile, summed over independent per-gate accumulators.
    auto recurrentProduct = [&](const unsigned* tile, float (&out)[4]) {
        float acc[GR][4];
#pragma unroll
        for (int k = 0; k < GR; ++k)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[k][e] = 0.0f;
#pragma unroll
        for (int i = 0; i < kTiles; ++i) {
            unsigned b0, b1;
            GTile::load_b(tile, i * M::kK, b0, b1);
            if (i < kRegTiles) {
                M::mma(acc[i / KT], a[i < kRegTiles ? i : 0], b0, b1);
            } else {
                unsigned frag[4];
                load_shared_fragment(frag, rShared + ((i - kRegTiles) * kWarps + warp) * 32 + lane);
                M::mma(acc[i / KT], frag, b0, b1);
            }
        }
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            float sum = 0.0f;
#pragma unroll
            for (int k = 0; k < GR; ++k) sum += acc[k][e];
            if (hasGradientClip) sum = fminf(fmaxf(sum, -gradientClip), gradientClip);
            out[e] = sum;
        }
    };

    // What step t reads besides the product: pre-activations, previous states, output gradients.
    struct StepInputs { float pre[4][4], previous[4][4], external[4][4]; };
    auto loadStep = [&](int t, StepInputs& in) {
        float (&pre)[4][4] = in.pre;
        float (&previous)[4][4] = in.previous;
        float (&external)[4][4] = in.external;
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const long long cell = n * D + dOf[e];
#pragma unroll
            for (int k = 0; k < 4; ++k)
                pre[e][k] = (k < GT && valid[e]) ? preIn[(((long long)bOf[e] * T + t) * GT + k) * ND + cell] : 0.0f;
#pragma unroll
            for (int s = 0; s < 4; ++s) {
                float prev = 0.0f, ext = 0.0f;
                if (s < kS && valid[e]) {
                    if (t > 0) prev = states32[(((long long)s * B + bOf[e]) * T + (t - 1)) * ND + cell];
                    else if (s0 != nullptr) prev = S::load(s0 + (((long long)s * B + bOf[e]) * ND + cell));
                    if (dStates != nullptr) ext = S::load(dStates + ((((long long)s * B + bOf[e]) * T + t) * ND + cell));
                    if (t == T - 1 && dLast != nullptr) ext += S::load(dLast + (((long long)s * B + bOf[e]) * ND + cell));
                }
                previous[e][s] = prev;
                external[e][s] = ext;
            }
        }
    };

    // One step; `use` holds step t's inputs, `fetch` receives step t-1's. Two named buffers
    // alternate (the loop below is unrolled by two) so the loads overlap a whole step.
    auto step = [&](int t, const StepInputs& use, StepInputs& fetch) {
        const unsigned* gNow = gTiles + ((t + 1) & 1) * GTile::kWords;       // dG_{t+1}
        unsigned* gNext = gTiles + (t & 1) * GTile::kWords;                   // dG_t
        if (t > 0) loadStep(t - 1, fetch);
        const float (&pre)[4][4] = use.pre;
        const float (&previous)[4][4] = use.previous;
        const float (&external)[4][4] = use.external;

        float recurrent[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (t < T - 1 && !cut) recurrentProduct(gNow, recurrent);

#pragma unroll
        for (int e = 0; e < 4; ++e) {
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
            const int column = 2 * q + (e & 1);
            const long long cell = n * D + dOf[e];
#pragma unroll
            for (int k = 0; k < GR; ++k) {
                GTile::store(gNext, column, k * DP + dOf[e], dPre[k + kROff]);
                if (valid[e]) dGR[(((long long)bOf[e] * T + t) * GR + k) * ND + cell] = dPre[k + kROff];
            }
            if (valid[e]) {
#pragma unroll
                for (int j = 0; j < GW; ++j)
                    S::store(dWx + (bOf[e] * p.wxStrideB + t * p.wxStrideT + j * ND + cell), dPre[j + kWOff]);
            }
#pragma unroll
            for (int k = 0; k < GT; ++k) dbSum[k][e] += dPre[k];
        }
        __syncthreads();
    };

    StepInputs inA, inB;
    loadStep(T - 1, inA);
    int t = T - 1;
    for (; t >= 1; t -= 2) {
        step(t, inA, inB);
        step(t - 1, inB, inA);
    }
    if (t == 0) step(0, inA, inB);

    // What reaches s_0: the direct paths plus Rᵀ·dG_0 for h.
    float recurrent[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (!cut) recurrentProduct(gTiles, recurrent);
    typename S::Bits* dInitial = address<typename S::Bits>(p.dInitial);
#pragma unroll
    for (int e = 0; e < 4; ++e) {
        if (!valid[e]) continue;
        const long long cell = n * D + dOf[e];
#pragma unroll
        for (int s = 0; s < kS; ++s) {
            float v = dNext[e][s] + (s == 0 ? recurrent[e] : 0.0f);
            S::store(dInitial + (((long long)s * B + bOf[e]) * ND + cell), v);
        }
    }

    // db: the thread's two batch columns, then the four lanes of a row (same d), then one atomic.
#pragma unroll
    for (int k = 0; k < GT; ++k) {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
            float v = dbSum[k][2 * half] + dbSum[k][2 * half + 1];
            v += __shfl_xor_sync(0xffffffffu, v, 1);
            v += __shfl_xor_sync(0xffffffffu, v, 2);
            const int d = warp * 16 + g + 8 * half;
            if (q == 0 && d < D) atomicAdd(&db[(long long)k * ND + n * D + d], v);
        }
    }
}

}  // namespace fused
}  // namespace flashrnn
