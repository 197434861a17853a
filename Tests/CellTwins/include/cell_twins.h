// Host builds of the CUDA cell structs (Sources/FlashRNNCUDA/Kernels/cells/*.cuh), exported with
// C linkage so Swift tests can pin each one to its Swift twin. Arrays are float[4] as in the structs.
// `cell` numbers follow CellKind.allCases: 0 lstm, 1 slstm, 2 gru, 3 elman.
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

/// kGatesR, kGatesW, kGatesT, kStates, kRecurrentGateOffset, kInputGateOffset; returns 0, or -1 for an unknown cell.
int flashrnn_twin_constants(int cell, int constants[6]);

/// next[S] from pre[G_T] and previous[S]; returns 0, or -1 for an unknown cell.
int flashrnn_twin_forward(int cell, const float pre[4], const float previous[4], float next[4]);

/// dPre[G_T] and dPrevious[S] from pre, previous and dNew[S]; returns 0, or -1 for an unknown cell.
int flashrnn_twin_backward(int cell, const float pre[4], const float previous[4], const float dNew[4],
                           float dPre[4], float dPrevious[4]);

#ifdef __cplusplus
}
#endif
