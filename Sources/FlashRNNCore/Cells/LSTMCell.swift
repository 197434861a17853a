/// LSTM. Gates i, f, z, o; states h, c.
///
///     c_t = σ(f̃) ⊙ c_{t-1} + σ(ĩ) ⊙ tanh(z̃)      h_t = σ(õ) ⊙ tanh(c_t)
public enum LSTMCell: RecurrentCell {
    public static let kind = CellKind.lstm

    @inline(__always)
    public static func forward<F: CellScalar>(pre: SIMD4<F>, previous: SIMD4<F>) -> SIMD4<F> {
        let i = sigmoid(pre[0]), f = sigmoid(pre[1]), z = F.tanh(pre[2]), o = sigmoid(pre[3])
        let c = f * previous[1] + i * z
        return SIMD4(o * F.tanh(c), c, 0, 0)
    }

    @inline(__always)
    public static func backward<F: CellScalar>(pre: SIMD4<F>, previous: SIMD4<F>, dNew: SIMD4<F>)
        -> (dPre: SIMD4<F>, dPrevious: SIMD4<F>) {
        let i = sigmoid(pre[0]), f = sigmoid(pre[1]), z = F.tanh(pre[2]), o = sigmoid(pre[3])
        let c = f * previous[1] + i * z
        let tc = F.tanh(c)
        let dh = dNew[0]
        let dc = dNew[1] + dh * o * (1 - tc * tc)
        let di: F = dc * z * i * (1 - i)
        let df: F = dc * previous[1] * f * (1 - f)
        let dz: F = dc * i * (1 - z * z)
        let dout: F = dh * tc * o * (1 - o)
        let dPre = SIMD4(di, df, dz, dout)
        return (dPre, SIMD4(0, dc * f, 0, 0))
    }
}
