import Foundation
import FlashRNNCore

/// The cuBLAS library and its symbols (no handle yet). The dlopen takes ≈ 55 ms (cuBLASLt comes
/// with it): the runtime's start does it.
enum CUBLASLibrary {
    static let shared: Result<CUBLASAPI, CUDAError> = {
        if ProcessInfo.processInfo.environment["FLASHRNN_DISABLE_CUDA"] == "1" { return .failure(.disabled) }
        do { return .success(try HostTrace.measure("cuBLAS library load") { try CUBLASAPI(try LoadedLibrary.open(.cublas)) }) } catch let error as CUDAError {
            return .failure(error)
        } catch { return .failure(.cublas(call: "load", code: -1, message: "\(error)")) }
    }()
}

/// cuBLAS with one handle bound to the runtime's stream, created (and warmed up) when the
/// runtime starts (`CUDARuntime.get`), so a first backward does not wait for it.
final class CUBLASContext: @unchecked Sendable {
    let api: CUBLASAPI
    let handle: OpaquePointer?

    static let shared: Result<CUBLASContext, CUDAError> = {
        do {
            // Not `get()`: this runs inside its one-time preparation.
            let runtime = try CUDARuntime.shared.get()
            try runtime.makeCurrent()
            let context = try HostTrace.measure("cuBLAS handle") { try CUBLASContext(runtime: runtime) }
            // Best effort: a failed warm-up only leaves the load to the first real product.
            try? HostTrace.measure("cuBLAS warm-up products") { try context.warmUp(runtime) }
            return .success(context)
        } catch let error as CUDAError { return .failure(error) } catch {
            return .failure(.cublas(call: "load", code: -1, message: "\(error)"))
        }
    }()

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
    /// cuBLAS loads its kernels and heuristics on a handle's first products (60–125 ms before
    /// the first dR on the H200, FLASHRNN_TRACE of 2026-11-29). Runs one small product of each
    /// compute type the backends use (TF32 and float32) on a private stream, so that load
    /// happens with the runtime's start instead of inside a first backward.
    func warmUp(_ runtime: CUDARuntime) throws {
        let driver = runtime.driver
        var stream: CUhandle?
        try driver.check(driver.cuStreamCreate(&stream, 1 /* CU_STREAM_NON_BLOCKING */), "cuStreamCreate")
        defer { _ = driver.cuStreamDestroy(stream) }
        let side = 64, bytes = side * side * 4
        var scratch: CUdeviceptr = 0
        try driver.check(driver.cuMemAllocAsync(&scratch, 3 * bytes, stream), "cuMemAllocAsync", "\(3 * bytes) bytes")
        defer { _ = driver.cuMemFreeAsync(scratch, stream); _ = driver.cuStreamSynchronize(stream) }
        try driver.check(driver.cuMemsetD32Async(scratch, 0, 3 * side * side, stream), "cuMemsetD32Async")
        try api.check(api.cublasSetStream(handle, stream), "cublasSetStream_v2")
        defer { _ = api.cublasSetStream(handle, runtime.stream) }
        for tf32 in [true, false] {
            try gemmStridedBatched(transA: false, transB: true, m: side, n: side, k: side,
                                   a: scratch, lda: side, strideA: 0, b: scratch + UInt64(bytes), ldb: side, strideB: 0,
                                   c: scratch + UInt64(2 * bytes), ldc: side, strideC: 0, batch: 1, allowTF32: tf32)
        }
        try driver.check(driver.cuStreamSynchronize(stream), "cuStreamSynchronize")
    }

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
