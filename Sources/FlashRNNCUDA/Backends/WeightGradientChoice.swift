import Foundation

/// How both GPU backends sum dR = Σ_{b,t} dG_t ⊗ h_{t-1} after the backward sweep: cuBLAS
/// products (one per gate, batched over heads; `CUBLASContext.weightGradient`) or the tiled
/// float32 kernel (`Kernels/fused/fused_weight_gradient.cuh`).
enum WeightGradientChoice {
    /// Products from D > 64: the crossover measured for cudaFused on the H200 with the
    /// single-buffered kernel (LSTM bf16 B = 16, T = 1024, fw+bw ms, kernel → products: D = 16
    /// 1.97 → 2.20, 32 2.46 → 2.73, 64 3.94 → 3.92, 128 6.75 → 6.38, 256 9.27 → 7.90, 768 12.64 →
    /// 7.09). `FLASHRNN_DR=products|kernel` overrides the choice (for measuring).
    static let productsAbove = 64

    /// The environment read once (a backward call does not rebuild it).
    static let launchEnvironment = ProcessInfo.processInfo.environment

    /// Whether the rows with t > 0 go to cuBLAS (the fused backend's kernel still takes the t = 0
    /// rows, whose h_{t-1} is s0 in the storage type). A sequence of one step has no such rows.
    static func byProducts(headDim D: Int, length T: Int, environment: [String: String] = launchEnvironment) -> Bool {
        guard T > 1 else { return false }
        switch environment["FLASHRNN_DR"] {
        case "products": return true
        case "kernel": return false
        default: return D > productsAbove
        }
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
