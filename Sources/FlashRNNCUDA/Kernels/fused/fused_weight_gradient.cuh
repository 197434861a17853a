// dR = Σ_{b,t} dG_t ⊗ h_{t-1} (h in float32 as the forward carried it): for every (gate k,
// head n) a [D × D] product over the B·T rows,
//   dR[k, n, d, p] = Σ_rows dGR[row, k, n, d] · h_prev[row, n, p],
// for both GPU backends: the fused layout ([B, T, G_R, N, D] rows (b, t), h_{t-1} the previous
// saved row or s0) or the alternating one (dPre32 [T, B, G_T, N, D], h_{t-1} in the same row of
// its [T+1]-slot states32: hRowAligned).
// tiled TILE × TILE per CTA (TILE = 16, 32 or 64: the smallest that covers D, so a small head
// does not pay for a 64 × 64 tile it mostly leaves empty) with the rows split across CTAs
// (float32 atomics into dR32), then one pass that converts dR32 and db32 to the storage type.
// With initialRowsOnly the rows are the B rows with t = 0 only (their h_{t-1} is s0): large heads
// sum the other rows with cuBLAS (FusedBackend), which cannot read s0 in the storage type.
// For 16-bit storage weight_gradient_mma_kernel (fused_weight_gradient_mma.cuh) computes the same
// sums with tensor-core products (WeightGradientChoice says when). Each (storage, tile, product
// kind) is a module of its own with finish_gradients_kernel (WeightGradientModule), shared by both
// backends, every cell and every head of that tile.
#pragma once
#include "fused/fused_mma.cuh"
#include "fused/fused_params.cuh"
#include "fused/fused_weight_gradient_mma.cuh"
#include "fused/fused_weight_gradient_rows.cuh"

namespace flashrnn {
namespace fused {

constexpr int kWeightTile = 64;        // the largest d and p extent of one CTA's output tile
constexpr int kWeightRows = 32;        // rows staged in shared memory per chunk (two chunks in flight)
constexpr int kWeightThreads = 256;    // 16 × 16 threads, each owning a (TILE/16)² block of the tile

// The rows of a CTA pass in chunks of kWeightRows: the loads of chunk i + 1 are issued into
// registers before the products of chunk i, and the shared tiles are double-buffered, so a chunk
// costs one barrier and its global-memory latency hides behind the previous chunk's FMAs (a
// single-buffered loop waited out one memory round trip per 16 rows: 0.63 ms of the 2.9 ms
// forward+backward at LSTM 64 × 12 on the H200, FLASHRNN_TRACE 2026-11-29).
// The FMA tiles' shared memory in words: [gS, hS][buffer][rows][TILE].
template <int TILE>
struct WeightGradientFmaShape { static constexpr int kSharedWords = 2 * 2 * kWeightRows * TILE; };

template <class S, int TILE>
__device__ __forceinline__ void weight_gradient(const WeightGradientParams& p, float* shared) {
    static_assert(TILE == 16 || TILE == 32 || TILE == 64, "the dR tile is 16, 32 or 64 wide");
    constexpr int kPer = TILE / 16;                  // the side of each thread's block
    auto gS = reinterpret_cast<float (*)[kWeightRows][TILE]>(shared);                              // [buffer, rows, d]
    auto hS = reinterpret_cast<float (*)[kWeightRows][TILE]>(shared + 2 * kWeightRows * TILE);     // [buffer, rows, p]
    const WeightGradientRows<S> at(p, TILE);
    const int D = p.D, d0 = at.d0, p0 = at.p0, k = at.k, n = at.n;
    const long long rowBegin = at.rowBegin, rowEnd = at.rowEnd;
    const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;

    using Acc = typename RowSum<S>::Type;   // float64 for float32 storage (FP64 FMA: half rate on the H200)
    Acc acc[kPer][kPer] = {};
    // Each thread stages one column of the chunk, at every kRowStep-th row from its first.
    constexpr int kLoads = kWeightRows * TILE / kWeightThreads;
    constexpr int kRowStep = kWeightThreads / TILE;
    static_assert(kLoads * kWeightThreads == kWeightRows * TILE && kWeightThreads % TILE == 0,
                  "every thread stages whole positions of one column");
    const int row0 = threadIdx.x / TILE, column = threadIdx.x % TILE;
    const bool gColumn = d0 + column < D, hColumn = p0 + column < D;
    // dG and h_{t-1} of the next chunk into registers, as loaded (widened when staged). `first`
    // walks this thread's first row of that chunk; the others are fixed offsets from it.
    using Rows = WeightGradientRows<S>;
    typename Rows::Loaded loaded[kLoads];
    typename Rows::Walk first = at.walk(rowBegin + row0, d0 + column, p0 + column);
    auto fetch = [&]() {
#pragma unroll
        for (int l = 0; l < kLoads; ++l) loaded[l] = at.load(first, l * kRowStep, gColumn, hColumn);
        at.next(first, kWeightRows);
    };
    fetch();
    int buffer = 0;
    for (long long r0 = rowBegin; r0 < rowEnd; r0 += kWeightRows, buffer ^= 1) {
#pragma unroll
        for (int l = 0; l < kLoads; ++l) {
            gS[buffer][row0 + l * kRowStep][column] = loaded[l].gradient;
            hS[buffer][row0 + l * kRowStep][column] = Rows::previous(loaded[l]);
        }
        // One barrier per chunk: the buffer written next was last read before this barrier.
        __syncthreads();
        if (r0 + kWeightRows < rowEnd) fetch();
#pragma unroll
        for (int rr = 0; rr < kWeightRows; ++rr) {
            float g[kPer], h[kPer];
            if constexpr (kPer == 4) {
                const float4 g4 = *reinterpret_cast<const float4*>(&gS[buffer][rr][ty * 4]);
                const float4 h4 = *reinterpret_cast<const float4*>(&hS[buffer][rr][tx * 4]);
                g[0] = g4.x; g[1] = g4.y; g[2] = g4.z; g[3] = g4.w;
                h[0] = h4.x; h[1] = h4.y; h[2] = h4.z; h[3] = h4.w;
            } else {
#pragma unroll
                for (int i = 0; i < kPer; ++i) { g[i] = gS[buffer][rr][ty * kPer + i]; h[i] = hS[buffer][rr][tx * kPer + i]; }
            }
#pragma unroll
            for (int i = 0; i < kPer; ++i)
#pragma unroll
                for (int j = 0; j < kPer; ++j) acc[i][j] = fma(static_cast<Acc>(g[i]), static_cast<Acc>(h[j]), acc[i][j]);
        }
    }
#pragma unroll
    for (int i = 0; i < kPer; ++i)
#pragma unroll
        for (int j = 0; j < kPer; ++j) {
            const int d = d0 + ty * kPer + i, pp = p0 + tx * kPer + j;
            if (d < D && pp < D) atomicAdd(&address<float>(p.dR32)[((long long)(k * p.N + n) * D + d) * D + pp], static_cast<float>(acc[i][j]));
        }
}

template <class S>
__device__ __forceinline__ void finish_gradients(const WeightGradientParams& p) {
    const long long rCount = (long long)p.GR * p.N * p.D * p.D, bCount = (long long)p.GT * p.N * p.D;
    typename S::Bits* dR = address<typename S::Bits>(p.dR);
    typename S::Bits* db = address<typename S::Bits>(p.db);
    const float* dR32 = address<const float>(p.dR32);
    const float* db32 = address<const float>(p.db32);
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < rCount + bCount;
         i += (long long)gridDim.x * blockDim.x) {
        if (i < rCount) S::store(dR + (i), dR32[i]);
        else S::store(db + (i - rCount), db32[i - rCount]);
    }
}

// The entry points (the fused modules and cudaAlternating's module both instantiate them):
// weight_gradient_kernel, the FMA tiles (every storage type), and weight_gradient_mma_kernel, the
// tensor-core products (16-bit storage). Two kernels rather than one with a run-time switch: the
// switch made the FMA path compile with the tensor-core path's registers (tile 16: 78 instead of
// 47, 3 CTAs per SM instead of 5).
template <class S, int TILE = kWeightTile>
__global__ void __launch_bounds__(kWeightThreads) weight_gradient_kernel(const WeightGradientParams p) {
    __shared__ __align__(16) float shared[WeightGradientFmaShape<TILE>::kSharedWords];
    weight_gradient<S, TILE>(p, shared);
}

template <class S, int TILE = kWeightTile>
__global__ void __launch_bounds__(kWeightMmaThreads) weight_gradient_mma_kernel(const WeightGradientParams p) {
    __shared__ __align__(16) unsigned shared[WeightGradientMmaShape<TILE>::kSharedWords];
    weight_gradient_mma<S, TILE, false>(p, shared);
}

// The same with 16-byte loads of four columns (D % 4 == 0, aligned operands).
template <class S, int TILE = kWeightTile>
__global__ void __launch_bounds__(kWeightMmaThreads) weight_gradient_mma_quads_kernel(const WeightGradientParams p) {
    __shared__ __align__(16) unsigned shared[WeightGradientMmaShape<TILE>::kSharedWords];
    weight_gradient_mma<S, TILE, true>(p, shared);
}

template <class S>
__global__ void finish_gradients_kernel(const WeightGradientParams p) {
    finish_gradients<S>(p);
}

}  // namespace fused
}  // namespace flashrnn
