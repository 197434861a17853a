// Compiles the CUDA cell structs for the host (FLASHRNN_HD = inline) so tests can compare them
// with the Swift cells. The relative includes keep SwiftPM's header search inside this target.
#pragma STDC FP_CONTRACT OFF  // no fused multiply-add: the Swift twins round every operation

#include <math.h>

#define FLASHRNN_HD inline
#include "../../Sources/FlashRNNCUDA/Kernels/cells/elman.cuh"
#include "../../Sources/FlashRNNCUDA/Kernels/cells/gru.cuh"
#include "../../Sources/FlashRNNCUDA/Kernels/cells/lstm.cuh"
#include "../../Sources/FlashRNNCUDA/Kernels/cells/slstm.cuh"

#include "cell_twins.h"

namespace {

template <class Cell>
int constants(int out[6]) {
    out[0] = Cell::kGatesR;
    out[1] = Cell::kGatesW;
    out[2] = Cell::kGatesT;
    out[3] = Cell::kStates;
    out[4] = Cell::kRecurrentGateOffset;
    out[5] = Cell::kInputGateOffset;
    return 0;
}

template <class Cell>
int forward(const float pre[4], const float previous[4], float next[4]) {
    float p[4], s[4], n[4];
    for (int k = 0; k < 4; ++k) { p[k] = pre[k]; s[k] = previous[k]; }
    Cell::forward(p, s, n);
    for (int k = 0; k < 4; ++k) next[k] = n[k];
    return 0;
}

template <class Cell>
int backward(const float pre[4], const float previous[4], const float dNew[4], float dPre[4], float dPrevious[4]) {
    float p[4], s[4], d[4], dp[4], ds[4];
    for (int k = 0; k < 4; ++k) { p[k] = pre[k]; s[k] = previous[k]; d[k] = dNew[k]; }
    Cell::backward(p, s, d, dp, ds);
    for (int k = 0; k < 4; ++k) { dPre[k] = dp[k]; dPrevious[k] = ds[k]; }
    return 0;
}

}  // namespace

extern "C" int flashrnn_twin_constants(int cell, int out[6]) {
    switch (cell) {
    case 0: return constants<flashrnn::LSTMCell>(out);
    case 1: return constants<flashrnn::SLSTMCell>(out);
    case 2: return constants<flashrnn::GRUCell>(out);
    case 3: return constants<flashrnn::ElmanCell>(out);
    default: return -1;
    }
}

extern "C" int flashrnn_twin_forward(int cell, const float pre[4], const float previous[4], float next[4]) {
    switch (cell) {
    case 0: return forward<flashrnn::LSTMCell>(pre, previous, next);
    case 1: return forward<flashrnn::SLSTMCell>(pre, previous, next);
    case 2: return forward<flashrnn::GRUCell>(pre, previous, next);
    case 3: return forward<flashrnn::ElmanCell>(pre, previous, next);
    default: return -1;
    }
}

extern "C" int flashrnn_twin_backward(int cell, const float pre[4], const float previous[4], const float dNew[4],
                                      float dPre[4], float dPrevious[4]) {
    switch (cell) {
    case 0: return backward<flashrnn::LSTMCell>(pre, previous, dNew, dPre, dPrevious);
    case 1: return backward<flashrnn::SLSTMCell>(pre, previous, dNew, dPre, dPrevious);
    case 2: return backward<flashrnn::GRUCell>(pre, previous, dNew, dPre, dPrevious);
    case 3: return backward<flashrnn::ElmanCell>(pre, previous, dNew, dPre, dPrevious);
    default: return -1;
    }
}
