import ArgumentParser
import Federation
import Foundation

/// `fedpilot data split SCENARIO --out DIR`: every client's train and validation examples as
/// the engine sees them, so another framework can be run on exactly the same data.
struct DataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Inspect a scenario's client data.",
        subcommands: [DataSplitCommand.self])
}

struct DataSplitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "split",
        abstract: "Write each client's train and validation examples (after partitioning and the held-out split) as JSON lines.",
        discussion: """
        DIR receives CLIENT.train.jsonl and CLIENT.validation.jsonl for every client, in the order \
        the engine holds them (evaluation scores the first max_examples_per_client validation lines), \
        and split.json with the counts. Plain text is written as {"text": ...}; instruction data \
        as {"prompt": ..., "completion": ...} with the prompt already in the model's chat form. \
        It reads the scenario's local data files, for reproducing a simulated pilot in another \
        framework; a deployed coordinator never holds client text and has no such command.
        """)
    @Argument(help: "A scenario file (TOML).") var scenario: String
    @Option(help: "Output directory (created if needed).") var out: String

    func run() throws {
        try reportingErrors {
            let scenario = try ScenarioLoader.load(path: scenario)
            let datasets = try PilotBuilder.loadClientData(scenario)
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            var summary: [String: Any] = ["scenario": scenario.name,
                                          "max_examples_per_client": scenario.evaluation.maxExamplesPerClient,
                                          "sequence_length": scenario.training.sequenceLength]
            var clients: [[String: Any]] = []
            for spec in scenario.clients {
                let data = datasets[spec.id]!
                for (part, examples) in [("train", data.train), ("validation", data.validation)] {
                    let path = (out as NSString).appendingPathComponent("\(spec.id).\(part).jsonl")
                    try Self.jsonLines(examples).write(to: URL(fileURLWithPath: path))
                }
                clients.append(["id": spec.id, "domain": spec.domain, "train": data.train.count, "validation": data.validation.count])
                print("\(spec.id): \(data.train.count) train, \(data.validation.count) validation")
            }
            summary["clients"] = clients
            let json = try JSONSerialization.data(withJSONObject: summary, options: [.prettyPrinted, .sortedKeys])
            try json.write(to: URL(fileURLWithPath: (out as NSString).appendingPathComponent("split.json")))
            print("wrote \(scenario.clients.count * 2) files and split.json to \(out)")
        }
    }

    static func jsonLines(_ examples: [TextExample]) throws -> Data {
        var out = Data()
        for e in examples {
            let object: [String: String] = e.prompt.isEmpty ? ["text": e.completion] : ["prompt": e.prompt, "completion": e.completion]
            out += try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
            out += Data("\n".utf8)
        }
        return out
    }
}
