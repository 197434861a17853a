/// Elman RNN: `h_t = tanh(R·h_{t-1} + Wx + b)`. One gate, one state.
public enum ElmanCell: RecurrentCell {
    public static let kind = CellKind.elman

    @inline(__always)
    public static func forward<F: CellScalar>(pre: SIMD4<F>, previous: SIMD4<F>) -> SIMD4<F> {
        SIMD4(F.tanh(pre[0]), 0, 0, 0)
    }

    @inline(__always)
    public static func backward<F: CellScalar>(pre: SIMD4<F>, previous: SIMD4<F>, dNew: SIMD4<F>)
        -> (dPre: SIMD4<F>, dPrevious: SIMD4<F>) {
        let h = F.tanh(pre[0])
        return (SIMD4(dNew[0] * (1 - h * h), 0, 0, 0), .zero)
    }
}
