// Persistent forward sweep for float32 storage on one SM with R·h_{t-1} in plain float32 FMAs
// (exact float32 products and sums, as the CPU float32 backend and cudaAlternating compute it;
// the tensor-core forward's 3xTF32 products are ~2^-21 relative, not float32-exact).
//
// One CTA runs all T steps of one (head n, batch slice of SLICE columns). Thread r < G_R·DP owns
// gate row r (gate r / DP, feature r % DP) and holds that row of R in registers; per step it
// reads h_{t-1}[column][k] from shared memory (a broadcast: every lane reads the same address)
// four k at a time and accumulates its row for the slice's columns. The rows meet in shared
// memory, then each thread runs the cell (S::Math = AccurateMath) on its (feature, column) cells
// and writes h_t back for the next step: two __syncthreads per step. Outputs, `pre` and `states32`
// are written exactly as forward_sweep writes them (the 3xTF32 backward reads them).
//
// The batch slice is a run-time choice: the host launches gridDim.y = ⌈B / slice⌉ CTAs per head
// for a slice of 1, 2, 4 or 8 (small slices spread a small batch over more SMs and shorten each
// step), and the kernel takes the smallest of those that covers ⌈B / gridDim.y⌉ columns.
#pragma once
#include "common/storage.cuh"
#include "fused/fused_params.cuh"

namespace flashrnn {
namespace fused {

template <class Cell, int DP>
struct ForwardF32Shape {
    static constexpr int kRows = Cell::kGatesR * DP;                 // gate rows, one thread each
    // At least 4·DP threads (at most 256 beyond the rows) so a thread runs at most two cells of
    // the largest slice: one recurrent gate (Elman) would otherwise leave 8 cells per thread.
    static constexpr int kCellThreads = 4 * DP < 256 ? 4 * DP : 256;
    static constexpr int kThreads = ((kRows > kCellThreads ? kRows : kCellThreads) + 31) / 32 * 32;
    static constexpr int kMaxSlice = 8;
    // h_{t-1} [slice, DP] and the gate rows' sums [G_R, slice, DP], float32, for the largest slice.
    static constexpr int kSharedBytes = (1 + Cell::kGatesR) * kMaxSlice * DP * 4;
    static_assert(DP % 16 == 0, "the padded head dimension DP must be a multiple of 16");
    // A thread holds DP floats of R: beyond these the rows do not fit the registers that
    // G_R·DP threads leave (checked by `flashrnn compile-kernels`: no spills).
    static_assert(DP <= 64 || (Cell::kGatesR == 1 && DP <= 128),
                  "float32 FMA forward: R rows in registers hold DP <= 64 (128 with one recurrent gate)");
};

// A batch slice of the float32 FMA sweeps (this forward and fused_backward_f32.cuh): SLICE
// columns per CTA, kCells (feature, column) cells per thread, kChains independent FMA chains per
// column (at least four in flight per thread).
template <int DP, int SLICE, int kThreads>
struct F32Slice {
    static_assert(SLICE == 1 || SLICE == 2 || SLICE == 4 || SLICE == 8, "batch slice of 1, 2, 4 or 8 columns");
    static constexpr int kCells = (SLICE * DP + kThreads - 1) / kThreads;
    static constexpr int kChains = SLICE >= 4 ? 1 : 4 / SLICE;
    static_assert((DP / 4) % kChains == 0, "DP / 4 must split evenly over the accumulator chains");
};

// This thread's (feature, column) cells of a batch slice, shared by the float32 FMA forward and
// backward: cell i is c = tid + kThreads·i, column c / DP, feature c % DP; valid where the feature
// is below D and the column inside the batch.
template <int DP, int SLICE, int kThreads>
struct F32SliceCells {
    static constexpr int kCells = F32Slice<DP, SLICE, kThreads>::kCells;
    int colOf[kCells], dOf[kCells];
    bool inSlice[kCells], valid[kCells];

    __device__ __forceinline__ F32SliceCells(int tid, int batch0, int B, int D) {
#pragma unroll
        for (int i = 0; i < kCells; ++i) {
            const int c = tid + kThreads * i;
            colOf[i] = c / DP;
            dOf[i] = c % DP;
            inSlice[i] = c < SLICE * DP;
            valid[i] = inSlice[i] && dOf[i] < D && batch0 + colOf[i] < B;
        }
    }
};

// DP elements of R (float32) from `start`, `step` apart, zero beyond D or where !valid: a row of
// R_k (the forward's, step 1) or a column (the backward's Rᵀ, step D), held in registers.
template <int DP>
__device__ __forceinline__ void load_r_line(float (&r)[DP], const FusedParams& p, long long start, long long step, bool valid) {
    const float* R = address<const float>(p.r);
#pragma unroll
    for (int k = 0; k < DP; ++k) r[k] = load_if<F32>(R + (start + k * step), valid && k < p.D);
}

// The cell's update of `state` in place (M: AccurateMath, the policy; ApproximateMath only to
// measure what the float64 cell costs, FusedVariant.float32ForwardCellMath), h clipped to ±clip
// where asked; an invalid cell (padding feature or column) stays zero.
template <class Cell, class M>
__device__ __forceinline__ void advance_cell(const float (&pre)[4], float (&state)[4], float clip, bool hasClip, bool valid) {
    float next[4];
    Cell::template forward<M>(pre, state, next);
    if (hasClip) next[0] = fminf(fmaxf(next[0], -clip), clip);
#pragma unroll
    for (int s = 0; s < 4; ++s) state[s] = valid ? next[s] : 0.0f;
}

template <class Cell, int DP, int SLICE, class M>
__device__ __forceinline__ void forward_f32_sweep(const FusedParams& p) {
    using Shape = ForwardF32Shape<Cell, DP>;
    using S = F32;
    constexpr int GR = Cell::kGatesR, GW = Cell::kGatesW, GT = Cell::kGatesT, kS = Cell::kStates;
    constexpr int kROff = Cell::kRecurrentGateOffset, kWOff = Cell::kInputGateOffset;
    constexpr int kThreads = Shape::kThreads;
    constexpr int kCells = F32Slice<DP, SLICE, kThreads>::kCells, kChains = F32Slice<DP, SLICE, kThreads>::kChains;

    extern __shared__ uint4 shared[];
    float* h = reinterpret_cast<float*>(shared);   // [SLICE, DP] h_{t-1}
    float* gates = h + SLICE * DP;                 // [G_R, SLICE, DP] R·h_{t-1}

    const int tid = threadIdx.x;
    const int n = blockIdx.x, batch0 = blockIdx.y * SLICE;
    const int B = p.B, T = p.T, N = p.N, D = p.D;
    const long long ND = (long long)N * D;

    // This thread's gate row of R: gate rowGate, feature rowFeature, zero beyond D.
    const int rowGate = tid / DP, rowFeature = tid % DP;
    const bool hasRow = tid < Shape::kRows;
    const bool rowValid = hasRow && rowFeature < D;
    float r[DP];
    load_r_line<DP>(r, p, rowValid ? ((long long)(rowGate * N + n) * D + rowFeature) * D : 0, 1, rowValid);

    const F32SliceCells<DP, SLICE, kThreads> slice(tid, batch0, B, D);
    const auto& colOf = slice.colOf;
    const auto& dOf = slice.dOf;
    const auto& inSlice = slice.inSlice;
    const auto& valid = slice.valid;

    auto cellOf = [&](int i) -> long long { return (long long)n * D + dOf[i]; };   // [N, D] index

    const float* bias = address<const float>(p.bias);
    float biasOf[kCells][GT];
#pragma unroll
    for (int i = 0; i < kCells; ++i)
#pragma unroll
        for (int k = 0; k < GT; ++k) biasOf[i][k] = load_if<S>(bias + (k * ND + cellOf(i)), valid[i]);

    const float* s0 = address<const float>(p.s0);
    float state[kCells][4];
#pragma unroll
    for (int i = 0; i < kCells; ++i) {
        const long long b = batch0 + colOf[i];
#pragma unroll
        for (int s = 0; s < 4; ++s)
            state[i][s] = (s < kS && s0 != nullptr) ? load_if<S>(s0 + ((s * B + b) * ND + cellOf(i)), valid[i]) : 0.0f;
        if (inSlice[i]) h[colOf[i] * DP + dOf[i]] = state[i][0];
    }

    // Element offsets are computed per step from (column, t) rather than kept as per-cell
    // pointers: with up to 8 cells per thread, four 64-bit pointers each spilled registers.
    const long long plane = (long long)B * T * ND;
    const float* wx = address<const float>(p.wx);
    float* states = address<float>(p.states);
    float* preOut = address<float>(p.pre);
    float* states32 = address<float>(p.states32);
    const bool training = preOut != nullptr;
    const long long wxStrideB = p.wxStrideB, wxStrideT = p.wxStrideT;
    // Offset of Wx of cell i at step t (gate 0); 0 for invalid cells (never read).
    auto wxOffset = [&](int i, int t) -> long long {
        return valid[i] ? (batch0 + colOf[i]) * wxStrideB + t * wxStrideT + cellOf(i) : 0;
    };
    auto loadWx = [&](float (&w)[kCells][GW], int t) {
#pragma unroll
        for (int i = 0; i < kCells; ++i) {
            const float* at = wx + wxOffset(i, t);
#pragma unroll
            for (int j = 0; j < GW; ++j) w[i][j] = raw_if<S>(at + j * ND, valid[i]);
        }
    };
    const float clip = p.forwardClip;
    const bool hasClip = p.hasForwardClip != 0;
    __syncthreads();

    // One step; `use` holds Wx of step t, `fetch` receives Wx of step t + 1 (loaded before the
    // product so the loads overlap it). The loop below is unrolled by two so no copy waits on them.
    auto step = [&](int t, const float (&use)[kCells][GW], float (&fetch)[kCells][GW]) {
        // L2 prefetch further ahead, one per 128-byte line of a cell row.
        if (t + kPrefetchSteps < T) {
#pragma unroll
            for (int i = 0; i < kCells; ++i)
                if (valid[i] && (dOf[i] & 31) == 0)
#pragma unroll
                    for (int j = 0; j < GW; ++j) prefetch_l2(wx + (wxOffset(i, t + kPrefetchSteps) + j * ND));
        }
        if (t + 1 < T) loadWx(fetch, t + 1);

        if (hasRow) {
            float acc[SLICE][kChains];
#pragma unroll
            for (int col = 0; col < SLICE; ++col)
#pragma unroll
                for (int ch = 0; ch < kChains; ++ch) acc[col][ch] = 0.0f;
#pragma unroll
            for (int k4 = 0; k4 < DP / 4; ++k4) {
                const int ch = k4 % kChains;
#pragma unroll
                for (int col = 0; col < SLICE; ++col) {
                    const float4 v = *reinterpret_cast<const float4*>(h + col * DP + 4 * k4);
                    acc[col][ch] = fmaf(r[4 * k4], v.x, acc[col][ch]);
                    acc[col][ch] = fmaf(r[4 * k4 + 1], v.y, acc[col][ch]);
                    acc[col][ch] = fmaf(r[4 * k4 + 2], v.z, acc[col][ch]);
                    acc[col][ch] = fmaf(r[4 * k4 + 3], v.w, acc[col][ch]);
                }
            }
#pragma unroll
            for (int col = 0; col < SLICE; ++col) {
                float sum = acc[col][0];
#pragma unroll
                for (int ch = 1; ch < kChains; ++ch) sum += acc[col][ch];
                gates[(rowGate * SLICE + col) * DP + rowFeature] = sum;
            }
        }
        __syncthreads();   // every row's sums are in `gates`; h_{t-1} is no longer read

#pragma unroll
        for (int i = 0; i < kCells; ++i) {
            if (!inSlice[i]) continue;
            // The CPU float32 backend's order: (R·h + b) + Wx per gate.
            float pre[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
            for (int k = 0; k < GT; ++k) pre[k] = biasOf[i][k];
#pragma unroll
            for (int k = 0; k < GR; ++k) pre[k + kROff] += gates[(k * SLICE + colOf[i]) * DP + dOf[i]];
#pragma unroll
            for (int j = 0; j < GW; ++j) pre[j + kWOff] += use[i][j];
            advance_cell<Cell, M>(pre, state[i], clip, hasClip, valid[i]);
            const float (&next)[4] = state[i];
            h[colOf[i] * DP + dOf[i]] = next[0];
            if (valid[i]) {
                const long long row = (long long)(batch0 + colOf[i]) * T + t;   // (b, t) of [B, T, …]
                const long long at = row * ND + cellOf(i);
#pragma unroll
                for (int s = 0; s < kS; ++s) states[at + s * plane] = next[s];
                if (training) {
                    float* preAt = preOut + (row * GT * ND + cellOf(i));
#pragma unroll
                    for (int k = 0; k < GT; ++k) preAt[k * ND] = pre[k];
#pragma unroll
                    for (int s = 0; s < kS; ++s) states32[at + s * plane] = next[s];
                }
            }
        }
        __syncthreads();   // h_t is complete for the next step's product
    };

    float wxA[kCells][GW], wxB[kCells][GW];
    loadWx(wxA, 0);
    int t = 0;
    for (; t + 1 < T; t += 2) {
        step(t, wxA, wxB);
        step(t + 1, wxB, wxA);
    }
    if (t < T) step(t, wxA, wxB);

    // The state after the last step (invalid cells were zeroed).
    float* last = address<float>(p.last);
    if (T > 0) {
#pragma unroll
        for (int i = 0; i < kCells; ++i) {
            if (!valid[i]) continue;
            const long long b = batch0 + colOf[i];
#pragma unroll
            for (int s = 0; s < kS; ++s) last[(s * B + b) * ND + cellOf(i)] = state[i][s];
        }
    }
}

// ⌈B / gridDim.y⌉ rounded up to a slice of 1, 2, 4 or 8 columns (FusedVariant.float32ForwardSlice
// launches gridDim.y = ⌈B / slice⌉, so the slices cover the batch).
template <class Cell, int DP, class M = typename F32::Math>
__global__ void __launch_bounds__(ForwardF32Shape<Cell, DP>::kThreads, 1) forward_f32_kernel(const FusedParams p) {
    const int columns = (p.B + gridDim.y - 1) / gridDim.y;
    if (columns <= 1) forward_f32_sweep<Cell, DP, 1, M>(p);
    else if (columns <= 2) forward_f32_sweep<Cell, DP, 2, M>(p);
    else if (columns <= 4) forward_f32_sweep<Cell, DP, 4, M>(p);
    else forward_f32_sweep<Cell, DP, 8, M>(p);
}

}  // namespace fused
}  // namespace flashrnn
