import Foundation
import FlashRNNCore

/// A compiled module: the cubin and the mangled name of each requested name expression.
public struct CompiledModule: Sendable, Equatable {
    public var cubin: [UInt8]
    /// Name expression (e.g. `&flashrnn::forward_step<...>`) → lowered (mangled) name.
    public var loweredNames: [String: String]
    /// The compiler log (warnings, or the ptxas report with `--ptxas-options=-v`).
    public var log: String

    public init(cubin: [UInt8], loweredNames: [String: String], log: String) {
        self.cubin = cubin; self.loweredNames = loweredNames; self.log = log
    }
}

/// 128-bit FNV-1a (two 64-bit lanes with different offsets): stable across runs and platforms.
public struct StableHash {
    var a: UInt64 = 0xcbf2_9ce4_8422_2325
    var b: UInt64 = 0x6c62_272e_07bb_0142
    public init() {}

    public mutating func add(_ string: String) {
        for byte in string.utf8 { add(byte) }
        add(0xff)  // separator so ("ab","c") != ("a","bc")
    }

    public mutating func add(_ byte: UInt8) {
        a = (a ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        b = (b ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 &+ 0x9e37_79b9
    }

    public var hex: String { String(format: "%016llx%016llx", a, b) }
}

/// The on-disk cache of compiled modules (issue 3, point 4).
///
/// Folder: `$FLASHRNN_CACHE_DIR`, else `$XDG_CACHE_HOME/flashrnn`, else `~/.cache/flashrnn`;
/// below it `v<package>-nvrtc<version>-<arch>/`, so a new package, compiler or device never reads
/// an old module. Files are written to a temporary name and renamed into place (atomic, so
/// concurrent processes never see half a file); a file that fails its checksum is ignored and
/// rebuilt.
public struct KernelDiskCache: Sendable {
    public let folder: String

    public init(folder: String) { self.folder = folder }

    public init(environment: [String: String] = ProcessInfo.processInfo.environment, nvrtcVersion: String, architecture: String) {
        let root: String
        if let dir = environment["FLASHRNN_CACHE_DIR"], !dir.isEmpty {
            root = dir
        } else if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty {
            root = xdg + "/flashrnn"
        } else {
            root = (environment["HOME"] ?? NSTemporaryDirectory()) + "/.cache/flashrnn"
        }
        folder = root + "/v\(FlashRNNVersion.string)-nvrtc\(nvrtcVersion)-\(architecture)"
    }

    /// The cache key: a hash of every source file, the options and the name expressions.
    public static func key(sources: [String: String], options: [String], nameExpressions: [String]) -> String {
        var hash = StableHash()
        for name in sources.keys.sorted() { hash.add(name); hash.add(sources[name]!) }
        hash.add("options"); options.forEach { hash.add($0) }
        hash.add("names"); nameExpressions.forEach { hash.add($0) }
        return hash.hex
    }

    public func path(for key: String) -> String { folder + "/" + key + ".cubin" }

    /// The module stored under `key`, or nil when absent or corrupt.
    public func load(_ key: String) -> CompiledModule? {
        guard let data = FileManager.default.contents(atPath: path(for: key)) else { return nil }
        return KernelDiskCache.decode([UInt8](data))
    }

    /// Stores atomically: a temporary file in the same folder, then `rename`.
    public func store(_ module: CompiledModule, key: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temporary = folder + "/.\(key).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let bytes = KernelDiskCache.encode(module)
        guard FileManager.default.createFile(atPath: temporary, contents: Data(bytes)) else {
            throw FlashRNNError.file(path: temporary, reason: "could not write the kernel cache file")
        }
        if rename(temporary, path(for: key)) != 0 {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw FlashRNNError.file(path: path(for: key), reason: "could not rename the cache file into place: \(reason)")
        }
    }

    static let magic: [UInt8] = Array("FRNNCUB1".utf8)

    /// magic, u64 names length, names (`expr\tlowered\n`), u64 cubin length, cubin, u64 checksum.
    static func encode(_ module: CompiledModule) -> [UInt8] {
        var out = magic
        let names = Array(module.loweredNames.keys.sorted().map { "\($0)\t\(module.loweredNames[$0]!)\n" }.joined().utf8)
        append(UInt64(names.count), to: &out); out += names
        append(UInt64(module.cubin.count), to: &out); out += module.cubin
        append(checksum(out), to: &out)
        return out
    }

    static func decode(_ bytes: [UInt8]) -> CompiledModule? {
        guard bytes.count >= magic.count + 24, Array(bytes[0..<magic.count]) == magic else { return nil }
        let body = Array(bytes[0..<(bytes.count - 8)])
        guard read(bytes, at: bytes.count - 8) == checksum(body) else { return nil }
        var offset = magic.count
        let namesCount = Int(read(bytes, at: offset)); offset += 8
        guard namesCount >= 0, offset + namesCount + 8 <= body.count else { return nil }
        let namesText = String(decoding: bytes[offset..<(offset + namesCount)], as: UTF8.self); offset += namesCount
        let cubinCount = Int(read(bytes, at: offset)); offset += 8
        guard cubinCount > 0, offset + cubinCount == body.count else { return nil }
        var names: [String: String] = [:]
        for line in namesText.split(separator: "\n") {
            let parts = line.split(separator: "\t", maxSplits: 1)
            guard parts.count == 2 else { return nil }
            names[String(parts[0])] = String(parts[1])
        }
        return CompiledModule(cubin: Array(bytes[offset..<(offset + cubinCount)]), loweredNames: names, log: "")
    }

    static func append(_ value: UInt64, to out: inout [UInt8]) {
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
    }

    static func read(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for i in 0..<8 { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        return value
    }

    static func checksum(_ bytes: [UInt8]) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return h
    }
}
