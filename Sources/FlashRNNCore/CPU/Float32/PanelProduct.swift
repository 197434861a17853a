/// The float32 matrix-product micro-kernel and its drivers.
///
/// Every product here is `C[rows × 8·panels] (+)= A[rows × K] · B[K × 8·panels]` where a
/// *panel* is 8 columns of B (one `SIMD8<Float>`). A tile of 4 rows × 3 panels keeps its 12
/// accumulators in registers over the whole K loop (K innermost): per k it loads 3 vectors of B,
/// broadcasts 4 elements of A and issues 12 fused multiply-adds.
///
/// Strides are in elements: `A(i, p) = a[i·aRow + p·aStep]`, `B(p, j) = b[p·bStep + j·bPanel …+8]`,
/// `C(i, j) = c[i·cRow + j·cPanel …+8]`. A B packed panel by panel has `bStep = 8`,
/// `bPanel = 8·K`; B read in place from a row-major matrix has `bStep = ldb`, `bPanel = 8`.
struct ProductOperands {
    var a: UnsafePointer<Float>, aRow: Int, aStep: Int
    var b: UnsafePointer<Float>, bStep: Int, bPanel: Int
    var c: UnsafeMutablePointer<Float>, cRow: Int, cPanel: Int
}

@inline(__always) private func load8(_ p: UnsafePointer<Float>) -> Float8 {
    UnsafeRawPointer(p).loadUnaligned(as: Float8.self)
}

@inline(__always) private func store8(_ v: Float8, _ p: UnsafeMutablePointer<Float>, accumulate: Bool) {
    let value = accumulate ? v + load8(p) : v
    UnsafeMutableRawPointer(p).storeBytes(of: value, as: Float8.self)
}

/// One tile of 4 rows (the first `rows` ≤ 4 are stored) × 3 panels.
@inline(never)
func productTile4x3(rows: Int, k: Int, _ o: ProductOperands, accumulate: Bool) {
    // Rows past `rows` repeat the last valid row: their results are computed and dropped.
    var a0 = o.a, a1 = o.a + min(1, rows - 1) * o.aRow
    var a2 = o.a + min(2, rows - 1) * o.aRow, a3 = o.a + min(3, rows - 1) * o.aRow
    var b = o.b
    let bp = o.bPanel, step = o.aStep, bStep = o.bStep
    var c00 = Float8.zero, c01 = Float8.zero, c02 = Float8.zero
    var c10 = Float8.zero, c11 = Float8.zero, c12 = Float8.zero
    var c20 = Float8.zero, c21 = Float8.zero, c22 = Float8.zero
    var c30 = Float8.zero, c31 = Float8.zero, c32 = Float8.zero
    for _ in 0..<k {
        let b0 = load8(b), b1 = load8(b + bp), b2 = load8(b + 2 * bp)
        let x0 = Float8(repeating: a0.pointee), x1 = Float8(repeating: a1.pointee)
        c00 = c00.addingProduct(x0, b0); c01 = c01.addingProduct(x0, b1); c02 = c02.addingProduct(x0, b2)
        c10 = c10.addingProduct(x1, b0); c11 = c11.addingProduct(x1, b1); c12 = c12.addingProduct(x1, b2)
        let x2 = Float8(repeating: a2.pointee), x3 = Float8(repeating: a3.pointee)
        c20 = c20.addingProduct(x2, b0); c21 = c21.addingProduct(x2, b1); c22 = c22.addingProduct(x2, b2)
        c30 = c30.addingProduct(x3, b0); c31 = c31.addingProduct(x3, b1); c32 = c32.addingProduct(x3, b2)
        a0 += step; a1 += step; a2 += step; a3 += step; b += bStep
    }
    let c = o.c, cr = o.cRow, cp = o.cPanel
    store8(c00, c, accumulate: accumulate); store8(c01, c + cp, accumulate: accumulate)
    store8(c02, c + 2 * cp, accumulate: accumulate)
    if rows > 1 {
        store8(c10, c + cr, accumulate: accumulate); store8(c11, c + cr + cp, accumulate: accumulate)
        store8(c12, c + cr + 2 * cp, accumulate: accumulate)
    }
    if rows > 2 {
        store8(c20, c + 2 * cr, accumulate: accumulate); store8(c21, c + 2 * cr + cp, accumulate: accumulate)
        store8(c22, c + 2 * cr + 2 * cp, accumulate: accumulate)
    }
    if rows > 3 {
        store8(c30, c + 3 * cr, accumulate: accumulate); store8(c31, c + 3 * cr + cp, accumulate: accumulate)
        store8(c32, c + 3 * cr + 2 * cp, accumulate: accumulate)
    }
}

/// One tile of 4 rows (the first `rows` ≤ 4 are stored) × 1 panel, for the panels left over.
@inline(never)
func productTile4x1(rows: Int, k: Int, _ o: ProductOperands, accumulate: Bool) {
    var a0 = o.a, a1 = o.a + min(1, rows - 1) * o.aRow
    var a2 = o.a + min(2, rows - 1) * o.aRow, a3 = o.a + min(3, rows - 1) * o.aRow
    var b = o.b
    let step = o.aStep, bStep = o.bStep
    var c0 = Float8.zero, c1 = Float8.zero, c2 = Float8.zero, c3 = Float8.zero
    for _ in 0..<k {
        let b0 = load8(b)
        c0 = c0.addingProduct(Float8(repeating: a0.pointee), b0)
        c1 = c1.addingProduct(Float8(repeating: a1.pointee), b0)
        c2 = c2.addingProduct(Float8(repeating: a2.pointee), b0)
        c3 = c3.addingProduct(Float8(repeating: a3.pointee), b0)
        a0 += step; a1 += step; a2 += step; a3 += step; b += bStep
    }
    let c = o.c, cr = o.cRow
    store8(c0, c, accumulate: accumulate)
    if rows > 1 { store8(c1, c + cr, accumulate: accumulate) }
    if rows > 2 { store8(c2, c + 2 * cr, accumulate: accumulate) }
    if rows > 3 { store8(c3, c + 3 * cr, accumulate: accumulate) }
}

/// `C (+)= A · B` over `rows` rows and panels `0..<panels`, K = `k`, tile by tile.
/// Panels outermost so that a tile's K×24 slice of B stays in cache across the row blocks.
func panelProduct(rows: Int, panels: Int, k: Int, _ o: ProductOperands, accumulate: Bool) {
    var j = 0
    while j < panels {
        let width = panels - j >= 3 ? 3 : 1
        var i = 0
        while i < rows {
            var t = o
            t.a = o.a + i * o.aRow
            t.b = o.b + j * o.bPanel
            t.c = o.c + i * o.cRow + j * o.cPanel
            if width == 3 { productTile4x3(rows: min(4, rows - i), k: k, t, accumulate: accumulate) }
            else { productTile4x1(rows: min(4, rows - i), k: k, t, accumulate: accumulate) }
            i += 4
        }
        j += width
    }
}
