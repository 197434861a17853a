/// `dR = Σ_{b,t} dG_t ⊗ h_{t-1}` of the float32 path, two ways:
/// * up to D = 64 (`float64WeightGradientMaxHeadDim`) summed in float64 and rounded once, as both
///   GPU backends sum it for float32 storage there (`fused_weight_gradient.cuh`: float64
///   accumulators). A product of two float32 is exact in float64, so the only roundings are the
///   float64 additions and the final one; at D = 1 (dR one element, a sum of B·T products) the CPU
///   and GPU results are then the same float32 number unless the float64 sum lies within float64
///   noise of a float32 rounding boundary. Summed in float32, the CPU run's own error on such
///   outputs was an independent draw of about an ulp, and the check's 2× rule failed on a
///   fraction of draws.
/// * above, float32 products with the packed micro-kernel (PanelProduct.swift), as the GPU's
///   cuBLAS products there: the float64 tile runs at half the rate, which 16×1024×768
///   forward+backward (2.0× JAX, docs/performance-cpu.md) cannot afford.

/// Read-only operands of one tile, widened to float64 beforehand: `A(i, r) = a[i + r·aStep]`
/// (i < 6, the dG columns of 6 output rows), `B(r, j) = b[r·bStep + j]` (j < 8, 8 columns of h,
/// zero past D); `c` holds the tile's 6 × 8 float64 running sums, rows 8 apart.
struct WideProductOperands {
    var a: UnsafePointer<Double>, aStep: Int
    var b: UnsafePointer<Double>, bStep: Int
    var c: UnsafeMutablePointer<Double>
}

/// `C[rows × 8] += A · B` over `k` rows of B·T in float64, the first `rows` ≤ 6 rows stored.
/// 6 accumulators of 8 float64 (12 AVX2 registers) + 2 for h + 1 broadcast: the float32 tile's
/// register plan at half its lanes. The operands are float64 already: converting in the loop
/// (8 conversions beside 12 FMAs per row) took the FP pipes' time (LSTM 8×256×64 fw+bw +27 %).
@inline(never)
func wideProductTile6x1(rows: Int, k: Int, _ o: WideProductOperands) {
    let last = rows - 1
    var a = o.a
    let i1 = min(1, last), i2 = min(2, last), i3 = min(3, last), i4 = min(4, last), i5 = min(5, last)
    var b = o.b
    let aStep = o.aStep, bStep = o.bStep
    var c0 = Double8.zero, c1 = Double8.zero, c2 = Double8.zero
    var c3 = Double8.zero, c4 = Double8.zero, c5 = Double8.zero
    @inline(__always) func broadcast(_ x: Double) -> Double8 { Double8(repeating: x) }
    for _ in 0..<k {
        let h = UnsafeRawPointer(b).loadUnaligned(as: Double8.self)
        c0 = c0.addingProduct(broadcast(a[0]), h)
        c1 = c1.addingProduct(broadcast(a[i1]), h)
        c2 = c2.addingProduct(broadcast(a[i2]), h)
        c3 = c3.addingProduct(broadcast(a[i3]), h)
        c4 = c4.addingProduct(broadcast(a[i4]), h)
        c5 = c5.addingProduct(broadcast(a[i5]), h)
        a += aStep; b += bStep
    }
    @inline(__always) func add(_ v: Double8, _ row: Int) {
        let p = UnsafeMutableRawPointer(o.c + row * 8)
        p.storeBytes(of: v + p.loadUnaligned(as: Double8.self), as: Double8.self)
    }
    add(c0, 0)
    if rows > 1 { add(c1, 1) }
    if rows > 2 { add(c2, 2) }
    if rows > 3 { add(c3, 3) }
    if rows > 4 { add(c4, 4) }
    if rows > 5 { add(c5, 5) }
}

/// The read-only operands of the `dR` product, handed to worker threads.
struct WeightGradientInputs: @unchecked Sendable {
    var dPre: UnsafePointer<Float>, states: UnsafePointer<Float>, s0: UnsafePointer<Float>
}

/// A run of consecutive rows of B·T in one unit's product: `dG(i, r) = a[i + r·aStep]`,
/// `h(r, p) = h[r·hStep + p]`, r < `count`.
struct WeightGradientRun {
    var a: UnsafePointer<Float>, aStep: Int
    var h: UnsafePointer<Float>, hStep: Int
    var count: Int
}

@available(macOS 15.0, *)
extension CPUBackend {
    /// The largest head dimension whose dR the float32 path sums in float64.
    static let float64WeightGradientMaxHeadDim = 64

    /// dR of the float32 path: float64 sums up to `float64WeightGradientMaxHeadDim`, else float32.
    func recurrentWeightGradientOfFloat32(_ saved: CPUSaved<Float>, dPre: [Float], recurrentGateOffset rOff: Int) -> [Float] {
        let D = saved.layout.D
        if D <= Self.float64WeightGradientMaxHeadDim {
            return weightGradientUnits(saved, dPre: dPre, recurrentGateOffset: rOff) { rows, runs, c in
                float64Unit(rows: rows, D: D, runs: runs, c: c)
            }
        }
        if D % 8 != 0 { return recurrentWeightGradient(saved, dPre: dPre, recurrentGateOffset: rOff) }
        return weightGradientUnits(saved, dPre: dPre, recurrentGateOffset: rOff) { rows, runs, c in
            for run in runs {
                panelProduct(rows: rows, panels: D / 8, k: run.count,
                             ProductOperands(a: run.a, aRow: 1, aStep: run.aStep, b: run.h, bStep: run.hStep, bPanel: 8,
                                             c: c, cRow: D, cPanel: 8),
                             accumulate: true, pairedB: false)
            }
        }
    }

    /// Splits dR over units of (head, gate, block of 48 output rows) and hands each its rows of
    /// dR (`c`, D apart, zero) and the runs of B·T rows to sum, read in place: per b, t = 1…T−1
    /// in slices of 128 (a slice of h stays in L1 across the unit's tiles), then the t = 0 rows of
    /// every b (h_{-1} is the initial state).
    func weightGradientUnits(_ saved: CPUSaved<Float>, dPre: [Float], recurrentGateOffset rOff: Int,
                             _ unit: @escaping @Sendable (_ rows: Int, _ runs: [WeightGradientRun], _ c: UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        let L = saved.layout
        let (B, T, N, D, GR, GT) = (L.B, L.T, L.N, L.D, L.GR, L.GT)
        let rowBlock = 48, blocks = (D + rowBlock - 1) / rowBlock, depth = 128
        var dR = [Float](repeating: 0, count: GR * N * D * D)
        dR.withUnsafeMutableBufferPointer { dROut in
        dPre.withUnsafeBufferPointer { dPre in
        saved.states.withUnsafeBufferPointer { states in
        saved.s0.withUnsafeBufferPointer { s0 in
            let out = SharedPointer(dROut.baseAddress!)
            let x = WeightGradientInputs(dPre: dPre.baseAddress!, states: states.baseAddress!, s0: s0.baseAddress!)
            parallel(N * GR * blocks) { u in
                let n = u / (GR * blocks), k = (u / blocks) % GR, i0 = (u % blocks) * rowBlock
                let column = (k + rOff) * N * D + n * D + i0
                var runs: [WeightGradientRun] = []
                for b in 0..<B {
                    var p0 = 1
                    while p0 < T {
                        let count = min(depth, T - p0)
                        runs.append(WeightGradientRun(a: x.dPre + L.pre(b, p0) + column, aStep: GT * N * D,
                                                      h: x.states + L.state(0, b, p0 - 1) + n * D, hStep: N * D, count: count))
                        p0 += count
                    }
                }
                runs.append(WeightGradientRun(a: x.dPre + L.pre(0, 0) + column, aStep: T * GT * N * D,
                                              h: x.s0 + L.initial(0, 0) + n * D, hStep: N * D, count: B))
                unit(min(rowBlock, D - i0), runs, out.base + ((k * N + n) * D + i0) * D)
            }
        } } } }
        return dR
    }
}

/// One unit's rows of dR summed in float64 scratch (`[panel][row][8]`: a tile's 6 rows of one
/// panel are contiguous), then rounded once into `c`. Each run's dG columns (`[r][rows]`) and h
/// (`[r][D8]`, zero past D) are widened once into scratch that stays in L2; the sums' order is
/// run by run, row by row, as the float32 reads would give.
private func float64Unit(rows: Int, D: Int, runs: [WeightGradientRun], c: UnsafeMutablePointer<Float>) {
    let panels = (D + 7) / 8, D8 = panels * 8
    let longest = runs.map(\.count).max() ?? 0
    withUnsafeTemporaryAllocation(of: Double.self, capacity: panels * rows * 8 + longest * (rows + D8)) { scratch in
        let sums = scratch.baseAddress!, dG = sums + panels * rows * 8, h = dG + longest * rows
        scratch.initialize(repeating: 0)
        for run in runs {
            for r in 0..<run.count {
                for i in 0..<rows { dG[r * rows + i] = Double(run.a[r * run.aStep + i]) }
                for p in 0..<D { h[r * D8 + p] = Double(run.h[r * run.hStep + p]) }
            }
            for j in 0..<panels {
                var i = 0
                while i < rows {
                    wideProductTile6x1(rows: min(6, rows - i), k: run.count,
                                       WideProductOperands(a: dG + i, aStep: rows, b: h + j * 8, bStep: D8,
                                                           c: sums + (j * rows + i) * 8))
                    i += 6
                }
            }
        }
        for j in 0..<panels {
            let lanes = min(8, D - j * 8)
            for i in 0..<rows {
                let v = UnsafeRawPointer(sums + (j * rows + i) * 8).loadUnaligned(as: Double8.self)
                storeFloat8(rounded(v), c + i * D + j * 8, count: lanes)
            }
        }
    }
}
