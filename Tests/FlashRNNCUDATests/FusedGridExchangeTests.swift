import Testing
import FlashRNNCore
import FlashRNNKernelParams
@testable import FlashRNNCUDA

/// The grid sweeps' exchange protocols (fused_sliced_grid.cuh) on the CPU: buffer sizes, the
/// switch and the launch parameters' layout. Numerics: `flashrnn check --backend cuda-fused` on the GPU.
struct FusedGridExchangeTests {
    @Test(arguments: [(1, 8 * (64 / 2 + 4)), (2, 8 * (768 / 2 + 4)), (3, 8 * (4 * 1024 / 2 + 4)), (7, 8 * (3 * 576 / 2 + 4))])
    func buffersHoldTwoTilesPerGroupAndTaggedWordsTwiceTheWords(groups: Int, tileWords: Int) {
        #expect(GridExchangeProtocol.counter.exchangeWords(groups: groups, tileWords: tileWords) == groups * 2 * tileWords)
        #expect(GridExchangeProtocol.tagged.exchangeWords(groups: groups, tileWords: tileWords) == groups * 4 * tileWords)
        #expect(GridExchangeProtocol.counter.arrivalCounters(groups: groups) == groups)
        #expect(GridExchangeProtocol.tagged.arrivalCounters(groups: groups) == 0)
    }

    @Test(arguments: CellKind.allCases, [DType.float16, .bfloat16])
    func gridVariantsTileWordsAreWholeSixteenBytePolls(cell: CellKind, dtype: DType) throws {
        // The tagged reader polls two (word, tag) pairs at a time and never reads the rows' padding.
        for d in [529, 768, 896, 1024, 1536, 2048] {
            guard let v = FusedSlicedVariant(cell: cell, dtype: dtype, headDim: d), v.exchange == .grid else { continue }
            for words in [v.forwardTileWords, v.backwardTileWords] {
                #expect(words % 8 == 0 && (words / 8) % 2 == 0, "\(v): \(words) words")
            }
        }
    }

    @Test func theSwitchNamesBothProtocolsAndNothingElse() {
        #expect(GridExchangeProtocol(rawValue: "counter") == .counter)
        #expect(GridExchangeProtocol(rawValue: "tagged") == .tagged)
        #expect(GridExchangeProtocol(rawValue: "Tagged") == nil)
        #expect(GridExchangeProtocol(rawValue: "") == nil)
        #expect(GridExchangeProtocol.selected == (GridExchangeProtocol.override ?? GridExchangeProtocol.policy))
    }

    @Test func launchParametersKeepTheKernelsLayout() {
        // struct FlashRNNGridExchangeParams { u64 exchange; u64 arrivals; int tagged; int padding0; }
        #expect(MemoryLayout<FlashRNNGridExchangeParams>.size == 24)
        #expect(MemoryLayout<FlashRNNGridExchangeParams>.offset(of: \.tagged) == 16)
        var x = FlashRNNGridExchangeParams()
        x.tagged = 1
        #expect(x.exchange == 0 && x.arrivals == 0 && x.padding0 == 0)
    }
}
