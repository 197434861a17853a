import FlashRNN

/// What training on `--gpus N` (or the NCCL path on one GPU) needs, checked in order; each
/// refusal names what is missing and what to do.
public enum MultiGPURequest {
    /// Nil when NCCL training over `gpus` ranks can start, else why not.
    /// - Parameters:
    ///   - devices: the CUDA device count, or why CUDA is unavailable.
    ///   - nccl: NCCL's version, or why it did not load.
    public static func refusal(gpus: Int, devices: Result<Int, any Error>, nccl: Result<String, any Error>) -> String? {
        guard gpus >= 1 else { return "--gpus must be at least 1, got \(gpus)" }
        let count: Int
        switch devices {
        case .failure(let error): return "--gpus \(gpus) needs CUDA, which is unavailable: \(error)"
        case .success(let found): count = found
        }
        guard count >= gpus else {
            return "--gpus \(gpus) asks for \(gpus) GPUs; this machine has \(count). Use --gpus \(max(1, count)) or fewer"
        }
        if case .failure(let error) = nccl {
            return "--gpus \(gpus) needs NCCL (libnccl.so.2) to all-reduce the gradients: \(error)"
        }
        guard gpus == 1 else {
            return "--gpus \(gpus): training over several GPUs is not built yet: the recurrent backends run on CUDA device 0 only "
                + "(the shared runtime and their kernel caches are per process, not per device), so replica r cannot run on device r. "
                + "Train on one GPU (--gpus 1); --nccl runs the NCCL path with one rank"
        }
        return nil
    }

    /// The NCCL all-reduce over devices 0..<`gpus`, or a ``TrainingError`` with the refusal.
    public static func allReduce(gpus: Int) throws -> NCCLGradientAllReduce {
        let devices = Result<Int, any Error> { try NCCLCommunicator.deviceCount() }
        let nccl = NCCLAPI.shared.mapError { $0 as any Error }.flatMap { api in Result { try api.version() } }
        if let refusal = refusal(gpus: gpus, devices: devices, nccl: nccl) { throw TrainingError.invalidConfig(refusal) }
        do {
            return NCCLGradientAllReduce(communicator: try NCCLCommunicator(ranks: gpus, nccl: try NCCLAPI.shared.get()))
        } catch {
            throw TrainingError.invalidConfig("--gpus \(gpus): could not set up NCCL: \(error)")
        }
    }
}
