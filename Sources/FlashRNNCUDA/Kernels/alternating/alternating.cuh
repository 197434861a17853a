// The cudaAlternating backend: one launch per time step, captured in a CUDA graph.
//
// Compile-time parameters: Cell (cells/*.cuh), S (storage type, common/storage.cuh),
// BT (batch rows per block), WARPS (warps per block), U (128-column chunks of a warp's R rows
// held in registers at once; the host picks it from D). Run-time: everything in
// FlashRNNStepParams, read through a device pointer so one captured graph serves every call
// of a shape, and the step index t as the only other argument.
//
// Steps after the first are launched with programmatic dependent launch (PDL): step t+1 may
// start while step t runs. Each step first loads what no step writes (bias, Wx, the first U
// chunks of its R rows; in backward also the saved forward states and pre-activations), then
// waits for step t-1 (griddepcontrol.wait: its grid has completed and its writes are visible),
// then lets step t+1 start. Without PDL the wait returns at once.
//
// Forward step t, one warp per (head n, output row d), one block per (n, WARPS rows, BT batch rows):
//   acc[k][b] = Σ_q R[k, n, d, q] · h_t[b, n, q]     (h in shared memory, R read once per block)
// then the lane b applies the cell to (b, n, d). The product and the pointwise cell share one
// launch, so a step is a single graph node; states are kept in float32 between steps
// (states32) and also written to the output in the storage type.
//
// Backward step t (t = T-1 … 0, then -1 for the initial state), one warp per (n, input row q):
//   rec[b] = Σ_k Σ_d Rᵀ[k, n, q, d] · dG_{t+1}[b, k, n, d]    (dG tile in shared memory)
// then the cell backward of step t at (b, n, q); the direct-path gradients ping-pong
// between two float32 slots by the parity of t.
//
// For 16-bit storage and D a multiple of 32 the host may pick forward_step_mma / backward_step_mma
// instead (alternating_{forward,backward}_mma.cuh: the same steps with the product on tensor
// cores); both kinds share the cell prologue/epilogue helpers below.
#pragma once

namespace flashrnn {

typedef FlashRNNStepParams Params;

// Programmatic dependent launch (sm_90+; elsewhere the launch is plain and these are no-ops).
__device__ __forceinline__ void wait_for_previous_step() {
#if __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void allow_next_step() {
#if __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

// Four consecutive elements as loaded (not yet widened): 8 bytes for 16-bit storage, 16 for
// float32, so R chunks held across the wait cost half the registers in 16-bit storage.
template <class S> struct Quad { typedef Bits64 Type; };
template <> struct Quad<F32> { typedef Float4 Type; };

// Float32 storage sums as the CPU float32 backend and cudaFused do, so that outputs of one or a
// few elements (D = 1) carry the same float32 roundings on every backend (spec §6 judges them
// against 2× the CPU float32 run's own error): pre-activations as (R·h + b) + Wx, and Rᵀ·dG with
// each gate's part in float32, the G_R parts summed in float64 and rounded once. 16-bit storage
// keeps its order (b + Wx) + R·h and one float32 accumulator over gates.
template <class S> struct SumsAsCPU { static constexpr bool value = false; };
template <> struct SumsAsCPU<F32> { static constexpr bool value = true; };

template <class S>
__device__ __forceinline__ typename Quad<S>::Type load_quad(const typename S::Bits* p, bool inside) {
    typename Quad<S>::Type v = {};
    if (inside) v = *reinterpret_cast<const typename Quad<S>::Type*>(p);
    return v;
}

// r[u][k] = columns c + 128·u … c + 128·u + 3 of rows[k] for the gates k = k0 … k0 + KN − 1;
// zeros past D or where !inside.
template <class S, int U, int GR, int KN = GR>
__device__ __forceinline__ void load_r_chunks(typename Quad<S>::Type (&r)[U][GR], const typename S::Bits* const (&rows)[GR],
                                              int c, int D, bool inside, int k0 = 0) {
    #pragma unroll
    for (int u = 0; u < U; ++u) {
        const int q = c + 128 * u;
        #pragma unroll
        for (int j = 0; j < KN; ++j) r[u][k0 + j] = load_quad<S>(rows[k0 + j] + q, inside && q < D);
    }
}

template <class S>
__device__ __forceinline__ void widen_quad(const typename Quad<S>::Type& v, float (&out)[4]) {
    S::load4(reinterpret_cast<const typename S::Bits*>(&v), out);
}

__device__ __forceinline__ float warp_sum(float v) {
    #pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
}

// Sums P values (a power of two ≤ 32) across the warp with P - 1 + log2(32/P) shuffles instead
// of 5·P: each level halves the values a lane keeps (reduce-scatter). Afterwards value j's
// total is held by lanes j·(32/P) … j·(32/P) + 32/P − 1; returns this lane's total.
// One level per template instance, so every array index is a compile-time constant (a loop
// with two induction variables was not unrolled and put the values in local memory).
template <int P, int W, int O>
struct ReduceScatterLevel {
    __device__ __forceinline__ static void run(float (&v)[P], int lane) {
        const bool upper = (lane & O) != 0;
        #pragma unroll
        for (int i = 0; i < W / 2; ++i) {
            const float send = upper ? v[i] : v[i + W / 2];
            const float keep = upper ? v[i + W / 2] : v[i];
            v[i] = keep + __shfl_xor_sync(0xffffffffu, send, O);
        }
        ReduceScatterLevel<P, W / 2, O / 2>::run(v, lane);
    }
};
template <int P, int O>
struct ReduceScatterLevel<P, 1, O> {
    __device__ __forceinline__ static void run(float (&)[P], int) {}
};

template <int P>
__device__ __forceinline__ float warp_reduce_scatter(float (&v)[P], int lane) {
    ReduceScatterLevel<P, P, 16>::run(v, lane);
    float total = v[0];
    #pragma unroll
    for (int offset = 16 / P; offset > 0; offset >>= 1) total += __shfl_xor_sync(0xffffffffu, total, offset);
    return total;
}

template <int N>
struct NextPowerOfTwo { static constexpr int value = N <= 1 ? 1 : 2 * NextPowerOfTwo<(N + 1) / 2>::value; };
template <>
struct NextPowerOfTwo<1> { static constexpr int value = 1; };

// Copies `rows` rows of D floats into tile[r·D + e]; row r starts at
// src + (r / G)·outer + (r % G + offset)·inner. kBatch loads per thread are in flight before
// the first store (a plain loop waits for each load: 24–96 L2 round trips at D = 768); 16 for
// blocks of 4 warps, so an 8 × 768 h tile is still one round trip (16-bit storage only: with
// float32 R chunks held, 16 spilled).
template <int G, int kBatch = 8>
__device__ __forceinline__ void load_tile(float* tile, const float* src, int rows, int D,
                                          long long outer, long long inner, int offset) {
    if ((D & 3) == 0) {
        const int perRow = D >> 2, total = rows * perRow;
        for (int base = threadIdx.x; base < total; base += blockDim.x * kBatch) {
            Float4 v[kBatch];
            #pragma unroll
            for (int j = 0; j < kBatch; ++j) {
                const int i = base + j * blockDim.x;
                if (i < total) {
                    const int r = i / perRow, e = (i - r * perRow) * 4;
                    v[j] = *reinterpret_cast<const Float4*>(src + (r / G) * outer + (r % G + offset) * inner + e);
                }
            }
            #pragma unroll
            for (int j = 0; j < kBatch; ++j) {
                const int i = base + j * blockDim.x;
                if (i < total) {
                    const int r = i / perRow, e = (i - r * perRow) * 4;
                    *reinterpret_cast<Float4*>(tile + r * D + e) = v[j];
                }
            }
        }
    } else {
        const int total = rows * D;
        for (int base = threadIdx.x; base < total; base += blockDim.x * kBatch) {
            float v[kBatch];
            #pragma unroll
            for (int j = 0; j < kBatch; ++j) {
                const int i = base + j * blockDim.x;
                if (i < total) {
                    const int r = i / D, e = i - r * D;
                    v[j] = src[(r / G) * outer + (r % G + offset) * inner + e];
                }
            }
            #pragma unroll
            for (int j = 0; j < kBatch; ++j) {
                const int i = base + j * blockDim.x;
                if (i < total) tile[i] = v[j];
            }
        }
    }
}

template <class S, int WARPS>
struct TileBatch { static constexpr int value = WARPS <= 4 && sizeof(typename S::Bits) == 2 ? 16 : 8; };

// The product of both step kernels, over the gates k = k0 … k0 + KN − 1 of a warp's rows and the
// columns c this lane walks:
//   forward (kGateRows false):  acc[k − k0][bi] += Σ_c R[k, n, d, c] · tile[bi][c]       (the h tile
//     [BT][D]: one row per batch column, read once for all gates; one sum per gate);
//   backward (kGateRows true):  acc[0][bi] += Σ_k Σ_c Rᵀ[k, n, q, c] · tile[bi][k][c]   (the dG tile
//     [BT][G_R][D]: a row per batch column and gate; the pass's gates in one sum).
// Wide (D % 4 == 0): four consecutive columns per lane, c = lane·4 + 128·u, walked 128·U at a time;
// r holds the first U chunks of the pass's gates (loaded before the wait) and is refilled for each
// later 128·U columns, those gates only. Otherwise one column per lane, V at a time. Each sum adds
// its terms in column order, gate by gate inside a column, rows below nb skipped.
template <class S, bool kGateRows, int BT, int U, int GR, int KN = GR>
__device__ __forceinline__ void multiply_rows(typename Quad<S>::Type (&r)[U][GR], const typename S::Bits* const (&rows)[GR],
                                              const float* tile, int D, int nb, int lane, bool wide, int k0,
                                              float (&acc)[kGateRows ? 1 : KN][BT]) {
    if (wide) {
        for (int c0 = lane * 4; c0 < D; c0 += 128 * U) {
            if (c0 != lane * 4) load_r_chunks<S, U, GR, KN>(r, rows, c0, D, true, k0);
            #pragma unroll
            for (int u = 0; u < U; ++u) {
                const int c = c0 + 128 * u;
                if (c >= D) break;
                float rf[KN][4];
                #pragma unroll
                for (int j = 0; j < KN; ++j) widen_quad<S>(r[u][k0 + j], rf[j]);
                #pragma unroll
                for (int bi = 0; bi < BT; ++bi) {
                    if (bi < nb) {
                        Float4 h = {};
                        if constexpr (!kGateRows) h = *reinterpret_cast<const Float4*>(&tile[bi * D + c]);
                        #pragma unroll
                        for (int j = 0; j < KN; ++j) {
                            const Float4 v = kGateRows ? *reinterpret_cast<const Float4*>(&tile[(bi * GR + k0 + j) * D + c]) : h;
                            acc[kGateRows ? 0 : j][bi] += rf[j][0] * v.x + rf[j][1] * v.y + rf[j][2] * v.z + rf[j][3] * v.w;
                        }
                    }
                }
            }
        }
    } else {
        constexpr int V = 4;  // columns in flight per lane
        for (int c0 = lane; c0 < D; c0 += 32 * V) {
            float rs[V][KN];  // at rows + c0 + 32·u: constant offsets (rows + c cost the float32 backward 2–6 registers)
            #pragma unroll
            for (int u = 0; u < V; ++u) {
                const int c = c0 + 32 * u;
                #pragma unroll
                for (int j = 0; j < KN; ++j) rs[u][j] = c < D ? S::load(rows[k0 + j] + c0 + 32 * u) : 0.0f;
            }
            #pragma unroll
            for (int u = 0; u < V; ++u) {
                const int c = c0 + 32 * u;
                if (c >= D) break;
                #pragma unroll
                for (int bi = 0; bi < BT; ++bi) {
                    if (bi < nb) {
                        float h = 0.0f;
                        if constexpr (!kGateRows) h = tile[bi * D + c];
                        #pragma unroll
                        for (int j = 0; j < KN; ++j)
                            acc[kGateRows ? 0 : j][bi] += rs[u][j] * (kGateRows ? tile[(bi * GR + k0 + j) * D + c] : h);
                    }
                }
            }
        }
    }
}

__device__ __forceinline__ long long states32_index(const Params* p, int s, int t, int b, long long nd) {
    return ((static_cast<long long>(s) * (p->T + 1) + t) * p->B + b) * (static_cast<long long>(p->N) * p->D) + nd;
}

// Runs body(i, s, b, nd) over the elements i of a [G][B][N·D] array (G = the cell's states),
// grid-stride.
template <class Cell, typename Body>
__device__ __forceinline__ void for_each_state_element(const Params* p, Body body) {
    const long long ND = static_cast<long long>(p->N) * p->D;
    const long long total = Cell::kStates * p->B * ND;
    for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        const int s = static_cast<int>(i / (p->B * ND));
        const long long rest = i - s * p->B * ND;
        const int b = static_cast<int>(rest / ND);
        body(i, s, b, rest - b * ND);
    }
}

// states32[s][0] = s0 (or zeros).
template <class Cell, class S>
__global__ void init_states(const Params* __restrict__ p) {
    for_each_state_element<Cell>(p, [&](long long i, int s, int b, long long nd) {
        f32(p->states32)[states32_index(p, s, 0, b, nd)] = p->hasInitialStates ? load_at<S>(p->s0, i) : 0.0f;
    });
}

// The cell's bias at nd into pre[k].
template <class Cell, class S>
__device__ __forceinline__ void load_bias(const Params* p, long long nd, float (&pre)[4]) {
    const long long ND = static_cast<long long>(p->N) * p->D;
    #pragma unroll
    for (int k = 0; k < Cell::kGatesT; ++k) pre[k] = load_at<S>(p->b, k * ND + nd);
}

// Where Wx of batch row b at step t starts (the caller's layout, [T][B] or [B][T] rows of G_W·N·D).
template <class Cell>
__device__ __forceinline__ long long wx_row(const Params* p, int t, int b) {
    return (p->inputLayoutTB ? static_cast<long long>(t) * p->B + b : static_cast<long long>(b) * p->T + t)
           * Cell::kGatesW * (static_cast<long long>(p->N) * p->D);
}

// The cell's bias and Wx at (b, nd) of step t into pre[k] (16-bit storage: b + Wx; the R gates'
// recurrent parts are added after the product).
template <class Cell, class S>
__device__ __forceinline__ void load_cell_inputs(const Params* p, int t, int b, long long nd, float (&pre)[4]) {
    const long long ND = static_cast<long long>(p->N) * p->D, row = wx_row<Cell>(p, t, b);
    load_bias<Cell, S>(p, nd, pre);
    #pragma unroll
    for (int w = 0; w < Cell::kGatesW; ++w) pre[w + Cell::kInputGateOffset] += load_at<S>(p->wx, row + w * ND + nd);
}

// Wx alone into wx[w] (float32 storage, SumsAsCPU: the bias is added after the product).
template <class Cell, class S>
__device__ __forceinline__ void load_wx(const Params* p, int t, int b, long long nd, float (&wx)[4]) {
    const long long ND = static_cast<long long>(p->N) * p->D, row = wx_row<Cell>(p, t, b);
    #pragma unroll
    for (int w = 0; w < Cell::kGatesW; ++w) wx[w] = load_at<S>(p->wx, row + w * ND + nd);
}

// The forward cell at (b, nd) of step t: adds the product to the R gates' pre-activations, writes
// the new states (float32 and storage type) and, when saved, the pre-activations. Float32 storage
// (SumsAsCPU) passes Wx alone in `wx` and pre holding the bias (`biasInPre`) or empty: (b + R·h) +
// Wx per gate, the CPU float32 backend's and cudaFused's order. Empty means the bias is loaded
// here, after the product: the 6-chunk steps, where b and Wx both held over the product spilled
// the LSTM step.
template <class Cell, class S>
__device__ __forceinline__ void finish_forward_cell(const Params* p, int t, int b, long long nd, float (&pre)[4],
                                                    const float (&previous)[4], const float (&recurrent)[Cell::kGatesR],
                                                    const float (*wx)[4] = nullptr, bool biasInPre = false) {
    const long long ND = static_cast<long long>(p->N) * p->D;
    if (SumsAsCPU<S>::value && !biasInPre) load_bias<Cell, S>(p, nd, pre);
    #pragma unroll
    for (int k = 0; k < Cell::kGatesR; ++k) pre[k + Cell::kRecurrentGateOffset] += recurrent[k];
    if constexpr (SumsAsCPU<S>::value) {
        #pragma unroll
        for (int w = 0; w < Cell::kGatesW; ++w) pre[w + Cell::kInputGateOffset] += (*wx)[w];
    }
    float next[4];
    Cell::template forward<typename S::Math>(pre, previous, next);
    if (p->hasForwardClip) next[0] = fminf(fmaxf(next[0], -p->forwardClip), p->forwardClip);
    #pragma unroll
    for (int s = 0; s < Cell::kStates; ++s) {
        f32(p->states32)[states32_index(p, s, t + 1, b, nd)] = next[s];
        store_at<S>(p->states, ((static_cast<long long>(s) * p->B + b) * p->T + t) * ND + nd, next[s]);
    }
    if (p->savePre) {
        #pragma unroll
        for (int k = 0; k < Cell::kGatesT; ++k)
            f32(p->pre32)[((static_cast<long long>(t) * p->B + b) * Cell::kGatesT + k) * ND + nd] = pre[k];
    }
}

// Backward inputs of (b, nd) at step t ≥ 0 that no step writes: the caller's dStates/dLast into
// dNew, the saved forward states and pre-activations.
template <class Cell, class S>
__device__ __forceinline__ void load_saved_forward(const Params* p, int t, int b, long long nd, float (&dNew)[4],
                                                   float (&previous)[4], float (&pre)[4]) {
    const int B = p->B, T = p->T;
    const long long ND = static_cast<long long>(p->N) * p->D;
    #pragma unroll
    for (int s = 0; s < Cell::kStates; ++s) {
        float g = 0.0f;
        if (p->dStates) g += load_at<S>(p->dStates, ((static_cast<long long>(s) * B + b) * T + t) * ND + nd);
        if (t == T - 1 && p->dLast) g += load_at<S>(p->dLast, (static_cast<long long>(s) * B + b) * ND + nd);
        dNew[s] = g;
        previous[s] = f32(p->states32)[states32_index(p, s, t, b, nd)];
    }
    #pragma unroll
    for (int k = 0; k < Cell::kGatesT; ++k) pre[k] = f32(p->pre32)[((static_cast<long long>(t) * B + b) * Cell::kGatesT + k) * ND + nd];
}

// The direct-path gradient that step t+1 wrote for (b, nd) (after the wait): added to dNew, or
// at t = −1 the whole of it (slot 0, written by step 0).
template <class Cell>
__device__ __forceinline__ void add_direct_gradient(const Params* p, int t, int b, long long nd, float (&dNew)[4]) {
    const long long ND = static_cast<long long>(p->N) * p->D, BND = p->B * ND;
    const float* direct = f32(p->dDirect32);
    if (t < 0) {
        #pragma unroll
        for (int s = 0; s < Cell::kStates; ++s) dNew[s] = direct[s * BND + b * ND + nd];
    } else if (t + 1 < p->T) {
        const long long from = ((t + 1) & 1) * Cell::kStates * BND;
        #pragma unroll
        for (int s = 0; s < Cell::kStates; ++s) dNew[s] += direct[from + s * BND + b * ND + nd];
    }
}

// The backward cell at (b, nd) of step t with the recurrent gradient rec, or at t = −1 the
// initial-state gradient; writes dPre32 and the direct-path slot of parity t.
template <class Cell, class S>
__device__ __forceinline__ void finish_backward_cell(const Params* p, int t, int b, long long nd, float rec, float (&dNew)[4],
                                                     const float (&pre)[4], const float (&previous)[4]) {
    constexpr int GT = Cell::kGatesT, SN = Cell::kStates;
    const long long ND = static_cast<long long>(p->N) * p->D, BND = p->B * ND;
    if (p->hasRecurrentClip) rec = fminf(fmaxf(rec, -p->recurrentClip), p->recurrentClip);
    dNew[0] += rec;
    if (t < 0) {
        #pragma unroll
        for (int s = 0; s < SN; ++s) store_at<S>(p->dInitial, s * BND + b * ND + nd, dNew[s]);
        return;
    }
    if (p->hasForwardClip) {
        // The clamp passes gradient only where it did not bind.
        float next[4];
        Cell::template forward<typename S::Math>(pre, previous, next);
        if (fabsf(next[0]) > p->forwardClip) dNew[0] = 0.0f;
    }
    float dPreOut[4], dPrevious[4];
    Cell::template backward<typename S::Math>(pre, previous, dNew, dPreOut, dPrevious);
    #pragma unroll
    for (int k = 0; k < GT; ++k) f32(p->dPre32)[((static_cast<long long>(t) * p->B + b) * GT + k) * ND + nd] = dPreOut[k];
    const long long to = (t & 1) * SN * BND;
    #pragma unroll
    for (int s = 0; s < SN; ++s) f32(p->dDirect32)[to + s * BND + b * ND + nd] = dPrevious[s];
}

// Blocks per SM the register allocation must allow: with R held (U ≥ 3) the compiler
// would otherwise take ~150–190 registers and fit one block per SM, so at D = 768 the grid
// (192–384 blocks) would run in two waves.
template <int WARPS, int U>
struct MinBlocks { static constexpr int value = U >= 3 ? (WARPS <= 4 ? 3 : 2) : 1; };

template <class Cell, class S, int BT, int WARPS, int U>
__global__ void __launch_bounds__(WARPS * 32, MinBlocks<WARPS, U>::value) forward_step(const Params* __restrict__ p, int t) {
    extern __shared__ float h_tile[];  // [BT][D]
    constexpr int GR = Cell::kGatesR;
    typedef typename Quad<S>::Type Raw;
    const int B = p->B, N = p->N, D = p->D;
    const long long ND = static_cast<long long>(N) * D;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int chunks = (D + WARPS - 1) / WARPS;
    const int n = blockIdx.x / chunks;
    const int d = (blockIdx.x % chunks) * WARPS + warp;
    const int b0 = blockIdx.y * BT;
    const int nb = min(BT, B - b0);
    const bool active = d < D;
    const bool wide = (D & 3) == 0;  // four consecutive columns per lane, 8- or 16-byte loads
    const int b = b0 + lane;
    const long long nd = static_cast<long long>(n) * D + d;

    // 1. What no step writes: the cell's bias and Wx (one batch row per lane) and the first
    //    U·128 columns of this warp's R rows.
    float pre[4] = {0.0f, 0.0f, 0.0f, 0.0f}, previous[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    float wx[4] = {0.0f, 0.0f, 0.0f, 0.0f};   // float32 storage only (SumsAsCPU)
    constexpr bool kBiasInPre = U < 6;        // float32: the bias too, except where it spilled
    if (active && lane < nb) {
        if constexpr (SumsAsCPU<S>::value) {
            load_wx<Cell, S>(p, t, b, nd, wx);
            if constexpr (kBiasInPre) load_bias<Cell, S>(p, nd, pre);
        } else {
            load_cell_inputs<Cell, S>(p, t, b, nd, pre);
        }
    }
    const typename S::Bits* R = reinterpret_cast<const typename S::Bits*>(p->r);
    const typename S::Bits* rows[GR];
    #pragma unroll
    for (int k = 0; k < GR; ++k) rows[k] = R + ((static_cast<long long>(k) * N + n) * D + min(d, D - 1)) * D;
    Raw r[U][GR];
    load_r_chunks<S, U, GR>(r, rows, lane * 4, D, wide && active);

    // 2. Step t-1 has finished (PDL); step t+1 may start its own part 1.
    wait_for_previous_step();
    allow_next_step();

    // 3. The previous states (one batch row per lane) and h_t of this block's batch rows into
    //    shared memory.
    if (active && lane < nb) {
        #pragma unroll
        for (int s = 0; s < Cell::kStates; ++s) previous[s] = f32(p->states32)[states32_index(p, s, t, b, nd)];
    }
    load_tile<1, TileBatch<S, WARPS>::value>(h_tile, f32(p->states32) + states32_index(p, 0, t, b0, static_cast<long long>(n) * D), nb, D, ND, 0, 0);
    __syncthreads();
    if (!active) return;

    // 4. acc[k][b] = Σ_q R[k, n, d, q] · h[b, q]
    float acc[GR][BT];
    #pragma unroll
    for (int k = 0; k < GR; ++k)
        #pragma unroll
        for (int bi = 0; bi < BT; ++bi) acc[k][bi] = 0.0f;
    multiply_rows<S, false, BT, U, GR>(r, rows, h_tile, D, nb, lane, wide, 0, acc);
    // Value k·BT + bi ends in lanes (k·BT + bi)·(32/P); lane bi collects its G_R sums.
    constexpr int P = NextPowerOfTwo<GR * BT>::value;
    static_assert(P <= 32, "G_R·BT must fit a warp");
    float values[P];
    #pragma unroll
    for (int k = 0; k < GR; ++k)
        #pragma unroll
        for (int bi = 0; bi < BT; ++bi) values[k * BT + bi] = acc[k][bi];
    #pragma unroll
    for (int j = GR * BT; j < P; ++j) values[j] = 0.0f;
    const float mine = warp_reduce_scatter<P>(values, lane);
    float recurrent[GR];
    #pragma unroll
    for (int k = 0; k < GR; ++k) recurrent[k] = __shfl_sync(0xffffffffu, mine, ((k * BT + (lane & (BT - 1))) * (32 / P)) & 31);

    // 5. The cell at (b, n, d).
    if (lane >= nb) return;
    finish_forward_cell<Cell, S>(p, t, b, nd, pre, previous, recurrent, &wx, kBiasInPre);
}

// last[s][b] = states[s][b][T-1], from the float32 copy (the same rounding as `states`).
template <class Cell, class S>
__global__ void copy_last(const Params* __restrict__ p) {
    for_each_state_element<Cell>(p, [&](long long i, int s, int b, long long nd) {
        store_at<S>(p->last, i, f32(p->states32)[states32_index(p, s, p->T, b, nd)]);
    });
}

// rT[k][n][q][d] = R[k][n][d][q]
template <class Cell, class S>
__global__ void transpose_r(const Params* __restrict__ p) {
    const long long D = p->D;
    const long long total = Cell::kGatesR * p->N * D * D;
    for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        const long long matrix = i / (D * D), rest = i - matrix * D * D;
        const long long q = rest / D, d = rest - q * D;
        store_at<S>(p->rT, i, load_at<S>(p->r, matrix * D * D + d * D + q));
    }
}

// rec of lane bi's batch row = Σ_k Σ_d Rᵀ[k, n, q, d] · dG[b, k, d] (0 where !recurrent).
// 16-bit storage: one pass over all gates into one float32 accumulator per batch row.
// Float32 storage (SumsAsCPU): a pass per gate, each gate's part summed in float32 (this lane's
// columns, then the warp), the G_R parts added in float64 from 0 in gate order and rounded once:
// cudaFused's `recurrentOf` and the CPU float32 backend's order. At D = 1 each part is one
// product, rounded once here (an FMA onto 0; the other lanes add zeros), in cudaFused and on the
// CPU alike, so all three compute the same dh_rec bit for bit there. Still one accumulator per
// batch row (an accumulator per gate and row spilled at 3 chunks); past the held chunks only the
// pass's gate's Rᵀ columns are loaded.
template <class S, int BT, int U, int GR>
__device__ __forceinline__ float recurrent_gradient(typename Quad<S>::Type (&r)[U][GR], const typename S::Bits* const (&rows)[GR],
                                                    const float* dg_tile, int D, int nb, int lane, bool wide, bool recurrent) {
    if (!recurrent) return 0.0f;
    constexpr int KN = SumsAsCPU<S>::value ? 1 : GR;  // gates per pass
    double sum = 0.0;                                 // float32 storage
    float rec = 0.0f;                                 // 16-bit storage: the one pass
    #pragma unroll
    for (int k0 = 0; k0 < GR; k0 += KN) {
        float acc[1][BT];
        #pragma unroll
        for (int bi = 0; bi < BT; ++bi) acc[0][bi] = 0.0f;
        multiply_rows<S, true, BT, U, GR, KN>(r, rows, dg_tile, D, nb, lane, wide, k0, acc);
        // Value bi ends in lanes bi·(32/BT); lane bi fetches it.
        const float mine = warp_reduce_scatter<BT>(acc[0], lane);
        rec = __shfl_sync(0xffffffffu, mine, ((lane & (BT - 1)) * (32 / BT)) & 31);
        if constexpr (SumsAsCPU<S>::value) sum += static_cast<double>(rec);
    }
    return SumsAsCPU<S>::value ? static_cast<float>(sum) : rec;
}

template <class Cell, class S, int BT, int WARPS, int U>
__global__ void __launch_bounds__(WARPS * 32, MinBlocks<WARPS, U>::value) backward_step(const Params* __restrict__ p, int t) {
    extern __shared__ float dg_tile[];  // [BT][G_R][D]
    constexpr int GR = Cell::kGatesR, GT = Cell::kGatesT;
    typedef typename Quad<S>::Type Raw;
    const int B = p->B, T = p->T, N = p->N, D = p->D;
    const long long ND = static_cast<long long>(N) * D;
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int chunks = (D + WARPS - 1) / WARPS;
    const int n = blockIdx.x / chunks;
    const int q = (blockIdx.x % chunks) * WARPS + warp;
    const int b0 = blockIdx.y * BT;
    const int nb = min(BT, B - b0);
    const bool recurrent = t + 1 < T && !p->recurrentCut;
    const bool active = q < D;
    const bool wide = (D & 3) == 0;  // four consecutive columns per lane, 8- or 16-byte loads
    const int b = b0 + lane;
    const long long nd = static_cast<long long>(n) * D + q;

    // 1. What no step writes: the saved forward states and pre-activations of step t, the
    //    caller's dStates/dLast (one batch row per lane), the first U·128 columns of this
    //    warp's Rᵀ rows.
    float dNew[4] = {0.0f, 0.0f, 0.0f, 0.0f}, previous[4] = {0.0f, 0.0f, 0.0f, 0.0f}, pre[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (active && lane < nb && t >= 0) load_saved_forward<Cell, S>(p, t, b, nd, dNew, previous, pre);
    const typename S::Bits* RT = reinterpret_cast<const typename S::Bits*>(p->rT);
    const typename S::Bits* rows[GR];
    #pragma unroll
    for (int k = 0; k < GR; ++k) rows[k] = RT + ((static_cast<long long>(k) * N + n) * D + min(q, D - 1)) * D;
    Raw r[U][GR];
    load_r_chunks<S, U, GR>(r, rows, lane * 4, D, wide && recurrent && active);

    // 2. Step t+1 has finished (PDL); step t-1 may start its own part 1.
    wait_for_previous_step();
    allow_next_step();

    // 3. The direct-path gradient from step t+1, and dG_{t+1} of this block's batch rows (the
    //    R gates) into shared memory.
    if (active && lane < nb) add_direct_gradient<Cell>(p, t, b, nd, dNew);
    if (recurrent) {
        const float* dG = f32(p->dPre32) + (static_cast<long long>(t + 1) * B + b0) * GT * ND + static_cast<long long>(n) * D;
        load_tile<GR, TileBatch<S, WARPS>::value>(dg_tile, dG, nb * GR, D, GT * ND, ND, Cell::kRecurrentGateOffset);
    }
    __syncthreads();
    if (!active) return;

    // 4. rec[b] = Σ_k Σ_d Rᵀ[k, n, q, d] · dG[b, k, d]; float32 storage: gate by gate (SumsAsCPU).
    const float rec = recurrent_gradient<S, BT, U, GR>(r, rows, dg_tile, D, nb, lane, wide, recurrent);

    // 5. The cell backward at (b, n, q), or the initial-state gradient.
    if (lane >= nb) return;
    finish_backward_cell<Cell, S>(p, t, b, nd, rec, dNew, pre, previous);
}

// dWx in the caller's layout from the W-gate pre-activation gradients.
template <class Cell, class S>
__global__ void finish_dwx(const Params* __restrict__ p) {
    const long long ND = static_cast<long long>(p->N) * p->D;
    const long long total = static_cast<long long>(p->B) * p->T * Cell::kGatesW * ND;
    for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<long long>(gridDim.x) * blockDim.x) {
        const long long row = i / (Cell::kGatesW * ND), rest = i - row * Cell::kGatesW * ND;
        const int w = static_cast<int>(rest / ND);
        const long long nd = rest - w * ND;
        long long t, b;
        if (p->inputLayoutTB) { t = row / p->B; b = row - t * p->B; } else { b = row / p->T; t = row - b * p->T; }
        const float g = f32(p->dPre32)[((t * p->B + b) * Cell::kGatesT + w + Cell::kInputGateOffset) * ND + nd];
        store_at<S>(p->dWx, i, g);
    }
}

// db32[col] += Σ over a slice of the T·B rows of dPre32[row][col]; col = (k, n, d). The slice
// sums in float64 (db sums terms of both signs: float32 running sums cost float32 storage its 2x
// bound against the CPU at D = 1), and the host keeps slices long, so few float32 atomics remain.
template <class Cell>
__global__ void reduce_db(const Params* __restrict__ p, int rowsPerSlice) {
    const long long columns = Cell::kGatesT * static_cast<long long>(p->N) * p->D;
    const long long col = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
    if (col >= columns) return;
    const long long rows = static_cast<long long>(p->T) * p->B;
    const long long first = static_cast<long long>(blockIdx.y) * rowsPerSlice;
    const long long last = min(rows, first + rowsPerSlice);
    double sum = 0.0;
    for (long long row = first; row < last; ++row) sum += f32(p->dPre32)[row * columns + col];
    atomicAdd(f32(p->db32) + col, static_cast<float>(sum));
}

// dst[i] = src[i] in the storage type.
template <class S>
__global__ void convert_from_f32(unsigned long long src, unsigned long long dst, long long count) {
    for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < count;
         i += static_cast<long long>(gridDim.x) * blockDim.x)
        store_at<S>(dst, i, f32(src)[i]);
}

}  // namespace flashrnn
