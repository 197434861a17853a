import Testing
import FlashRNNCore
@testable import FlashRNNCUDA

/// The grid sweeps' exchange protocols (fused_sliced_grid.cuh) on the CPU: buffer sizes, the
/// switch and the kernels it names. Numerics: `flashrnn check --backend cuda-fused` on the GPU.
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

    @Test(arguments: GridExchangeProtocol.allCases)
    func gridKernelsNameTheirProtocolAndClustersDoNot(kind: GridExchangeProtocol) throws {
        let grid = FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, slice: 16, ctasPerHead: 48, exchange: .grid, gridExchange: kind)
        // Counter is the kernels' default template argument: its modules keep their names and labels.
        let suffix = kind == .counter ? ">" : ", 1>"
        #expect(grid.gridExchange == kind)
        #expect(grid.forwardKernelName == "&flashrnn::fused::grid_forward_kernel<flashrnn::LSTMCell, flashrnn::BF16, 16, 48, 8, 20" + suffix)
        #expect(grid.backwardKernelName.hasSuffix(", 8, 20" + suffix))
        #expect(grid.description == "fused grid lstm bfloat16 DS=16 KS=48 KW=8" + (kind == .counter ? "" : " tagged"))
        let other = FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, slice: 16, ctasPerHead: 48, exchange: .grid,
                                       gridExchange: kind == .counter ? .tagged : .counter)
        #expect(grid.forwardSpec != other.forwardSpec && grid != other)
        let cluster = FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, slice: 16, ctasPerHead: 16, gridExchange: kind)
        #expect(cluster.gridExchange == nil && cluster.forwardKernelName.hasSuffix(", \(cluster.sync.templateValue)>"))
    }

    @Test func gridVariantsTakeTheSelectedProtocol() throws {
        let v = try #require(FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, headDim: 768))
        #expect(v.exchange == .grid && v.gridExchange == GridExchangeProtocol.selected)
    }
}
