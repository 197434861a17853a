import Foundation
import Testing
@testable import FlashRNNCUDA

/// The bytes `cuLaunchKernelEx` receives for each launch attribute (cuda.h's `CUlaunchAttributeID`
/// and the 64-byte `CUlaunchAttributeValue` union), checked without a GPU.
struct LaunchAttributeTests {
    static func value(of attribute: LaunchAttribute) -> [UInt32] {
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 8)
        defer { bytes.deallocate() }
        bytes.initializeMemory(as: UInt8.self, repeating: 0xAB, count: 64)
        attribute.writeValue(bytes)
        return (0..<4).map { bytes.load(fromByteOffset: 4 * $0, as: UInt32.self) }
    }

    @Test func identifiersAreCUDAs() {
        #expect(LaunchAttribute.programmaticStreamSerialization.id == 6)
        #expect(LaunchAttribute.clusterDimension(4).id == 4)
        #expect(LaunchAttribute.cooperative.id == 2)
    }

    @Test(arguments: [2, 8, 16])
    func clusterDimensionIsXOneOne(ctas: Int) {
        #expect(Self.value(of: .clusterDimension(ctas)).prefix(3) == [UInt32(ctas), 1, 1])
    }

    @Test func flagsAreOne() {
        #expect(Self.value(of: .cooperative)[0] == 1)
        #expect(Self.value(of: .programmaticStreamSerialization)[0] == 1)
    }
}
