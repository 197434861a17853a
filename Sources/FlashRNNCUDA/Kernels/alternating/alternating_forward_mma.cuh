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
// with mma.sync m16n8k16 (A = R rows as stored, B = h, float32 accumulation). h is float32
// (states32): it is split into a 16-bit high part and the rounded remainder, and both are
// multiplied (R is exact in 16 bits), which keeps the product at about 16 significant bits of h
// instead of 8 (bf16) or 11 (fp16); the accumulation is float32.
//
// K is split over the warps in 32-column chunks (chunk c goes to warp c mod WARPS). A lane loads
// 16 bytes (8 columns) of each of its two A rows per chunk, before the wait for the previous
// step, since R is constant; the k order inside a chunk is permuted so that these 8 columns are
// the lane's A elements of two k16 steps (below), and h is read in the same order: lane (g, q)
// reads columns 8q … 8q+7 of batch row g as two float4 and step s uses the second half of them.
// Each warp's partial sums go to shared memory; the cell threads (one per (feature, batch row))
// add the WARPS partials of their G_R gates and apply the cell.
//
// Why the permutation is exact: in m16n8k16, logical k = 2q + e and 2q + 8 + e (e ∈ {0, 1}) are
// held by the lanes of quad q in both A (a0/a2 row g, a1/a3 row g+8) and B (b0, b1). Mapping step
// s's logical (2q + e) to column 8q + 4s + e and (2q + 8 + e) to 8q + 4s + 2 + e is a bijection
// of the chunk's 32 columns, applied to both operands, so the sum is unchanged.
#pragma once
#include "alternating/alternating.cuh"
#include "fused/fused_mma.cuh"

namespace flashrnn {

// Column stride of the partial-sum tile [warp][batch column][row]: ROWS, padded so that it is
// ≡ F (mod 32). The cell threads of a warp read F consecutive rows of 32 / F columns, which
// then fall in distinct banks.
template <int ROWS, int F>
struct PartialStride { static constexpr int value = ROWS + (((F - ROWS) % 32) + 32) % 32; };

template <class Cell, class S, int MT, int NT, int WARPS, int U>
__global__ void __launch_bounds__(WARPS * 32, 1) forward_step_mma(const Params* __restrict__ p, int t) {
    constexpr int GR = Cell::kGatesR;
    constexpr int ROWS = 16 * MT;
    static_assert(ROWS % GR == 0, "the block's rows must hold whole features (all G_R gates)");
    constexpr int F = ROWS / GR;
    constexpr int BB = 8 * NT;
    static_assert(F * BB <= WARPS * 32, "one cell thread per (feature, batch row)");
    constexpr int STRIDE = PartialStride<ROWS, F>::value;
    __shared__ float partial[WARPS * BB * STRIDE];  // [warp][batch column][row]
    using M = fused::MmaTraits<S>;
    static_assert(M::kK == 16, "16-bit storage only");
    const int B = p->B, T = p->T, N = p->N, D = p->D;
    const long long ND = static_cast<long long>(N) * D;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
    const int featureBlocks = (D + F - 1) / F;
    const int n = blockIdx.x / featureBlocks;
    const int d0 = (blockIdx.x % featureBlocks) * F;
    const int b0 = blockIdx.y * BB;
    const int chunks = D >> 5;

    // The cell thread of (feature d0 + cf, batch row b0 + cb).
    const int cf = threadIdx.x % F, cb = threadIdx.x / F;
    const bool cellThread = threadIdx.x < F * BB && d0 + cf < D && b0 + cb < B;
    const int b = b0 + cb;
    const long long nd = static_cast<long long>(n) * D + d0 + cf;

    // 1. What no step writes: bias and Wx of the cell threads, the first U chunks of R.
    float pre[4] = {0.0f, 0.0f, 0.0f, 0.0f}, previous[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (cellThread) {
        #pragma unroll
        for (int k = 0; k < Cell::kGatesT; ++k) pre[k] = load_at<S>(p->b, k * ND + nd);
        const long long wx_row = (p->inputLayoutTB ? static_cast<long long>(t) * B + b : static_cast<long long>(b) * T + t)
                                 * Cell::kGatesW * ND;
        #pragma unroll
        for (int w = 0; w < Cell::kGatesW; ++w) pre[w + Cell::kInputGateOffset] += load_at<S>(p->wx, wx_row + w * ND + nd);
    }
    const typename S::Bits* R = reinterpret_cast<const typename S::Bits*>(p->r);
    const typename S::Bits* rows[MT][2];  // this lane's A rows g and g + 8 of each m tile
    #pragma unroll
    for (int i = 0; i < MT; ++i)
        #pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int r = 16 * i + g + 8 * h;
            const int feature = min(d0 + r % F, D - 1);  // rows past D compute values no cell reads
            rows[i][h] = R + ((static_cast<long long>(r / F) * N + n) * D + feature) * D + 8 * q;
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
    if (cellThread) {
        #pragma unroll
        for (int s = 0; s < Cell::kStates; ++s) previous[s] = f32(p->states32)[states32_index(p, s, t, b, nd)];
    }
    const float* hRows[NT];
    bool hInside[NT];
    #pragma unroll
    for (int j = 0; j < NT; ++j) {
        const int bj = b0 + 8 * j + g;
        hInside[j] = bj < B;
        hRows[j] = f32(p->states32) + states32_index(p, 0, t, min(bj, B - 1), static_cast<long long>(n) * D) + 8 * q;
    }
    float acc[MT][NT][4];
    #pragma unroll
    for (int i = 0; i < MT; ++i)
        #pragma unroll
        for (int j = 0; j < NT; ++j)
            #pragma unroll
            for (int v = 0; v < 4; ++v) acc[i][j][v] = 0.0f;
    for (int first = 0; first < chunks; first += WARPS * U) {
        if (first != 0) load_a(first);
        #pragma unroll
        for (int u = 0; u < U; ++u) {
            const int c = first + warp + WARPS * u;
            if (c >= chunks) break;  // warp-uniform
            // B fragments of the chunk's two k16 steps, high and low parts: [j][s][part][b0, b1].
            unsigned bf[NT][2][2][2];
            #pragma unroll
            for (int j = 0; j < NT; ++j) {
                #pragma unroll
                for (int s = 0; s < 2; ++s) {
                    Float4 hv = {0.0f, 0.0f, 0.0f, 0.0f};
                    if (hInside[j]) hv = *reinterpret_cast<const Float4*>(hRows[j] + 32 * c + 4 * s);
                    const float x[4] = {hv.x, hv.y, hv.z, hv.w};
                    float high[4], low[4];
                    #pragma unroll
                    for (int e = 0; e < 4; ++e) { high[e] = S::rounded(x[e]); low[e] = x[e] - high[e]; }
                    bf[j][s][0][0] = M::pack(high[0], high[1]);
                    bf[j][s][0][1] = M::pack(high[2], high[3]);
                    bf[j][s][1][0] = M::pack(low[0], low[1]);
                    bf[j][s][1][1] = M::pack(low[2], low[3]);
                }
            }
            #pragma unroll
            for (int s = 0; s < 2; ++s)
                #pragma unroll
                for (int i = 0; i < MT; ++i) {
                    const uint4& top = a[u][i][0];
                    const uint4& bottom = a[u][i][1];
                    const unsigned fragment[4] = {s == 0 ? top.x : top.z, s == 0 ? bottom.x : bottom.z,
                                                  s == 0 ? top.y : top.w, s == 0 ? bottom.y : bottom.w};
                    #pragma unroll
                    for (int j = 0; j < NT; ++j) {
                        M::mma(acc[i][j], fragment, bf[j][s][0][0], bf[j][s][0][1]);
                        M::mma(acc[i][j], fragment, bf[j][s][1][0], bf[j][s][1][1]);
                    }
                }
        }
    }

    // 4. The warps' partial sums (C fragment: c0 (row g, col 2q), c1 (g, 2q+1), c2 (g+8, 2q),
    //    c3 (g+8, 2q+1)), then each cell thread adds them up for its G_R gates.
    float* mine = partial + warp * BB * STRIDE;
    #pragma unroll
    for (int i = 0; i < MT; ++i)
        #pragma unroll
        for (int j = 0; j < NT; ++j) {
            const int row = 16 * i + g, column = 8 * j + 2 * q;
            mine[column * STRIDE + row] = acc[i][j][0];
            mine[(column + 1) * STRIDE + row] = acc[i][j][1];
            mine[column * STRIDE + row + 8] = acc[i][j][2];
            mine[(column + 1) * STRIDE + row + 8] = acc[i][j][3];
        }
    __syncthreads();
    if (!cellThread) return;
    float recurrent[GR];
    #pragma unroll
    for (int k = 0; k < GR; ++k) {
        float sum = 0.0f;
        #pragma unroll
        for (int w = 0; w < WARPS; ++w) sum += partial[(w * BB + cb) * STRIDE + k * F + cf];
        recurrent[k] = sum;
    }

    // 5. The cell at (b, n, d0 + cf).
    #pragma unroll
    for (int k = 0; k < GR; ++k) pre[k + Cell::kRecurrentGateOffset] += recurrent[k];
    float next[4];
    Cell::template forward<typename S::Math>(pre, previous, next);
    if (p->hasForwardClip) next[0] = fminf(fmaxf(next[0], -p->forwardClip), p->forwardClip);
    #pragma unroll
    for (int s = 0; s < Cell::kStates; ++s) {
        f32(p->states32)[states32_index(p, s, t + 1, b, nd)] = next[s];
        store_at<S>(p->states, ((static_cast<long long>(s) * B + b) * T + t) * ND + nd, next[s]);
    }
    if (p->savePre) {
        #pragma unroll
        for (int k = 0; k < Cell::kGatesT; ++k)
            f32(p->pre32)[((static_cast<long long>(t) * B + b) * Cell::kGatesT + k) * ND + nd] = pre[k];
    }
}

}  // namespace flashrnn
