// Persistent reverse sweep for a head larger than one SM, sliced like the forward one: CTA k of
// the cluster keeps the Rᵀ rows of its DS input features (K over all gates and all DP output
// features) on chip; per step
//   dh_rec[DS features, 8 batch] = Rᵀ[slice, G_R·DP] · dG_{t+1}[G_R·DP, 8 batch]   (mma.sync)
// lands on the cells the thread updates with the cell's backward, which yields dG_t of the slice's
// features; the CTA publishes them (all G_R recurrent gates) into the double-buffered dG tile of
// every CTA of the cluster, and the exchange (a cluster barrier, or mbarriers: ClusterExchange's
// SYNC) completes dG_t everywhere.
// Outputs (dWx, float32 dG for the dR product, db partial sums, dInitial) are those of
// fused_backward.cuh; dR and the conversion run in the same follow-up kernels.
#pragma once
#include "fused/fused_backward.cuh"
#include "fused/fused_sliced_forward.cuh"

namespace flashrnn {
namespace fused {

// X: how the KS CTAs of a head exchange dG_t (ClusterExchange, GridExchange). KW warps split
// the K range (the output features of every gate) of each group of 16 input features; their
// partial sums of dh_rec (already summed over the gates: 4 values per lane) meet in shared
// memory, and the fragment's cells are shared out over min(KW, 4) warps as in the forward sweep.
template <class Cell, class S, int DS, int KS, int KW, int AREG, class X>
__device__ __forceinline__ void sliced_backward_sweep(const FusedParams& p, X& x) {
    using Shape = SlicedShape<Cell, S, DS, KS, AREG, KW>;
    using Cells = SliceCells<Shape>;
    using M = MmaTraits<S>;
    using GTile = typename Shape::GTile;
    constexpr int GR = Cell::kGatesR, GW = Cell::kGatesW, GT = Cell::kGatesT, kS = Cell::kStates;
    constexpr int kROff = Cell::kRecurrentGateOffset, kWOff = Cell::kInputGateOffset;
    constexpr int DP = Shape::kDP;
    constexpr int kRegTiles = Shape::kRegisterTiles, kWarps = Shape::kWarps;
    constexpr int C = Cells::kCells;
    static_assert(M::kPerWord == 2, "the sliced kernels exchange 16-bit operands");

    extern __shared__ uint4 shared[];
    uint4* rShared = shared;                                                   // [kSharedTiles, kWarps, 32]
    unsigned* gTiles = reinterpret_cast<unsigned*>(shared + Shape::kSharedTiles * kWarps * 32);  // [2, GTile]
    // [X::kPartialSumBuffers, kWarps, 4, 32]: step t uses copy t mod kPartialSumBuffers.
    float* partials = reinterpret_cast<float*>(gTiles + 2 * GTile::kWords);

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

    float dNext[C][4];
    float dbSum[GT][C];
#pragma unroll
    for (int i = 0; i < C; ++i)
#pragma unroll
        for (int s = 0; s < 4; ++s) dNext[i][s] = 0.0f;
#pragma unroll
    for (int k = 0; k < GT; ++k)
#pragma unroll
        for (int i = 0; i < C; ++i) dbSum[k][i] = 0.0f;

    // dh_rec of this lane's cells, the partial sums in copy `step` mod kPartialSumBuffers. Every
    // thread of the CTA calls it (it holds a CTA barrier when K is split; the copy is rewritten
    // only after a barrier every warp reaches after these reads: ClusterExchange::kPartialSumBuffers).
    auto recurrentProduct = [&](const unsigned* tile, int step, float (&out)[C]) {
        float acc[GR][4];
        sliced_product<Shape, S, GTile, true>(acc, a, rShared, tile);
        float part[4];
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            float sum = 0.0f;
#pragma unroll
            for (int k = 0; k < GR; ++k) sum += acc[k][e];
            part[e] = sum;
        }
        if constexpr (KW == 1) {
#pragma unroll
            for (int i = 0; i < C; ++i) out[i] = part[i];
        } else {
            float* sums = partials + (X::kPartialSumBuffers > 1 ? (step & 1) * Shape::kBackwardPartialFloats : 0);
#pragma unroll
            for (int e = 0; e < 4; ++e) sums[(warp * 4 + e) * 32 + lane] = part[e];
            __syncthreads();
#pragma unroll
            for (int i = 0; i < C; ++i) {
                float sum = 0.0f;
                if (runsCells) {
#pragma unroll
                    for (int w = 0; w < KW; ++w) sum += sums[((w * Shape::kFeatureWarps + fw) * 4 + eOf[i]) * 32 + lane];
                }
                out[i] = sum;
            }
        }
#pragma unroll
        for (int i = 0; i < C; ++i)
            if (hasGradientClip) out[i] = fminf(fmaxf(out[i], -gradientClip), gradientClip);
    };

    struct StepInputs { float pre[C][4], previous[C][4], external[C][4]; };
    auto loadStep = [&](int t, StepInputs& in) {
#pragma unroll
        for (int i = 0; i < C; ++i) {
            const long long cell = n * D + dOf[i];
#pragma unroll
            for (int k = 0; k < 4; ++k)
                in.pre[i][k] = (k < GT && valid[i]) ? preIn[(((long long)bOf[i] * T + t) * GT + k) * ND + cell] : 0.0f;
#pragma unroll
            for (int s = 0; s < 4; ++s) {
                float prev = 0.0f, ext = 0.0f;
                if (s < kS && valid[i]) {
                    if (t > 0) prev = states32[(((long long)s * B + bOf[i]) * T + (t - 1)) * ND + cell];
                    else if (s0 != nullptr) prev = S::load(s0 + (((long long)s * B + bOf[i]) * ND + cell));
                    if (dStates != nullptr) ext = S::load(dStates + ((((long long)s * B + bOf[i]) * T + t) * ND + cell));
                    if (t == T - 1 && dLast != nullptr) ext += S::load(dLast + (((long long)s * B + bOf[i]) * ND + cell));
                }
                in.previous[i][s] = prev;
                in.external[i][s] = ext;
            }
        }
    };

    // Every word of the dG tile but its row padding arrives once per step (16-bit pairs).
    x.start(reinterpret_cast<unsigned long long*>(partials + X::kPartialSumBuffers * Shape::kBackwardPartialFloats),
            8 * (GR * DP / 2));
    static_assert(KW > 1 || !X::kNeedsCtaBarrierBeforePublish,
                  "the mbarrier exchange needs the K split's CTA barrier before publishing");

    // Where the exchange's arrive fences (split barrier), the step's gradient stores and the
    // next step's loads come after it, so the fence waits for neither.
    constexpr bool kLoadAfterArrive = X::kArriveFences;
    auto step = [&](int t, const StepInputs& use, StepInputs& fetch) {
        const unsigned* gNow = gTiles + ((t + 1) & 1) * GTile::kWords;       // dG_{t+1}
        if (!kLoadAfterArrive && t > 0) loadStep(t - 1, fetch);

        float recurrent[C];
#pragma unroll
        for (int i = 0; i < C; ++i) recurrent[i] = 0.0f;
        if (t < T - 1 && !cut) recurrentProduct(gNow, t, recurrent);
        // Without the product's barrier (first step, gradient cut), the mbarrier exchange still
        // needs every warp of the CTA past the previous wait before this CTA publishes.
        else if (X::kNeedsCtaBarrierBeforePublish) __syncthreads();

        float dPre[C][4];
        if (runsCells) {
            float dGate[GR][C];
#pragma unroll
            for (int i = 0; i < C; ++i) {
                float dNew[4];
#pragma unroll
                for (int s = 0; s < 4; ++s) dNew[s] = dNext[i][s] + use.external[i][s];
                dNew[0] += recurrent[i];
                if (hasForwardClip) {
                    // The clamp passes gradient only where it did not bind.
                    float h[4];
                    Cell::template forward<typename S::Math>(use.pre[i], use.previous[i], h);
                    if (fabsf(h[0]) > forwardClip) dNew[0] = 0.0f;
                }
                float dPrevious[4];
                Cell::template backward<typename S::Math>(use.pre[i], use.previous[i], dNew, dPre[i], dPrevious);
                if (!valid[i]) {
#pragma unroll
                    for (int k = 0; k < 4; ++k) { dPre[i][k] = 0.0f; dPrevious[k] = 0.0f; }
                }
#pragma unroll
                for (int s = 0; s < 4; ++s) dNext[i][s] = dPrevious[s];
#pragma unroll
                for (int k = 0; k < GR; ++k) dGate[k][i] = dPre[i][k + kROff];
#pragma unroll
                for (int k = 0; k < GT; ++k) dbSum[k][i] += dPre[i][k];
            }
            // Lanes g and g^1 hold adjacent features of the same batch column and build the same
            // word; each hands it to half of the peers.
#pragma unroll
            for (int i = 0; i < C; ++i) {
                const int feature = f0 + (g & ~1) + 8 * (eOf[i] >> 1);
#pragma unroll
                for (int k = 0; k < GR; ++k)
                    x.template publish_word<GTile>(gTiles, t & 1, operand_word<GTile>(2 * q + (eOf[i] & 1), k * DP + feature),
                                                   pack_feature_pair<S>(dGate[k][i]), g & 1);
            }
        }
        x.arrive();
        if (kLoadAfterArrive && t > 0) loadStep(t - 1, fetch);
        // The step's gradients: after the publishing stores, so a split barrier's fence does not
        // wait for them.
        if (runsCells) {
#pragma unroll
            for (int i = 0; i < C; ++i) {
                if (!valid[i]) continue;
                const long long cell = n * D + dOf[i];
#pragma unroll
                for (int k = 0; k < GR; ++k) dGR[(((long long)bOf[i] * T + t) * GR + k) * ND + cell] = dPre[i][k + kROff];
#pragma unroll
                for (int j = 0; j < GW; ++j)
                    S::store(dWx + (bOf[i] * p.wxStrideB + t * p.wxStrideT + j * ND + cell), dPre[i][j + kWOff]);
            }
        }
        x.template complete<GTile, true>(gTiles, t & 1);
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
    float recurrent[C];
#pragma unroll
    for (int i = 0; i < C; ++i) recurrent[i] = 0.0f;
    // Copy 1 (as a step -1 would): step 0 used copy 0, and step 1's reads of copy 1 are before
    // step 0's CTA barrier.
    if (!cut) recurrentProduct(gTiles, 1, recurrent);
    x.finish();
    if (!runsCells) return;
    typename S::Bits* dInitial = address<typename S::Bits>(p.dInitial);
#pragma unroll
    for (int i = 0; i < C; ++i) {
        if (!valid[i]) continue;
        const long long cell = n * D + dOf[i];
#pragma unroll
        for (int s = 0; s < kS; ++s) {
            float v = dNext[i][s] + (s == 0 ? recurrent[i] : 0.0f);
            S::store(dInitial + (((long long)s * B + bOf[i]) * ND + cell), v);
        }
    }

    // db: each cell's sum over t, then the four lanes q of a row (same feature, batch columns
    // 2q + (e & 1)), then one atomic per (gate, feature) and cell parity.
#pragma unroll
    for (int k = 0; k < GT; ++k) {
#pragma unroll
        for (int i = 0; i < C; ++i) {
            float v = dbSum[k][i];
            v += __shfl_xor_sync(0xffffffffu, v, 1);
            v += __shfl_xor_sync(0xffffffffu, v, 2);
            const int d = dOf[i];
            if (q == 0 && d < D) atomicAdd(&db[(long long)k * ND + n * D + d], v);
        }
    }
}

}  // namespace fused
}  // namespace flashrnn
