// Persistent reverse sweep for float32 storage on one SM with dh_rec = Rᵀ·dG in plain float32 FMAs
// (exact float32 products and sums, as the CPU float32 backend computes them; the tensor-core
// backward's 3xTF32 products are ~2^-21 relative, which missed the check's 2× rule at D = 1).
// The mirror of forward_f32_sweep (fused_forward_f32.cuh), with the same threads and batch slices.
//
// One CTA runs all T steps backwards for one (head n, batch slice of SLICE columns). Thread
// r < G_R·DP owns (gate k = r / DP, input feature p = r % DP) and holds column p of R_k in
// registers (R[k, n, d, p] for every output feature d); per step it reads dG_{t+1}[column][k][d]
// from shared memory (a broadcast: the lanes of a warp share k) four d at a time and accumulates
// its gate's part of dh_rec[column][p] for the slice's columns. The gates' parts meet in shared
// memory; each thread then runs the cell backward (F32::Math) on its (feature, column) cells with
// dh = dStates + the direct paths + Σ_k parts (summed in float64, rounded once), and writes dG_t
// for the next step's product: two __syncthreads per step. Outputs as backward_sweep writes them:
// dWx in the caller's layout, float32 recurrent-gate gradients dGR [B, T, G_R, N, D] for the dR
// kernel, db as per-thread float64 running sums added once at the end, dInitialStates.
//
// The batch slice is a run-time choice, as the forward's: gridDim.y = ⌈B / slice⌉ CTAs per head,
// and the kernel takes the smallest of 1, 2, 4, 8 that covers ⌈B / gridDim.y⌉ columns.
#pragma once
#include "common/async_copy.cuh"
#include "common/storage.cuh"
#include "fused/fused_params.cuh"
#include "fused/fused_forward_f32.cuh"

namespace flashrnn {
namespace fused {

template <class Cell, int DP>
struct BackwardF32Shape {
    static constexpr int kRows = Cell::kGatesR * DP;                 // (gate, input feature), one thread each
    // The forward's threads: at least 4·DP (at most 256 beyond the rows), so a thread runs at most
    // two cells of the largest slice.
    static constexpr int kThreads = ForwardF32Shape<Cell, DP>::kThreads;
    static constexpr int kMaxSlice = 8;
    // dG [slice, G_R, DP] and the gates' parts of dh_rec [G_R, slice, DP], float32, for the largest slice.
    static constexpr int kSharedBytes = 2 * Cell::kGatesR * kMaxSlice * DP * 4;
    // Step-input staging (STAGE; D % 4 == 0 and 16-byte aligned inputs, else the sweep loads them
    // into registers a step ahead): a ring of kStages steps, filled by cp.async kStages − 1 steps
    // ahead in 16-byte chunks. A step is [slice][items][DP] float32, items = G_T pre-activations,
    // S previous states, S external gradients. The ring follows kSharedBytes; mirrored by
    // FusedVariant.float32FMABackwardSharedBytes.
    static constexpr int kItems = Cell::kGatesT + 2 * Cell::kStates;
    static constexpr int kStages = 4;
    static constexpr int kStageBytes = kMaxSlice * kItems * DP * 4;
    static constexpr int kRingBytes = kStages * kStageBytes;
    static_assert(kSharedBytes + kRingBytes <= 227 * 1024, "the step-input ring must fit beside dG in 227 KB");
    static_assert(DP % 16 == 0, "the padded head dimension DP must be a multiple of 16");
    // A thread holds DP floats of R, as the forward's rows (same limit, checked by
    // `flashrnn compile-kernels`: no spills).
    static_assert(DP <= 64 || (Cell::kGatesR == 1 && DP <= 128),
                  "float32 FMA backward: R columns in registers hold DP <= 64 (128 with one recurrent gate)");
};

template <class Cell, int DP, int SLICE, bool STAGE>
__device__ __forceinline__ void backward_f32_sweep(const FusedParams& p) {
    using Shape = BackwardF32Shape<Cell, DP>;
    using S = F32;
    constexpr int GR = Cell::kGatesR, GW = Cell::kGatesW, GT = Cell::kGatesT, kS = Cell::kStates;
    constexpr int kROff = Cell::kRecurrentGateOffset, kWOff = Cell::kInputGateOffset;
    constexpr int kThreads = Shape::kThreads;
    constexpr int kCells = F32Slice<DP, SLICE, kThreads>::kCells, kChains = F32Slice<DP, SLICE, kThreads>::kChains;

    extern __shared__ uint4 shared[];
    float* dG = reinterpret_cast<float*>(shared);   // [SLICE, G_R, DP] dG_{t+1}, overwritten by dG_t
    float* parts = dG + SLICE * GR * DP;            // [G_R, SLICE, DP] gate k's part of dh_rec

    const int tid = threadIdx.x;
    const int n = blockIdx.x, batch0 = blockIdx.y * SLICE;
    const int B = p.B, T = p.T, N = p.N, D = p.D;
    const long long ND = (long long)N * D;

    // This thread's column of R_k: gate rowGate, input feature rowFeature, zero beyond D.
    const int rowGate = tid / DP, rowFeature = tid % DP;
    const bool hasRow = tid < Shape::kRows;
    const bool rowValid = hasRow && rowFeature < D;
    float r[DP];
    load_r_line<DP>(r, p, rowValid ? (long long)(rowGate * N + n) * D * D + rowFeature : 0, D, rowValid);

    const F32SliceCells<DP, SLICE, kThreads> slice(tid, batch0, B, D);
    const auto& colOf = slice.colOf;
    const auto& dOf = slice.dOf;
    const auto& inSlice = slice.inSlice;
    const auto& valid = slice.valid;
    auto cellOf = [&](int i) -> long long { return (long long)n * D + dOf[i]; };   // [N, D] index
    auto rowOf = [&](int i, int t) -> long long { return (long long)(batch0 + colOf[i]) * T + t; };   // (b, t) of [B, T, …]

    const float* preIn = address<const float>(p.pre);
    const float* states32 = address<const float>(p.states32);
    const float* s0 = address<const float>(p.s0);
    const float* dStates = address<const float>(p.dStates);
    const float* dLast = address<const float>(p.dLast);
    float* dGR = address<float>(p.dGR);
    float* dWx = address<float>(p.dWx);
    const bool hasDStates = dStates != nullptr, hasS0 = s0 != nullptr;
    const bool cut = p.gradientCut != 0;
    const bool hasGradientClip = p.hasGradientClip != 0, hasForwardClip = p.hasForwardClip != 0;
    const float gradientClip = p.gradientClip, forwardClip = p.forwardClip;
    const long long plane = (long long)B * T * ND;   // between states of [S, B, T, N, D]
    const long long wxStrideB = p.wxStrideB, wxStrideT = p.wxStrideT;

    // Direct-path gradients from step t+1; the gradient at the last state starts them (it is
    // added to step T−1's output gradient, as the CPU backend adds it).
    float dNext[kCells][4];
    typename RowSum<S>::Type dbSum[kCells][GT];
#pragma unroll
    for (int i = 0; i < kCells; ++i) {
        const long long b = batch0 + colOf[i];
#pragma unroll
        for (int s = 0; s < 4; ++s)
            dNext[i][s] = s < kS ? load_if<S>(dLast + ((s * B + b) * ND + cellOf(i)), valid[i] && dLast != nullptr) : 0.0f;
#pragma unroll
        for (int k = 0; k < GT; ++k) dbSum[i][k] = 0;
    }

    // What step t's cells read: pre-activations, the state before the step (states32 at t − 1, or
    // s_0 at t = 0: zero without initial states) and the external output gradient. One predicated
    // load each with a selected address (no branches: a load in a branch is waited for where the
    // branch ends), loaded a step ahead.
    struct StepInputs { float pre[kCells][4], previous[kCells][4], external[kCells][4]; };
    auto loadStep = [&](int t, StepInputs& in) {
#pragma unroll
        for (int i = 0; i < kCells; ++i) {
            const long long row = rowOf(i, t), b = batch0 + colOf[i];
#pragma unroll
            for (int k = 0; k < 4; ++k)
                in.pre[i][k] = k < GT ? predicated_load(preIn + ((row * GT + k) * ND + cellOf(i)), valid[i]) : 0.0f;
#pragma unroll
            for (int s = 0; s < 4; ++s) {
                const float* previousAt = t > 0 ? states32 + (s * plane + (row - 1) * ND + cellOf(i))
                                                : s0 + ((s * B + b) * ND + cellOf(i));
                in.previous[i][s] = s < kS ? predicated_load(previousAt, valid[i] && (t > 0 || hasS0)) : 0.0f;
                in.external[i][s] = s < kS ? predicated_load(dStates + (s * plane + row * ND + cellOf(i)), valid[i] && hasDStates)
                                           : 0.0f;
            }
        }
    };

    // Gate rowGate's part of dh_rec[column][rowFeature] = Σ_d R[k, d, p] · dG[column][k][d] for
    // the slice's columns, into `parts`.
    auto product = [&]() {
        float acc[SLICE][kChains];
#pragma unroll
        for (int col = 0; col < SLICE; ++col)
#pragma unroll
            for (int ch = 0; ch < kChains; ++ch) acc[col][ch] = 0.0f;
        const float* g = dG + rowGate * DP;
#pragma unroll
        for (int d4 = 0; d4 < DP / 4; ++d4) {
            const int ch = d4 % kChains;
#pragma unroll
            for (int col = 0; col < SLICE; ++col) {
                const float4 v = *reinterpret_cast<const float4*>(g + col * GR * DP + 4 * d4);
                acc[col][ch] = fmaf(r[4 * d4], v.x, acc[col][ch]);
                acc[col][ch] = fmaf(r[4 * d4 + 1], v.y, acc[col][ch]);
                acc[col][ch] = fmaf(r[4 * d4 + 2], v.z, acc[col][ch]);
                acc[col][ch] = fmaf(r[4 * d4 + 3], v.w, acc[col][ch]);
            }
        }
#pragma unroll
        for (int col = 0; col < SLICE; ++col) {
            float sum = acc[col][0];
#pragma unroll
            for (int ch = 1; ch < kChains; ++ch) sum += acc[col][ch];
            parts[(rowGate * SLICE + col) * DP + rowFeature] = sum;
        }
    };
    // dh_rec of cell i: the gates' parts summed in float64 and rounded once, clamped where asked.
    auto recurrentOf = [&](int i) -> float {
        double sum = 0.0;
#pragma unroll
        for (int k = 0; k < GR; ++k) sum += static_cast<double>(parts[(k * SLICE + colOf[i]) * DP + dOf[i]]);
        float v = static_cast<float>(sum);
        if (hasGradientClip) v = fminf(fmaxf(v, -gradientClip), gradientClip);
        return v;
    };

    // The cells of step t on its inputs `use`; `hasRecurrent`: dG_{t+1} exists and is not cut.
    auto cells = [&](int t, const StepInputs& use, bool hasRecurrent) {
#pragma unroll
        for (int i = 0; i < kCells; ++i) {
            if (!inSlice[i]) continue;
            float dNew[4];
#pragma unroll
            for (int s = 0; s < 4; ++s) dNew[s] = dNext[i][s] + use.external[i][s];
            if (hasRecurrent) dNew[0] += recurrentOf(i);
            if (hasForwardClip) {
                // The clamp passes gradient only where it did not bind.
                float h[4];
                Cell::template forward<typename S::Math>(use.pre[i], use.previous[i], h);
                if (fabsf(h[0]) > forwardClip) dNew[0] = 0.0f;
            }
            float dPre[4], dPrevious[4];
            Cell::template backward<typename S::Math>(use.pre[i], use.previous[i], dNew, dPre, dPrevious);
            if (!valid[i]) {
#pragma unroll
                for (int k = 0; k < 4; ++k) { dPre[k] = 0.0f; dPrevious[k] = 0.0f; }
            }
#pragma unroll
            for (int s = 0; s < 4; ++s) dNext[i][s] = dPrevious[s];
#pragma unroll
            for (int k = 0; k < GR; ++k) dG[(colOf[i] * GR + k) * DP + dOf[i]] = dPre[k + kROff];
            if (valid[i]) {
                const long long row = rowOf(i, t);
#pragma unroll
                for (int k = 0; k < GR; ++k) dGR[(row * GR + k) * ND + cellOf(i)] = dPre[k + kROff];
                float* dWxAt = dWx + ((batch0 + colOf[i]) * wxStrideB + t * wxStrideT + cellOf(i));
#pragma unroll
                for (int j = 0; j < GW; ++j) S::store(dWxAt + j * ND, dPre[j + kWOff]);
            }
#pragma unroll
            for (int k = 0; k < GT; ++k) dbSum[i][k] += dPre[k];
        }
    };

    // L2 prefetch of step t − kPrefetchSteps's inputs, one per 128-byte line of a cell row:
    // pre-activations, previous states, external gradients (written long ago, evicted from L2 since).
    auto prefetchAhead = [&](int t) {
        if (t - kPrefetchSteps > 0) {
            const int tp = t - kPrefetchSteps;
#pragma unroll
            for (int i = 0; i < kCells; ++i)
                if (valid[i] && (dOf[i] & 31) == 0) {
                    const long long row = rowOf(i, tp);
#pragma unroll
                    for (int k = 0; k < GT; ++k) prefetch_l2(preIn + ((row * GT + k) * ND + cellOf(i)));
#pragma unroll
                    for (int s = 0; s < kS; ++s) {
                        prefetch_l2(states32 + (s * plane + (row - 1) * ND + cellOf(i)));
                        if (hasDStates) prefetch_l2(dStates + (s * plane + row * ND + cellOf(i)));
                    }
                }
        }
    };

    // One step; `use` holds step t's inputs, `fetch` receives step t − 1's (loaded before the
    // product so the loads overlap it). The loop below is unrolled by two so no copy waits on them.
    auto step = [&](int t, const StepInputs& use, StepInputs& fetch) {
        prefetchAhead(t);
        if (t > 0) loadStep(t - 1, fetch);
        const bool hasRecurrent = t < T - 1 && !cut;
        if (hasRecurrent && hasRow) product();
        __syncthreads();   // every gate's part is in `parts`; dG_{t+1} is no longer read
        cells(t, use, hasRecurrent);
        __syncthreads();   // dG_t is complete for the next step's product
    };

    // Staging (see BackwardF32Shape): chunk i of a step is column i / kChunksPerColumn, item
    // j / (DP / 4) of the rest, features 4·(j % (DP / 4)) … + 3, at the same place in the ring
    // slot; this thread copies chunks threadIdx.x + kThreads·c. Addresses are computed per step.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
    // sm_80 (NVRTC 13.0, 255 registers): the staged sweep from DP = 112 (Elman) spilled 64-204 B,
    // so there it loads the step inputs into registers (the ring stays allocated, unused); at
    // DP = 128 that spilled 64 B with a step's inputs loaded one step ahead, so it loads them at
    // the step's start (they still overlap the product).
    constexpr bool kStage = STAGE && DP < 112, kLoadAhead = DP < 128;
#else
    constexpr bool kStage = STAGE, kLoadAhead = true;
#endif
    constexpr int kItems = Shape::kItems, kStages = Shape::kStages;
    constexpr int kChunksPerColumn = kItems * DP / 4;
    constexpr int kSlots = (SLICE * kChunksPerColumn + kThreads - 1) / kThreads;
    const bool stage = kStage && D % 4 == 0 && p.pre % 16 == 0 && p.states32 % 16 == 0 && p.s0 % 16 == 0
                       && p.dStates % 16 == 0;
    const unsigned ringAddress = shared_address(reinterpret_cast<unsigned char*>(shared) + Shape::kSharedBytes);
    // Step t's chunk c of this thread: its source (nullptr where the chunk is zero: beyond the
    // batch or D, no initial states at t = 0, no dStates) and its byte offset in a ring slot.
    auto chunkSource = [&](int i, int t) -> const float* {
        const int col = i / kChunksPerColumn, j = i % kChunksPerColumn;
        const int item = j / (DP / 4), f = 4 * (j % (DP / 4));
        const long long b = batch0 + col, row = b * T + t, at = (long long)n * D + f;
        if (i >= SLICE * kChunksPerColumn || b >= B || f >= D) return nullptr;
        if (item < GT) return preIn + ((row * GT + item) * ND + at);
        if (item < GT + kS) {
            const int s = item - GT;
            if (t > 0) return states32 + (s * plane + (row - 1) * ND + at);
            return hasS0 ? s0 + ((s * B + b) * ND + at) : nullptr;
        }
        return hasDStates ? dStates + ((item - GT - kS) * plane + row * ND + at) : nullptr;
    };
    int stagedSteps = 0, stageSlot = 0;
    // Copies the inputs of the next step not yet staged (t = T − 1 − stagedSteps) into its slot, as
    // one group (empty past step 0, so the group count stays one per step).
    auto stageNext = [&]() {
        if (stagedSteps < T) {
            const int t = T - 1 - stagedSteps;
            const unsigned slot = ringAddress + stageSlot * Shape::kStageBytes;
            // The thread index read afresh each step: the chunks' columns, items and addresses
            // are recomputed rather than hoisted out of the loop (kept, they spilled registers
            // for sLSTM DP = 64 and Elman DP = 128).
            unsigned fresh;
            asm volatile("mov.u32 %0, %%tid.x;" : "=r"(fresh));
#pragma unroll
            for (int c = 0; c < kSlots; ++c) {
                const int i = static_cast<int>(fresh) + kThreads * c;
                if (i < SLICE * kChunksPerColumn) {
                    const float* from = chunkSource(i, t);
                    copy16_async(slot + i * 16, from != nullptr ? from : preIn, from != nullptr);
                }
            }
            stageSlot = stageSlot + 1 == kStages ? 0 : stageSlot + 1;
        }
        ++stagedSteps;
        commit_async_copies();
    };
    // Step t's inputs from ring slot `slot`.
    auto readStaged = [&](int slot, StepInputs& in) {
        const float* rows = reinterpret_cast<const float*>(reinterpret_cast<const unsigned char*>(shared)
                                                           + Shape::kSharedBytes + slot * Shape::kStageBytes);
#pragma unroll
        for (int i = 0; i < kCells; ++i) {
            const float* at = rows + colOf[i] * kItems * DP + dOf[i];
#pragma unroll
            for (int k = 0; k < 4; ++k) in.pre[i][k] = k < GT && inSlice[i] ? at[k * DP] : 0.0f;
#pragma unroll
            for (int s = 0; s < 4; ++s) {
                in.previous[i][s] = s < kS && inSlice[i] ? at[(GT + s) * DP] : 0.0f;
                in.external[i][s] = s < kS && inSlice[i] ? at[(GT + kS + s) * DP] : 0.0f;
            }
        }
    };

    if (kStage && stage && T > 0) {
        // The first kStages − 1 steps in flight; then each step stages step t − (kStages − 1) into
        // the slot step t + 1 read (free after its last barrier) and, before its first barrier,
        // waits for its own group only.
#pragma unroll 1
        for (int s = 0; s < kStages - 1; ++s) stageNext();
        int readSlot = 0;
#pragma unroll 1
        for (int t = T - 1; t >= 0; --t) {
            prefetchAhead(t);
            stageNext();
            const bool hasRecurrent = t < T - 1 && !cut;
            if (hasRecurrent && hasRow) product();
            wait_async_groups<kStages - 1>();
            __syncthreads();   // step t's inputs and every gate's part are in shared memory
            StepInputs in;
            readStaged(readSlot, in);
            readSlot = readSlot + 1 == kStages ? 0 : readSlot + 1;
            cells(t, in, hasRecurrent);
            __syncthreads();   // dG_t is complete; step t's slot may be refilled
        }
    } else if (!kLoadAhead && T > 0) {
#pragma unroll 1
        for (int t = T - 1; t >= 0; --t) {
            prefetchAhead(t);
            StepInputs in;
            loadStep(t, in);
            const bool hasRecurrent = t < T - 1 && !cut;
            if (hasRecurrent && hasRow) product();
            __syncthreads();
            cells(t, in, hasRecurrent);
            __syncthreads();
        }
    } else if (T > 0) {
        StepInputs inA, inB;
        loadStep(T - 1, inA);
        int t = T - 1;
        for (; t >= 1; t -= 2) {
            step(t, inA, inB);
            step(t - 1, inB, inA);
        }
        if (t == 0) step(0, inA, inB);
    }

    // What reaches s_0: the direct paths plus Rᵀ·dG_0 for h.
    if (T > 0 && !cut && hasRow) product();
    __syncthreads();
    float* dInitial = address<float>(p.dInitial);
#pragma unroll
    for (int i = 0; i < kCells; ++i) {
        if (!valid[i]) continue;
        const long long b = batch0 + colOf[i];
        const float recurrent = T > 0 && !cut ? recurrentOf(i) : 0.0f;
#pragma unroll
        for (int s = 0; s < kS; ++s)
            dInitial[(s * B + b) * ND + cellOf(i)] = dNext[i][s] + (s == 0 ? recurrent : 0.0f);
    }

    // db: each cell's float64 running sum over the sequence. With dbScratch the CTAs add them in
    // float64 and the last CTA to arrive rounds each total once into db; without, one float32
    // atomic per (cell, gate): at slices of 1 that is B roundings of partial sums larger than the
    // total (3.6× the CPU float32 error at D = 1, B = 11 on the H200, round f32bwd).
    float* db = address<float>(p.db);
    if (p.dbScratch != 0) {
        double* db64 = address<double>(p.dbScratch);
        unsigned* arrivals = reinterpret_cast<unsigned*>(db64 + GT * ND);
#pragma unroll
        for (int i = 0; i < kCells; ++i) {
            if (!valid[i]) continue;
#pragma unroll
            for (int k = 0; k < GT; ++k) atomicAdd(&db64[k * ND + cellOf(i)], dbSum[i][k]);
        }
        __threadfence();   // this CTA's sums are visible device-wide before it arrives
        __syncthreads();   // and every thread's are issued; dG is no longer read
        int* isLast = reinterpret_cast<int*>(dG);
        if (tid == 0) *isLast = atomicAdd(arrivals, 1u) == gridDim.x * gridDim.y - 1;
        __syncthreads();
        if (*isLast) {
            __threadfence();
            for (long long e = tid; e < GT * ND; e += kThreads) db[e] = static_cast<float>(__ldcg(db64 + e));
        }
    } else {
#pragma unroll
        for (int i = 0; i < kCells; ++i) {
            if (!valid[i]) continue;
#pragma unroll
            for (int k = 0; k < GT; ++k) atomicAdd(&db[k * ND + cellOf(i)], static_cast<float>(dbSum[i][k]));
        }
    }
}

// ⌈B / gridDim.y⌉ rounded up to a slice of 1, 2, 4 or 8 columns (the host launches
// gridDim.y = ⌈B / slice⌉ for the slice FusedVariant.float32ForwardSlice chose, as for the forward).
// STAGE: stage the step inputs through the shared-memory ring where D and the inputs' alignment
// allow (FusedVariant: on unless FLASHRNN_FUSED_STAGE_BW=0).
template <class Cell, int DP, bool STAGE>
__global__ void __launch_bounds__(BackwardF32Shape<Cell, DP>::kThreads, 1) backward_f32_kernel(const FusedParams p) {
    const int columns = (p.B + gridDim.y - 1) / gridDim.y;
    if (columns <= 1) backward_f32_sweep<Cell, DP, 1, STAGE>(p);
    else if (columns <= 2) backward_f32_sweep<Cell, DP, 2, STAGE>(p);
    else if (columns <= 4) backward_f32_sweep<Cell, DP, 4, STAGE>(p);
    else backward_f32_sweep<Cell, DP, 8, STAGE>(p);
}

}  // namespace fused
}  // namespace flashrnn
