// The run-time parameters of every recurrent kernel, shared by Swift (through this C target)
// and by the CUDA sources (embedded and handed to NVRTC under the same name).
//
// Everything that changes from call to call lives here: sizes B and T, device addresses,
// options. Nothing here is a compile-time parameter, so a new B or T never compiles a kernel.
// Plain C only: no includes, fixed-width by construction on LP64 (int 4, float 4, unsigned
// long long 8 bytes); the ints come first so the addresses start 8-byte aligned.
#ifndef FLASHRNN_PARAMS_H
#define FLASHRNN_PARAMS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct FlashRNNStepParams {
    int B, T, N, D;
    int inputLayoutTB;        // 0: Wx is [B, T, G_W, N, D]; 1: [T, B, G_W, N, D]
    int hasInitialStates;     // 0: s0 is all zeros and `s0` is not read
    float forwardClip;        // clamp h_t to ±forwardClip when hasForwardClip
    float recurrentClip;      // clamp Rᵀ·dG to ±recurrentClip when hasRecurrentClip
    int hasForwardClip;
    int hasRecurrentClip;
    int recurrentCut;         // drop Rᵀ·dG from dh_{t-1}
    int savePre;              // forward stores the pre-activations for backward

    // Inputs in the storage dtype.
    unsigned long long wx;        // [B, T, G_W, N, D] or [T, B, G_W, N, D]
    unsigned long long r;         // [G_R, N, D_out, D_in]
    unsigned long long b;         // [G_T, N, D]
    unsigned long long s0;        // [S, B, N, D]
    // Forward outputs and float32 work space.
    unsigned long long states;    // [S, B, T, N, D] in the storage dtype
    unsigned long long last;      // [S, B, N, D] in the storage dtype
    unsigned long long states32;  // [S, T+1, B, N, D] float32; time 0 is the initial state
    unsigned long long pre32;     // [T, B, G_T, N, D] float32 pre-activations
    // Backward.
    unsigned long long dStates;   // [S, B, T, N, D] storage dtype, 0 means zeros
    unsigned long long dLast;     // [S, B, N, D] storage dtype, 0 means zeros
    unsigned long long dPre32;    // [T, B, G_T, N, D] float32 pre-activation gradients
    unsigned long long dDirect32; // [2, S, B, N, D] float32 direct-path gradients (ping-pong by t)
    unsigned long long rT;        // [G_R, N, D_in, D_out] R transposed, storage dtype
    unsigned long long dInitial;  // [S, B, N, D] storage dtype
    unsigned long long dWx;       // layout of wx, storage dtype
    unsigned long long db32;      // [G_T, N, D] float32 accumulator
} FlashRNNStepParams;

// The fused backend's persistent sweeps (Kernels/fused). One struct for forward and backward.
typedef struct FlashRNNFusedParams {
    int B, T, N, D;
    int hasForwardClip, hasGradientClip, gradientCut, padding0;
    float forwardClip, gradientClip;
    long long wxStrideB;          // elements between consecutive b in wx and dWx
    long long wxStrideT;          // elements between consecutive t in wx and dWx
    // Forward inputs and outputs, storage dtype unless noted.
    unsigned long long wx;        // [B, T, G_W, N, D] or [T, B, G_W, N, D]
    unsigned long long r;         // [G_R, N, D_out, D_in]
    unsigned long long bias;      // [G_T, N, D]
    unsigned long long s0;        // [S, B, N, D], 0 means zeros
    unsigned long long states;    // [S, B, T, N, D]
    unsigned long long last;      // [S, B, N, D]
    unsigned long long pre;       // [B, T, G_T, N, D] float32 pre-activations, 0 for inference
    unsigned long long states32;  // [S, B, T, N, D] float32 states for backward, 0 for inference
    // Backward.
    unsigned long long dStates;   // [S, B, T, N, D], 0 means zeros
    unsigned long long dLast;     // [S, B, N, D], 0 means zeros
    unsigned long long dWx;       // shape and layout of wx
    unsigned long long dGR;       // [B, T, G_R, N, D] float32 recurrent-gate gradients, for dR
    unsigned long long db;        // [G_T, N, D] float32 accumulator (zeroed first)
    unsigned long long dInitial;  // [S, B, N, D]
    // float32 FMA backward only (fused_backward_f32.cuh): [G_T, N, D] float64 sums then one
    // unsigned arrival counter, zeroed first; 0 adds db with float32 atomics instead.
    unsigned long long dbScratch;
} FlashRNNFusedParams;

// dR = Σ dG ⊗ h_{t-1} by the tiled kernel (both GPU backends) and the float32 → storage conversion.
typedef struct FlashRNNWeightGradientParams {
    int B, T, N, D;
    int GR, GT, rowsPerBlock;
    int initialRowsOnly;          // 1: only the B rows with t = 0 (h_{-1} from s0); cuBLAS sums the rest
    int dGRowGates;               // gates per row of dGR: G_R (fused), G_T (alternating's dPre32)
    int dGGateOffset;             // index of the first recurrent gate in a row of dGR
    int hRowAligned;              // 1: h_{t-1} of row r is states32 row r (alternating: [S, T+1, B, N, D],
                                  // rows (t, b)); 0: the fused rule (row r − 1 when t > 0, else s0)
    int padding0;
    unsigned long long dGR;       // [B, T, dGRowGates, N, D] float32 (alternating: [T, B, G_T, N, D])
    unsigned long long states32;  // [S, B, T, N, D] float32; state 0 is h (alternating: see hRowAligned)
    unsigned long long s0;        // [S, B, N, D] storage dtype, 0 means zeros
    unsigned long long dR32;      // [G_R, N, D, D] float32 accumulator (zeroed first)
    unsigned long long db32;      // [G_T, N, D] float32
    unsigned long long dR;        // [G_R, N, D, D] storage dtype
    unsigned long long db;        // [G_T, N, D] storage dtype
} FlashRNNWeightGradientParams;

// The fused backend's sliced sweeps beyond one cluster: where the CTAs of one (head, batch slice)
// exchange h_t (backward: dG_t) in global memory.
typedef struct FlashRNNGridExchangeParams {
    unsigned long long exchange;  // [groups, 2, tile words] 32-bit words, groups = ⌈B/8⌉·N
    unsigned long long arrivals;  // [groups] unsigned arrival counters, zeroed before each launch
} FlashRNNGridExchangeParams;

#ifdef __cplusplus
}
#endif

#endif
