import Foundation
import FlashRNNCore

extension CUDARuntime {
    /// A problem's inputs in `dtype` on the device (copied in when the caller gave host tensors),
    /// and its forward's state outputs [S, B, T, N, D] and last states [S, B, N, D] in `dtype`.
    func forwardOperands(_ problem: RecurrentProblem, dtype: DType) throws
        -> (wx: Tensor, r: Tensor, b: Tensor, s0: Tensor?, states: CUDABuffer, last: CUDABuffer) {
        let shape = problem.shape, S = problem.cell.states
        let (B, T, N, D) = (shape.batch, shape.length, shape.heads, shape.headDim)
        return (try problem.wx.onDevice(dtype, runtime: self), try problem.r.onDevice(dtype, runtime: self),
                try problem.b.onDevice(dtype, runtime: self), try problem.initialStates?.onDevice(dtype, runtime: self),
                try CUDABuffer(runtime: self, dtype: dtype, count: S * B * T * N * D),
                try CUDABuffer(runtime: self, dtype: dtype, count: S * B * N * D))
    }

    /// Whether forward and backward wait for the stream before returning device tensors
    /// (`FLASHRNN_SYNCHRONOUS=1`, for debugging: a failing kernel is then reported by the call
    /// that launched it). By default they return at once: device outputs are ordered on this
    /// runtime's stream, as every later library call, copy (`onHost`) and NCCL collective is;
    /// code that reads ``CUDABuffer/address`` on another stream calls ``synchronize()`` first.
    /// Waiting cost each call the GPU's idle time until the host had launched the next one
    /// (≈ 0.1 ms of a training step at LSTM 64 × 12, B = 16, T = 1024).
    public static let synchronousCalls = ProcessInfo.processInfo.environment["FLASHRNN_SYNCHRONOUS"] == "1"

    /// A backend's forward outputs as tensors: copied to the host when the caller gave host
    /// inputs, else left on the device, stream-ordered (``synchronousCalls``).
    func forwardOutputs(states: CUDABuffer, last: CUDABuffer, shape: ProblemShape,
                        hostOutputs: Bool) throws -> (states: Tensor, last: Tensor) {
        let statesTensor = Tensor(shape: shape.statesShape, storage: .device(states))
        let lastTensor = Tensor(shape: shape.lastStatesShape, storage: .device(last))
        if hostOutputs { return (try statesTensor.onHost(), try lastTensor.onHost()) }
        if Self.synchronousCalls { try synchronize() }
        return (statesTensor, lastTensor)
    }
}

extension CUDARuntime {
    /// A backend's gradients as tensors, handed over like ``forwardOutputs(states:last:shape:hostOutputs:)``.
    func backwardOutputs(dWx: CUDABuffer, wxShape: [Int], dR: CUDABuffer, db: CUDABuffer, dInitial: CUDABuffer,
                         shape: ProblemShape, hostOutputs: Bool) throws -> Gradients {
        let tensors = [Tensor(shape: wxShape, storage: .device(dWx)),
                       Tensor(shape: shape.rShape, storage: .device(dR)),
                       Tensor(shape: shape.bShape, storage: .device(db)),
                       Tensor(shape: shape.lastStatesShape, storage: .device(dInitial))]
        let handed = hostOutputs ? try tensors.map { try $0.onHost() } : tensors
        if !hostOutputs && Self.synchronousCalls { try synchronize() }
        return Gradients(dWx: handed[0], dR: handed[1], db: handed[2], dInitialStates: handed[3])
    }
}
