import FlashRNN

/// Dense row-major matrix products for the layers (the input projection, its gradients
/// and the read-out). `ld*` are row strides in elements.

/// `C[M×N] = A[M×K] · B[K×N]` on arrays (`+=` when `accumulate`).
///
/// The layers are generic over the scalar and reached through existentials, so their code is
/// not specialised; the product therefore picks the Float or Double instance itself.
func multiply<F: BinaryFloatingPoint>(_ a: [F], _ b: [F], into c: inout [F], m: Int, n: Int, k: Int, accumulate: Bool = false) {
    precondition(a.count == m * k && b.count == k * n && c.count == m * n, "matrix product sizes disagree")
    if m == 0 || n == 0 { return }
    if k == 0 { if !accumulate { for i in c.indices { c[i] = 0 } }; return }
    a.withUnsafeBufferPointer { a in
        b.withUnsafeBufferPointer { b in
            c.withUnsafeMutableBufferPointer { c in
                let (pa, pb, pc) = (UnsafeRawPointer(a.baseAddress!), UnsafeRawPointer(b.baseAddress!), UnsafeMutableRawPointer(c.baseAddress!))
                if F.self == Float.self {
                    matrixProduct(m: m, n: n, k: k, a: pa.assumingMemoryBound(to: Float.self), lda: k,
                                  b: pb.assumingMemoryBound(to: Float.self), ldb: n,
                                  c: pc.assumingMemoryBound(to: Float.self), ldc: n, accumulate: accumulate)
                } else if F.self == Double.self {
                    matrixProduct(m: m, n: n, k: k, a: pa.assumingMemoryBound(to: Double.self), lda: k,
                                  b: pb.assumingMemoryBound(to: Double.self), ldb: n,
                                  c: pc.assumingMemoryBound(to: Double.self), ldc: n, accumulate: accumulate)
                } else {
                    matrixProduct(m: m, n: n, k: k, a: a.baseAddress!, lda: k, b: b.baseAddress!, ldb: n,
                                  c: c.baseAddress!, ldc: n, accumulate: accumulate)
                }
            }
        }
    }
}

/// The transpose of a row-major `[rows, columns]` matrix.
func transposed<F: BinaryFloatingPoint>(_ a: [F], rows: Int, columns: Int) -> [F] {
    precondition(a.count == rows * columns)
    if F.self == Float.self { return unsafeBitCast(transposedConcrete(unsafeBitCast(a, to: [Float].self), rows: rows, columns: columns), to: [F].self) }
    if F.self == Double.self { return unsafeBitCast(transposedConcrete(unsafeBitCast(a, to: [Double].self), rows: rows, columns: columns), to: [F].self) }
    return transposedConcrete(a, rows: rows, columns: columns)
}

@inline(__always)
private func transposedConcrete<F: BinaryFloatingPoint>(_ a: [F], rows: Int, columns: Int) -> [F] {
    if rows == 0 || columns == 0 { return a }
    var out = [F](repeating: 0, count: a.count)
    a.withUnsafeBufferPointer { a in
        out.withUnsafeMutableBufferPointer { out in
            for i in 0..<rows { for j in 0..<columns { out[j * rows + i] = a[i * columns + j] } }
        }
    }
    return out
}
