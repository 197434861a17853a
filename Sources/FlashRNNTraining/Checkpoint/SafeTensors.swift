import Foundation

/// The safetensors file format, float32 tensors only:
///
///     8 bytes    little-endian UInt64: header length H
///     H bytes    UTF-8 JSON: {"__metadata__": {String: String},
///                             name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}
///                padded with spaces to a multiple of 8
///     data       each tensor's little-endian bytes at [begin, end) from the start of the data
public enum SafeTensors {
    public struct Entry: Sendable, Equatable {
        public var shape: [Int]
        public var values: [Float]
        public init(shape: [Int], values: [Float]) { self.shape = shape; self.values = values }
    }

    public static func encode(_ tensors: [String: Entry], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let entry = tensors[name]!
            precondition(entry.values.count == entry.shape.reduce(1, *), "\(name): values do not fill its shape")
            let bytes = entry.values.count * 4
            header[name] = ["dtype": "F32", "shape": entry.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for name in names {
            for value in tensors[name]!.values {
                withUnsafeBytes(of: value.bitPattern.littleEndian) { out.append(contentsOf: $0) }
            }
        }
        return out
    }

    public static func decode(_ data: Data, path: String = "<safetensors>") throws -> (tensors: [String: Entry], metadata: [String: String]) {
        func fail(_ reason: String) -> TrainingError { .checkpoint("\(path): \(reason)") }
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw fail("too short for a safetensors header (\(bytes.count) bytes)") }
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard length <= UInt64(bytes.count - 8) else { throw fail("header length \(length) runs past the end of the file") }
        let headerEnd = 8 + Int(length)
        guard let header = try? JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])) as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let dictionary = raw as? [String: String] else { throw fail("__metadata__ must map strings to strings") }
            metadata = dictionary
        }
        var tensors: [String: Entry] = [:]
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw fail("tensor \(name) lacks dtype, shape or data_offsets")
            }
            guard dtype == "F32" else { throw fail("tensor \(name) is \(dtype); only F32 is supported") }
            let count = shape.reduce(1, *)
            let begin = headerEnd + offsets[0], end = headerEnd + offsets[1]
            guard offsets[0] >= 0, end - begin == count * 4, end <= bytes.count else {
                throw fail("tensor \(name) of shape \(shape) has data_offsets \(offsets) that do not fit the file")
            }
            var values = [Float](repeating: 0, count: count)
            for i in 0..<count {
                let at = begin + 4 * i
                let bits = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
                values[i] = Float(bitPattern: bits)
            }
            tensors[name] = Entry(shape: shape, values: values)
        }
        return (tensors, metadata)
    }

    public static func write(_ tensors: [String: Entry], metadata: [String: String], to path: String) throws {
        do { try encode(tensors, metadata: metadata).write(to: URL(fileURLWithPath: path)) }
        catch let error as TrainingError { throw error }
        catch { throw TrainingError.checkpoint("\(path): cannot write: \(error.localizedDescription)") }
    }

    public static func read(path: String) throws -> (tensors: [String: Entry], metadata: [String: String]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TrainingError.checkpoint("\(path): cannot read the file")
        }
        return try decode(data, path: path)
    }
}
