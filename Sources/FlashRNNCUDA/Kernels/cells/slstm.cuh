// sLSTM: exponential gating with a stabiliser m; gates i, f, z, o; states h, c, n, m.
// m carries no gradient. Twin of Cells/SLSTMCell.swift.
#pragma once
#include "cell_common.cuh"

namespace flashrnn {

struct SLSTMCell {
    static constexpr int kGatesR = 4, kGatesW = 4, kGatesT = 4, kStates = 4;
    static constexpr int kRecurrentGateOffset = 0, kInputGateOffset = 0;

    template <class T> struct Gates { T i, f, z, o, m; };

    template <class M = AccurateMath>
    FLASHRNN_HD static Gates<typename M::Scalar> gates(const float (&pre)[4], const float (&previous)[4]) {
        using T = typename M::Scalar;
        const T log_f = M::log_sigmoid(T(pre[1])) + T(previous[3]);
        // A fresh state (n == 0) takes the input gate's stabiliser, per element.
        const T m = previous[2] == 0.0f ? T(pre[0]) : M::max(T(pre[0]), log_f);
        Gates<T> g;
        g.i = M::min(M::exp(T(pre[0]) - m), T(1));
        g.f = M::min(M::exp(log_f - m), T(1));
        g.z = M::tanh(T(pre[2]));
        g.o = M::sigmoid(T(pre[3]));
        g.m = m;
        return g;
    }

    template <class M = AccurateMath>
    FLASHRNN_HD static void forward(const float (&pre)[4], const float (&previous)[4], float (&next)[4]) {
        using T = typename M::Scalar;
        const Gates<T> g = gates<M>(pre, previous);
        const T c = g.f * T(previous[1]) + g.i * g.z;
        const T n = M::max(g.f * T(previous[2]) + g.i, T(1));
        next[0] = float(M::divide(g.o * c, n));
        next[1] = float(c);
        next[2] = float(n);
        next[3] = float(g.m);
    }

    template <class M = AccurateMath>
    FLASHRNN_HD static void backward(const float (&pre)[4], const float (&previous)[4], const float (&dNew)[4],
                                     float (&dPre)[4], float (&dPrevious)[4]) {
        using T = typename M::Scalar;
        const Gates<T> g = gates<M>(pre, previous);
        const T c = g.f * T(previous[1]) + g.i * g.z;
        const T n = M::max(g.f * T(previous[2]) + g.i, T(1));
        const T h = M::divide(g.o * c, n);
        const T dh = dNew[0];
        const T dc = T(dNew[1]) + M::divide(dh * g.o, n);
        const T dn = T(dNew[2]) - M::divide(dh * h, n);
        dPre[0] = float(g.i * (g.z * dc + dn));
        dPre[1] = float(g.f * (dc * T(previous[1]) + dn * T(previous[2])) * (T(1) - M::sigmoid(T(pre[1]))));
        dPre[2] = float(dc * g.i * (T(1) - g.z * g.z));
        dPre[3] = float(dh * M::divide(c, n) * g.o * (T(1) - g.o));
        dPrevious[0] = 0.0f;
        dPrevious[1] = float(dc * g.f);
        dPrevious[2] = float(dn * g.f);
        dPrevious[3] = 0.0f;
    }
};

}  // namespace flashrnn
