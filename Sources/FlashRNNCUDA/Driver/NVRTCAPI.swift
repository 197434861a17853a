/// NVRTC, resolved from `libnvrtc.so.13`/`.12` with `dlsym`. Works without a GPU or driver.
struct NVRTCAPI: @unchecked Sendable {
    typealias Program = OpaquePointer?
    let library: LoadedLibrary

    let nvrtcVersion: @convention(c) (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Int32
    let nvrtcCreateProgram: @convention(c) (UnsafeMutablePointer<Program>, UnsafePointer<CChar>, UnsafePointer<CChar>?, Int32,
                                            UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?) -> Int32
    let nvrtcAddNameExpression: @convention(c) (Program, UnsafePointer<CChar>) -> Int32
    let nvrtcCompileProgram: @convention(c) (Program, Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> Int32
    let nvrtcGetProgramLogSize: @convention(c) (Program, UnsafeMutablePointer<Int>) -> Int32
    let nvrtcGetProgramLog: @convention(c) (Program, UnsafeMutablePointer<CChar>) -> Int32
    let nvrtcGetCUBINSize: @convention(c) (Program, UnsafeMutablePointer<Int>) -> Int32
    let nvrtcGetCUBIN: @convention(c) (Program, UnsafeMutablePointer<CChar>) -> Int32
    let nvrtcGetLoweredName: @convention(c) (Program, UnsafePointer<CChar>, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Int32
    let nvrtcDestroyProgram: @convention(c) (UnsafeMutablePointer<Program>) -> Int32
    let nvrtcGetErrorString: @convention(c) (Int32) -> UnsafePointer<CChar>?

    init(_ library: LoadedLibrary) throws {
        self.library = library
        func f<T>(_ name: String) throws -> T { unsafeBitCast(try library.symbol(name), to: T.self) }
        nvrtcVersion = try f("nvrtcVersion")
        nvrtcCreateProgram = try f("nvrtcCreateProgram")
        nvrtcAddNameExpression = try f("nvrtcAddNameExpression")
        nvrtcCompileProgram = try f("nvrtcCompileProgram")
        nvrtcGetProgramLogSize = try f("nvrtcGetProgramLogSize")
        nvrtcGetProgramLog = try f("nvrtcGetProgramLog")
        nvrtcGetCUBINSize = try f("nvrtcGetCUBINSize")
        nvrtcGetCUBIN = try f("nvrtcGetCUBIN")
        nvrtcGetLoweredName = try f("nvrtcGetLoweredName")
        nvrtcDestroyProgram = try f("nvrtcDestroyProgram")
        nvrtcGetErrorString = try f("nvrtcGetErrorString")
    }

    func check(_ result: Int32, _ call: String) throws {
        guard result != 0 else { return }
        let message = nvrtcGetErrorString(result).map { String(cString: $0) } ?? "NVRTC error"
        throw CUDAError.nvrtc(call: call, code: result, message: message)
    }

    /// `major.minor`, e.g. `13.0`.
    func version() throws -> String {
        var major: Int32 = 0, minor: Int32 = 0
        try check(nvrtcVersion(&major, &minor), "nvrtcVersion")
        return "\(major).\(minor)"
    }
}

/// cuBLAS, resolved from `libcublas.so.13`/`.12`: only the strided-batched product we use.
struct CUBLASAPI: @unchecked Sendable {
    let library: LoadedLibrary
    let cublasCreate: @convention(c) (UnsafeMutablePointer<OpaquePointer?>) -> Int32
    let cublasSetStream: @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32
    let cublasGemmStridedBatchedEx: @convention(c) (
        OpaquePointer?, Int32, Int32, Int32, Int32, Int32,
        UnsafeRawPointer, UnsafeRawPointer?, Int32, Int32, Int64,
        UnsafeRawPointer?, Int32, Int32, Int64,
        UnsafeRawPointer, UnsafeMutableRawPointer?, Int32, Int32, Int64,
        Int32, Int32, Int32) -> Int32
    let cublasGetStatusString: @convention(c) (Int32) -> UnsafePointer<CChar>?

    init(_ library: LoadedLibrary) throws {
        self.library = library
        func f<T>(_ name: String) throws -> T { unsafeBitCast(try library.symbol(name), to: T.self) }
        cublasCreate = try f("cublasCreate_v2")
        cublasSetStream = try f("cublasSetStream_v2")
        cublasGemmStridedBatchedEx = try f("cublasGemmStridedBatchedEx")
        cublasGetStatusString = try f("cublasGetStatusString")
    }

    func check(_ result: Int32, _ call: String) throws {
        guard result != 0 else { return }
        let message = cublasGetStatusString(result).map { String(cString: $0) } ?? "cuBLAS error"
        throw CUDAError.cublas(call: call, code: result, message: message)
    }

    static let opN: Int32 = 0, opT: Int32 = 1
    static let realFloat32: Int32 = 0            // CUDA_R_32F
    static let computeFloat32: Int32 = 68        // CUBLAS_COMPUTE_32F: plain float32, no TF32
    static let computeFloat32FastTF32: Int32 = 77
    static let gemmDefault: Int32 = -1
}
