import FlashRNN

/// Moves layer arrays in and out of the core's `Tensor` in the compute type.
enum TensorBridge {
    static func dtype<F: CellScalar>(_: F.Type) -> DType {
        F.self == Float.self ? .float32 : .float64
    }

    static func tensor<F: CellScalar>(_ values: [F], _ shape: [Int]) -> Tensor {
        if F.self == Float.self { return Tensor(shape: shape, storage: .float32(unsafeBitCast(values, to: [Float].self))) }
        if F.self == Double.self { return Tensor(shape: shape, storage: .float64(unsafeBitCast(values, to: [Double].self))) }
        return Tensor(shape: shape, values: values.map { Double($0) })
    }

    static func values<F: CellScalar>(_ tensor: Tensor, as _: F.Type) throws -> [F] {
        try tensor.scalars(as: F.self)
    }
}
