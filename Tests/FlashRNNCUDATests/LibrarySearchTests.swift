import Testing
@testable import FlashRNNCUDA

@Suite struct LibrarySearchTests {
    @Test func nvrtcSearchOrderIsEnvironmentThenToolkitsThenSonamesThenWheels() {
        let search = LibrarySearch(environment: ["FLASHRNN_LIBNVRTC": "/custom/libnvrtc.so", "CUDA_HOME": "/opt/cuda-home",
                                                 "CUDA_PATH": "/opt/cuda-path"],
                                   sitePackages: ["/venv/site-packages"])
        let c = search.candidates(for: .nvrtc)
        #expect(c.first == "/custom/libnvrtc.so")
        let home = c.firstIndex(of: "/opt/cuda-home/lib64/libnvrtc.so.13")!
        let path = c.firstIndex(of: "/opt/cuda-path/lib64/libnvrtc.so.13")!
        let usrLocal = c.firstIndex(of: "/usr/local/cuda/lib64/libnvrtc.so.13")!
        let soname13 = c.firstIndex(of: "libnvrtc.so.13")!
        let soname12 = c.firstIndex(of: "libnvrtc.so.12")!
        let wheel = c.firstIndex(of: "/venv/site-packages/nvidia/cu13/lib/libnvrtc.so.13")!
        #expect(home < path && path < usrLocal && usrLocal < soname13 && soname13 < soname12 && soname12 < wheel)
        #expect(c.contains("/venv/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12"))
    }

    @Test func driverIsNeverTakenFromAToolkitStubFolder() {
        let search = LibrarySearch(environment: ["CUDA_HOME": "/opt/cuda"], sitePackages: [])
        let c = search.candidates(for: .driver)
        #expect(c == ["libcuda.so.1", "libcuda.so"])
        let named = LibrarySearch(environment: ["FLASHRNN_LIBCUDA": "/x/libcuda.so.1"], sitePackages: []).candidates(for: .driver)
        #expect(named.first == "/x/libcuda.so.1")
    }

    @Test(arguments: CUDALibraryKind.allCases)
    func candidatesHaveNoDuplicates(kind: CUDALibraryKind) {
        let search = LibrarySearch(environment: ["CUDA_HOME": "/usr/local/cuda", "CUDA_PATH": "/usr/local/cuda"], sitePackages: ["/a", "/a"])
        let c = search.candidates(for: kind)
        #expect(Set(c).count == c.count)
    }

    @Test func missingLibraryErrorListsEveryCandidateTried() {
        let search = LibrarySearch(environment: ["FLASHRNN_LIBCUBLAS": "/nonexistent/libcublas.so.13"], sitePackages: ["/nowhere"])
        #expect {
            _ = try LoadedLibrary.open(.cublas, search: search)
        } throws: { error in
            let text = "\(error)"
            return text.contains("/nonexistent/libcublas.so.13: no such file") && text.contains("FLASHRNN_LIBCUBLAS")
                && text.contains("libcublas.so.12")
        }
    }
}

@Suite struct KernelOptionTests {
    @Test func optionsRenderInAFixedOrderWithoutFastMathOrIncludePaths() {
        var options = KernelOptions(architecture: "sm_90a", definitions: ["B_TILE": "8", "A_FLAG": "1"])
        #expect(options.rendered == ["--gpu-architecture=sm_90a", "--std=c++17", "-DFLASHRNN_NVRTC=1", "-DA_FLAG=1", "-DB_TILE=8"])
        options.verbosePTXAS = true
        #expect(options.rendered.last == "--ptxas-options=-v")
        #expect(!options.rendered.contains { $0.contains("fast") || $0.hasPrefix("-I") })
    }

    @Test func hopperGetsTheArchSpecificTarget() {
        var p = DeviceProperties(name: "x", computeCapability: (9, 0), multiprocessors: 132, registersPerMultiprocessor: 65536,
                                 registersPerBlock: 65536, sharedMemoryPerMultiprocessor: 233_472, sharedMemoryPerBlock: 49152,
                                 sharedMemoryPerBlockOptIn: 232_448, l2CacheBytes: 0, supportsClusters: true, totalMemory: 0,
                                 driverVersion: "13.0")
        #expect(p.architecture == "sm_90a")
        p.computeCapability = (8, 6)
        #expect(p.architecture == "sm_86")
    }
}
