import Foundation
import Testing
@testable import FlashRNNCore

/// Shape and option mistakes give errors that name the tensor, the expected shape in the
/// dimension letters, and what was given; exact strings, so wording changes are deliberate.
@Suite struct ErrorMessageTests {
    struct Mistake: Sendable, CustomTestStringConvertible {
        var name: String
        var cell: CellKind = .lstm
        var wx: [Int] = [3, 5, 4, 2, 4]
        var r: [Int] = [4, 2, 4, 4]
        var b: [Int] = [4, 2, 4]
        var initialStates: [Int]? = nil
        var options = RecurrentOptions()
        var message: String
        var testDescription: String { name }
    }

    static let mistakes: [Mistake] = [
        Mistake(name: "R not square", r: [4, 2, 4, 3],
                message: "R must be [G=4, N=2, D=4, D=4] for lstm, got [4, 2, 4, 3]"),
        Mistake(name: "R rank 3", r: [4, 2, 4],
                message: "R must be [G=4, N, D, D] for lstm, got [4, 2, 4]"),
        Mistake(name: "R gates of lstm given to gru", cell: .gru, wx: [3, 5, 3, 1, 3], r: [4, 1, 3, 3], b: [4, 1, 3],
                message: "R must be [G=3, N=1, D=3, D=3] for gru, got [4, 1, 3, 3]"),
        Mistake(name: "R empty N", r: [4, 0, 4, 4],
                message: "R has an empty dimension N=0 (shape [4, 0, 4, 4]); every dimension must be at least 1"),
        Mistake(name: "R empty D", r: [4, 2, 0, 0],
                message: "R has an empty dimension D=0 (shape [4, 2, 0, 0]); every dimension must be at least 1"),
        Mistake(name: "Wx rank 4", wx: [3, 5, 4, 8],
                message: "Wx must be [B, T, G=4, N=2, D=4] for lstm, got [3, 5, 4, 8]"),
        Mistake(name: "Wx hidden size split differently", wx: [3, 5, 4, 4, 2],
                message: "Wx must be [B, T, G=4, N=2, D=4] for lstm, got [3, 5, 4, 4, 2]"),
        Mistake(name: "Wx time-major with wrong gates", cell: .elman, wx: [5, 3, 4, 2, 4], r: [1, 2, 4, 4], b: [1, 2, 4],
                options: RecurrentOptions(inputLayout: .tbgnd),
                message: "Wx must be [T, B, G=1, N=2, D=4] for elman, got [5, 3, 4, 2, 4]"),
        Mistake(name: "b flattened", b: [4, 8],
                message: "b must be [G=4, N=2, D=4] for lstm, got [4, 8]"),
        Mistake(name: "GRU b with only G_R gates", cell: .gru, wx: [3, 5, 3, 2, 4], r: [3, 2, 4, 4], b: [3, 2, 4],
                message: "b must be [G=4, N=2, D=4] for gru, got [3, 2, 4]"),
        Mistake(name: "initial states batch", initialStates: [2, 4, 2, 4],
                message: "initial states must be [S=2, B=3, N=2, D=4] or [S=2, B=3, 1, N=2, D=4] for lstm, got [2, 4, 2, 4]"),
        Mistake(name: "initial states of lstm given to slstm", cell: .slstm, initialStates: [2, 3, 2, 4],
                message: "initial states must be [S=4, B=3, N=2, D=4] or [S=4, B=3, 1, N=2, D=4] for slstm, got [2, 3, 2, 4]"),
        Mistake(name: "initial states with T", initialStates: [2, 3, 5, 2, 4],
                message: "initial states must be [S=2, B=3, N=2, D=4] or [S=2, B=3, 1, N=2, D=4] for lstm, got [2, 3, 5, 2, 4]"),
        Mistake(name: "zero B", wx: [0, 5, 4, 2, 4],
                message: "Wx has an empty dimension B=0 (shape [0, 5, 4, 2, 4]); every dimension must be at least 1"),
        Mistake(name: "zero T time-major", wx: [0, 3, 4, 2, 4], options: RecurrentOptions(inputLayout: .tbgnd),
                message: "Wx has an empty dimension T=0 (shape [0, 3, 4, 2, 4]); every dimension must be at least 1"),
        Mistake(name: "negative forwardClip", options: RecurrentOptions(forwardClip: -1),
                message: "forwardClip must be a finite value ≥ 0, got -1.0"),
        Mistake(name: "NaN forwardClip", options: RecurrentOptions(forwardClip: .nan),
                message: "forwardClip must be a finite value ≥ 0, got nan"),
        Mistake(name: "negative gradientRecurrentClip", options: RecurrentOptions(gradientRecurrentClip: -0.5),
                message: "gradientRecurrentClip must be a finite value ≥ 0, got -0.5"),
        Mistake(name: "infinite gradientRecurrentClip", options: RecurrentOptions(gradientRecurrentClip: .infinity),
                message: "gradientRecurrentClip must be a finite value ≥ 0, got inf"),
    ]

    @Test(arguments: mistakes)
    func problemErrorMessage(mistake: Mistake) {
        do {
            _ = try RecurrentProblem(cell: mistake.cell, wx: Tensor.zeros(mistake.wx), r: Tensor.zeros(mistake.r),
                                     b: Tensor.zeros(mistake.b), initialStates: mistake.initialStates.map { Tensor.zeros($0) },
                                     options: mistake.options)
            Issue.record("accepted: \(mistake.name)")
        } catch let error as FlashRNNError {
            #expect(error.description == mistake.message)
        } catch {
            Issue.record("not a FlashRNNError: \(error)")
        }
    }

    /// The same shapes, corrected, are accepted (so each mistake above is the only thing wrong).
    @Test func correctedShapesAreAccepted() throws {
        _ = try RecurrentProblem(cell: .lstm, wx: Tensor.zeros([3, 5, 4, 2, 4]), r: Tensor.zeros([4, 2, 4, 4]),
                                 b: Tensor.zeros([4, 2, 4]), initialStates: Tensor.zeros([2, 3, 2, 4]))
        _ = try RecurrentProblem(cell: .lstm, wx: Tensor.zeros([3, 5, 4, 2, 4]), r: Tensor.zeros([4, 2, 4, 4]),
                                 b: Tensor.zeros([4, 2, 4]), initialStates: Tensor.zeros([2, 3, 1, 2, 4]))
        _ = try RecurrentProblem(cell: .elman, wx: Tensor.zeros([5, 3, 1, 2, 4]), r: Tensor.zeros([1, 2, 4, 4]),
                                 b: Tensor.zeros([1, 2, 4]), options: RecurrentOptions(inputLayout: .tbgnd))
        _ = try RecurrentProblem(cell: .gru, wx: Tensor.zeros([3, 5, 3, 2, 4]), r: Tensor.zeros([3, 2, 4, 4]),
                                 b: Tensor.zeros([4, 2, 4]), options: RecurrentOptions(gradientRecurrentClip: 0, forwardClip: 0))
    }

    static func smallProblem() throws -> RecurrentProblem {
        try RecurrentProblem(cell: .lstm, wx: Tensor.zeros([1, 3, 4, 1, 2]), r: Tensor.zeros([4, 1, 2, 2]), b: Tensor.zeros([4, 1, 2]))
    }

    @Test(arguments: [DType.float16, .bfloat16])
    func cpuRejectsHalfPrecision(dtype: DType) throws {
        #expect(throws: FlashRNNError.unsupportedDType(backend: "cpu", dtype: dtype, supported: [.float64, .float32])) {
            try CPUBackend().run(Self.smallProblem(), dtype: dtype, saveForBackward: false)
        }
        let error = FlashRNNError.unsupportedDType(backend: "cpu", dtype: dtype, supported: [.float64, .float32])
        #expect(error.description == "the cpu backend cannot compute in \(dtype); it supports float64, float32")
    }

    @Test func outputGradientShapes() throws {
        let context = try #require(CPUBackend().run(Self.smallProblem(), dtype: .float64, saveForBackward: true).context)
        #expect(throws: FlashRNNError.self) { try runBackward(context, dStates: Tensor.zeros([2, 1, 2, 1, 2]), dLast: nil) }
        do {
            _ = try runBackward(context, dStates: Tensor.zeros([2, 1, 2, 1, 2]), dLast: nil)
        } catch let error as FlashRNNError {
            #expect(error.description == "dStates must be [S=2, B=1, T=3, N=1, D=2] for lstm, got [2, 1, 2, 1, 2]")
        }
        do {
            _ = try runBackward(context, dStates: nil, dLast: Tensor.zeros([2, 1, 3, 1, 2]))
            Issue.record("accepted dLast with a T dimension")
        } catch let error as FlashRNNError {
            #expect(error.description == "dLast must be [S=2, B=1, N=1, D=2] for lstm, got [2, 1, 3, 1, 2]")
        }
        // Both may be nil: zero gradients everywhere.
        let zero = try runBackward(context, dStates: nil, dLast: nil)
        #expect(try zero.dR.doubles().allSatisfy { $0 == 0 })
    }
}
