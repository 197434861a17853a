import ArgumentParser
import Foundation
import FlashRNN

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one problem from NumPy .npy files and write the results as .npy files.",
        discussion: """
        Writes DIR/states.npy [S,B,T,N,D] and DIR/last_states.npy [S,B,N,D]. When --d-states or
        --d-last is given, backward runs too and DIR/d_wx.npy, d_r.npy, d_b.npy and d_states.npy
        (the gradient of the initial states, [S,B,N,D]) are written. Outputs are float64 with
        --dtype float64, else float32.
        """
    )

    @Option(help: "lstm, slstm, gru or elman.") var cell: CellKind = .lstm
    @Option(help: "cpu, cuda-alternating, cuda-fused or auto.") var backend: BackendArgument = .auto
    @Option(help: "Storage type to compute in: float64, float32, float16, bfloat16 (default: float64 on the CPU, bfloat16 on a GPU).")
    var dtype: DType?
    @Option(name: .customLong("wx"), help: "Wx [B,T,G,N,D] (or [T,B,G,N,D] with --layout tbgnd).") var wx: String
    @Option(name: .customLong("r"), help: "R [G,N,D,D] (out × in).") var r: String
    @Option(name: .customLong("b"), help: "b [G,N,D].") var b: String
    @Option(help: "Initial states [S,B,N,D] or [S,B,1,N,D]; zeros when absent.") var states: String?
    @Option(help: "Layout of Wx: btgnd or tbgnd.") var layout: InputLayout = .btgnd
    @Option(name: .customLong("d-states"), help: "Gradient at all states [S,B,T,N,D].") var dStates: String?
    @Option(name: .customLong("d-last"), help: "Gradient at the last states [S,B,N,D].") var dLast: String?
    @Flag(name: .customLong("gradient-recurrent-cut"), help: "Drop the Rᵀ·dG term of dh.") var gradientRecurrentCut = false
    @Option(name: .customLong("gradient-recurrent-clip"), help: "Clamp the Rᵀ·dG term of dh to ±V.") var gradientRecurrentClip: Double?
    @Option(name: .customLong("forward-clip"), help: "Clamp h to ±V in the forward pass.") var forwardClip: Double?
    @Option(help: "Folder for the results (created if missing).") var out: String

    func run() throws {
        try reportingErrors {
            let wxTensor = try NPY.read(path: wx)
            let rTensor = try NPY.read(path: r)
            let bTensor = try NPY.read(path: b)
            let initial = try states.map { try NPY.read(path: $0) }
            let dStatesTensor = try dStates.map { try NPY.read(path: $0) }
            let dLastTensor = try dLast.map { try NPY.read(path: $0) }
            let options = RecurrentOptions(gradientRecurrentCut: gradientRecurrentCut,
                                           gradientRecurrentClip: gradientRecurrentClip,
                                           forwardClip: forwardClip, inputLayout: layout)
            let computeType = dtype ?? BackendRegistry.defaultDType(for: backend.choice)
            let wantsBackward = dStatesTensor != nil || dLastTensor != nil
            let started = Date()
            let result = try RNN.forward(cell: cell, wx: wxTensor, r: rTensor, b: bTensor, initialStates: initial,
                                         options: options, dtype: computeType, backend: backend.choice,
                                         requiresGradient: wantsBackward)
            do {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            } catch {
                throw FlashRNNError.file(path: out, reason: "cannot create the output folder: \(error)")
            }
            let fileType: DType = computeType == .float64 ? .float64 : .float32
            func write(_ tensor: Tensor, _ name: String) throws {
                try NPY.write(tensor, to: (out as NSString).appendingPathComponent(name), as: fileType)
            }
            try write(result.states, "states.npy")
            try write(result.lastStates, "last_states.npy")
            if wantsBackward, let context = result.context {
                let grads = try RNN.backward(context, dStates: dStatesTensor, dLast: dLastTensor)
                try write(grads.dWx, "d_wx.npy")
                try write(grads.dR, "d_r.npy")
                try write(grads.db, "d_b.npy")
                try write(grads.dInitialStates, "d_states.npy")
            }
            let seconds = Date().timeIntervalSince(started)
            printError("flashrnn run: \(cell) \(result.states.shape) \(computeType) on \(context(result)) in \(String(format: "%.3f", seconds)) s → \(out)")
        }
    }

    private func context(_ result: ForwardResult) -> String {
        result.context?.backend.name ?? backend.rawValue
    }
}
