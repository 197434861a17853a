// The cudaAlternating forward step with the product on tensor cores (16-bit storage, D a multiple
// of 32). Same contract, PDL order and graph as forward_step in alternating.cuh; only the
// product and the thread layout differ.
//
// Compile-time parameters: Cell, S (BF16 or F16), MT (m16 tiles of R rows per block), NT (n8
// tiles of batch rows per block), WARPS, U (32-column chunks of K a warp holds in registers).
//
// A block owns F = 16·MT / G_R features of one head n, all G_R gates of each (row r of the block
// is gate r / F, feature d0 + r % F, so the cell runs on the same block), and 8·NT batch rows:
//   acc[r][b] = Σ_q R[r / F, n, d0 + r % F, q] · h_t[b, n, q]
// with mma.sync m16n8k16 on A = R rows as stored and B = h (float32, split in two 16-bit parts;
// alternating_mma.cuh). K is split over the warps in 32-column chunks (chunk c goes to warp
// c mod WARPS); a warp loads its chunks of R (16 bytes per lane and row) before the wait for the
// previous step, since R is constant, and h after it, straight from states32. Each warp's partial
// sums go to shared memory; the cell threads (one per (feature, batch row)) add the WARPS
// partials of their G_R gates and apply the cell.
#pragma once
#include "alternating/alternating_mma.cuh"

namespace flashrnn {

template <class Cell, class S, int MT, int NT, int WARPS, int U>
__global__ void __launch_bounds__(WARPS * 32, 1) forward_step_mma(const Params* __restrict__ p, int t) {
    constexpr int GR = Cell::kGatesR;
    constexpr int ROWS = 16 * MT;
    static_assert(ROWS % GR == 0, "the block's rows must hold whole features (all G_R gates)");
    constexpr int F = ROWS / GR;
    constexpr int BB = 8 * NT;
    constexpr int STRIDE = PartialStride<ROWS, F>::value;
    __shared__ float partial[WARPS * BB * STRIDE];  // [warp][batch column][row]
    static_assert(fused::MmaTraits<S>::kK == 16, "16-bit storage only");
    const int B = p->B, N = p->N, D = p->D;
    const MmaStepBlock<F, BB, WARPS> at(p);
    const int warp = at.warp, g = at.g, q = at.q;
    const int chunks = D >> 5;

    // 1. What no step writes: bias and Wx of the cell threads, the first U chunks of R.
    float pre[4] = {0.0f, 0.0f, 0.0f, 0.0f}, previous[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (at.cellThread) load_cell_inputs<Cell, S>(p, t, at.b, at.nd, pre);
    const typename S::Bits* R = reinterpret_cast<const typename S::Bits*>(p->r);
    const typename S::Bits* rows[MT][2];  // this lane's A rows g and g + 8 of each m tile
    #pragma unroll
    for (int i = 0; i < MT; ++i)
        #pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int r = 16 * i + g + 8 * h;
            const int feature = min(at.f0 + r % F, D - 1);  // rows past D compute values no cell reads
            rows[i][h] = R + ((static_cast<long long>(r / F) * N + at.n) * D + feature) * D + 8 * q;
        }
    const uint4 zero = {0u, 0u, 0u, 0u};
    uint4 a[U][MT][2];
    auto load_a = [&](int first) {
        #pragma unroll
        for (int u = 0; u < U; ++u) {
            const int c = first + warp + WARPS * u;
            #pragma unroll
            for (int i = 0; i < MT; ++i)
                #pragma unroll
                for (int h = 0; h < 2; ++h)
                    a[u][i][h] = c < chunks ? *reinterpret_cast<const uint4*>(rows[i][h] + 32 * c) : zero;
        }
    };
    load_a(0);

    // 2. Step t-1 has finished (PDL); step t+1 may start its own part 1.
    wait_for_previous_step();
    allow_next_step();

    // 3. The previous states of the cell threads; the product, h_t read straight from states32.
    if (at.cellThread) {
        #pragma unroll
        for (int s = 0; s < Cell::kStates; ++s) previous[s] = f32(p->states32)[states32_index(p, s, t, at.b, at.nd)];
    }
    const float* hRows[NT];
    bool hInside[NT];
    at.template batch_rows<NT>(f32(p->states32) + states32_index(p, 0, t, 0, static_cast<long long>(at.n) * D),
                               static_cast<long long>(N) * D, B, hRows, hInside);
    float acc[MT][NT][4] = {};
    at.template for_each_chunk<U>(chunks, load_a, [&](int u, int c) {
        unsigned bf[NT][2][2][2];
        load_b_chunk<S, NT>(bf, hRows, hInside, 32 * c);
        #pragma unroll
        for (int i = 0; i < MT; ++i)
            #pragma unroll
            for (int j = 0; j < NT; ++j) mma_chunk<S>(acc[i][j], a[u][i][0], a[u][i][1], bf[j]);
    });

    // 4. The warps' partial sums, then each cell thread adds them up for its G_R gates.
    #pragma unroll
    for (int i = 0; i < MT; ++i)
        #pragma unroll
        for (int j = 0; j < NT; ++j) store_partial<STRIDE>(partial + warp * BB * STRIDE, acc[i][j], i, j);
    __syncthreads();
    if (!at.cellThread) return;
    float recurrent[GR];
    #pragma unroll
    for (int k = 0; k < GR; ++k) recurrent[k] = at.template sum_partials<STRIDE>(partial, k * F + at.cf);

    // 5. The cell at (b, n, f0 + cf).
    finish_forward_cell<Cell, S>(p, t, at.b, at.nd, pre, previous, recurrent);
}

}  // namespace flashrnn
