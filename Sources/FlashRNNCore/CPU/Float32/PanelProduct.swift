/// The float32 matrix-product micro-kernel and its driver.
///
/// Every product here is `C[rows × 8·panels] (+)= A[rows × K] · B[K × 8·panels]` where a
/// *panel* is 8 columns of B (one `SIMD8<Float>`). A tile of 6 rows × 2 panels keeps its 12
/// accumulators in registers over the whole K loop (K innermost): per k it loads 2 vectors of B,
/// broadcasts 6 elements of A and issues 12 fused multiply-adds. 12 accumulators + 2 B vectors
/// + 1 broadcast fill the 16 AVX2 registers without spilling (a 4×3 tile spilled one
/// accumulator and ran at half the rate), and 12 independent chains cover the FMA latency.
///
/// Strides are in elements: `A(i, p) = a[i·aRow + p·aStep]`, `B(p, j) = b[p·bStep + j·bPanel …+8]`,
/// `C(i, j) = c[i·cRow + j·cPanel …+8]`. B packed by ``PackedRecurrent`` keeps the two panels
/// of a pair interleaved (`bStep = 16`, `bPanel = 8`: one cache line per k); B read in place
/// from a row-major matrix has `bStep = ldb`, `bPanel = 8`.
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

/// One tile of 6 rows (the first `rows` ≤ 6 are stored) × 2 panels.
@inline(never)
func productTile6x2(rows: Int, k: Int, _ o: ProductOperands, accumulate: Bool) {
    // Rows past `rows` repeat the last valid row: their results are computed and dropped.
    let last = rows - 1
    var a0 = o.a, a1 = o.a + min(1, last) * o.aRow, a2 = o.a + min(2, last) * o.aRow
    var a3 = o.a + min(3, last) * o.aRow, a4 = o.a + min(4, last) * o.aRow, a5 = o.a + min(5, last) * o.aRow
    var b = o.b
    let bp = o.bPanel, step = o.aStep, bStep = o.bStep
    var c00 = Float8.zero, c01 = Float8.zero, c10 = Float8.zero, c11 = Float8.zero
    var c20 = Float8.zero, c21 = Float8.zero, c30 = Float8.zero, c31 = Float8.zero
    var c40 = Float8.zero, c41 = Float8.zero, c50 = Float8.zero, c51 = Float8.zero
    for _ in 0..<k {
        let b0 = load8(b), b1 = load8(b + bp)
        var x = Float8(repeating: a0.pointee)
        c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
        x = Float8(repeating: a1.pointee)
        c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
        x = Float8(repeating: a2.pointee)
        c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
        x = Float8(repeating: a3.pointee)
        c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
        x = Float8(repeating: a4.pointee)
        c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
        x = Float8(repeating: a5.pointee)
        c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
        a0 += step; a1 += step; a2 += step; a3 += step; a4 += step; a5 += step; b += bStep
    }
    let c = o.c, cr = o.cRow, cp = o.cPanel
    store8(c00, c, accumulate: accumulate); store8(c01, c + cp, accumulate: accumulate)
    if rows > 1 { store8(c10, c + cr, accumulate: accumulate); store8(c11, c + cr + cp, accumulate: accumulate) }
    if rows > 2 { store8(c20, c + 2 * cr, accumulate: accumulate); store8(c21, c + 2 * cr + cp, accumulate: accumulate) }
    if rows > 3 { store8(c30, c + 3 * cr, accumulate: accumulate); store8(c31, c + 3 * cr + cp, accumulate: accumulate) }
    if rows > 4 { store8(c40, c + 4 * cr, accumulate: accumulate); store8(c41, c + 4 * cr + cp, accumulate: accumulate) }
    if rows > 5 { store8(c50, c + 5 * cr, accumulate: accumulate); store8(c51, c + 5 * cr + cp, accumulate: accumulate) }
}

/// One tile of 4 rows (the first `rows` ≤ 4 are stored) × 2 panels, for the last rows of a
/// product (B = 16 is 6 + 6 + 4: a 6-row tile there would compute a third for nothing).
/// Eight accumulators still cover the FMA latency (4 cycles, 2 pipes).
@inline(never)
func productTile4x2(rows: Int, k: Int, _ o: ProductOperands, accumulate: Bool) {
    let last = rows - 1
    var a0 = o.a, a1 = o.a + min(1, last) * o.aRow, a2 = o.a + min(2, last) * o.aRow
    var a3 = o.a + min(3, last) * o.aRow
    var b = o.b
    let bp = o.bPanel, step = o.aStep, bStep = o.bStep
    var c00 = Float8.zero, c01 = Float8.zero, c10 = Float8.zero, c11 = Float8.zero
    var c20 = Float8.zero, c21 = Float8.zero, c30 = Float8.zero, c31 = Float8.zero
    for _ in 0..<k {
        let b0 = load8(b), b1 = load8(b + bp)
        var x = Float8(repeating: a0.pointee)
        c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
        x = Float8(repeating: a1.pointee)
        c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
        x = Float8(repeating: a2.pointee)
        c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
        x = Float8(repeating: a3.pointee)
        c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
        a0 += step; a1 += step; a2 += step; a3 += step; b += bStep
    }
    let c = o.c, cr = o.cRow, cp = o.cPanel
    store8(c00, c, accumulate: accumulate); store8(c01, c + cp, accumulate: accumulate)
    if rows > 1 { store8(c10, c + cr, accumulate: accumulate); store8(c11, c + cr + cp, accumulate: accumulate) }
    if rows > 2 { store8(c20, c + 2 * cr, accumulate: accumulate); store8(c21, c + 2 * cr + cp, accumulate: accumulate) }
    if rows > 3 { store8(c30, c + 3 * cr, accumulate: accumulate); store8(c31, c + 3 * cr + cp, accumulate: accumulate) }
}

/// One tile of 6 rows (the first `rows` ≤ 6 are stored) × 1 panel, for an odd panel left over.
@inline(never)
func productTile6x1(rows: Int, k: Int, _ o: ProductOperands, accumulate: Bool) {
    let last = rows - 1
    var a0 = o.a, a1 = o.a + min(1, last) * o.aRow, a2 = o.a + min(2, last) * o.aRow
    var a3 = o.a + min(3, last) * o.aRow, a4 = o.a + min(4, last) * o.aRow, a5 = o.a + min(5, last) * o.aRow
    var b = o.b
    let step = o.aStep, bStep = o.bStep
    var c0 = Float8.zero, c1 = Float8.zero, c2 = Float8.zero, c3 = Float8.zero, c4 = Float8.zero, c5 = Float8.zero
    for _ in 0..<k {
        let b0 = load8(b)
        c0 = c0.addingProduct(Float8(repeating: a0.pointee), b0)
        c1 = c1.addingProduct(Float8(repeating: a1.pointee), b0)
        c2 = c2.addingProduct(Float8(repeating: a2.pointee), b0)
        c3 = c3.addingProduct(Float8(repeating: a3.pointee), b0)
        c4 = c4.addingProduct(Float8(repeating: a4.pointee), b0)
        c5 = c5.addingProduct(Float8(repeating: a5.pointee), b0)
        a0 += step; a1 += step; a2 += step; a3 += step; a4 += step; a5 += step; b += bStep
    }
    let c = o.c, cr = o.cRow
    store8(c0, c, accumulate: accumulate)
    if rows > 1 { store8(c1, c + cr, accumulate: accumulate) }
    if rows > 2 { store8(c2, c + 2 * cr, accumulate: accumulate) }
    if rows > 3 { store8(c3, c + 3 * cr, accumulate: accumulate) }
    if rows > 4 { store8(c4, c + 4 * cr, accumulate: accumulate) }
    if rows > 5 { store8(c5, c + 5 * cr, accumulate: accumulate) }
}

/// `C (+)= A · B` over `rows` rows and panels `0..<panels`, K = `k`, tile by tile, panels in
/// pairs from the first. `pairedB`: B is packed with pairs interleaved (`o.bStep` is then the
/// pair's step, 16, and a lone last panel has step 8); otherwise B is read in place.
/// Panels outermost so that a tile's K×16 slice of B stays in cache across the row blocks.
func panelProduct(rows: Int, panels: Int, k: Int, _ o: ProductOperands, accumulate: Bool, pairedB: Bool) {
    var j = 0
    while j < panels {
        let width = panels - j >= 2 ? 2 : 1
        var i = 0
        while i < rows {
            var t = o
            t.a = o.a + i * o.aRow
            t.c = o.c + i * o.cRow + j * o.cPanel
            if pairedB {
                t.b = o.b + j * k * 8
                if width == 1 { t.bStep = 8 }
            } else {
                t.b = o.b + j * o.bPanel
            }
            let left = rows - i
            if width == 1 { productTile6x1(rows: min(6, left), k: k, t, accumulate: accumulate) }
            else if left <= 4 { productTile4x2(rows: left, k: k, t, accumulate: accumulate) }
            else { productTile6x2(rows: min(6, left), k: k, t, accumulate: accumulate) }
            i += 6
        }
        j += width
    }
}
