import ArgumentParser
import Federation
import Foundation
import Llama
import TensorMath

struct BenchEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Time label scoring (the classification metric) on a scenario's labelled validation data, with the shared-prefix KV cache and with one full forward pass per label.")
    @Argument(help: "The scenario whose clients' validation data is scored.") var scenario: String = "scenarios/clinical-pilot.toml"
    @Option(help: "Labelled examples per client (default: the scenario's task_examples or max_examples_per_client).") var examples: Int?
    @Option(help: "Numeric threads (the project's kernels; OpenBLAS too with FEDPILOT_GEMM=blas).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Skip the one-forward-per-label reference (slow).") var skipNaive = false
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            guard threads > 0, (examples ?? 1) > 0 else { throw ValidationError("--threads and --examples must be positive") }
            ComputeThreads.set(threads)
            let s = try ScenarioLoader.load(path: scenario)
            let engine = try EngineModel.load(path: s.modelPath)
            let datasets = try PilotBuilder.loadClientData(s)
            let task = s.evaluation.task
            let scorers = s.clients.map { spec in
                LabelScorer(validation: datasets[spec.id]!.validation, template: task.template(forDomain: spec.domain),
                            limit: examples ?? task.examplesPerClient ?? s.evaluation.maxExamplesPerClient,
                            contextTokens: task.contextTokens, encoding: engine.encoding, calibrate: task.calibrate)
            }
            let labels = task.labels ?? Array(Set(scorers.flatMap(\.validationLabels))).sorted()
            let count = scorers.reduce(0) { $0 + $1.exampleCount }
            guard !labels.isEmpty, count > 0 else {
                throw ValidationError("\(scenario): no labelled validation examples to score")
            }
            let adapter = try LoRAAdapter(model: engine.model.config, config: s.lora, seed: s.seed)
            func time(sharedPrefix: Bool) throws -> (seconds: Double, scores: [TaskScore?]) {
                let began = Date()
                let scores = try scorers.map { try $0.score(model: engine.model, adapter: adapter, labels: labels, sharedPrefix: sharedPrefix) }
                return (Date().timeIntervalSince(began), scores)
            }
            _ = try scorers.first { $0.exampleCount > 0 }.map { try $0.score(model: engine.model, adapter: adapter, labels: Array(labels.prefix(2))) }
            let shared = try time(sharedPrefix: true)
            let naive = skipNaive ? nil : try time(sharedPrefix: false)
            let scored = Double(count * labels.count)
            var result: [String: Any] = [
                "scenario": s.name, "examples": count, "labels": labels.count,
                "mean_prompt_tokens": Double(scorers.reduce(0) { $0 + $1.promptTokens }) / Double(count),
                "labels_scored_per_s": scored / shared.seconds, "seconds_per_example": shared.seconds / Double(count),
                "blas_threads": threads, "peak_rss_bytes": ProcessStats.peakResidentBytes,
            ]
            if let naive {
                result["labels_scored_per_s_naive"] = scored / naive.seconds
                result["speedup"] = naive.seconds / shared.seconds
                result["same_predictions"] = naive.scores == shared.scores
            }
            if json { try printJSON(result) } else {
                var line = String(format: "%d examples x %d labels (mean prompt %.0f tokens): %.1f labels scored/s with the shared-prefix cache (%.3f s per example)",
                                  count, labels.count, result["mean_prompt_tokens"] as! Double, scored / shared.seconds, shared.seconds / Double(count))
                if let naive {
                    line += String(format: ", %.1f labels/s with one forward per label (%.1fx), same predictions: %@",
                                   scored / naive.seconds, naive.seconds / shared.seconds, naive.scores == shared.scores ? "yes" : "NO")
                }
                print(line)
            }
        }
    }
}
