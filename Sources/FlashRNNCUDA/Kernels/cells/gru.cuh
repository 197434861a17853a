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
        using T = typename M::Scalar;
        const T r = M::sigmoid(T(pre[1])), z = M::sigmoid(T(pre[2]));
        const T n = M::tanh(T(pre[3]) + r * T(pre[0]));
        next[0] = float(z * T(previous[0]) + (T(1) - z) * n);
        next[1] = 0.0f;
        next[2] = 0.0f;
        next[3] = 0.0f;
    }

    template <class M = AccurateMath>
    FLASHRNN_HD static void backward(const float (&pre)[4], const float (&previous)[4], const float (&dNew)[4],
                                     float (&dPre)[4], float (&dPrevious)[4]) {
        using T = typename M::Scalar;
        const T r = M::sigmoid(T(pre[1])), z = M::sigmoid(T(pre[2]));
        const T n = M::tanh(T(pre[3]) + r * T(pre[0]));
        const T dy = dNew[0];
        const T dn = dy * (T(1) - z) * (T(1) - n * n);
        dPre[0] = float(dn * r);
        dPre[1] = float(dn * T(pre[0]) * r * (T(1) - r));
        dPre[2] = float(dy * (T(previous[0]) - n) * z * (T(1) - z));
        dPre[3] = float(dn);
        dPrevious[0] = float(z * dy);
        dPrevious[1] = 0.0f;
        dPrevious[2] = 0.0f;
        dPrevious[3] = 0.0f;
    }
};

}  // namespace flashrnn
