import ArgumentParser
import Foundation
import FlashRNN

/// `flashrnn compile-kernels`: compiles every kernel variant the backends can request with
/// NVRTC (no GPU needed) and prints the ptxas register/spill report. Used by CI.
struct CompileKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compile-kernels",
        abstract: "Compile every kernel variant for the given architectures and print registers and spills.")

    @Option(help: "Comma-separated NVRTC architectures.") var arch = "sm_80,sm_90a"
    @Flag(help: "Print the full ptxas report of each module.") var verbose = false
    @Option(help: "Only modules whose label contains this text, e.g. \"fused sliced\".") var only: String?
    @Flag(help: "Store the modules in the kernel disk cache (FLASHRNN_CACHE_DIR) as a run on a device of this architecture would, instead of printing the ptxas report; a machine that gets this folder starts without compiling.")
    var fillCache = false

    func run() throws {
        let version: String
        do { version = try NVRTCLibrary.version() } catch {
            printError("error: \(error)")
            throw ExitCode(1)
        }
        print("NVRTC \(version) from \(try NVRTCLibrary.path())")
        var failures = 0, spills = 0, count = 0
        for architecture in arch.split(separator: ",").map(String.init) {
            let compiler = try KernelCompiler(options: KernelOptions(architecture: architecture, verbosePTXAS: true),
                                              useDiskCache: false)
            let cacheCompiler = fillCache ? try KernelCompiler(options: KernelOptions(architecture: architecture)) : nil
            for spec in KernelCatalog.all() where (only.map(spec.label.contains) ?? true) && spec.runs(on: architecture) {
                count += 1
                let started = Date()
                if let cacheCompiler {
                    do {
                        let (_, origin) = try cacheCompiler.module(mainSource: spec.mainSource, nameExpressions: spec.nameExpressions)
                        print(String(format: "ok   %@ %@ (%@, %.1f s)", architecture, spec.label, "\(origin)", Date().timeIntervalSince(started)))
                    } catch {
                        failures += 1
                        print("FAIL \(architecture) \(spec.label): \(error)")
                    }
                    continue
                }
                do {
                    let module = try compiler.compile(mainSource: spec.mainSource, nameExpressions: spec.nameExpressions)
                    let report = PTXASReport(log: module.log, loweredNames: module.loweredNames)
                    spills += report.entries.filter { $0.spillBytes > 0 }.count
                    print(String(format: "ok   %@ %@ (%.1f s)", architecture, spec.label, Date().timeIntervalSince(started)))
                    for entry in report.entries {
                        print("       \(entry.description)")
                    }
                    if verbose { print(module.log) }
                } catch {
                    failures += 1
                    print("FAIL \(architecture) \(spec.label): \(error)")
                }
            }
        }
        // Filling the cache compiles without the ptxas report, so it cannot count spills.
        print("\(count - failures) compiled, \(failures) failed; "
              + (fillCache ? "spills not read (run without --fill-cache for the report)" : "\(spills) kernels spill"))
        if failures > 0 { throw ExitCode(1) }
    }
}

/// The per-kernel lines of a ptxas `-v` log: registers, stack frame, spill stores/loads.
struct PTXASReport {
    struct Entry: CustomStringConvertible {
        var kernel: String
        var registers = 0, stackFrame = 0, spillBytes = 0, sharedBytes = 0
        var description: String {
            "\(kernel): \(registers) registers, stack \(stackFrame) B, spills \(spillBytes) B, static shared \(sharedBytes) B"
        }
    }
    var entries: [Entry] = []

    init(log: String, loweredNames: [String: String]) {
        let readable = Dictionary(loweredNames.map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var current: Entry?
        func number(before word: String, in line: Substring) -> Int {
            guard let range = line.range(of: word) else { return 0 }
            let head = line[..<range.lowerBound].split(separator: " ").last ?? ""
            return Int(head.trimmingCharacters(in: CharacterSet.decimalDigits.inverted)) ?? 0
        }
        for line in log.split(separator: "\n") {
            if let range = line.range(of: "Compiling entry function '") {
                if let current { entries.append(current) }
                let mangled = line[range.upperBound...].prefix { $0 != "'" }
                current = Entry(kernel: readable[String(mangled)].map { String($0.dropFirst()) } ?? String(mangled))
            } else if line.contains("stack frame") {
                current?.stackFrame = number(before: "bytes stack frame", in: line)
                current?.spillBytes = number(before: "bytes spill stores", in: line) + number(before: "bytes spill loads", in: line)
            } else if line.contains("Used") && line.contains("registers") {
                current?.registers = number(before: "registers", in: line)
                current?.sharedBytes = number(before: "bytes smem", in: line)
            }
        }
        if let current { entries.append(current) }
    }
}
