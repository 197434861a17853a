/// The sizes of one recurrence: batch B, length T, heads N, head dimension D.
public struct ProblemShape: Sendable, Hashable, CustomStringConvertible {
    public var cell: CellKind
    public var batch: Int       // B
    public var length: Int      // T
    public var heads: Int       // N
    public var headDim: Int     // D

    public init(cell: CellKind, batch: Int, length: Int, heads: Int, headDim: Int) {
        self.cell = cell; self.batch = batch; self.length = length; self.heads = heads; self.headDim = headDim
    }

    /// `[B, T, G_W, N, D]` or `[T, B, G_W, N, D]`.
    public func wxShape(_ layout: InputLayout) -> [Int] {
        layout == .btgnd ? [batch, length, cell.gatesW, heads, headDim]
                         : [length, batch, cell.gatesW, heads, headDim]
    }
    /// `[G_R, N, D, D]`
    public var rShape: [Int] { [cell.gatesR, heads, headDim, headDim] }
    /// `[G_T, N, D]`
    public var bShape: [Int] { [cell.gatesT, heads, headDim] }
    /// `[S, B, N, D]`
    public var lastStatesShape: [Int] { [cell.states, batch, heads, headDim] }
    /// `[S, B, T, N, D]`
    public var statesShape: [Int] { [cell.states, batch, length, heads, headDim] }

    public var description: String {
        "\(cell) B=\(batch) T=\(length) N=\(heads) D=\(headDim)"
    }
}

/// A validated recurrence: inputs whose shapes agree with each other and with the cell.
///
/// Construction checks every shape and option and throws ``FlashRNNError`` naming the
/// tensor, the expected shape in letters and the actual shape.
public struct RecurrentProblem: Sendable {
    public let shape: ProblemShape
    /// `[B, T, G_W, N, D]`, or `[T, B, G_W, N, D]` with ``InputLayout/tbgnd``.
    public let wx: Tensor
    /// `[G_R, N, D_out, D_in]`
    public let r: Tensor
    /// `[G_T, N, D]`
    public let b: Tensor
    /// `[S, B, N, D]` (a given `[S, B, 1, N, D]` is viewed as this); nil means zeros.
    public let initialStates: Tensor?
    public let options: RecurrentOptions

    public var cell: CellKind { shape.cell }

    public init(cell: CellKind, wx: Tensor, r: Tensor, b: Tensor, initialStates: Tensor? = nil,
                options: RecurrentOptions = RecurrentOptions()) throws {
        try options.validate()
        let g = cell.description
        // R fixes N and D.
        guard r.shape.count == 4, r.shape[0] == cell.gatesR, r.shape[2] == r.shape[3] else {
            let n = r.shape.count == 4 ? r.shape[1] : nil
            let d = r.shape.count == 4 ? r.shape[2] : nil
            throw FlashRNNError.shape(tensor: "R", expected: shapeText([("G", cell.gatesR), ("N", n), ("D", d), ("D", d)]),
                                      actual: r.shape, context: g)
        }
        let heads = r.shape[1], headDim = r.shape[2]
        if let zero = zip(["G", "N", "D", "D"], r.shape).first(where: { $0.1 == 0 }) {
            throw FlashRNNError.emptyDimension(tensor: "R", letter: zero.0, actual: r.shape)
        }
        guard b.shape == [cell.gatesT, heads, headDim] else {
            throw FlashRNNError.shape(tensor: "b", expected: shapeText([("G", cell.gatesT), ("N", heads), ("D", headDim)]),
                                      actual: b.shape, context: g)
        }
        let batchFirst = options.inputLayout == .btgnd
        let leading: [(String, Int?)] = batchFirst ? [("B", nil), ("T", nil)] : [("T", nil), ("B", nil)]
        guard wx.shape.count == 5, Array(wx.shape[2...]) == [cell.gatesW, heads, headDim] else {
            throw FlashRNNError.shape(tensor: "Wx", expected: shapeText(leading + [("G", cell.gatesW), ("N", heads), ("D", headDim)]),
                                      actual: wx.shape, context: g)
        }
        let batch = batchFirst ? wx.shape[0] : wx.shape[1]
        let length = batchFirst ? wx.shape[1] : wx.shape[0]
        if batch == 0 || length == 0 {
            throw FlashRNNError.emptyDimension(tensor: "Wx", letter: batch == 0 ? "B" : "T", actual: wx.shape)
        }
        shape = ProblemShape(cell: cell, batch: batch, length: length, heads: heads, headDim: headDim)

        if let s0 = initialStates {
            let expected = shape.lastStatesShape
            let withOne = [cell.states, batch, 1, heads, headDim]
            guard s0.shape == expected || s0.shape == withOne else {
                // Name both accepted forms, so a caller holding upstream's [S, B, 1, N, D] sees it is fine too.
                throw FlashRNNError.shape(tensor: "initial states",
                                          expected: shapeText([("S", cell.states), ("B", batch), ("N", heads), ("D", headDim)])
                                              + " or " + shapeText([("S", cell.states), ("B", batch), ("1", nil), ("N", heads), ("D", headDim)]),
                                          actual: s0.shape, context: g)
            }
            self.initialStates = s0.reshaped(expected)
        } else {
            self.initialStates = nil
        }
        self.wx = wx
        self.r = r
        self.b = b
        self.options = options
    }

    /// Checks the output gradients given to backward: `dStates [S, B, T, N, D]`, `dLast [S, B, N, D]`.
    public func validateOutputGradients(dStates: Tensor?, dLast: Tensor?) throws {
        let s = shape
        if let dStates, dStates.shape != s.statesShape {
            throw FlashRNNError.shape(tensor: "dStates",
                                      expected: shapeText([("S", s.cell.states), ("B", s.batch), ("T", s.length), ("N", s.heads), ("D", s.headDim)]),
                                      actual: dStates.shape, context: s.cell.description)
        }
        if let dLast, dLast.shape != s.lastStatesShape {
            throw FlashRNNError.shape(tensor: "dLast",
                                      expected: shapeText([("S", s.cell.states), ("B", s.batch), ("N", s.heads), ("D", s.headDim)]),
                                      actual: dLast.shape, context: s.cell.description)
        }
    }
}
