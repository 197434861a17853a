import Foundation
import Testing
@testable import FlashRNNCore

/// `.npy` interchange (spec section 7): round trips, and malformed files give
/// ``FlashRNNError/file(path:reason:)``, never a crash.
@Suite struct NPYTests {
    static let shapes: [[Int]] = [[7], [1], [2, 3, 1, 4, 2], [], [1, 1, 1], [3, 0]]

    /// The bytes of a version-1 (or 2) file with this header text and data.
    static func file(_ header: String, data: [UInt8] = [], version: UInt8 = 1) -> [UInt8] {
        let headerBytes = Array(header.utf8)
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0]
        if version == 1 {
            bytes += [UInt8(headerBytes.count & 0xFF), UInt8(headerBytes.count >> 8)]
        } else {
            bytes += (0..<4).map { UInt8((headerBytes.count >> (8 * $0)) & 0xFF) }
        }
        return bytes + headerBytes + data
    }

    static func littleEndian(_ values: [Float]) -> [UInt8] {
        values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    }

    static func bits(_ t: Tensor) throws -> [UInt64] {
        switch try t.hostStorage() {
        case .float64(let a): a.map(\.bitPattern)
        case .float32(let a): a.map { UInt64($0.bitPattern) }
        case .float16(let a): a.map { UInt64($0.bitPattern) }
        case .bfloat16(let a): a.map { UInt64($0.bitPattern) }
        case .device: []
        }
    }

    @Test(arguments: [DType.float64, .float32, .float16], shapes)
    func roundTripKeepsTypeShapeAndBits(dtype: DType, shape: [Int]) throws {
        var rng = TestRandom(seed: seed("npy \(dtype) \(shape)"))
        var values = rng.normals(shape.reduce(1, *), scale: 100)
        // Specials survive too.
        for (i, special) in [-0.0, Double.infinity, -1e-300, 65504].enumerated() where i < values.count { values[i] = special }
        let tensor = Tensor(shape: shape, values: values, dtype: dtype)
        let decoded = try NPY.decode(NPY.encode(tensor, as: dtype))
        #expect(decoded.shape == shape)
        #expect(decoded.dtype == dtype)
        #expect(try Self.bits(decoded) == Self.bits(tensor))

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("npy-\(UUID().uuidString).npy").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try NPY.write(tensor, to: path, as: dtype)
        let read = try NPY.read(path: path)
        #expect(read.shape == shape && read.dtype == dtype)
        #expect(try Self.bits(read) == Self.bits(tensor))
    }

    /// Without a type, float64 stays float64 and everything else is written as float32.
    @Test(arguments: DType.allCases)
    func defaultWriteType(dtype: DType) throws {
        let tensor = Tensor(shape: [2, 2], values: [1.5, -2.25, 3e-3, 7], dtype: dtype)
        let decoded = try NPY.decode(NPY.encode(tensor))
        #expect(decoded.dtype == (dtype == .float64 ? .float64 : .float32))
        #expect(try decoded.doubles() == tensor.doubles())
    }

    /// The layout NumPy writes: data on a 64-byte boundary, the header ending in a newline.
    @Test(arguments: shapes)
    func headerIsAlignedAndTerminated(shape: [Int]) throws {
        let bytes = try NPY.encode(Tensor.zeros(shape, dtype: .float32))
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        #expect(bytes[10 + headerLength - 1] == UInt8(ascii: "\n"))
        #expect(bytes.count == 10 + headerLength + 4 * shape.reduce(1, *))
    }

    /// Headers as other writers spell them: other key order, version 2, no trailing comma.
    @Test func acceptsHeaderVariants() throws {
        let data = Self.littleEndian([1, 2, 3])
        let variants = [
            Self.file("{'fortran_order': False, 'shape': (3,), 'descr': '<f4', }      \n", data: data),
            Self.file("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}\n", data: data, version: 2),
            Self.file("{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": ( 3 , )}\n", data: data),
        ]
        for bytes in variants {
            let t = try NPY.decode(bytes)
            #expect(t.shape == [3])
            #expect(try t.floats() == [1, 2, 3])
        }
    }

    static func expectFileError(_ bytes: [UInt8], mentioning phrase: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let t = try NPY.decode(bytes, path: "bad.npy")
            Issue.record("decoded \(t) from a malformed file", sourceLocation: sourceLocation)
        } catch let error as FlashRNNError {
            guard case let .file(path, reason) = error else {
                Issue.record("expected a file error, got \(error)", sourceLocation: sourceLocation); return
            }
            #expect(path == "bad.npy", sourceLocation: sourceLocation)
            #expect(reason.contains(phrase), "\(reason)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func malformedFilesGiveFileErrors() throws {
        let good = Self.littleEndian([1, 2, 3, 4, 5, 6])
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n"
        #expect(try NPY.decode(Self.file(header, data: good)).shape == [2, 3])

        var wrongMagic = Self.file(header, data: good); wrongMagic[1] = UInt8(ascii: "X")
        Self.expectFileError(wrongMagic, mentioning: "magic")
        Self.expectFileError(Array("just some text, not numpy".utf8), mentioning: "magic")
        Self.expectFileError([], mentioning: "magic")
        Self.expectFileError(Array(Self.file(header, data: good)[..<40]), mentioning: "truncated header")
        Self.expectFileError(Self.file(header.replacingOccurrences(of: "<f4", with: "<i4"), data: good), mentioning: "unsupported dtype <i4")
        Self.expectFileError(Self.file(header.replacingOccurrences(of: "<f4", with: ">f4"), data: good), mentioning: "unsupported dtype >f4")
        Self.expectFileError(Self.file(header.replacingOccurrences(of: "<f4", with: "|u1"), data: good), mentioning: "unsupported dtype |u1")
        Self.expectFileError(Self.file(header.replacingOccurrences(of: "False", with: "True"), data: good), mentioning: "Fortran")
        Self.expectFileError(Self.file(header, data: Array(good.dropLast(4))), mentioning: "needs 24 bytes of data, the file has 20")
        Self.expectFileError(Self.file(header, data: good + [0, 0, 0, 0]), mentioning: "needs 24 bytes of data, the file has 28")
        Self.expectFileError(Self.file(header.replacingOccurrences(of: "(2, 3)", with: "(-2, 3)"), data: good), mentioning: "bad shape")
        Self.expectFileError(Self.file(header.replacingOccurrences(of: "(2, 3)", with: "(2, x)"), data: good), mentioning: "bad shape")
        Self.expectFileError(Self.file(header.replacingOccurrences(of: "'shape'", with: "'shap'"), data: good), mentioning: "no 'shape'")
        Self.expectFileError(Self.file(header, data: good, version: 9), mentioning: "unsupported format version 9")
        // Shapes whose element or byte count overflows Int.
        Self.expectFileError(Self.file(header.replacingOccurrences(of: "(2, 3)", with: "(4294967296, 4294967296)"), data: good),
                             mentioning: "bad shape")
        Self.expectFileError(Self.file(header.replacingOccurrences(of: "(2, 3)", with: "(4611686018427387904,)"), data: good),
                             mentioning: "bad shape")
    }

    /// Every truncation of a valid file is an error, never a crash.
    @Test(arguments: [1 as UInt8, 2])
    func everyPrefixIsRejected(version: UInt8) throws {
        let bytes = Self.file("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n",
                              data: [Double](repeating: 1.5, count: 3).flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } },
                              version: version)
        #expect(try NPY.decode(bytes).shape == [3])
        for length in 0..<bytes.count {
            #expect(throws: FlashRNNError.self) { try NPY.decode(Array(bytes[..<length])) }
        }
        // A cut inside the fixed preamble is called truncated, not a wrong file type.
        Self.expectFileError(Array(bytes[..<8]), mentioning: "truncated header")
    }

    @Test func missingFileIsAFileError() {
        let path = "/nonexistent/\(UUID().uuidString).npy"
        #expect(throws: FlashRNNError.file(path: path, reason: "cannot be read (missing or not a file)")) {
            try NPY.read(path: path)
        }
    }
}
