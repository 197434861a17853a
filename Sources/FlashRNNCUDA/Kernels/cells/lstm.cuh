// LSTM: gates i, f, z, o; states h, c. Twin of Cells/LSTMCell.swift.
#pragma once
#include "cell_common.cuh"

namespace flashrnn {

struct LSTMCell {
    static constexpr int kGatesR = 4, kGatesW = 4, kGatesT = 4, kStates = 2;
    static constexpr int kRecurrentGateOffset = 0, kInputGateOffset = 0;

    template <class M = AccurateMath>
    FLASHRNN_HD static void forward(const float (&pre)[4], const float (&previous)[4], float (&next)[4]) {
        using T = typename M::Scalar;
        const T i = M::sigmoid(T(pre[0])), f = M::sigmoid(T(pre[1])), z = M::tanh(T(pre[2])), o = M::sigmoid(T(pre[3]));
        const T c = f * T(previous[1]) + i * z;
        next[0] = float(o * M::tanh(c));
        next[1] = float(c);
        next[2] = 0.0f;
        next[3] = 0.0f;
    }

    template <class M = AccurateMath>
    FLASHRNN_HD static void backward(const float (&pre)[4], const float (&previous)[4], const float (&dNew)[4],
                                     float (&dPre)[4], float (&dPrevious)[4]) {
        using T = typename M::Scalar;
        const T i = M::sigmoid(T(pre[0])), f = M::sigmoid(T(pre[1])), z = M::tanh(T(pre[2])), o = M::sigmoid(T(pre[3]));
        const T c = f * T(previous[1]) + i * z;
        const T tc = M::tanh(c);
        const T dh = dNew[0];
        const T dc = T(dNew[1]) + dh * o * (T(1) - tc * tc);
        dPre[0] = float(dc * z * i * (T(1) - i));
        dPre[1] = float(dc * T(previous[1]) * f * (T(1) - f));
        dPre[2] = float(dc * i * (T(1) - z * z));
        dPre[3] = float(dh * tc * o * (T(1) - o));
        dPrevious[0] = 0.0f;
        dPrevious[1] = float(dc * f);
        dPrevious[2] = 0.0f;
        dPrevious[3] = 0.0f;
    }
};

}  // namespace flashrnn
