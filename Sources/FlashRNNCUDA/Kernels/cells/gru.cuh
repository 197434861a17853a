// GRU with the reset gate on the recurrent term (as PyTorch). Pre-activations g (R only),
// r, z, n (Wx only); state h. Twin of Cells/GRUCell.swift.
#pragma once
#include "cell_common.cuh"

namespace flashrnn {

struct GRUCell {
    static constexpr int kGatesR = 3, kGatesW = 3, kGatesT = 4, kStates = 1;
    static constexpr int kRecurrentGateOffset = 0, kInputGateOffset = 1;

    template <class M = AccurateMath>
    FLASHRNN_HD static void forward(const float (&pre)[4], const float (&previous)[4], float (&next)[4]) {
        const float r = M::sigmoid(pre[1]), z = M::sigmoid(pre[2]);
        const float n = M::tanh(pre[3] + r * pre[0]);
        next[0] = z * previous[0] + (1.0f - z) * n;
        next[1] = 0.0f;
        next[2] = 0.0f;
        next[3] = 0.0f;
    }

    template <class M = AccurateMath>
    FLASHRNN_HD static void backward(const float (&pre)[4], const float (&previous)[4], const float (&dNew)[4],
                                     float (&dPre)[4], float (&dPrevious)[4]) {
        const float r = M::sigmoid(pre[1]), z = M::sigmoid(pre[2]);
        const float n = M::tanh(pre[3] + r * pre[0]);
        const float dy = dNew[0];
        const float dn = dy * (1.0f - z) * (1.0f - n * n);
        dPre[0] = dn * r;
        dPre[1] = dn * pre[0] * r * (1.0f - r);
        dPre[2] = dy * (previous[0] - n) * z * (1.0f - z);
        dPre[3] = dn;
        dPrevious[0] = z * dy;
        dPrevious[1] = 0.0f;
        dPrevious[2] = 0.0f;
        dPrevious[3] = 0.0f;
    }
};

}  // namespace flashrnn
