/// The four recurrent cells. Gate and state order is part of the API (spec section 3).
public enum CellKind: String, CaseIterable, Sendable, CustomStringConvertible {
    case lstm, slstm, gru, elman

    /// Gates that take `R·h` (G_R).
    public var gatesR: Int {
        switch self {
        case .lstm, .slstm: 4
        case .gru: 3
        case .elman: 1
        }
    }

    /// Gates that take `Wx` (G_W).
    public var gatesW: Int {
        switch self {
        case .lstm, .slstm: 4
        case .gru: 3
        case .elman: 1
        }
    }

    /// Gates that have a bias (G_T); also the number of pre-activations per element.
    public var gatesT: Int {
        switch self {
        case .lstm, .slstm, .gru: 4
        case .elman: 1
        }
    }

    /// States per cell (S); state 0 is always the hidden output h.
    public var states: Int {
        switch self {
        case .lstm: 2
        case .slstm: 4
        case .gru, .elman: 1
        }
    }

    /// The pre-activation index where the G_R recurrent gates start.
    public var recurrentGateOffset: Int { 0 }

    /// The pre-activation index where the G_W input gates start (GRU: r, z, n follow g).
    public var inputGateOffset: Int { self == .gru ? 1 : 0 }

    public var stateNames: [String] {
        switch self {
        case .lstm: ["h", "c"]
        case .slstm: ["h", "c", "n", "m"]
        case .gru, .elman: ["h"]
        }
    }

    public var description: String { rawValue }
}
