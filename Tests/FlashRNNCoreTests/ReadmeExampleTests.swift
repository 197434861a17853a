import Testing
import FlashRNN

/// The README's example, kept compiling and producing the shapes it promises.
@Test func readmeExample() throws {
    let (B, T, N, D) = (8, 100, 1, 64)
    let cell = CellKind.lstm
    func random(_ shape: [Int], scale: Double = 1) -> Tensor {
        Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in Double.random(in: -1...1) * scale })
    }
    let wx = random([B, T, cell.gatesW, N, D])
    let r = random([cell.gatesR, N, D, D], scale: 1 / 8)
    let b = random([cell.gatesT, N, D])

    let result = try RNN.forward(cell: cell, wx: wx, r: r, b: b, backend: .cpu, requiresGradient: true)
    #expect(result.states.shape == [2, B, T, N, D])
    let dStates = random(result.states.shape)
    let grads = try RNN.backward(try #require(result.context), dStates: dStates, dLast: nil)
    #expect(grads.dR.shape == [4, 1, 64, 64])
    #expect(try grads.dR.doubles().contains { $0 != 0 })
}
