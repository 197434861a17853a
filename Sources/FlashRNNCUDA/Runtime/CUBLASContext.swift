import Foundation
import FlashRNNCore

/// The cuBLAS library and its symbols (cheap to check; no handle yet).
enum CUBLASLibrary {
    static let shared: Result<CUBLASAPI, CUDAError> = {
        if ProcessInfo.processInfo.environment["FLASHRNN_DISABLE_CUDA"] == "1" { return .failure(.disabled) }
        do { return .success(try HostTrace.measure("cuBLAS library load") { try CUBLASAPI(try LoadedLibrary.open(.cublas)) }) } catch let error as CUDAError {
            return .failure(error)
        } catch { return .failure(.cublas(call: "load", code: -1, message: "\(error)")) }
    }()
}

/// cuBLAS with one handle bound to the runtime's stream, created on first use (backward only,
/// so a forward call never pays for the handle).
final class CUBLASContext: @unchecked Sendable {
    let api: CUBLASAPI
    let handle: OpaquePointer?

    static let shared: Result<CUBLASContext, CUDAError> = {
        do {
            let runtime = try CUDARuntime.get()
            try runtime.makeCurrent()
            return .success(try HostTrace.measure("cuBLAS handle") { try CUBLASContext(runtime: runtime) })
        } catch let error as CUDAError { return .failure(error) } catch {
            return .failure(.cublas(call: "load", code: -1, message: "\(error)"))
        }
    }()

    private static let preparing = NSLock()
    nonisolated(unsafe) private static var prepareStarted = false

    /// Starts creating the handle on another thread. A forward that saves for a backward whose
    /// dR goes through cuBLAS calls this, so the first backward does not wait for `cublasCreate`
    /// (tens of milliseconds, docs/performance-gpu.md). `shared` is initialised once: a backward
    /// that arrives first waits for this initialisation instead of creating a second handle. Safe
    /// during a graph capture on the runtime's stream: captures are relaxed and the stream is
    /// non-blocking.
    static func prepareInBackground() {
        preparing.lock()
        let start = !prepareStarted
        prepareStarted = true
        preparing.unlock()
        guard start else { return }
        DispatchQueue.global(qos: .userInitiated).async { _ = CUBLASContext.shared }
    }

    init(runtime: CUDARuntime) throws {
        api = try CUBLASLibrary.shared.get()
        var handle: OpaquePointer?
        try api.check(api.cublasCreate(&handle), "cublasCreate_v2")
        try api.check(api.cublasSetStream(handle, runtime.stream), "cublasSetStream_v2")
        self.handle = handle
    }

    /// Column-major `C[i] = op(A[i])·op(B[i])` for `batch` float32 matrices, cuBLAS strided-batched.
    /// `allowTF32` picks CUBLAS_COMPUTE_32F_FAST_TF32; otherwise plain float32 (CUBLAS_COMPUTE_32F).
    /// `accumulate` adds to C (beta = 1) instead of overwriting it; `alpha` scales the product.
    func gemmStridedBatched(transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                            a: CUdeviceptr, lda: Int, strideA: Int,
                            b: CUdeviceptr, ldb: Int, strideB: Int,
                            c: CUdeviceptr, ldc: Int, strideC: Int, batch: Int, allowTF32: Bool,
                            accumulate: Bool = false, alpha: Float = 1) throws {
        var alpha = alpha, beta: Float = accumulate ? 1 : 0
        let result = withUnsafePointer(to: &alpha) { alphaPointer in
            withUnsafePointer(to: &beta) { betaPointer in
                api.cublasGemmStridedBatchedEx(
                    handle, transA ? CUBLASAPI.opT : CUBLASAPI.opN, transB ? CUBLASAPI.opT : CUBLASAPI.opN,
                    Int32(m), Int32(n), Int32(k),
                    UnsafeRawPointer(alphaPointer), UnsafeRawPointer(bitPattern: UInt(a)), CUBLASAPI.realFloat32, Int32(lda), Int64(strideA),
                    UnsafeRawPointer(bitPattern: UInt(b)), CUBLASAPI.realFloat32, Int32(ldb), Int64(strideB),
                    UnsafeRawPointer(betaPointer), UnsafeMutableRawPointer(bitPattern: UInt(c)), CUBLASAPI.realFloat32, Int32(ldc), Int64(strideC),
                    Int32(batch), allowTF32 ? CUBLASAPI.computeFloat32FastTF32 : CUBLASAPI.computeFloat32, CUBLASAPI.gemmDefault)
            }
        }
        try api.check(result, "cublasGemmStridedBatchedEx(m=\(m), n=\(n), k=\(k), batch=\(batch))")
    }
}

extension CUBLASContext {
    /// dRᵀ(q × d) += H(q × rows) · dG(d × rows)ᵀ for the N heads of one gate (batched, strides D
    /// and D·D, column-major): h rows `ldh` floats apart, dG rows `ldg` apart, everything float32.
    /// The precision both GPU backends give dR: bfloat16 may use TF32 (its storage rounding
    /// dominates), float16 not; float32 sums the rows in up to 16 chunks (blocked summation: one
    /// product over all rows accumulated ~2.5x the CPU float32 backend's rounding error at 1024
    /// rows, which the check compares against). `overwrite` lets the first chunk replace dR.
    func weightGradient(dtype: DType, rows: Int, headDim D: Int, heads N: Int, h: CUdeviceptr, ldh: Int,
                        dG: CUdeviceptr, ldg: Int, dR: CUdeviceptr, overwrite: Bool = false, alpha: Float = 1) throws {
        let chunkRows = dtype == .float32 ? max(64, (rows + 15) / 16) : rows
        for first in stride(from: 0, to: rows, by: chunkRows) {
            try gemmStridedBatched(
                transA: false, transB: true, m: D, n: D, k: min(chunkRows, rows - first),
                a: h + UInt64(first * ldh * 4), lda: ldh, strideA: D,
                b: dG + UInt64(first * ldg * 4), ldb: ldg, strideB: D,
                c: dR, ldc: D, strideC: D * D, batch: N, allowTF32: dtype == .bfloat16,
                accumulate: !(overwrite && first == 0), alpha: alpha)
        }
    }
}
