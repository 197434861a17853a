import FlashRNN

/// Packs parameter gradients into flat buckets of at most a byte budget, and back.
///
/// Parameters are taken in reverse order (the read-out first) because backward produces their
/// gradients in that order: a bucket is complete as soon as its layers' backward is done, which
/// is what lets a GPU implementation start its all-reduce while earlier layers still run.
/// A parameter is never split; one larger than the budget gets a bucket of its own.
public struct GradientBuckets: Sendable, Equatable {
    /// One piece of a bucket: parameter `parameter` (index into the parameter list) at `offset`.
    public struct Slot: Sendable, Equatable {
        public var parameter: Int
        public var offset: Int
        public var count: Int
    }

    /// `slots[k]`: what bucket `k` holds, in order.
    public let slots: [[Slot]]
    /// Elements in each bucket.
    public var sizes: [Int] { slots.map { $0.reduce(0) { $0 + $1.count } } }
    /// The parameter sizes the layout was made for.
    public let parameterSizes: [Int]

    /// - Parameters:
    ///   - parameterSizes: element counts of the parameters, in model order.
    ///   - bytesPerElement: 4 for float32.
    ///   - budgetBytes: the most bytes one bucket holds (unless one parameter alone is larger).
    public init(parameterSizes: [Int], bytesPerElement: Int, budgetBytes: Int) {
        precondition(bytesPerElement > 0 && budgetBytes > 0, "positive element size and budget")
        self.parameterSizes = parameterSizes
        let capacity = max(1, budgetBytes / bytesPerElement)
        var slots: [[Slot]] = []
        var current: [Slot] = [], filled = 0
        for index in parameterSizes.indices.reversed() {
            let count = parameterSizes[index]
            if !current.isEmpty, filled + count > capacity {
                slots.append(current); current = []; filled = 0
            }
            current.append(Slot(parameter: index, offset: filled, count: count))
            filled += count
        }
        if !current.isEmpty { slots.append(current) }
        self.slots = slots
    }

    public init<F: CellScalar>(parameters: [Parameter<F>], budgetBytes: Int) {
        self.init(parameterSizes: parameters.map { $0.gradient.count }, bytesPerElement: MemoryLayout<F>.stride,
                  budgetBytes: budgetBytes)
    }

    /// The gradients, each multiplied by `scale`, as flat buckets.
    public func pack<F: CellScalar>(_ parameters: [Parameter<F>], scale: F = 1) -> [[F]] {
        precondition(parameters.map { $0.gradient.count } == parameterSizes, "parameters do not match the bucket layout")
        return slots.map { bucket in
            var flat: [F] = []
            flat.reserveCapacity(bucket.reduce(0) { $0 + $1.count })
            for slot in bucket {
                if scale == 1 { flat += parameters[slot.parameter].gradient }
                else { flat += parameters[slot.parameter].gradient.map { $0 * scale } }
            }
            return flat
        }
    }

    /// Writes the buckets back into the parameters' gradients.
    public func unpack<F: CellScalar>(_ buckets: [[F]], into parameters: [Parameter<F>]) {
        precondition(buckets.map(\.count) == sizes, "buckets do not match the layout")
        precondition(parameters.map { $0.gradient.count } == parameterSizes, "parameters do not match the bucket layout")
        for (bucket, contents) in zip(slots, buckets) {
            for slot in bucket {
                parameters[slot.parameter].gradient = Array(contents[slot.offset..<(slot.offset + slot.count)])
            }
        }
    }
}
