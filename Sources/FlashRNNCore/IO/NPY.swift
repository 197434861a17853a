import Foundation

/// NumPy `.npy` files (format versions 1–3), little-endian float16, float32 or float64, C order.
public enum NPY {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY

    /// Reads a tensor; float16, float32 and float64 files keep their storage type.
    public static func read(path: String) throws -> Tensor {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FlashRNNError.file(path: path, reason: "cannot be read (missing or not a file)")
        }
        return try decode([UInt8](data), path: path)
    }

    /// Parses the bytes of an `.npy` file; `path` only names it in errors.
    public static func decode(_ bytes: [UInt8], path: String = "<npy>") throws -> Tensor {
        func fail(_ reason: String) -> FlashRNNError { .file(path: path, reason: "not a valid .npy file: \(reason)") }
        guard bytes.count >= 6, Array(bytes[0..<6]) == magic else { throw fail("the magic string \\x93NUMPY is missing") }
        guard bytes.count >= 10 else { throw fail("truncated header") }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("truncated header") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw fail("unsupported format version \(major)")
        }
        guard headerStart + headerLength <= bytes.count else { throw fail("truncated header") }
        guard let header = String(bytes: bytes[headerStart..<headerStart + headerLength], encoding: major == 3 ? .utf8 : .isoLatin1) else {
            throw fail("unreadable header")
        }
        let descr = try headerValue("descr", in: header, fail)
        let fortran = try headerValue("fortran_order", in: header, fail)
        let shapeText = try headerValue("shape", in: header, fail)
        guard fortran == "False" else {
            throw fail(fortran == "True" ? "Fortran-order arrays are not supported; save with np.ascontiguousarray" : "bad fortran_order \(fortran)")
        }
        let dtype: DType
        switch descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\"")) {
        case "<f8": dtype = .float64
        case "<f4": dtype = .float32
        case "<f2": dtype = .float16
        case let other: throw fail("unsupported dtype \(other); use little-endian float16, float32 or float64")
        }
        let inner = shapeText.dropFirst().dropLast()
        var shape: [Int] = []
        for part in inner.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let value = Int(trimmed), value >= 0 else { throw fail("bad shape \(shapeText)") }
            shape.append(value)
        }
        // A hostile header can name more elements or bytes than Int holds; that is an error, not a trap.
        var count = 1, expected = dtype.byteSize
        for dimension in shape {
            let (elements, elementsOverflow) = count.multipliedReportingOverflow(by: dimension)
            let (byteCount, bytesOverflow) = expected.multipliedReportingOverflow(by: dimension)
            guard !elementsOverflow, !bytesOverflow else { throw fail("bad shape \(shapeText): too many elements") }
            count = elements; expected = byteCount
        }
        let dataStart = headerStart + headerLength
        guard bytes.count - dataStart == expected else {
            throw fail("shape \(shape) of \(dtype) needs \(expected) bytes of data, the file has \(bytes.count - dataStart)")
        }
        let storage: TensorStorage = bytes.withUnsafeBytes { raw in
            let body = UnsafeRawBufferPointer(rebasing: raw[dataStart...])
            switch dtype {
            case .float64: return .float64((0..<count).map { Double(bitPattern: body.loadUnaligned(fromByteOffset: 8 * $0, as: UInt64.self).littleEndian) })
            case .float32: return .float32((0..<count).map { Float(bitPattern: body.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self).littleEndian) })
            default: return .float16((0..<count).map { Float16(bitPattern: body.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self).littleEndian) })
            }
        }
        return Tensor(shape: shape, storage: storage)
    }

    /// The text of `key` in the header dictionary `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
    static func headerValue(_ key: String, in header: String, _ fail: (String) -> FlashRNNError) throws -> String {
        guard let keyRange = header.range(of: "'\(key)'") ?? header.range(of: "\"\(key)\"") else {
            throw fail("the header has no '\(key)'")
        }
        var rest = header[keyRange.upperBound...].drop { $0 == " " }
        guard rest.first == ":" else { throw fail("malformed header near '\(key)'") }
        rest = rest.dropFirst().drop { $0 == " " }
        if rest.first == "(" {
            guard let close = rest.firstIndex(of: ")") else { throw fail("malformed shape") }
            return String(rest[...close])
        }
        let end = rest.firstIndex(where: { $0 == "," || $0 == "}" }) ?? rest.endIndex
        return rest[..<end].trimmingCharacters(in: .whitespaces)
    }

    /// The bytes of an `.npy` file (version 1) holding `tensor` as float64 or float32.
    /// bfloat16 and float16 are written as float32.
    public static func encode(_ tensor: Tensor, as dtype: DType? = nil) throws -> [UInt8] {
        let host = try tensor.hostStorage()
        let target = dtype ?? (host.dtype == .float64 ? .float64 : .float32)
        let shapeText = tensor.shape.count == 1 ? "(\(tensor.shape[0]),)" : "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        let descr: String
        switch target {
        case .float64: descr = "<f8"
        case .float32: descr = "<f4"
        case .float16: descr = "<f2"
        case .bfloat16: throw FlashRNNError.invalidOption(".npy has no bfloat16; write float32")
        }
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad so the data starts on a 64-byte boundary, ending the header with a newline.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var bytes = magic + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
        bytes += Array(header.utf8)
        switch target {
        case .float64:
            for v in host.doubles() { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        case .float32:
            let floats: [Float] = if case .float32(let f) = host { f } else { host.doubles().map { Float($0) } }
            for v in floats { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes += $0 } }
        default:
            for v in host.doubles() { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { bytes += $0 } }
        }
        return bytes
    }

    /// Writes `tensor` to `path` (float64 stays float64, everything else becomes float32).
    public static func write(_ tensor: Tensor, to path: String, as dtype: DType? = nil) throws {
        let bytes = try encode(tensor, as: dtype)
        do { try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic) }
        catch { throw FlashRNNError.file(path: path, reason: "cannot be written: \("\(error)")") }
    }
}
