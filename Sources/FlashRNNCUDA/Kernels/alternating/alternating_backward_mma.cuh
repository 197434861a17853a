// The cudaAlternating backward step with the product on tensor cores (16-bit storage, D a
// multiple of 32). Same contract, PDL order and graph as backward_step in alternating.cuh; only
// the product and the thread layout differ.
//
// Compile-time parameters: Cell, S (BF16 or F16), NT (n8 tiles of batch rows per block), WARPS,
// U (32-column chunks of K a warp holds in registers).
//
// A block owns 16 input features q0 … q0+15 of one head n and 8·NT batch rows:
//   rec[q][b] = Σ_k Σ_d Rᵀ[k, n, q, d] · dG_{t+1}[b, k, n, d]
// with mma.sync m16n8k16 on A = Rᵀ rows as stored (K = G_R·D: gate k's columns are chunks
// k·D/32 … (k+1)·D/32 − 1) and B = dG (float32, split in two 16-bit parts; alternating_mma.cuh).
// Chunk c goes to warp c mod WARPS; a warp loads its chunks of Rᵀ before the wait for the
// previous step, and dG after it, straight from dPre32. Each warp's partial sums go to shared
// memory; the cell threads (one per (feature, batch row)) add the WARPS partials and run the
// cell backward (or write the initial-state gradient at t = −1).
#pragma once
#include "alternating/alternating_mma.cuh"

namespace flashrnn {

template <class Cell, class S, int NT, int WARPS, int U>
__global__ void __launch_bounds__(WARPS * 32, 1) backward_step_mma(const Params* __restrict__ p, int t) {
    constexpr int F = 16;
    constexpr int BB = 8 * NT;
    constexpr int STRIDE = PartialStride<F, F>::value;
    __shared__ float partial[WARPS * BB * STRIDE];  // [warp][batch column][row]
    static_assert(fused::MmaTraits<S>::kK == 16, "16-bit storage only");
    const int B = p->B, T = p->T, D = p->D;
    const long long ND = static_cast<long long>(p->N) * D;
    const MmaStepBlock<F, BB, WARPS> at(p);
    const int warp = at.warp, g = at.g, q = at.q;
    const int perGate = D >> 5;
    const int chunks = Cell::kGatesR * perGate;
    const bool recurrent = t + 1 < T && !p->recurrentCut;

    // 1. What no step writes: the saved forward states and pre-activations of step t and the
    //    caller's dStates/dLast (cell threads), the first U chunks of Rᵀ.
    float dNew[4] = {0.0f, 0.0f, 0.0f, 0.0f}, previous[4] = {0.0f, 0.0f, 0.0f, 0.0f}, pre[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (at.cellThread && t >= 0) load_saved_forward<Cell, S>(p, t, at.b, at.nd, dNew, previous, pre);
    const typename S::Bits* RT = reinterpret_cast<const typename S::Bits*>(p->rT);
    const typename S::Bits* rows[2];  // this lane's A rows g and g + 8 of gate 0
    #pragma unroll
    for (int h = 0; h < 2; ++h) rows[h] = RT + (static_cast<long long>(at.n) * D + min(at.f0 + g + 8 * h, D - 1)) * D + 8 * q;
    const long long gateStride = ND * D;  // from Rᵀ[k] to Rᵀ[k + 1]
    const uint4 zero = {0u, 0u, 0u, 0u};
    uint4 a[U][2];
    auto load_a = [&](int first) {
        #pragma unroll
        for (int u = 0; u < U; ++u) {
            const int c = first + warp + WARPS * u;
            const int k = c / perGate, column = (c - k * perGate) * 32;
            #pragma unroll
            for (int h = 0; h < 2; ++h)
                a[u][h] = recurrent && c < chunks ? *reinterpret_cast<const uint4*>(rows[h] + k * gateStride + column) : zero;
        }
    };
    load_a(0);

    // 2. Step t+1 has finished (PDL); step t-1 may start its own part 1.
    wait_for_previous_step();
    allow_next_step();

    // 3. The direct-path gradient from step t+1 (cell threads); the product, dG_{t+1} read
    //    straight from dPre32.
    if (at.cellThread) add_direct_gradient<Cell>(p, t, at.b, at.nd, dNew);
    float acc[NT][4] = {};
    if (recurrent) {
        const float* gRows[NT];
        bool gInside[NT];
        at.template batch_rows<NT>(f32(p->dPre32) + static_cast<long long>(t + 1) * B * Cell::kGatesT * ND
                                       + Cell::kRecurrentGateOffset * ND + static_cast<long long>(at.n) * D,
                                   Cell::kGatesT * ND, B, gRows, gInside);
        at.template for_each_chunk<U>(chunks, load_a, [&](int u, int c) {
            const int k = c / perGate;
            unsigned bf[NT][2][2][2];
            load_b_chunk<S, NT>(bf, gRows, gInside, k * ND + (c - k * perGate) * 32);
            #pragma unroll
            for (int j = 0; j < NT; ++j) mma_chunk<S>(acc[j], a[u][0], a[u][1], bf[j]);
        });
    }

    // 4. The warps' partial sums, then each cell thread adds them up.
    #pragma unroll
    for (int j = 0; j < NT; ++j) store_partial<STRIDE>(partial + warp * BB * STRIDE, acc[j], 0, j);
    __syncthreads();
    if (!at.cellThread) return;
    const float rec = at.template sum_partials<STRIDE>(partial, at.cf);

    // 5. The cell backward at (b, n, f0 + cf), or the initial-state gradient.
    finish_backward_cell<Cell, S>(p, t, at.b, at.nd, rec, dNew, pre, previous);
}

}  // namespace flashrnn
