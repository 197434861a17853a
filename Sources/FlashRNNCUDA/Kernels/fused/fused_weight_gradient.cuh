// dR = Σ_{b,t} dG_t ⊗ h_{t-1} (h in float32 as the forward carried it): for every (gate k,
// head n) a [D × D] product over the B·T rows,
//   dR[k, n, d, p] = Σ_rows dGR[row, k, n, d] · h_prev[row, n, p],
// tiled TILE × TILE per CTA (TILE = 16, 32 or 64: the smallest that covers D, so a small head
// does not pay for a 64 × 64 tile it mostly leaves empty) with the rows split across CTAs
// (float32 atomics into dR32), then one pass that converts dR32 and db32 to the storage type.
// With initialRowsOnly the rows are the B rows with t = 0 only (their h_{t-1} is s0): large heads
// sum the other rows with cuBLAS (FusedBackend), which cannot read s0 in the storage type.
#pragma once
#include "fused/fused_mma.cuh"
#include "fused/fused_params.cuh"

namespace flashrnn {
namespace fused {

constexpr int kWeightTile = 64;        // the largest d and p extent of one CTA's output tile
constexpr int kWeightRows = 16;        // rows staged in shared memory at a time
constexpr int kWeightThreads = 256;    // 16 × 16 threads, each owning a (TILE/16)² block of the tile

template <class S, int TILE>
__device__ __forceinline__ void weight_gradient(const WeightGradientParams& p) {
    static_assert(TILE == 16 || TILE == 32 || TILE == 64, "the dR tile is 16, 32 or 64 wide");
    constexpr int kPer = TILE / 16;                  // the side of each thread's block
    __shared__ __align__(16) float gS[kWeightRows][TILE];   // [rows, d]
    __shared__ __align__(16) float hS[kWeightRows][TILE];   // [rows, p]
    // Where row r0 + rr's h_{t-1} starts in states32 (t > 0), or −1 − b for t = 0 (read s0): one
    // division per row and chunk instead of one per element.
    __shared__ long long hRowOf[kWeightRows];
    const int B = p.B, T = p.T, N = p.N, D = p.D, GR = p.GR;
    const long long ND = (long long)N * D;
    const int tilesPerSide = (D + TILE - 1) / TILE;
    const int d0 = (blockIdx.x / tilesPerSide) * TILE, p0 = (blockIdx.x % tilesPerSide) * TILE;
    const int k = blockIdx.y % GR, n = blockIdx.y / GR;
    const bool initialOnly = p.initialRowsOnly != 0;
    const long long rows = initialOnly ? B : (long long)B * T;
    // Consecutive rows are consecutive (b, t), or with initialOnly consecutive b at t = 0.
    const long long rowStep = initialOnly ? T : 1;
    const long long rowBegin = (long long)blockIdx.z * p.rowsPerBlock;
    const long long rowEnd = min(rows, rowBegin + p.rowsPerBlock);
    const float* states32 = address<const float>(p.states32);
    const typename S::Bits* s0 = address<const typename S::Bits>(p.s0);
    const float* dGR = address<const float>(p.dGR);
    const int ty = threadIdx.x / 16, tx = threadIdx.x % 16;

    float acc[kPer][kPer] = {};
    // Each thread stages the same (row in chunk, column) positions in every chunk: their column
    // checks and dG pointers are set up once, and the pointers advance by one chunk of rows.
    constexpr int kLoads = kWeightRows * TILE / kWeightThreads;
    static_assert(kLoads * kWeightThreads == kWeightRows * TILE, "every thread stages whole positions");
    const float* gAt[kLoads];
    int rrOf[kLoads], cOf[kLoads];
    bool gColumn[kLoads], hColumn[kLoads];
#pragma unroll
    for (int l = 0; l < kLoads; ++l) {
        const int i = threadIdx.x + l * kWeightThreads;
        rrOf[l] = i / TILE;
        cOf[l] = i % TILE;
        gColumn[l] = d0 + cOf[l] < D;
        hColumn[l] = p0 + cOf[l] < D;
        gAt[l] = dGR + (((rowBegin + rrOf[l]) * rowStep * GR + k) * ND + n * D + d0 + cOf[l]);
    }
    const long long gChunk = (long long)kWeightRows * rowStep * GR * ND;
    for (long long r0 = rowBegin; r0 < rowEnd; r0 += kWeightRows) {
        if (threadIdx.x < kWeightRows) {
            const long long row = r0 + threadIdx.x;
            const long long b = initialOnly ? row : row / T, t = initialOnly ? 0 : row - b * T;
            hRowOf[threadIdx.x] = t > 0 ? (row - 1) * ND : -1 - b;
        }
        __syncthreads();
#pragma unroll
        for (int l = 0; l < kLoads; ++l) {
            const int rr = rrOf[l], c = cOf[l];
            const bool inRows = r0 + rr < rowEnd;
            float gv = 0.0f, hv = 0.0f;
            if (inRows && gColumn[l]) gv = *gAt[l];
            if (inRows && hColumn[l]) {
                const long long hRow = hRowOf[rr];
                if (hRow >= 0) hv = states32[hRow + n * D + p0 + c];
                else if (s0 != nullptr) hv = S::load(s0 + ((-1 - hRow) * ND + n * D + p0 + c));
            }
            gS[rr][c] = gv;
            hS[rr][c] = hv;
            gAt[l] += gChunk;
        }
        __syncthreads();
#pragma unroll
        for (int rr = 0; rr < kWeightRows; ++rr) {
            float gv[kPer], hv[kPer];
            if constexpr (kPer == 4) {
                const float4 g4 = *reinterpret_cast<const float4*>(&gS[rr][ty * 4]);
                const float4 h4 = *reinterpret_cast<const float4*>(&hS[rr][tx * 4]);
                gv[0] = g4.x; gv[1] = g4.y; gv[2] = g4.z; gv[3] = g4.w;
                hv[0] = h4.x; hv[1] = h4.y; hv[2] = h4.z; hv[3] = h4.w;
            } else {
#pragma unroll
                for (int i = 0; i < kPer; ++i) { gv[i] = gS[rr][ty * kPer + i]; hv[i] = hS[rr][tx * kPer + i]; }
            }
#pragma unroll
            for (int i = 0; i < kPer; ++i)
#pragma unroll
                for (int j = 0; j < kPer; ++j) acc[i][j] = fmaf(gv[i], hv[j], acc[i][j]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < kPer; ++i)
#pragma unroll
        for (int j = 0; j < kPer; ++j) {
            const int d = d0 + ty * kPer + i, pp = p0 + tx * kPer + j;
            if (d < D && pp < D) atomicAdd(&address<float>(p.dR32)[((long long)(k * N + n) * D + d) * D + pp], acc[i][j]);
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

}  // namespace fused
}  // namespace flashrnn
