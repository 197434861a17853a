import Foundation
import Testing
@testable import FlashRNNCUDA

/// NCCL discovery and the missing-library error; no GPU and no NCCL needed.
@Suite struct NCCLLoadingTests {
    @Test func searchOrderIsEnvironmentThenToolkitsThenSonamesThenWheels() {
        let search = NCCLLibrarySearch(environment: ["FLASHRNN_LIBNCCL": "/custom/libnccl.so.2", "CUDA_HOME": "/opt/cuda"],
                                       sitePackages: ["/venv/site-packages"])
        let c = search.candidates
        #expect(c.first == "/custom/libnccl.so.2")
        let home = c.firstIndex(of: "/opt/cuda/lib64/libnccl.so.2")!
        let usrLocal = c.firstIndex(of: "/usr/local/cuda/lib64/libnccl.so.2")!
        let soname = c.firstIndex(of: "libnccl.so.2")!
        let wheel = c.firstIndex(of: "/venv/site-packages/nvidia/nccl/lib/libnccl.so.2")!
        #expect(home < usrLocal && usrLocal < soname && soname < wheel)
        #expect(Set(c).count == c.count)
    }

    /// NCCL comes with a framework's wheels: the Python of a virtual environment on `PATH` is
    /// searched too, and the CUDA 13 wheel layout (`nvidia/cu13/lib`) after the older one.
    @Test func wheelsOfThePythonOnPathAreSearched() throws {
        let prefix = FileManager.default.temporaryDirectory.appendingPathComponent("nccl-search-\(getpid())").path
        let site = "\(prefix)/lib/python3.12/site-packages"
        try FileManager.default.createDirectory(atPath: site, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        let search = NCCLLibrarySearch(environment: ["PATH": "/usr/bin:\(prefix)/bin:/nowhere/bin"])
        let c = search.candidates
        let old = try #require(c.firstIndex(of: "\(site)/nvidia/nccl/lib/libnccl.so.2"))
        let cu13 = try #require(c.firstIndex(of: "\(site)/nvidia/cu13/lib/libnccl.so.2"))
        #expect(c.firstIndex(of: "libnccl.so.2")! < old && old < cu13)
    }

    @Test func aMissingNamedFileIsReportedByPath() {
        let search = NCCLLibrarySearch(environment: ["FLASHRNN_LIBNCCL": "/nonexistent/libnccl.so.2", "CUDA_HOME": "/nowhere"],
                                       sitePackages: ["/nowhere"])
        do {
            let api = try NCCLAPI.open(search: search)
            // A system NCCL found later in the search still loads; the named file must not.
            #expect(api.path != "/nonexistent/libnccl.so.2")
        } catch {
            let text = "\(error)"
            #expect(text.contains("/nonexistent/libnccl.so.2: no such file"), "\(text)")
            #expect(text.contains("FLASHRNN_LIBNCCL") && text.contains("libnccl"), "\(text)")
        }
    }

    @Test func aLibraryWithoutNCCLSymbolsNamesTheMissingSymbol() throws {
        // libc loads everywhere and has none of NCCL's symbols.
        let search = NCCLLibrarySearch(environment: ["FLASHRNN_LIBNCCL": "libc.so.6"], sitePackages: [])
        #expect {
            _ = try NCCLAPI.open(search: search)
        } throws: { error in
            "\(error)".contains("libc.so.6 has no symbol ncclGetVersion")
        }
    }
}
