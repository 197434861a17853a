// LSTM: gates i, f, z, o; states h, c. Twin of Cells/LSTMCell.swift.
#pragma once
#include "cell_common.cuh"

namespace flashrnn {

struct LSTMCell {
    static constexpr int kGatesR = 4, kGatesW = 4, kGatesT = 4, kStates = 2;
    static constexpr int kRecurrentGateOffset = 0, kInputGateOffset = 0;

    template <class M = AccurateMath>
    FLASHRNN_HD static void forward(const float (&pre)[4], const float (&previous)[4], float (&next)[4]) {
        const float i = M::sigmoid(pre[0]), f = M::sigmoid(pre[1]), z = M::tanh(pre[2]), o = M::sigmoid(pre[3]);
        const float c = f * previous[1] + i * z;
        next[0] = o * M::tanh(c);
        next[1] = c;
        next[2] = 0.0f;
        next[3] = 0.0f;
    }

    template <class M = AccurateMath>
    FLASHRNN_HD static void backward(const float (&pre)[4], const float (&previous)[4], const float (&dNew)[4],
                                     float (&dPre)[4], float (&dPrevious)[4]) {
        const float i = M::sigmoid(pre[0]), f = M::sigmoid(pre[1]), z = M::tanh(pre[2]), o = M::sigmoid(pre[3]);
        const float c = f * previous[1] + i * z;
        const float tc = M::tanh(c);
        const float dh = dNew[0];
        const float dc = dNew[1] + dh * o * (1.0f - tc * tc);
        dPre[0] = dc * z * i * (1.0f - i);
        dPre[1] = dc * previous[1] * f * (1.0f - f);
        dPre[2] = dc * i * (1.0f - z * z);
        dPre[3] = dh * tc * o * (1.0f - o);
        dPrevious[0] = 0.0f;
        dPrevious[1] = dc * f;
        dPrevious[2] = 0.0f;
        dPrevious[3] = 0.0f;
    }
};

}  // namespace flashrnn
