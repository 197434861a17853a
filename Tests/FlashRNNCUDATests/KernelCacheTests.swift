import Foundation
import Testing
@testable import FlashRNNCUDA
import FlashRNNCore

@Suite struct KernelCacheTests {
    func temporaryFolder() -> String {
        let folder = NSTemporaryDirectory() + "flashrnn-cache-test-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func keyChangesWithEverySourceOptionAndNameExpression() {
        let base = KernelDiskCache.key(sources: ["a.cuh": "x", "b.cuh": "y"], options: ["-O3"], nameExpressions: ["&k<1>"])
        #expect(base == KernelDiskCache.key(sources: ["b.cuh": "y", "a.cuh": "x"], options: ["-O3"], nameExpressions: ["&k<1>"]))
        #expect(base != KernelDiskCache.key(sources: ["a.cuh": "x", "b.cuh": "z"], options: ["-O3"], nameExpressions: ["&k<1>"]))
        #expect(base != KernelDiskCache.key(sources: ["a.cuh": "x", "b.cuh": "y"], options: ["-O2"], nameExpressions: ["&k<1>"]))
        #expect(base != KernelDiskCache.key(sources: ["a.cuh": "x", "b.cuh": "y"], options: ["-O3"], nameExpressions: ["&k<2>"]))
        // Concatenation must not collide: ("ab", "c") vs ("a", "bc").
        #expect(KernelDiskCache.key(sources: ["f": "ab"], options: ["c"], nameExpressions: [])
                != KernelDiskCache.key(sources: ["f": "a"], options: ["bc"], nameExpressions: []))
        #expect(base.count == 32)
    }

    @Test func folderNamesPackageNVRTCAndArchitecture() {
        let cache = KernelDiskCache(environment: ["FLASHRNN_CACHE_DIR": "/c"], nvrtcVersion: "13.0", architecture: "sm_90a")
        #expect(cache.folder == "/c/v\(FlashRNNVersion.string)-nvrtc13.0-sm_90a")
        let xdg = KernelDiskCache(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"], nvrtcVersion: "12.4", architecture: "sm_80")
        #expect(xdg.folder.hasPrefix("/x/flashrnn/"))
        let home = KernelDiskCache(environment: ["HOME": "/h"], nvrtcVersion: "12.4", architecture: "sm_80")
        #expect(home.folder.hasPrefix("/h/.cache/flashrnn/"))
    }

    @Test func storeThenLoadRoundTripsAndLeavesNoTemporaryFiles() throws {
        let cache = KernelDiskCache(folder: temporaryFolder() + "/nested")
        let module = CompiledModule(cubin: [1, 2, 3, 0, 255], loweredNames: ["&k<1>": "_Z1kILi1EEvv", "&k<2>": "_Z1kILi2EEvv"], log: "")
        try cache.store(module, key: "abc")
        #expect(cache.load("abc") == module)
        let files = try FileManager.default.contentsOfDirectory(atPath: cache.folder)
        #expect(files == ["abc.cubin"])
    }

    @Test(arguments: ["truncated", "flipped", "garbage", "empty"])
    func corruptFilesAreIgnored(kind: String) throws {
        let cache = KernelDiskCache(folder: temporaryFolder())
        let module = CompiledModule(cubin: Array(repeating: 7, count: 100), loweredNames: ["&k": "_Z1kv"], log: "")
        try cache.store(module, key: "k")
        var bytes = [UInt8](FileManager.default.contents(atPath: cache.path(for: "k"))!)
        switch kind {
        case "truncated": bytes.removeLast(10)
        case "flipped": bytes[bytes.count / 2] ^= 0x40
        case "garbage": bytes = Array("not a cubin".utf8)
        default: bytes = []
        }
        _ = FileManager.default.createFile(atPath: cache.path(for: "k"), contents: Data(bytes))
        #expect(cache.load("k") == nil)
    }

    @Test func concurrentWritersNeverLeaveAHalfFile() throws {
        let cache = KernelDiskCache(folder: temporaryFolder())
        let module = CompiledModule(cubin: Array(repeating: 9, count: 1 << 16), loweredNames: ["&k": "_Z1kv"], log: "")
        DispatchQueue.concurrentPerform(iterations: 16) { _ in
            try? cache.store(module, key: "same")
            if let loaded = cache.load("same") { precondition(loaded == module) }
        }
        #expect(cache.load("same") == module)
    }

    /// With NVRTC present: a corrupt cache file is recompiled and replaced.
    @Test func corruptCacheFileIsRebuiltByTheCompiler() throws {
        guard (try? NVRTCLibrary.version()) != nil else { return }
        let folder = temporaryFolder()
        setenv("FLASHRNN_CACHE_DIR", folder, 1)
        defer { unsetenv("FLASHRNN_CACHE_DIR") }
        let source = "extern \"C\" __global__ void k(float* x) { x[threadIdx.x] = 1.0f; }\n"
        let compiler = try KernelCompiler(options: KernelOptions(architecture: "sm_80"))
        let (_, first) = try compiler.module(mainSource: source, nameExpressions: ["k"])
        #expect(first == .compiled)
        let key = KernelDiskCache.key(sources: compiler.sources.merging(["<main>": source]) { a, _ in a },
                                      options: compiler.options.rendered, nameExpressions: ["k"])
        let path = compiler.diskCache!.path(for: key)
        #expect(FileManager.default.fileExists(atPath: path))
        _ = FileManager.default.createFile(atPath: path, contents: Data("corrupt".utf8))
        let fresh = try KernelCompiler(options: KernelOptions(architecture: "sm_80"))
        let (_, second) = try fresh.module(mainSource: source, nameExpressions: ["k"])
        #expect(second == .compiled)
        #expect(fresh.diskCache!.load(key) != nil)
        let third = try KernelCompiler(options: KernelOptions(architecture: "sm_80"))
        #expect(try third.module(mainSource: source, nameExpressions: ["k"]).1 == .disk)
    }
}
