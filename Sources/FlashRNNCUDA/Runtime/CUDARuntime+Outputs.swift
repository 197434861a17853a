import FlashRNNCore

extension CUDARuntime {
    /// A backend's forward outputs as tensors: copied to the host when the caller gave host
    /// inputs, else left on the device once the stream has finished writing them.
    func forwardOutputs(states: CUDABuffer, last: CUDABuffer, shape: ProblemShape,
                        hostOutputs: Bool) throws -> (states: Tensor, last: Tensor) {
        let statesTensor = Tensor(shape: shape.statesShape, storage: .device(states))
        let lastTensor = Tensor(shape: shape.lastStatesShape, storage: .device(last))
        if hostOutputs { return (try statesTensor.onHost(), try lastTensor.onHost()) }
        try synchronize()
        return (statesTensor, lastTensor)
    }
}
