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

    /// The protocol each grid sweep launches with, from the H200 (docs/performance-fused.md, round
    /// gridll; B = 16, T = 1024, 768 × 1, fw / fw+bw ms). Tagged with its first poll (one piece at a
    /// time) was three times the counter's step (LSTM bfloat16 6.779 / 31.266 against 2.225 /
    /// 7.206); with every piece still behind re-polled at once (23:43 call) LSTM bfloat16 counter
    /// 2.112 / 6.908, tagged 1.782 / 8.125; float16 2.154 / 8.088 against 1.899 / 9.232; sLSTM
    /// 2.143 / 7.882 against 1.830 / 9.446; GRU 1.962 / 5.626 against 1.751 / 7.542: the forward
    /// (a tile of h, 6 pieces per thread) is faster tagged, the backward (dG of every gate, 24
    /// pieces per thread) slower. So the forward polls tags and the backward keeps the counter.
    public static func policy(backward: Bool) -> GridExchangeProtocol { backward ? .counter : .tagged }
    /// FLASHRNN_FUSED_GRID_EXCHANGE=counter|tagged (measuring; both sweeps), read once; anything else: the policy.
    public static let override = ProcessInfo.processInfo.environment["FLASHRNN_FUSED_GRID_EXCHANGE"].flatMap { Self(rawValue: $0) }
    public static func selected(backward: Bool) -> GridExchangeProtocol { override ?? policy(backward: backward) }

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
