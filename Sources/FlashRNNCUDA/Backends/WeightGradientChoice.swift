import Foundation
import FlashRNNCore

/// How both GPU backends sum dR = Σ_{b,t} dG_t ⊗ h_{t-1} after the backward sweep: the tiled
/// kernel (`Kernels/fused/fused_weight_gradient.cuh`) with FMA products or, for 16-bit storage,
/// tensor-core products of bfloat16 parts (`fused_weight_gradient_mma.cuh`), or cuBLAS products
/// (one per gate, batched over heads; `CUBLASContext.weightGradient`).
enum WeightGradientChoice {
    enum Path: Equatable {
        /// The tiled kernel, FMA products (float32 storage: float64 running sums).
        case kernel
        /// The tiled kernel, tensor-core products of the bfloat16 hi/lo parts of dG and h (16-bit storage).
        case tensorCores
        /// cuBLAS for the rows with t > 0 (the fused backend's kernel still takes the t = 0 rows,
        /// whose h_{t-1} is s0 in the storage type).
        case products
    }

    /// Float32 storage: products from D > 64, the FMA kernel below: the crossover measured for
    /// cudaFused on the H200 with the single-buffered kernel (LSTM bf16 B = 16, T = 1024, fw+bw ms,
    /// kernel → products: D = 16 1.97 → 2.20, 32 2.46 → 2.73, 64 3.94 → 3.92, 128 6.75 → 6.38, 256
    /// 9.27 → 7.90, 768 12.64 → 7.09).
    static let productsAbove = 64

    /// 16-bit storage: the tensor-core tiles up to D = 256, products beyond. Measured on the H200
    /// once the tiles' loads had no branches and 16-byte vectors (seventh session, round perf,
    /// cudaFused LSTM bf16 B = 16, T = 1024, fw+bw ms, products → tiles): D = 96 4.511 → 4.142,
    /// 128 4.110 → 3.721, 192 5.770 → 5.490, 256 4.918 → 4.831; at 768 the tiles (4-byte loads)
    /// took 9.2 against 7.0.
    static let tensorCoreProductsAbove = 256

    /// Whether 16-bit heads up to `tensorCoreProductsAbove` take the tensor cores without `FLASHRNN_DR=mma`.
    /// On: it passed `flashrnn check` on the H200 (round tcdr, every 16-bit head on tensor cores)
    /// and measured faster than the FMA kernel in the fifth session's closing round (LSTM bf16
    /// B = 16, T = 1024, fw+bw ms, FMA → mma: cudaFused 16 × 48 1.744 → 1.666, 64 × 12 2.714 →
    /// 2.561; cudaAlternating 64 × 12 7.123 → 6.518); above 64 cuBLAS products stay (128 × 6 even,
    /// 256 × 3 products faster: 4.971 against 5.641).
    static let tensorCoresByDefault = true

    /// The environment read once (a backward call does not rebuild it).
    static let launchEnvironment = ProcessInfo.processInfo.environment

    /// The path for one backward. `FLASHRNN_DR=products|kernel|mma` overrides the choice (for
    /// measuring); `mma` keeps the FMA kernel for float32 storage, and a sequence of one step has
    /// no row with t > 0 for products (it takes the default tiled kernel).
    static func path(headDim D: Int, length T: Int, dtype: DType, environment: [String: String] = launchEnvironment) -> Path {
        let tiled: Path = dtype != .float32 && tensorCoresByDefault ? .tensorCores : .kernel
        let chosen: Path
        switch environment["FLASHRNN_DR"] {
        case "products": chosen = .products
        case "kernel": chosen = .kernel
        case "mma": chosen = dtype == .float32 ? .kernel : .tensorCores
        default: chosen = D > (tiled == .tensorCores ? tensorCoreProductsAbove : productsAbove) ? .products : tiled
        }
        return chosen == .products && T <= 1 ? tiled : chosen
    }

    /// The tiled kernel's grid and rows per CTA: square output tiles of `tile` per (gate, head),
    /// the rows split so about four CTAs run per SM.
    static func kernelLaunch(rows: Int, headDim D: Int, tile: Int, gates GR: Int, heads N: Int,
                             multiprocessors: Int) -> (grid: (Int, Int, Int), rowsPerBlock: Int) {
        let tiles = (D + tile - 1) / tile
        let base = tiles * tiles * GR * N
        let wanted = max(1, min((rows + 255) / 256, (4 * multiprocessors + base - 1) / base))
        let rowsPerBlock = ((rows + wanted - 1) / wanted + 15) / 16 * 16
        return ((tiles * tiles, GR * N, (rows + rowsPerBlock - 1) / rowsPerBlock), rowsPerBlock)
    }
}
