// sLSTM: exponential gating with a stabiliser m; gates i, f, z, o; states h, c, n, m.
// m carries no gradient. Twin of Cells/SLSTMCell.swift.
#pragma once
#include "cell_common.cuh"

namespace flashrnn {

struct SLSTMCell {
    static constexpr int kGatesR = 4, kGatesW = 4, kGatesT = 4, kStates = 4;
    static constexpr int kRecurrentGateOffset = 0, kInputGateOffset = 0;

    struct Gates { float i, f, z, o, m; };

    template <class M = AccurateMath>
    FLASHRNN_HD static Gates gates(const float (&pre)[4], const float (&previous)[4]) {
        const float log_f = M::log_sigmoid(pre[1]) + previous[3];
        // A fresh state (n == 0) takes the input gate's stabiliser, per element.
        const float m = previous[2] == 0.0f ? pre[0] : fmaxf(pre[0], log_f);
        Gates g;
        g.i = fminf(M::exp(pre[0] - m), 1.0f);
        g.f = fminf(M::exp(log_f - m), 1.0f);
        g.z = M::tanh(pre[2]);
        g.o = M::sigmoid(pre[3]);
        g.m = m;
        return g;
    }

    template <class M = AccurateMath>
    FLASHRNN_HD static void forward(const float (&pre)[4], const float (&previous)[4], float (&next)[4]) {
        const Gates g = gates<M>(pre, previous);
        const float c = g.f * previous[1] + g.i * g.z;
        const float n = fmaxf(g.f * previous[2] + g.i, 1.0f);
        next[0] = M::divide(g.o * c, n);
        next[1] = c;
        next[2] = n;
        next[3] = g.m;
    }

    template <class M = AccurateMath>
    FLASHRNN_HD static void backward(const float (&pre)[4], const float (&previous)[4], const float (&dNew)[4],
                                     float (&dPre)[4], float (&dPrevious)[4]) {
        const Gates g = gates<M>(pre, previous);
        const float c = g.f * previous[1] + g.i * g.z;
        const float n = fmaxf(g.f * previous[2] + g.i, 1.0f);
        const float h = M::divide(g.o * c, n);
        const float dh = dNew[0];
        const float dc = dNew[1] + M::divide(dh * g.o, n);
        const float dn = dNew[2] - M::divide(dh * h, n);
        dPre[0] = g.i * (g.z * dc + dn);
        dPre[1] = g.f * (dc * previous[1] + dn * previous[2]) * (1.0f - M::sigmoid(pre[1]));
        dPre[2] = dc * g.i * (1.0f - g.z * g.z);
        dPre[3] = dh * M::divide(c, n) * g.o * (1.0f - g.o);
        dPrevious[0] = 0.0f;
        dPrevious[1] = dc * g.f;
        dPrevious[2] = dn * g.f;
        dPrevious[3] = 0.0f;
    }
};

}  // namespace flashrnn
