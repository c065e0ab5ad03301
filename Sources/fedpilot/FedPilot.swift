import ArgumentParser
import Foundation

/// The `fedpilot` command: federated LoRA fine-tuning of a Llama-family model.
@main
struct FedPilot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fedpilot",
        abstract: "Federated LoRA fine-tuning of a real LLM, steered from the terminal.",
        subcommands: [RunCommand.self, ReplayCommand.self, CompareCommand.self, ReportCommand.self, ExportCommand.self, ModelCommand.self, PrivacyCommand.self, SecAggCommand.self, BenchCommand.self, DemoCommand.self,
                      ServeCommand.self, JoinCommand.self, CertsCommand.self, DataCommand.self],
        defaultSubcommand: RunCommand.self)

    /// ArgumentParser's entry point, except that a usage error (an unknown option, a missing or
    /// malformed argument, a failed `validate()`) exits 1 with one line, like every other bad
    /// input, instead of sysexits' 64 (EX_USAGE) with the usage text. `--help` still exits 0.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            guard exitCode(for: error) == .validationFailure else { exit(withError: error) }
            FileHandle.standardError.write(Data((usageErrorLine(fullMessage(for: error, columns: 10_000)) + "\n").utf8))
            exit(withError: ExitCode(PilotExit.error.rawValue))
        }
    }

    /// ArgumentParser's message for a usage error (error, usage, help pointer on several lines)
    /// as one line: `fedpilot: error: MESSAGE (see 'fedpilot SUB --help')`.
    static func usageErrorLine(_ full: String) -> String {
        let lines = full.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var message = lines.first ?? "invalid arguments"
        if message.hasPrefix("Error: ") { message = String(message.dropFirst("Error: ".count)) }
        let pointer = lines.first { $0.hasPrefix("See '") }.flatMap { line -> String? in
            guard let a = line.firstIndex(of: "'"), let b = line.lastIndex(of: "'"), a < b else { return nil }
            return " (see \(line[a...b]))"
        } ?? ""
        return "fedpilot: error: \(message)\(pointer)"
    }
}

/// Runs a command body, turning any error into one line on standard error and exit code 1
/// (`PilotExit.error`).
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ExitCode { throw e } catch {
        FileHandle.standardError.write(Data("fedpilot: \(error)\n".utf8))
        throw ExitCode(PilotExit.error.rawValue)
    }
}

/// Pretty-prints a JSON-compatible value on standard output.
func printJSON(_ value: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// The default model's location, relative to the working directory.
let defaultModelPath = "models/SmolLM2-135M-Instruct.Q4_1.gguf"
