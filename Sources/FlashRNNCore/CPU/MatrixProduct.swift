/// Small dense matrix products for the CPU backend, on raw pointers so the inner loops
/// vectorise. Row-major throughout; `ld*` are row strides in elements.

/// `C[M×N] = A[M×K] · B[K×N]` (or `+=` when `accumulate`). Public for the training layers.
@inlinable @inline(__always)
public func matrixProduct<F: BinaryFloatingPoint>(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<F>, lda: Int,
    b: UnsafePointer<F>, ldb: Int,
    c: UnsafeMutablePointer<F>, ldc: Int,
    accumulate: Bool
) {
    // Four rows of C share each row of B loaded from cache; the inner loop over the
    // columns of B is contiguous and vectorises.
    var i = 0
    while i + 4 <= m {
        let c0 = c + i * ldc, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc
        if !accumulate {
            for j in 0..<n { c0[j] = 0; c1[j] = 0; c2[j] = 0; c3[j] = 0 }
        }
        let a0 = a + i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda
        for p in 0..<k {
            let bp = b + p * ldb
            let x0 = a0[p], x1 = a1[p], x2 = a2[p], x3 = a3[p]
            for j in 0..<n {
                let v = bp[j]
                c0[j] += x0 * v; c1[j] += x1 * v; c2[j] += x2 * v; c3[j] += x3 * v
            }
        }
        i += 4
    }
    while i < m {
        let ci = c + i * ldc
        if !accumulate { for j in 0..<n { ci[j] = 0 } }
        let ai = a + i * lda
        for p in 0..<k {
            let bp = b + p * ldb
            let x = ai[p]
            for j in 0..<n { ci[j] += x * bp[j] }
        }
        i += 1
    }
}
