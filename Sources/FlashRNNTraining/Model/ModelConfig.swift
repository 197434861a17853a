import FlashRNN

/// The recurrence of a model's layers: one of the four cells, or the linear contrast.
public enum ModelCell: String, CaseIterable, Sendable, CustomStringConvertible {
    case lstm, slstm, gru, elman, linear

    /// The core cell, or nil for the linear diagonal recurrence (implemented in this target).
    public var recurrentCell: CellKind? { CellKind(rawValue: rawValue) }
    public var description: String { rawValue }
}

/// Everything that fixes a model's parameter shapes. Stored in checkpoint metadata.
public struct ModelConfig: Sendable, Equatable, CustomStringConvertible {
    public var cell: ModelCell
    /// Tokens in the input alphabet.
    public var vocabulary: Int
    /// Output classes of the read-out.
    public var classes: Int
    /// Hidden size N·D of every layer (also the embedding size).
    public var hidden: Int
    /// Heads N per layer; hidden must be a multiple.
    public var heads: Int
    public var layers: Int

    public init(cell: ModelCell, vocabulary: Int, classes: Int, hidden: Int, heads: Int = 1, layers: Int = 1) {
        self.cell = cell; self.vocabulary = vocabulary; self.classes = classes
        self.hidden = hidden; self.heads = heads; self.layers = layers
    }

    public var headDim: Int { hidden / heads }

    public func validate() throws {
        for (name, value) in [("vocabulary", vocabulary), ("classes", classes), ("hidden", hidden),
                              ("heads", heads), ("layers", layers)] where value < 1 {
            throw TrainingError.invalidConfig("\(name) must be at least 1, got \(value)")
        }
        if hidden % heads != 0 {
            throw TrainingError.invalidConfig("hidden (\(hidden)) must be a multiple of heads (\(heads)): each head has D = hidden / heads")
        }
    }

    /// The fields as checkpoint metadata strings.
    public var metadata: [String: String] {
        ["model.cell": cell.rawValue, "model.vocabulary": "\(vocabulary)", "model.classes": "\(classes)",
         "model.hidden": "\(hidden)", "model.heads": "\(heads)", "model.layers": "\(layers)"]
    }

    /// Reads the fields back from checkpoint metadata; names the field that is missing or invalid.
    public init(metadata: [String: String]) throws {
        func field(_ key: String) throws -> String {
            guard let value = metadata[key] else { throw TrainingError.checkpoint("the metadata lacks the config field \(key)") }
            return value
        }
        func integer(_ key: String) throws -> Int {
            let text = try field(key)
            guard let value = Int(text) else { throw TrainingError.checkpoint("config field \(key) must be an integer, got \"\(text)\"") }
            return value
        }
        let cellText = try field("model.cell")
        guard let cell = ModelCell(rawValue: cellText) else {
            throw TrainingError.checkpoint("config field model.cell has unknown cell \"\(cellText)\"")
        }
        self.init(cell: cell, vocabulary: try integer("model.vocabulary"), classes: try integer("model.classes"),
                  hidden: try integer("model.hidden"), heads: try integer("model.heads"), layers: try integer("model.layers"))
        try validate()
    }

    /// Throws naming the first field where `other` differs.
    public func checkMatches(_ other: ModelConfig, otherName: String = "checkpoint") throws {
        let mine = metadata, theirs = other.metadata
        for key in mine.keys.sorted() where mine[key] != theirs[key] {
            throw TrainingError.checkpoint("config field \(key) differs: the model has \(mine[key]!), the \(otherName) has \(theirs[key] ?? "nothing")")
        }
    }

    public var description: String {
        "\(cell) hidden=\(hidden) heads=\(heads) layers=\(layers) vocabulary=\(vocabulary) classes=\(classes)"
    }
}

/// Errors of the training target.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    case invalidConfig(String)
    case checkpoint(String)

    public var description: String {
        switch self {
        case .invalidConfig(let message): message
        case .checkpoint(let message): "checkpoint: \(message)"
        }
    }
}
