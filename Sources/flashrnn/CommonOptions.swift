import ArgumentParser
import Foundation
import FlashRNN

/// Backend names as written on the command line.
enum BackendArgument: String, ExpressibleByArgument, CaseIterable {
    case cpu
    case cudaAlternating = "cuda-alternating"
    case cudaFused = "cuda-fused"
    case auto

    var choice: BackendChoice {
        switch self {
        case .cpu: .cpu
        case .cudaAlternating: .cudaAlternating
        case .cudaFused: .cudaFused
        case .auto: .automatic
        }
    }
}

extension CellKind: ExpressibleByArgument {}
extension DType: ExpressibleByArgument {}
extension InputLayout: ExpressibleByArgument {}

/// Runs `body`, turning library errors into a message on stderr and exit code 1.
func reportingErrors<R>(_ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let error as FlashRNNError {
        printError("error: \(error)")
        throw ExitCode(1)
    }
}

func printError(_ message: String) {
    var stderr = StandardError()
    print(message, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}
