// The tensor-core product of cudaAlternating's mma step kernels (alternating_forward_mma.cuh,
// alternating_backward_mma.cuh): C[16 rows × 8 batch] += A[16 × 32] · B[32 × 8] for one
// 32-column chunk of K, with A a 16-bit matrix as stored (R or Rᵀ rows) and B float32 (h or dG).
//
// B is split into a 16-bit high part and the rounded remainder, and both are multiplied (A is
// exact in 16 bits): the product sees B to about 16 significant bits instead of 8 (bf16) or 11
// (fp16), and accumulates in float32.
//
// Loads are 16 bytes: lane (g, q) (g = lane / 4, q = lane % 4) holds columns 8q … 8q+7 of A rows
// g and g + 8 (`top`, `bottom`) and of B column g (two float4). The k order inside the chunk is
// permuted to make those 8 columns the lane's elements of the chunk's two k16 steps: in
// m16n8k16, logical k = 2q + e and 2q + 8 + e (e ∈ {0, 1}) are held by the lanes of quad q in
// both A (a0/a2 row g, a1/a3 row g+8) and B (b0, b1); step s maps logical 2q + e to column
// 8q + 4s + e and 2q + 8 + e to 8q + 4s + 2 + e. That is a bijection of the 32 columns applied
// to both operands, so the sum is unchanged.
#pragma once
#include "alternating/alternating.cuh"
#include "fused/fused_mma.cuh"

namespace flashrnn {

// Column stride of a partial-sum tile [warp][batch column][row]: ROWS, padded so that it is
// ≡ F (mod 32). Cell threads read F consecutive rows of 32 / F columns per warp, which then fall
// in distinct banks.
template <int ROWS, int F>
struct PartialStride { static constexpr int value = ROWS + (((F - ROWS) % 32) + 32) % 32; };

// Where a block of an mma step works: head n, features f0 … f0 + F − 1, batch rows b0 … b0 + BB − 1
// (blockIdx.x = n · ⌈D / F⌉ + feature block, blockIdx.y = batch block); the thread's warp and
// fragment coordinates (g = lane / 4, q = lane % 4); and its cell's (feature f0 + cf, batch row
// b0 + cb), active where both exist (threads past F·BB have none).
template <int F, int BB, int WARPS>
struct MmaStepBlock {
    static_assert(F * BB <= WARPS * 32, "one cell thread per (feature, batch row)");
    int warp, g, q;
    int n, f0, b0, cf, cb, b;
    long long nd;  // n·D + f0 + cf
    bool cellThread;

    __device__ __forceinline__ explicit MmaStepBlock(const Params* p) {
        const int lane = threadIdx.x & 31;
        warp = threadIdx.x >> 5; g = lane >> 2; q = lane & 3;
        const int featureBlocks = (p->D + F - 1) / F;
        n = blockIdx.x / featureBlocks;
        f0 = (blockIdx.x % featureBlocks) * F;
        b0 = blockIdx.y * BB;
        cf = threadIdx.x % F;
        cb = threadIdx.x / F;
        b = b0 + cb;
        nd = static_cast<long long>(n) * p->D + f0 + cf;
        cellThread = threadIdx.x < F * BB && f0 + cf < p->D && b < p->B;
    }

    // Runs body(u, c) for this warp's chunks c = first + warp + WARPS·u, in passes of U chunks;
    // reload(first) refills the held A registers for each pass after the first.
    template <int U, typename Reload, typename Body>
    __device__ __forceinline__ void for_each_chunk(int chunks, Reload reload, Body body) const {
        for (int first = 0; first < chunks; first += WARPS * U) {
            if (first != 0) reload(first);
            #pragma unroll
            for (int u = 0; u < U; ++u) {
                const int c = first + warp + WARPS * u;
                if (c >= chunks) break;  // warp-uniform
                body(u, c);
            }
        }
    }

    // The B operand's rows of this lane's batch column in each n8 tile: first + b·stride + 8q for
    // b = b0 + 8j + g, inside[j] where b < B (rows past B read row B − 1, and load_b_chunk skips them).
    template <int NT>
    __device__ __forceinline__ void batch_rows(const float* first, long long stride, int B, const float* (&rows)[NT],
                                               bool (&inside)[NT]) const {
        #pragma unroll
        for (int j = 0; j < NT; ++j) {
            const int bj = b0 + 8 * j + g;
            inside[j] = bj < B;
            rows[j] = first + min(bj, B - 1) * stride + 8 * q;
        }
    }

    // The sum over the warps' partial-sum tiles [warp][batch column][STRIDE] at (cb, row).
    template <int STRIDE>
    __device__ __forceinline__ float sum_partials(const float* partial, int row) const {
        float sum = 0.0f;
        #pragma unroll
        for (int w = 0; w < WARPS; ++w) sum += partial[(w * BB + cb) * STRIDE + row];
        return sum;
    }
};

// The B fragments of one k16 step from four consecutive float32 values: high parts, then the
// remainders, as [part][b0, b1].
template <class S>
__device__ __forceinline__ void split_b_fragment(const Float4& v, unsigned (&b)[2][2]) {
    using M = fused::MmaTraits<S>;
    const float x[4] = {v.x, v.y, v.z, v.w};
    float high[4], low[4];
    #pragma unroll
    for (int e = 0; e < 4; ++e) { high[e] = S::rounded(x[e]); low[e] = x[e] - high[e]; }
    b[0][0] = M::pack(high[0], high[1]);
    b[0][1] = M::pack(high[2], high[3]);
    b[1][0] = M::pack(low[0], low[1]);
    b[1][1] = M::pack(low[2], low[3]);
}

// acc += A · B over one 32-column chunk; b[s]: step s's fragments from split_b_fragment.
template <class S>
__device__ __forceinline__ void mma_chunk(float (&acc)[4], const uint4& top, const uint4& bottom,
                                          const unsigned (&b)[2][2][2]) {
    using M = fused::MmaTraits<S>;
    const unsigned step0[4] = {top.x, bottom.x, top.y, bottom.y};
    const unsigned step1[4] = {top.z, bottom.z, top.w, bottom.w};
    M::mma(acc, step0, b[0][0][0], b[0][0][1]);
    M::mma(acc, step0, b[0][1][0], b[0][1][1]);
    M::mma(acc, step1, b[1][0][0], b[1][0][1]);
    M::mma(acc, step1, b[1][1][0], b[1][1][1]);
}

// The B fragments of NT n8 tiles for one chunk: lane (g, q) reads 8 float32 at columns[j] + offset
// (zeros where !inside[j]), bf: [j][step][part][b0, b1].
template <class S, int NT>
__device__ __forceinline__ void load_b_chunk(unsigned (&bf)[NT][2][2][2], const float* const (&columns)[NT],
                                             const bool (&inside)[NT], long long offset) {
    #pragma unroll
    for (int j = 0; j < NT; ++j) {
        #pragma unroll
        for (int s = 0; s < 2; ++s) {
            Float4 v = {0.0f, 0.0f, 0.0f, 0.0f};
            if (inside[j]) v = *reinterpret_cast<const Float4*>(columns[j] + offset + 4 * s);
            split_b_fragment<S>(v, bf[j][s]);
        }
    }
}

// Stores a warp's C fragments (c0 (row g, col 2q), c1 (g, 2q+1), c2 (g+8, 2q), c3 (g+8, 2q+1))
// of m tile i and n tile j into its partial-sum tile [batch column][STRIDE].
template <int STRIDE>
__device__ __forceinline__ void store_partial(float* tile, const float (&c)[4], int i, int j) {
    const int lane = threadIdx.x & 31, g = lane >> 2, q = lane & 3;
    const int row = 16 * i + g, column = 8 * j + 2 * q;
    tile[column * STRIDE + row] = c[0];
    tile[(column + 1) * STRIDE + row] = c[1];
    tile[column * STRIDE + row + 8] = c[2];
    tile[(column + 1) * STRIDE + row + 8] = c[3];
}

}  // namespace flashrnn
