import Testing
@testable import FlashRNNCUDA

/// When a launch must raise a kernel's dynamic shared-memory limit (`Kernel.allowSharedMemory`):
/// the default 48 KiB covers static and dynamic memory together, so a kernel with static shared
/// memory needs the opt-in for less than 48 KiB of dynamic memory; once raised, launches up to the
/// raised limit need nothing more.
struct KernelSharedMemoryTests {
    @Test(arguments: [
        // (static, dynamic, current limit, raised to)
        (0, 48 * 1024, nil as Int?, nil as Int?),
        (0, 48 * 1024 + 16, nil, 48 * 1024 + 16),
        (24 * 1024, 24 * 1024, nil, nil),
        (24 * 1024, 32 * 1024, nil, 32 * 1024),     // 56 KiB in all: the opt-in
        (36 * 1024, 64 * 1024, nil, 64 * 1024),
        (36 * 1024, 64 * 1024, 64 * 1024, nil),     // already raised
        (36 * 1024, 96 * 1024, 64 * 1024, 96 * 1024),
        (0, 0, nil, nil),
    ])
    func raisesOnlyWhereStaticAndDynamicPassTheLimit(staticBytes: Int, dynamicBytes: Int, limit: Int?, raised: Int?) {
        #expect(Kernel.raisedDynamicLimit(staticBytes: staticBytes, dynamicBytes: dynamicBytes, limit: limit) == raised)
    }
}
