/// A tensor's elements, in one of the storage types, on the host or on a device.
public enum TensorStorage: Sendable {
    case float64([Double])
    case float32([Float])
    case float16([Float16])
    case bfloat16([BFloat16])
    /// Elements in device memory; see ``DeviceBuffer``.
    case device(any DeviceBuffer)

    public var dtype: DType {
        switch self {
        case .float64: .float64
        case .float32: .float32
        case .float16: .float16
        case .bfloat16: .bfloat16
        case .device(let buffer): buffer.dtype
        }
    }

    public var count: Int {
        switch self {
        case .float64(let a): a.count
        case .float32(let a): a.count
        case .float16(let a): a.count
        case .bfloat16(let a): a.count
        case .device(let buffer): buffer.count
        }
    }
}

/// Memory on an accelerator that holds a tensor's elements in row-major order.
///
/// The core knows nothing about devices; a GPU backend provides the conforming type.
public protocol DeviceBuffer: AnyObject, Sendable {
    var dtype: DType { get }
    /// Number of elements.
    var count: Int { get }
    /// A human-readable location, for example `cuda:0`.
    var deviceName: String { get }
    /// Copies the elements to host memory.
    func hostStorage() throws -> TensorStorage
}

/// A dense, row-major tensor (last dimension fastest).
public struct Tensor: Sendable, CustomStringConvertible {
    public let shape: [Int]
    public let storage: TensorStorage

    public var dtype: DType { storage.dtype }
    public var count: Int { shape.reduce(1, *) }
    public var isOnDevice: Bool { if case .device = storage { true } else { false } }

    /// Wraps existing storage; the element count must match the shape.
    public init(shape: [Int], storage: TensorStorage) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == storage.count,
                     "shape \(shape) holds \(shape.reduce(1, *)) elements, storage has \(storage.count)")
        self.shape = shape
        self.storage = storage
    }

    /// A tensor of `dtype` holding `values` rounded to that type.
    public init(shape: [Int], values: [Double], dtype: DType = .float64) {
        self.init(shape: shape, storage: TensorStorage.converting(values, to: dtype))
    }

    /// A float32 tensor.
    public init(shape: [Int], floats: [Float]) {
        self.init(shape: shape, storage: .float32(floats))
    }

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int], dtype: DType = .float64) -> Tensor {
        Tensor(shape: shape, values: [Double](repeating: 0, count: shape.reduce(1, *)), dtype: dtype)
    }

    /// The elements widened to `Double` (copied from the device if needed).
    public func doubles() throws -> [Double] {
        try hostStorage().doubles()
    }

    /// The elements as `Float` (copied from the device if needed; float64 is rounded).
    public func floats() throws -> [Float] {
        switch try hostStorage() {
        case .float32(let a): a
        case let other: other.doubles().map { Float($0) }
        }
    }

    /// The elements converted to a CPU compute type.
    public func scalars<F: BinaryFloatingPoint>(as type: F.Type) throws -> [F] {
        if F.self == Double.self { return try doubles() as! [F] }
        if F.self == Float.self { return try floats() as! [F] }
        return try doubles().map { F($0) }
    }

    /// Host storage of the elements.
    public func hostStorage() throws -> TensorStorage {
        if case .device(let buffer) = storage { return try buffer.hostStorage() }
        return storage
    }

    /// The same elements in another storage type (round to nearest even).
    public func converted(to dtype: DType) throws -> Tensor {
        let host = try hostStorage()
        if host.dtype == dtype { return Tensor(shape: shape, storage: host) }
        if case .float32(let f) = host, dtype != .float64 {
            return Tensor(shape: shape, storage: .converting(f, to: dtype))
        }
        return Tensor(shape: shape, values: host.doubles(), dtype: dtype)
    }

    /// The same elements viewed with another shape of equal element count.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        Tensor(shape: newShape, storage: storage)
    }

    public var description: String { "Tensor(\(dtype), \(shape))" }
}

extension TensorStorage {
    /// Host elements widened to `Double`. Device storage must be copied first.
    public func doubles() -> [Double] {
        switch self {
        case .float64(let a): a
        case .float32(let a): a.map { Double($0) }
        case .float16(let a): a.map { Double(Float($0)) }
        case .bfloat16(let a): a.map { Double($0.float) }
        case .device: preconditionFailure("device storage must be copied to the host first")
        }
    }

    public static func converting(_ values: [Double], to dtype: DType) -> TensorStorage {
        switch dtype {
        case .float64: .float64(values)
        case .float32: .float32(values.map { Float($0) })
        case .float16: .float16(values.map { Float16($0) })
        case .bfloat16: .bfloat16(values.map { BFloat16(roundingDouble: $0) })
        }
    }

    public static func converting(_ values: [Float], to dtype: DType) -> TensorStorage {
        switch dtype {
        case .float64: .float64(values.map { Double($0) })
        case .float32: .float32(values)
        case .float16: .float16(values.map { Float16($0) })
        case .bfloat16: .bfloat16(values.map { BFloat16($0) })
        }
    }
}

extension BFloat16 {
    /// Rounds a double to the nearest bfloat16 (ties to even) in one rounding: going
    /// through float32 with round-to-odd keeps the second rounding correct.
    public init(roundingDouble value: Double) {
        var f = Float(value)
        if f.isFinite, Double(f) != value, f.bitPattern & 1 == 0 {
            f = value > Double(f) ? f.nextUp : f.nextDown
        }
        self.init(f)
    }
}
