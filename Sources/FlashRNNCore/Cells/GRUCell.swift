/// GRU with the reset gate on the recurrent term, as in PyTorch.
/// Pre-activations g (R only), r, z, n (Wx only); state h.
///
///     n = tanh(ñ + r ⊙ g)      h_t = z ⊙ h_{t-1} + (1 − z) ⊙ n
public enum GRUCell: RecurrentCell {
    public static let kind = CellKind.gru

    @inline(__always)
    public static func forward<F: CellScalar>(pre: SIMD4<F>, previous: SIMD4<F>) -> SIMD4<F> {
        let r = sigmoid(pre[1]), z = sigmoid(pre[2])
        let n = F.tanh(pre[3] + r * pre[0])
        return SIMD4(z * previous[0] + (1 - z) * n, 0, 0, 0)
    }

    @inline(__always)
    public static func backward<F: CellScalar>(pre: SIMD4<F>, previous: SIMD4<F>, dNew: SIMD4<F>)
        -> (dPre: SIMD4<F>, dPrevious: SIMD4<F>) {
        let r = sigmoid(pre[1]), z = sigmoid(pre[2])
        let n = F.tanh(pre[3] + r * pre[0])
        let dy = dNew[0]
        let dn = dy * (1 - z) * (1 - n * n)
        let dg: F = dn * r
        let dr: F = dn * pre[0] * r * (1 - r)
        let dz: F = dy * (previous[0] - n) * z * (1 - z)
        let dPre = SIMD4(dg, dr, dz, dn)
        return (dPre, SIMD4(z * dy, 0, 0, 0))
    }
}
