import FlashRNN
@testable import FlashRNNTraining
import Foundation
import Testing

@Suite struct CheckpointTests {
    func temporaryPath(_ name: String) -> String {
        NSTemporaryDirectory() + "flashrnn-\(name)-\(UInt64.random(in: 0...UInt64.max)).safetensors"
    }

    func trainedOneStep(_ config: ModelConfig) throws -> (SequenceModel<Float>, AdamW<Float>) {
        let model = try SequenceModel<Float>(config: config, backend: .cpu, seed: 3)
        let optimizer = AdamW<Float>(learningRate: 0.01)
        var rng = SplitMix64(seed: 4)
        let data = StateTrackingTask.parity.batch(size: 2, length: 5, rng: &rng)
        let logits = try model.forward(tokens: data.tokens, batch: 2, length: 5, training: true).logits
        try model.backward(CrossEntropy.evaluate(logits: logits, labels: data.labels, classes: 2).dLogits)
        optimizer.update(model.parameters)
        return (model, optimizer)
    }

    @Test(arguments: [ModelCell.lstm, .gru, .linear])
    func roundTripRestoresParametersAndOptimizer(_ cell: ModelCell) throws {
        let config = ModelConfig(cell: cell, vocabulary: 2, classes: 2, hidden: 6, heads: 2, layers: 2)
        let (model, optimizer) = try trainedOneStep(config)
        let path = temporaryPath("roundtrip"); defer { try? FileManager.default.removeItem(atPath: path) }
        try Checkpoint.save(model: model, optimizer: optimizer, extra: ["task": "parity"], to: path)

        let (config2, metadata) = try Checkpoint.config(at: path)
        #expect(config2 == config && metadata["task"] == "parity")
        let restored = try SequenceModel<Float>(config: config2, backend: .cpu, seed: 99)
        let restoredOptimizer = AdamW<Float>()
        try Checkpoint.load(into: restored, optimizer: restoredOptimizer, from: path)
        for (a, b) in zip(model.parameters, restored.parameters) { #expect(a.name == b.name && a.value == b.value) }
        #expect(restoredOptimizer.step == 1 && restoredOptimizer.learningRate == 0.01)
        #expect(restoredOptimizer.firstMoment == optimizer.firstMoment && restoredOptimizer.secondMoment == optimizer.secondMoment)
        let tokens = [0, 1, 1, 0, 1, 0]
        #expect(try model.forward(tokens: tokens, batch: 2, length: 3).logits == restored.forward(tokens: tokens, batch: 2, length: 3).logits)
    }

    @Test func fileFollowsTheSafetensorsLayout() throws {
        let data = try SafeTensors.encode(["b": .init(shape: [2], values: [1, -2]), "a": .init(shape: [1, 1], values: [0.5])],
                                          metadata: ["k": "v"])
        let length = data.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect(length % 8 == 0 && data.count == 8 + length + 12)
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as! [String: Any]
        #expect((header["__metadata__"] as? [String: String]) == ["k": "v"])
        let a = header["a"] as! [String: Any]
        #expect(a["dtype"] as? String == "F32" && a["shape"] as? [Int] == [1, 1] && a["data_offsets"] as? [Int] == [0, 4])
        #expect((header["b"] as! [String: Any])["data_offsets"] as? [Int] == [4, 12])
        // Little-endian float32 0.5 = 0x3F000000.
        #expect(Array(data[(8 + length)..<(8 + length + 4)]) == [0, 0, 0, 0x3F])
        let decoded = try SafeTensors.decode(data)
        #expect(decoded.tensors["b"] == .init(shape: [2], values: [1, -2]) && decoded.metadata == ["k": "v"])
    }

    @Test func mismatchedConfigNamesTheField() throws {
        let (model, optimizer) = try trainedOneStep(ModelConfig(cell: .lstm, vocabulary: 2, classes: 2, hidden: 6, heads: 2))
        let path = temporaryPath("config"); defer { try? FileManager.default.removeItem(atPath: path) }
        try Checkpoint.save(model: model, optimizer: optimizer, to: path)
        let other = try SequenceModel<Float>(config: ModelConfig(cell: .lstm, vocabulary: 2, classes: 2, hidden: 8, heads: 2), seed: 1)
        let error = #expect(throws: TrainingError.self) { try Checkpoint.load(into: other, from: path) }
        #expect(error?.description.contains("model.hidden") == true)
        let gru = try SequenceModel<Float>(config: ModelConfig(cell: .gru, vocabulary: 2, classes: 2, hidden: 6, heads: 2), seed: 1)
        let cellError = #expect(throws: TrainingError.self) { try Checkpoint.load(into: gru, from: path) }
        #expect(cellError?.description.contains("model.cell") == true)
    }

    @Test func mismatchedOrMissingTensorIsNamed() throws {
        let config = ModelConfig(cell: .lstm, vocabulary: 2, classes: 2, hidden: 4, heads: 1)
        let model = try SequenceModel<Float>(config: config, seed: 1)
        var tensors: [String: SafeTensors.Entry] = [:]
        for p in model.parameters { tensors[p.name] = .init(shape: p.shape, values: p.value) }
        tensors["layers.0.R"] = .init(shape: [4, 1, 2, 8], values: [Float](repeating: 0, count: 64))
        let path = temporaryPath("tensor"); defer { try? FileManager.default.removeItem(atPath: path) }
        try SafeTensors.write(tensors, metadata: config.metadata, to: path)
        let before = model.parameters.map(\.value)
        let error = #expect(throws: TrainingError.self) { try Checkpoint.load(into: model, from: path) }
        #expect(error?.description.contains("layers.0.R") == true)
        #expect(model.parameters.map(\.value) == before, "a failed load leaves the model unchanged")

        tensors["layers.0.R"] = nil
        try SafeTensors.write(tensors, metadata: config.metadata, to: path)
        let missing = #expect(throws: TrainingError.self) { try Checkpoint.load(into: model, from: path) }
        #expect(missing?.description.contains("lacks the tensor layers.0.R") == true)
        // Without optimizer state, asking for it is an error too.
        tensors["layers.0.R"] = .init(shape: model.parameters[2].shape, values: model.parameters[2].value)
        try SafeTensors.write(tensors, metadata: config.metadata, to: path)
        let noOptimizer = #expect(throws: TrainingError.self) { try Checkpoint.load(into: model, optimizer: AdamW<Float>(), from: path) }
        #expect(noOptimizer?.description.contains("optimizer") == true)
    }
}
