/// sLSTM: exponential input and forget gates with a stabiliser state m.
/// Gates i, f, z, o; states h, c, n, m. m carries no gradient (spec 3.2).
public enum SLSTMCell: RecurrentCell {
    public static let kind = CellKind.slstm

    /// The activations shared by forward and backward: (i, f, z, o, m_t).
    @inline(__always)
    static func gates<F: CellScalar>(pre: SIMD4<F>, previous: SIMD4<F>) -> (i: F, f: F, z: F, o: F, m: F) {
        let logF = logSigmoid(pre[1]) + previous[3]
        // A fresh state (n == 0) takes the input gate's stabiliser, per element.
        let m = previous[2] == 0 ? pre[0] : max(pre[0], logF)
        let i = min(F.exp(pre[0] - m), 1)
        let f = min(F.exp(logF - m), 1)
        return (i, f, F.tanh(pre[2]), sigmoid(pre[3]), m)
    }

    @inline(__always)
    public static func forward<F: CellScalar>(pre: SIMD4<F>, previous: SIMD4<F>) -> SIMD4<F> {
        let g = gates(pre: pre, previous: previous)
        let c = g.f * previous[1] + g.i * g.z
        let n = max(g.f * previous[2] + g.i, 1)
        return SIMD4(g.o * c / n, c, n, g.m)
    }

    @inline(__always)
    public static func backward<F: CellScalar>(pre: SIMD4<F>, previous: SIMD4<F>, dNew: SIMD4<F>)
        -> (dPre: SIMD4<F>, dPrevious: SIMD4<F>) {
        let g = gates(pre: pre, previous: previous)
        let c = g.f * previous[1] + g.i * g.z
        let n = max(g.f * previous[2] + g.i, 1)
        let h = g.o * c / n
        let dh = dNew[0]
        let dc = dNew[1] + dh * g.o / n
        let dn = dNew[2] - dh * h / n
        let di: F = g.i * (g.z * dc + dn)
        let fPath: F = dc * previous[1] + dn * previous[2]
        let df: F = g.f * fPath * (1 - sigmoid(pre[1]))
        let dz: F = dc * g.i * (1 - g.z * g.z)
        let dout: F = dh * (c / n) * g.o * (1 - g.o)
        let dPre = SIMD4(di, df, dz, dout)
        return (dPre, SIMD4(0, dc * g.f, dn * g.f, 0))
    }
}
