import Foundation

/// How the CTAs of one (head, batch slice) of cudaFused's grid sweeps (a head beyond one cluster)
/// exchange each step's tile through global memory (fused_sliced_grid.cuh; the grid kernels'
/// template argument, so each protocol has its own modules):
/// * `counter`: plain word stores, then a barrier on a global arrival counter (fence, atomic,
///   spin) and a copy of the whole tile from L2;
/// * `tagged`: every word stored together with its step's tag as one 64-bit store; readers poll
///   their share of the words until each carries the step's tag: no fence, no atomic, no second
///   L2 round trip. The buffer holds (word, tag) pairs, twice the counter's words, zeroed at
///   allocation so that no tag of an earlier call matches.
public enum GridExchangeProtocol: String, Sendable, CaseIterable {
    case counter, tagged

    /// The protocol the grid sweeps launch with. On the H200 (round gridll, docs/performance-fused.md;
    /// B = 16, T = 1024, 768 × 1, fw / fw+bw ms) LSTM bfloat16 counter 2.225 / 7.206, tagged 6.779 /
    /// 31.266; float16, sLSTM and GRU alike: tagged is correct (checks, outputs bit-identical to
    /// counter) but every CTA's threads polling the same L2 lines cost it three times the step.
    public static let policy = GridExchangeProtocol.counter
    /// FLASHRNN_FUSED_GRID_EXCHANGE=counter|tagged (measuring), read once; anything else: the policy.
    public static let override = ProcessInfo.processInfo.environment["FLASHRNN_FUSED_GRID_EXCHANGE"].flatMap { Self(rawValue: $0) }
    public static var selected: GridExchangeProtocol { override ?? policy }

    /// 32-bit words of the exchange buffer of `groups` (head, batch slice) groups whose tile has
    /// `tileWords` words: two tile buffers per group, each word alone (counter) or with its tag.
    public func exchangeWords(groups: Int, tileWords: Int) -> Int {
        groups * 2 * tileWords * (self == .tagged ? 2 : 1)
    }

    /// Arrival counters the launch needs: one per group for `counter`, none for `tagged`.
    public func arrivalCounters(groups: Int) -> Int { self == .counter ? groups : 0 }

    /// The grid kernels' PROTOCOL (kGridCounter, kGridTagged).
    var templateValue: Int { switch self { case .counter: 0; case .tagged: 1 } }
}
