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
}

/// Runs a command body, turning any error into one line on standard error and exit code 1.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ExitCode { throw e } catch {
        FileHandle.standardError.write(Data("fedpilot: \(error)\n".utf8))
        throw ExitCode(1)
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
