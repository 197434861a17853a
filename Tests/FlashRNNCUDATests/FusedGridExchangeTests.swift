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
        for backward in [false, true] {
            #expect(GridExchangeProtocol.selected(backward: backward)
                    == (GridExchangeProtocol.override ?? GridExchangeProtocol.policy(backward: backward)))
        }
        // Measured on the H200 (round gridll): the forward polls tags, the backward keeps the counter.
        #expect(GridExchangeProtocol.policy(backward: false) == .tagged)
        #expect(GridExchangeProtocol.policy(backward: true) == .counter)
    }

    @Test(arguments: GridExchangeProtocol.allCases)
    func gridKernelsNameTheirProtocolAndClustersDoNot(kind: GridExchangeProtocol) throws {
        let grid = FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, slice: 16, ctasPerHead: 48, exchange: .grid, gridExchange: kind)
        // Counter is the kernels' default template argument: its modules keep their names and labels.
        let suffix = kind == .counter ? ">" : ", 1>"
        #expect(grid.forwardGridExchange == kind && grid.backwardGridExchange == kind)
        #expect(grid.forwardKernelName == "&flashrnn::fused::grid_forward_kernel<flashrnn::LSTMCell, flashrnn::BF16, 16, 48, 8, 20" + suffix)
        #expect(grid.backwardKernelName.hasSuffix(", 8, 20" + suffix))
        #expect(grid.description == "fused grid lstm bfloat16 DS=16 KS=48 KW=8" + (kind == .counter ? "" : " tagged"))
        let other = FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, slice: 16, ctasPerHead: 48, exchange: .grid,
                                       gridExchange: kind == .counter ? .tagged : .counter)
        #expect(grid.forwardSpec != other.forwardSpec && grid != other)
        let cluster = FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, slice: 16, ctasPerHead: 16, gridExchange: kind)
        #expect(cluster.forwardGridExchange == nil && cluster.backwardGridExchange == nil
                && cluster.forwardKernelName.hasSuffix(", \(cluster.sync.templateValue)>"))
    }

    @Test func gridVariantsTakeEachSweepsSelectedProtocol() throws {
        let v = try #require(FusedSlicedVariant(cell: .lstm, dtype: .bfloat16, headDim: 768))
        #expect(v.exchange == .grid)
        #expect(v.forwardGridExchange == GridExchangeProtocol.selected(backward: false))
        #expect(v.backwardGridExchange == GridExchangeProtocol.selected(backward: true))
        // Each sweep's module names its own protocol.
        #expect(v.forwardKernelName.hasSuffix(v.forwardGridExchange == .tagged ? ", 1>" : ", 20>"))
        #expect(v.backwardKernelName.hasSuffix(v.backwardGridExchange == .tagged ? ", 1>" : ", 20>"))
        #expect(v.forwardSpec.label.hasSuffix((v.forwardGridExchange == .tagged ? " tagged" : "") + " forward"))
        #expect(v.backwardSpec.label.hasSuffix((v.backwardGridExchange == .tagged ? " tagged" : "") + " backward"))
    }
}
