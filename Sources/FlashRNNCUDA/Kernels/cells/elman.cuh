// Elman: h_t = tanh(R·h_{t-1} + Wx + b). One gate, one state. Twin of Cells/ElmanCell.swift.
#pragma once
#include "cell_common.cuh"

namespace flashrnn {

struct ElmanCell {
    static constexpr int kGatesR = 1, kGatesW = 1, kGatesT = 1, kStates = 1;
    static constexpr int kRecurrentGateOffset = 0, kInputGateOffset = 0;

    template <class M = AccurateMath>
    FLASHRNN_HD static void forward(const float (&pre)[4], const float (&previous)[4], float (&next)[4]) {
        next[0] = float(M::tanh(typename M::Scalar(pre[0])));
        next[1] = 0.0f;
        next[2] = 0.0f;
        next[3] = 0.0f;
    }

    template <class M = AccurateMath>
    FLASHRNN_HD static void backward(const float (&pre)[4], const float (&previous)[4], const float (&dNew)[4],
                                     float (&dPre)[4], float (&dPrevious)[4]) {
        using T = typename M::Scalar;
        const T h = M::tanh(T(pre[0]));
        dPre[0] = float(T(dNew[0]) * (T(1) - h * h));
        dPre[1] = 0.0f;
        dPre[2] = 0.0f;
        dPre[3] = 0.0f;
        for (int s = 0; s < 4; ++s) dPrevious[s] = 0.0f;
    }
};

}  // namespace flashrnn
