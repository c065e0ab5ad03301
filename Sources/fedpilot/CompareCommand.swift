import ArgumentParser
import Federation
import Foundation
import Privacy

/// `fedpilot compare SCENARIO`: federated fine-tuning against simpler alternatives.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run centralized, local-only, federated and federated+DP on the same data and training budget.")
    @Argument(help: "A scenario file (TOML).") var scenario: String = "scenarios/clinical-pilot.toml"
    @Option(help: "Target ε for the federated + DP run (noise is calibrated to it over the scenario's rounds).") var epsilon: Double = 8
    @Option(help: "Override the number of rounds.") var rounds: Int?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let loaded = try ScenarioLoader.load(path: scenario, overrides: ScenarioOverrides(rounds: rounds))
            let model = try EngineModel.load(path: loaded.modelPath)
            let q = min(1, loaded.selection.fraction)
            let noise = try RDPAccountant.noiseMultiplier(targetEpsilon: epsilon, delta: loaded.privacy.delta,
                                                          sampleRate: q, steps: loaded.rounds)
            var comparison = Comparison(scenario: loaded)
            try comparison.run(model: model, dpNoise: (noise, epsilon)) { line in
                if !json { FileHandle.standardError.write(Data((line + "\n").utf8)) }
            }
            if json {
                try printJSON([
                    "scenario": loaded.name, "base_eval_loss": comparison.baseOverall, "base_per_client": comparison.base,
                    "dp_noise_multiplier": noise, "verdict": comparison.verdict,
                    "approaches": comparison.results.map { r in
                        [
                            "name": r.name, "eval_loss": r.overall, "perplexity": exp(r.overall),
                            "delta_vs_base": comparison.baseOverall - r.overall, "per_client": r.perClient,
                            "bytes": r.bytesMoved, "wall_seconds": r.wallSeconds, "training_tokens": r.trainingTokens,
                            "epsilon": r.epsilon.map { $0 as Any } ?? NSNull(),
                        ] as [String: Any]
                    },
                ] as [String: Any])
            } else {
                func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
                print(pad("approach", 14) + "  eval loss  perplexity     vs base         bytes   seconds  epsilon")
                for r in comparison.results {
                    print(pad(r.name, 14) + String(format: " %10.4f  %10.2f  %+10.4f  %12d  %8.1f  ", r.overall, exp(r.overall),
                                                   comparison.baseOverall - r.overall, r.bytesMoved, r.wallSeconds)
                          + (r.epsilon.map { String(format: "%.2f", $0) } ?? "-"))
                }
                print(pad("base model", 14) + String(format: " %10.4f", comparison.baseOverall))
                print(comparison.verdict)
            }
        }
    }
}
