import Foundation

/// Launch attributes passed through `cuLaunchKernelEx` (values of `CUlaunchAttributeID`).
public enum LaunchAttribute: Sendable {
    /// The launch may start before the previous kernel on the stream has finished; the kernel
    /// must call `griddepcontrol.wait` before reading what that kernel writes (programmatic
    /// dependent launch, sm_90+). Recorded as a programmatic edge under stream capture.
    case programmaticStreamSerialization
    /// Thread-block clusters of this many CTAs along x (sm_90+).
    case clusterDimension(Int)
    /// Every CTA resident at once, or the launch fails (grid-wide barriers need it).
    case cooperative

    var id: Int32 {
        switch self {
        case .programmaticStreamSerialization: return 6  // CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION
        case .clusterDimension: return Int32(CUAttribute.launchClusterDimension)
        case .cooperative: return Int32(CUAttribute.launchCooperative)
        }
    }

    /// Writes the 64-byte `CUlaunchAttributeValue` union.
    func writeValue(_ value: UnsafeMutableRawPointer) {
        switch self {
        case .programmaticStreamSerialization, .cooperative: value.storeBytes(of: Int32(1), as: Int32.self)
        case .clusterDimension(let x):
            // clusterDim is {x, y, z} as unsigned ints.
            for (offset, v) in [(0, x), (4, 1), (8, 1)] { value.storeBytes(of: UInt32(v), toByteOffset: offset, as: UInt32.self) }
        }
    }
}

extension CUDARuntime {
    /// Whether this device and driver take programmatic dependent launches (sm_90+, `cuLaunchKernelEx`).
    public var supportsProgrammaticDependentLaunch: Bool {
        driver.cuLaunchKernelEx != nil && properties.computeCapability.major >= 9
    }

    /// Launches `kernel` with `attributes` through `cuLaunchKernelEx`; a failure names the
    /// kernel, grid, block, shared memory and attributes.
    public func launch(_ kernel: Kernel, grid: (Int, Int, Int), block: (Int, Int, Int), sharedBytes: Int = 0,
                       attributes: [LaunchAttribute], arguments: [any KernelArgument]) throws {
        guard !attributes.isEmpty, let launchEx = driver.cuLaunchKernelEx else {
            return try launch(kernel, grid: grid, block: block, sharedBytes: sharedBytes, arguments: arguments)
        }
        try kernel.allowSharedMemory(sharedBytes)   // static + dynamic beyond 48 KiB needs the opt-in
        let result = withLaunchConfig(grid: grid, block: block, sharedBytes: sharedBytes, attributes: attributes) { config in
            let storage = arguments.map { $0.boxed() }
            defer { storage.forEach { $0.deallocate() } }
            var pointers: [UnsafeMutableRawPointer?] = storage.map { $0 }
            return pointers.withUnsafeMutableBufferPointer { buffer in
                launchEx(config, kernel.function, buffer.baseAddress, nil)
            }
        }
        try driver.check(result, "cuLaunchKernelEx",
                         "kernel \(kernel.name), grid \(grid), block \(block), shared memory \(sharedBytes) bytes, attributes \(attributes)")
    }

    /// How many clusters of `clusterSize` CTAs of `kernel` (block, shared memory as launched) the
    /// device runs at once; 0 when it cannot place one (a cluster above 8 CTAs on a partitioned
    /// GPU, for example). nil when the driver cannot say (no `cuOccupancyMaxActiveClusters`).
    func maxActiveClusters(_ kernel: Kernel, block: (Int, Int, Int), sharedBytes: Int, clusterSize: Int) throws -> Int? {
        guard let query = driver.cuOccupancyMaxActiveClusters else { return nil }
        try kernel.allowSharedMemory(sharedBytes)   // static + dynamic beyond 48 KiB needs the opt-in
        if clusterSize > 8 {
            try driver.check(driver.cuFuncSetAttribute(kernel.function, CUAttribute.funcNonPortableClusterSizeAllowed, 1),
                             "cuFuncSetAttribute(NON_PORTABLE_CLUSTER_SIZE_ALLOWED)", "kernel \(kernel.name)")
        }
        var count: Int32 = 0
        let result = withLaunchConfig(grid: (clusterSize, 1, 1), block: block, sharedBytes: sharedBytes,
                                      attributes: [.clusterDimension(clusterSize)]) { query(&count, kernel.function, $0) }
        try driver.check(result, "cuOccupancyMaxActiveClusters",
                         "kernel \(kernel.name), cluster \(clusterSize), block \(block), shared memory \(sharedBytes) bytes")
        return Int(count)
    }

    /// Calls `body` with a `CUlaunchConfig` on this runtime's stream.
    private func withLaunchConfig<R>(grid: (Int, Int, Int), block: (Int, Int, Int), sharedBytes: Int,
                                     attributes: [LaunchAttribute], _ body: (UnsafeRawPointer) -> R) -> R {
        // CUlaunchAttribute: { CUlaunchAttributeID id; char pad[4]; CUlaunchAttributeValue value (64 bytes) }.
        let attributeSize = 72
        let attributeBytes = UnsafeMutableRawPointer.allocate(byteCount: attributeSize * attributes.count, alignment: 8)
        defer { attributeBytes.deallocate() }
        attributeBytes.initializeMemory(as: UInt8.self, repeating: 0, count: attributeSize * attributes.count)
        for (i, attribute) in attributes.enumerated() {
            let base = attributeBytes + i * attributeSize
            base.storeBytes(of: attribute.id, as: Int32.self)
            attribute.writeValue(base + 8)
        }
        // CUlaunchConfig: seven unsigned ints (grid, block, shared bytes), CUstream at 32,
        // CUlaunchAttribute* at 40, unsigned int numAttrs at 48; 56 bytes.
        let config = UnsafeMutableRawPointer.allocate(byteCount: 56, alignment: 8)
        defer { config.deallocate() }
        config.initializeMemory(as: UInt8.self, repeating: 0, count: 56)
        let dimensions = [grid.0, grid.1, grid.2, block.0, block.1, block.2, sharedBytes]
        for (i, value) in dimensions.enumerated() { config.storeBytes(of: UInt32(value), toByteOffset: 4 * i, as: UInt32.self) }
        config.storeBytes(of: stream, toByteOffset: 32, as: CUhandle?.self)
        config.storeBytes(of: UnsafeMutableRawPointer?(attributeBytes), toByteOffset: 40, as: UnsafeMutableRawPointer?.self)
        config.storeBytes(of: UInt32(attributes.count), toByteOffset: 48, as: UInt32.self)
        return body(UnsafeRawPointer(config))
    }
}
