/// The CUDA driver API, resolved from `libcuda.so.1` with `dlsym`.
///
/// Handles are opaque pointers, device addresses `UInt64`, results `Int32` (`CUresult`).
/// Where the driver exports versioned names (`_v2`), the versioned one is asked for first.
public typealias CUdeviceptr = UInt64
public typealias CUhandle = OpaquePointer

struct DriverAPI: @unchecked Sendable {
    typealias Handle = CUhandle?
    let library: LoadedLibrary

    let cuInit: @convention(c) (UInt32) -> Int32
    let cuDriverGetVersion: @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    let cuDeviceGetCount: @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    let cuDeviceGet: @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    let cuDeviceGetName: @convention(c) (UnsafeMutablePointer<CChar>, Int32, Int32) -> Int32
    let cuDeviceGetAttribute: @convention(c) (UnsafeMutablePointer<Int32>, Int32, Int32) -> Int32
    let cuDeviceTotalMem: @convention(c) (UnsafeMutablePointer<Int>, Int32) -> Int32
    let cuDevicePrimaryCtxRetain: @convention(c) (UnsafeMutablePointer<Handle>, Int32) -> Int32
    let cuCtxSetCurrent: @convention(c) (Handle) -> Int32
    let cuMemGetInfo: @convention(c) (UnsafeMutablePointer<Int>, UnsafeMutablePointer<Int>) -> Int32
    let cuStreamCreate: @convention(c) (UnsafeMutablePointer<Handle>, UInt32) -> Int32
    let cuStreamSynchronize: @convention(c) (Handle) -> Int32
    let cuStreamDestroy: @convention(c) (Handle) -> Int32
    let cuEventCreate: @convention(c) (UnsafeMutablePointer<Handle>, UInt32) -> Int32
    let cuEventRecord: @convention(c) (Handle, Handle) -> Int32
    let cuEventSynchronize: @convention(c) (Handle) -> Int32
    let cuEventElapsedTime: @convention(c) (UnsafeMutablePointer<Float>, Handle, Handle) -> Int32
    let cuEventDestroy: @convention(c) (Handle) -> Int32
    let cuMemAllocAsync: @convention(c) (UnsafeMutablePointer<CUdeviceptr>, Int, Handle) -> Int32
    let cuMemFreeAsync: @convention(c) (CUdeviceptr, Handle) -> Int32
    let cuMemcpyHtoDAsync: @convention(c) (CUdeviceptr, UnsafeRawPointer?, Int, Handle) -> Int32
    let cuMemcpyDtoHAsync: @convention(c) (UnsafeMutableRawPointer?, CUdeviceptr, Int, Handle) -> Int32
    let cuMemcpyDtoDAsync: @convention(c) (CUdeviceptr, CUdeviceptr, Int, Handle) -> Int32
    let cuMemsetD32Async: @convention(c) (CUdeviceptr, UInt32, Int, Handle) -> Int32
    let cuModuleLoadData: @convention(c) (UnsafeMutablePointer<Handle>, UnsafeRawPointer?) -> Int32
    let cuModuleGetFunction: @convention(c) (UnsafeMutablePointer<Handle>, Handle, UnsafePointer<CChar>) -> Int32
    let cuFuncSetAttribute: @convention(c) (Handle, Int32, Int32) -> Int32
    let cuFuncGetAttribute: @convention(c) (UnsafeMutablePointer<Int32>, Int32, Handle) -> Int32
    let cuLaunchKernel: @convention(c) (Handle, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, Handle,
                                        UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                        UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32
    /// `cuLaunchKernelEx(const CUlaunchConfig*, CUfunction, void**, void**)` (CUDA ≥ 11.8); nil
    /// when the driver lacks it, then launches that need attributes are plain launches.
    let cuLaunchKernelEx: (@convention(c) (UnsafeRawPointer, Handle,
                                           UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                           UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32)?
    /// `cuOccupancyMaxActiveClusters(int*, CUfunction, const CUlaunchConfig*)` (CUDA ≥ 11.8); nil
    /// when the driver lacks it.
    let cuOccupancyMaxActiveClusters: (@convention(c) (UnsafeMutablePointer<Int32>, Handle, UnsafeRawPointer) -> Int32)?
    let cuStreamBeginCapture: @convention(c) (Handle, Int32) -> Int32
    let cuStreamEndCapture: @convention(c) (Handle, UnsafeMutablePointer<Handle>) -> Int32
    let cuGraphInstantiateWithFlags: @convention(c) (UnsafeMutablePointer<Handle>, Handle, UInt64) -> Int32
    let cuGraphLaunch: @convention(c) (Handle, Handle) -> Int32
    let cuGraphDestroy: @convention(c) (Handle) -> Int32
    let cuGetErrorName: @convention(c) (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Int32
    let cuGetErrorString: @convention(c) (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Int32

    init(_ library: LoadedLibrary) throws {
        self.library = library
        func f<T>(_ names: String...) throws -> T {
            var last: Error?
            for name in names {
                do { return unsafeBitCast(try library.symbol(name), to: T.self) } catch { last = error }
            }
            throw last!
        }
        cuInit = try f("cuInit")
        cuDriverGetVersion = try f("cuDriverGetVersion")
        cuDeviceGetCount = try f("cuDeviceGetCount")
        cuDeviceGet = try f("cuDeviceGet")
        cuDeviceGetName = try f("cuDeviceGetName")
        cuDeviceGetAttribute = try f("cuDeviceGetAttribute")
        cuDeviceTotalMem = try f("cuDeviceTotalMem_v2")
        cuDevicePrimaryCtxRetain = try f("cuDevicePrimaryCtxRetain")
        cuCtxSetCurrent = try f("cuCtxSetCurrent")
        cuMemGetInfo = try f("cuMemGetInfo_v2")
        cuStreamCreate = try f("cuStreamCreate")
        cuStreamSynchronize = try f("cuStreamSynchronize")
        cuStreamDestroy = try f("cuStreamDestroy_v2")
        cuEventCreate = try f("cuEventCreate")
        cuEventRecord = try f("cuEventRecord")
        cuEventSynchronize = try f("cuEventSynchronize")
        cuEventElapsedTime = try f("cuEventElapsedTime_v2", "cuEventElapsedTime")
        cuEventDestroy = try f("cuEventDestroy_v2")
        cuMemAllocAsync = try f("cuMemAllocAsync")
        cuMemFreeAsync = try f("cuMemFreeAsync")
        cuMemcpyHtoDAsync = try f("cuMemcpyHtoDAsync_v2")
        cuMemcpyDtoHAsync = try f("cuMemcpyDtoHAsync_v2")
        cuMemcpyDtoDAsync = try f("cuMemcpyDtoDAsync_v2")
        cuMemsetD32Async = try f("cuMemsetD32Async")
        cuModuleLoadData = try f("cuModuleLoadData")
        cuModuleGetFunction = try f("cuModuleGetFunction")
        cuFuncSetAttribute = try f("cuFuncSetAttribute")
        cuFuncGetAttribute = try f("cuFuncGetAttribute")
        cuLaunchKernel = try f("cuLaunchKernel")
        cuLaunchKernelEx = try? f("cuLaunchKernelEx")
        cuOccupancyMaxActiveClusters = try? f("cuOccupancyMaxActiveClusters")
        cuStreamBeginCapture = try f("cuStreamBeginCapture_v2")
        cuStreamEndCapture = try f("cuStreamEndCapture")
        cuGraphInstantiateWithFlags = try f("cuGraphInstantiateWithFlags")
        cuGraphLaunch = try f("cuGraphLaunch")
        cuGraphDestroy = try f("cuGraphDestroy")
        cuGetErrorName = try f("cuGetErrorName")
        cuGetErrorString = try f("cuGetErrorString")
    }

    /// Throws a ``CUDAError`` naming `call` unless `result` is CUDA_SUCCESS.
    func check(_ result: Int32, _ call: String, _ detail: @autoclosure () -> String = "") throws {
        guard result != 0 else { return }
        var namePointer: UnsafePointer<CChar>?
        var messagePointer: UnsafePointer<CChar>?
        _ = cuGetErrorName(result, &namePointer)
        _ = cuGetErrorString(result, &messagePointer)
        let name = namePointer.map { String(cString: $0) } ?? "CUDA_ERROR_\(result)"
        let message = messagePointer.map { String(cString: $0) } ?? "unknown error"
        throw CUDAError.driver(call: call, code: result, name: name, message: message, detail: detail())
    }
}

/// Driver enum values we use (cuda.h).
enum CUAttribute {
    static let maxThreadsPerBlock: Int32 = 1
    static let maxSharedMemoryPerBlock: Int32 = 8
    static let maxRegistersPerBlock: Int32 = 12
    static let multiprocessorCount: Int32 = 16
    static let l2CacheSize: Int32 = 38
    static let computeCapabilityMajor: Int32 = 75
    static let computeCapabilityMinor: Int32 = 76
    static let maxSharedMemoryPerMultiprocessor: Int32 = 81
    static let maxRegistersPerMultiprocessor: Int32 = 82
    static let maxSharedMemoryPerBlockOptin: Int32 = 97
    static let clusterLaunch: Int32 = 120
    /// CUfunction_attribute
    static let funcSharedSizeBytes: Int32 = 1
    static let funcNumRegisters: Int32 = 4
    static let funcLocalSizeBytes: Int32 = 3
    static let funcMaxDynamicSharedSizeBytes: Int32 = 8
    static let funcNonPortableClusterSizeAllowed: Int32 = 14
    /// CUlaunchAttributeID
    static let launchClusterDimension: UInt32 = 4
    static let launchCooperative: UInt32 = 2
    static let outOfMemory: Int32 = 2
}
