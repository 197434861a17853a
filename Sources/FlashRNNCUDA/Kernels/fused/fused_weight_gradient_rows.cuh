// Where the two operands of dR = Σ_rows dG ⊗ h_{t-1} live for one (gate k, head n), in both GPU
// backends' layouts (WeightGradientParams): dG of a row, and h_{t-1} of the same row. The FMA and
// the tensor-core dR kernels (fused_weight_gradient.cuh, fused_weight_gradient_mma.cuh) read
// through it, so both see the same rows.
#pragma once
#include "fused/fused_params.cuh"

namespace flashrnn {
namespace fused {

// Also the CTA's share of the work, the same in both kernels: output tile (d0, p0) of `tile` ×
// `tile` (blockIdx.x), gate k and head n (blockIdx.y), rows [rowBegin, rowEnd) (blockIdx.z).
template <class S>
struct WeightGradientRows {
    const float* dG;                 // dGR at (row 0, gate k, head n, feature 0)
    const float* states;             // states32 at (row 0, head n, feature 0)
    const typename S::Bits* s0;      // s0 at (b = 0, head n, feature 0), or null (zeros)
    long long dGRowStride, ND, rowBegin, rowEnd;
    int T, d0, p0, k, n;
    bool initialOnly, hAligned, narrow;

    // Consecutive rows are consecutive (b, t), or with initialRowsOnly consecutive b at t = 0.
    __device__ __forceinline__ WeightGradientRows(const WeightGradientParams& p, int tile) {
        const int tilesPerSide = (p.D + tile - 1) / tile;
        d0 = (blockIdx.x / tilesPerSide) * tile;
        p0 = (blockIdx.x % tilesPerSide) * tile;
        k = blockIdx.y % p.GR;
        n = blockIdx.y / p.GR;
        initialOnly = p.initialRowsOnly != 0;
        const long long rows = initialOnly ? p.B : (long long)p.B * p.T;
        rowBegin = (long long)blockIdx.z * p.rowsPerBlock;
        rowEnd = min(rows, rowBegin + p.rowsPerBlock);
        ND = (long long)p.N * p.D;
        hAligned = p.hRowAligned != 0;
        narrow = rows < (1LL << 31);
        T = p.T;
        dGRowStride = (initialOnly ? (long long)T : 1LL) * p.dGRowGates * ND;
        dG = address<const float>(p.dGR) + (long long)(p.dGGateOffset + k) * ND + (long long)n * p.D;
        states = address<const float>(p.states32) + (long long)n * p.D;
        s0 = p.s0 != 0 ? address<const typename S::Bits>(p.s0) + (long long)n * p.D : nullptr;
    }

    // dG[row, column]; the caller keeps row and column inside the problem.
    __device__ __forceinline__ float gradient(long long row, int column) const { return dG[row * dGRowStride + column]; }

    // h_{t-1}[row, column]: states32 row `row` where the layout aligns it (alternating), else saved
    // row (b, t − 1) when t > 0, else s0[b] (zeros without initial states).
    __device__ __forceinline__ float previous(long long row, int column) const {
        if (hAligned) return states[row * ND + column];
        // 32-bit division where the row count allows (every practical B·T).
        const long long b = initialOnly ? row : narrow ? (long long)((int)row / T) : row / T;
        const long long t = initialOnly ? 0 : row - b * T;
        if (t > 0) return states[(row - 1) * ND + column];
        return s0 != nullptr ? S::load(s0 + (b * ND + column)) : 0.0f;
    }
};

}  // namespace fused
}  // namespace flashrnn
