import Foundation
import FlashRNNCore
import FlashRNNKernelParams

extension CUDAFusedBackend {
    /// How the forward and backward sweeps of one problem launch: a head that fits one SM runs
    /// one CTA per (head, batch slice) (`FusedVariant`); a larger head runs one thread-block
    /// cluster per (head, batch slice), its CTAs the head's feature slices (`FusedSlicedVariant`).
    struct SweepPlan {
        let kernels: Kernels
        let grid: (Int, Int, Int)
        let threads: Int
        let forwardSharedBytes, backwardSharedBytes: Int
        /// CTAs per cluster along x; 1 launches without a cluster.
        let clusterSize: Int

        func launchForward(_ runtime: CUDARuntime, _ p: FlashRNNFusedParams) throws {
            try runtime.launch(kernels.forward, grid: grid, block: (threads, 1, 1), sharedBytes: forwardSharedBytes,
                               clusterSize: clusterSize, arguments: [p])
        }

        func launchBackward(_ runtime: CUDARuntime, _ p: FlashRNNFusedParams) throws {
            try runtime.launch(kernels.backward, grid: grid, block: (threads, 1, 1), sharedBytes: backwardSharedBytes,
                               clusterSize: clusterSize, arguments: [p])
        }
    }

    static func sweepPlan(_ runtime: CUDARuntime, cell: CellKind, dtype: DType, shape: ProblemShape) throws -> SweepPlan {
        let D = shape.headDim
        let batchSlices = (shape.batch + FusedVariant.batchSlice - 1) / FusedVariant.batchSlice
        if D <= FusedVariant.maxHeadDim {
            let variant = FusedVariant(cell: cell, dtype: dtype, headDim: D)
            return SweepPlan(kernels: try kernels(runtime, variant), grid: sweepGrid(shape), threads: variant.threads,
                             forwardSharedBytes: variant.forwardSharedBytes, backwardSharedBytes: variant.backwardSharedBytes,
                             clusterSize: 1)
        }
        guard let variant = FusedSlicedVariant(cell: cell, dtype: dtype, headDim: D,
                                               sharedMemoryLimit: runtime.properties.sharedMemoryPerBlockOptIn) else {
            let reason = FusedSlicedVariant.limitation(cell: cell, headDim: D, dtype: dtype,
                                                       sharedMemoryLimit: runtime.properties.sharedMemoryPerBlockOptIn)
            throw FlashRNNError.unsupportedProblem(backend: "cudaFused", reason: reason ?? "no cluster holds D = \(D)")
        }
        return SweepPlan(kernels: try slicedKernels(runtime, variant),
                         grid: (shape.heads * variant.clusterSize, batchSlices, 1), threads: variant.threads,
                         forwardSharedBytes: variant.forwardSharedBytes, backwardSharedBytes: variant.backwardSharedBytes,
                         clusterSize: variant.clusterSize)
    }

    static func slicedKernels(_ runtime: CUDARuntime, _ variant: FusedSlicedVariant) throws -> Kernels {
        try kernels(runtime, key: variant, spec: variant.spec, names: variant.kernelNames)
    }
}

extension CUDARuntime {
    /// Launches `kernel` with thread-block clusters of `clusterSize` CTAs along x
    /// (`cuLaunchKernelEx`, CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION); `clusterSize` 1 is a plain launch.
    /// Clusters above 8 CTAs (the portable limit) are allowed on the kernel first.
    func launch(_ kernel: Kernel, grid: (Int, Int, Int), block: (Int, Int, Int), sharedBytes: Int, clusterSize: Int,
                arguments: [any KernelArgument]) throws {
        guard clusterSize > 1 else {
            return try launch(kernel, grid: grid, block: block, sharedBytes: sharedBytes, arguments: arguments)
        }
        if sharedBytes > 48 * 1024 { try kernel.allowSharedMemory(sharedBytes) }
        if clusterSize > 8 {
            try driver.check(driver.cuFuncSetAttribute(kernel.function, CUAttribute.funcNonPortableClusterSizeAllowed, 1),
                             "cuFuncSetAttribute(NON_PORTABLE_CLUSTER_SIZE_ALLOWED)", "kernel \(kernel.name)")
        }
        // CUlaunchAttribute (cuda.h): id (4 bytes, padded to 8), then a 64-byte value union whose
        // clusterDim is {x, y, z} as unsigned ints.
        let attribute = UnsafeMutableRawPointer.allocate(byteCount: 72, alignment: 8)
        defer { attribute.deallocate() }
        attribute.initializeMemory(as: UInt8.self, repeating: 0, count: 72)
        attribute.storeBytes(of: CUAttribute.launchClusterDimension, toByteOffset: 0, as: UInt32.self)
        for (offset, value) in [(8, clusterSize), (12, 1), (16, 1)] {
            attribute.storeBytes(of: UInt32(value), toByteOffset: offset, as: UInt32.self)
        }
        // CUlaunchConfig: grid x y z, block x y z, shared bytes (7 unsigned ints), stream at 32,
        // attributes at 40, their count at 48; 56 bytes.
        let config = UnsafeMutableRawPointer.allocate(byteCount: 56, alignment: 8)
        defer { config.deallocate() }
        config.initializeMemory(as: UInt8.self, repeating: 0, count: 56)
        for (index, value) in [grid.0, grid.1, grid.2, block.0, block.1, block.2, sharedBytes].enumerated() {
            config.storeBytes(of: UInt32(value), toByteOffset: 4 * index, as: UInt32.self)
        }
        config.storeBytes(of: stream, toByteOffset: 32, as: CUhandle?.self)
        config.storeBytes(of: attribute, toByteOffset: 40, as: UnsafeMutableRawPointer.self)
        config.storeBytes(of: UInt32(1), toByteOffset: 48, as: UInt32.self)

        let storage = arguments.map { $0.boxed() }
        defer { storage.forEach { $0.deallocate() } }
        var pointers: [UnsafeMutableRawPointer?] = storage.map { $0 }
        let result = pointers.withUnsafeMutableBufferPointer { buffer in
            driver.cuLaunchKernelEx(UnsafeRawPointer(config), kernel.function, buffer.baseAddress, nil)
        }
        try driver.check(result, "cuLaunchKernelEx",
                         "kernel \(kernel.name), grid \(grid), block \(block), cluster \(clusterSize), shared memory \(sharedBytes) bytes")
    }
}
