// Persistent reverse sweep for a head larger than one SM, sliced like the forward one: CTA k of
// the cluster keeps the Rᵀ rows of its DS input features (K over all gates and all DP output
// features) on chip; per step
//   dh_rec[DS features, 8 batch] = Rᵀ[slice, G_R·DP] · dG_{t+1}[G_R·DP, 8 batch]   (mma.sync)
// lands on the cells the thread updates with the cell's backward, which yields dG_t of the slice's
// features; the CTA publishes them (all G_R recurrent gates) into the double-buffered dG tile of
// every CTA of the cluster, and one cluster barrier per step completes dG_t everywhere.
// Outputs (dWx, float32 dG for the dR product, db partial sums, dInitial) are those of
// fused_backward.cuh; dR and the conversion run in the same follow-up kernels.
#pragma once
#include "fused/fused_backward.cuh"
#include "fused/fused_sliced_forward.cuh"

namespace flashrnn {
namespace fused {

// X: how the KS CTAs of a head exchange dG_t (ClusterExchange, GridExchange).
template <class Cell, class S, int DS, int KS, int AREG, class X>
__device__ __forceinline__ void sliced_backward_sweep(const FusedParams& p, X& x) {
    using Shape = SlicedShape<Cell, S, DS, KS, AREG>;
    using M = MmaTraits<S>;
    using GTile = typename Shape::GTile;
    constexpr int GR = Cell::kGatesR, GW = Cell::kGatesW, GT = Cell::kGatesT, kS = Cell::kStates;
    constexpr int kROff = Cell::kRecurrentGateOffset, kWOff = Cell::kInputGateOffset;
    constexpr int DP = Shape::kDP;
    constexpr int kRegTiles = Shape::kRegisterTiles, kWarps = Shape::kWarps;

    extern __shared__ uint4 shared[];
    uint4* rShared = shared;                                                   // [kSharedTiles, kWarps, 32]
    unsigned* gTiles = reinterpret_cast<unsigned*>(shared + Shape::kSharedTiles * kWarps * 32);  // [2, GTile]

    const int g = (threadIdx.x & 31) >> 2, q = threadIdx.x & 3;
    const int B = p.B, T = p.T, N = p.N, D = p.D;
    const SliceLane<DS, KS> cells(x.rank(), D, B);
    const int n = cells.n, f0 = cells.f0;
    const auto& dOf = cells.d;
    const auto& bOf = cells.b;
    const auto& valid = cells.valid;
    const long long ND = (long long)N * D;

    unsigned a[kRegTiles > 0 ? kRegTiles : 1][4];
    load_sliced_weights<Shape, S, true>(a, rShared, address<const typename S::Bits>(p.r), n, N, D, f0);


    const float* states32 = address<const float>(p.states32);
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

    float dNext[4][4];
    float dbSum[GT][4];
#pragma unroll
    for (int e = 0; e < 4; ++e)
#pragma unroll
        for (int s = 0; s < 4; ++s) dNext[e][s] = 0.0f;
#pragma unroll
    for (int k = 0; k < GT; ++k)
#pragma unroll
        for (int e = 0; e < 4; ++e) dbSum[k][e] = 0.0f;

    auto recurrentProduct = [&](const unsigned* tile, float (&out)[4]) {
        float acc[GR][4];
        sliced_product<Shape, S, GTile, true>(acc, a, rShared, tile);
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            float sum = 0.0f;
#pragma unroll
            for (int k = 0; k < GR; ++k) sum += acc[k][e];
            if (hasGradientClip) sum = fminf(fmaxf(sum, -gradientClip), gradientClip);
            out[e] = sum;
        }
    };

    struct StepInputs { float pre[4][4], previous[4][4], external[4][4]; };
    auto loadStep = [&](int t, StepInputs& in) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const long long cell = n * D + dOf[e];
#pragma unroll
            for (int k = 0; k < 4; ++k)
                in.pre[e][k] = (k < GT && valid[e]) ? preIn[(((long long)bOf[e] * T + t) * GT + k) * ND + cell] : 0.0f;
#pragma unroll
            for (int s = 0; s < 4; ++s) {
                float prev = 0.0f, ext = 0.0f;
                if (s < kS && valid[e]) {
                    if (t > 0) prev = states32[(((long long)s * B + bOf[e]) * T + (t - 1)) * ND + cell];
                    else if (s0 != nullptr) prev = S::load(s0 + (((long long)s * B + bOf[e]) * ND + cell));
                    if (dStates != nullptr) ext = S::load(dStates + ((((long long)s * B + bOf[e]) * T + t) * ND + cell));
                    if (t == T - 1 && dLast != nullptr) ext += S::load(dLast + (((long long)s * B + bOf[e]) * ND + cell));
                }
                in.previous[e][s] = prev;
                in.external[e][s] = ext;
            }
        }
    };

    x.start();

    auto step = [&](int t, const StepInputs& use, StepInputs& fetch) {
        const unsigned* gNow = gTiles + ((t + 1) & 1) * GTile::kWords;       // dG_{t+1}
        if (t > 0) loadStep(t - 1, fetch);

        float recurrent[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (t < T - 1 && !cut) recurrentProduct(gNow, recurrent);

        float dGate[GR][4];
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            float dNew[4];
#pragma unroll
            for (int s = 0; s < 4; ++s) dNew[s] = dNext[e][s] + use.external[e][s];
            dNew[0] += recurrent[e];
            if (hasForwardClip) {
                // The clamp passes gradient only where it did not bind.
                float h[4];
                Cell::template forward<typename S::Math>(use.pre[e], use.previous[e], h);
                if (fabsf(h[0]) > forwardClip) dNew[0] = 0.0f;
            }
            float dPre[4], dPrevious[4];
            Cell::template backward<typename S::Math>(use.pre[e], use.previous[e], dNew, dPre, dPrevious);
            if (!valid[e]) {
#pragma unroll
                for (int k = 0; k < 4; ++k) { dPre[k] = 0.0f; dPrevious[k] = 0.0f; }
            }
#pragma unroll
            for (int s = 0; s < 4; ++s) dNext[e][s] = dPrevious[s];
            const long long cell = n * D + dOf[e];
#pragma unroll
            for (int k = 0; k < GR; ++k) {
                dGate[k][e] = dPre[k + kROff];
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
#pragma unroll
        for (int k = 0; k < GR; ++k) x.template publish<S, GTile>(gTiles, t & 1, k * DP + f0, dGate[k]);
        x.template complete<GTile>(gTiles, t & 1);
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
            const int d = f0 + g + 8 * half;
            if (q == 0 && d < D) atomicAdd(&db[(long long)k * ND + n * D + d], v);
        }
    }
}

}  // namespace fused
}  // namespace flashrnn
