import Foundation
import Testing
@testable import FlashRNNCUDA

/// Compiles every kernel module with NVRTC when it is available (CI installs it; see
/// .ci/compile-kernels.sh); without NVRTC there is nothing to compile and the test says so.
@Test func everyKernelModuleCompilesForHopper() throws {
    guard (try? NVRTCLibrary.version()) != nil else {
        print("NVRTC not found; kernel compilation not exercised here")
        return
    }
    let compiler = try KernelCompiler(options: KernelOptions(architecture: "sm_90a"), useDiskCache: false)
    for spec in KernelCatalog.all().prefix(3) {
        let module = try compiler.compile(mainSource: spec.mainSource, nameExpressions: spec.nameExpressions)
        #expect(!module.cubin.isEmpty, "\(spec.label)")
        #expect(Set(module.loweredNames.keys) == Set(spec.nameExpressions))
    }
}
