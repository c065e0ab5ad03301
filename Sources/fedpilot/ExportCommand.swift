import ArgumentParser
import Federation
import Foundation
import Journal
import Llama

/// `fedpilot export JOURNAL --peft DIR`: a round's global adapter in PEFT's format.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a recorded global adapter as adapter_model.safetensors + adapter_config.json for Hugging Face PEFT.")
    @Argument(help: "A run journal (SQLite).") var journal: String
    @Option(help: "The round to export (default: the last completed one).") var round: Int?
    @Option(help: "Output directory.") var peft: String

    func run() throws {
        try reportingErrors {
            let j = try RunJournal(readingFrom: journal)
            guard let saved = try j.adapterData(round: round) else {
                let last = try j.lastRound()
                throw ValidationError(round.map { "\(journal) has no adapter for round \($0)" }
                    ?? (last > 0 ? "\(journal) holds \(last) round\(last == 1 ? "" : "s") but no global adapter (a local-only comparison run trains one adapter per client)"
                        : "\(journal) has no completed round"))
            }
            guard let recorded = try j.scenario() else { throw ValidationError("\(journal) records no scenario") }
            let scenario = try ScenarioLoader.parse(recorded.text, path: recorded.path)
            let model = try EngineModel.load(path: scenario.modelPath, compute: scenario.compute)
            let adapter = try LoRAAdapter(safetensors: saved.data, path: journal, model: model.model.config, config: scenario.lora)
            let gguf = scenario.modelPath.hasSuffix(".gguf") ? try? GGUFFile(path: scenario.modelPath) : nil
            try PEFTFormat.write(adapter, to: peft, baseModel: PEFTFormat.baseModelID(path: scenario.modelPath, gguf: gguf))
            print("wrote round \(saved.round) of \(scenario.name) (r=\(adapter.config.rank), \(adapter.config.targets.map(\.moduleName).joined(separator: ","))) to \(peft)")
        }
    }
}
