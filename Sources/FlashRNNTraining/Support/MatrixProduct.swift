/// Dense row-major matrix products for the layers (the input projection, its gradients
/// and the read-out). `ld*` are row strides in elements.

/// `C[M×N] = A[M×K] · B[K×N]`, or `C += A·B` when `accumulate`.
///
/// Four rows of C are computed together so each row of B is loaded once per four rows;
/// the inner loop runs along contiguous columns and vectorises.
@inline(__always)
func matrixProduct<F: BinaryFloatingPoint>(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<F>, lda: Int,
    b: UnsafePointer<F>, ldb: Int,
    c: UnsafeMutablePointer<F>, ldc: Int,
    accumulate: Bool
) {
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

/// `C[M×N] = A[M×K] · B[K×N]` on arrays (`+=` when `accumulate`).
func multiply<F: BinaryFloatingPoint>(_ a: [F], _ b: [F], into c: inout [F], m: Int, n: Int, k: Int, accumulate: Bool = false) {
    precondition(a.count == m * k && b.count == k * n && c.count == m * n, "matrix product sizes disagree")
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                matrixProduct(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n,
                              c: c.baseAddress!, ldc: n, accumulate: accumulate)
            }
        }
    }
}

/// The transpose of a row-major `[rows, columns]` matrix.
func transposed<F>(_ a: [F], rows: Int, columns: Int) -> [F] {
    precondition(a.count == rows * columns)
    if rows == 0 || columns == 0 { return a }
    return [F](unsafeUninitializedCapacity: a.count) { out, count in
        a.withUnsafeBufferPointer { a in
            for i in 0..<rows { for j in 0..<columns { (out.baseAddress! + j * rows + i).initialize(to: a[i * columns + j]) } }
        }
        count = a.count
    }
}
