import ArgumentParser
import Dashboard
import Federation
import Foundation
import Journal
import Privacy

/// `fedpilot compare SCENARIO`: federated fine-tuning against simpler alternatives.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run centralized, local-only, federated and federated+DP on the same data and training budget.",
        discussion: """
        In a terminal the comparison is shown live in the dashboard's compare view; --plain prints a \
        table and --json a JSON object instead. --journal-dir DIR records each approach in its own run \
        journal (DIR/federated.sqlite, federated-dp.sqlite, centralized.sqlite, local-only.sqlite), which \
        `fedpilot report`, `fedpilot replay` and `fedpilot export` open like any run's journal; \
        centralized and local-only are recorded as one round that spends the whole training budget.
        """)
    @Argument(help: "A scenario file (TOML).") var scenario: String = "scenarios/clinical-pilot.toml"
    @Option(help: "Target ε for the federated + DP run (noise is calibrated to it over the scenario's rounds).") var epsilon: Double = 8
    @Option(help: "Override the number of rounds.") var rounds: Int?
    @Option(help: "Record each approach in a run journal in this directory.") var journalDir: String?
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Print a plain table instead of the live view (the default when output is not a terminal).") var plain = false

    /// The journal file name of an approach.
    static func journalName(_ approach: String) -> String { approach.replacingOccurrences(of: "+", with: "-") + ".sqlite" }

    func run() throws {
        let exit: PilotExit = try reportingErrors {
            let loaded = try ScenarioLoader.load(path: scenario, overrides: ScenarioOverrides(rounds: rounds))
            let recorder = try journalRecorder(for: loaded)
            let model = try EngineModel.load(path: loaded.modelPath, compute: loaded.compute)
            let q = min(1, loaded.selection.fraction)
            let noise = try RDPAccountant.noiseMultiplier(targetEpsilon: epsilon, delta: loaded.privacy.delta,
                                                          sampleRate: q, steps: loaded.rounds)
            var comparison = Comparison(scenario: loaded)
            if !json && !plain && isatty(0) == 1 && isatty(1) == 1 {
                guard let finished = try runLive(&comparison, model: model, noise: noise, recorder: recorder) else { return .stopped }
                comparison = finished
            } else {
                try comparison.run(model: model, dpNoise: (noise, epsilon), recorder: recorder) { line in
                    if !json { FileHandle.standardError.write(Data((line + "\n").utf8)) }
                }
            }
            if json { try printComparisonJSON(comparison, noise: noise) } else { printTable(comparison) }
            if let dir = journalDir, !json {
                print("journals: " + Comparison.approaches(dp: true).map { (dir as NSString).appendingPathComponent(Self.journalName($0)) }
                    .joined(separator: ", "))
            }
            return .completed
        }
        try exit.throwUnlessCompleted()
    }

    /// One journal per approach in --journal-dir; refuses journals that already hold rounds.
    func journalRecorder(for loaded: Scenario) throws -> (@Sendable (String, Scenario) throws -> ApproachRecorder?)? {
        guard let dir = journalDir else { return nil }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for approach in Comparison.approaches(dp: true) {
            let path = (dir as NSString).appendingPathComponent(Self.journalName(approach))
            if FileManager.default.fileExists(atPath: path) {
                throw ValidationError("\(path) already exists; pass an empty or new --journal-dir")
            }
        }
        let text = (try? String(contentsOfFile: scenario, encoding: .utf8)) ?? ""
        let noiseNote = epsilon
        return { approach, s in
            let path = (dir as NSString).appendingPathComponent(Self.journalName(approach))
            let journal = try RunJournal(path: path)
            var recorded = text
            switch approach {
            case "federated+dp":
                recorded += String(format: "\n# fedpilot compare: this run had [privacy] differential_privacy = true, noise_multiplier = %.6f (target ε %.2f)\n",
                                   s.privacy.noiseMultiplier, noiseNote)
            case "centralized", "local-only":
                recorded += "\n# fedpilot compare: \(approach), recorded as one round that spends the whole training budget\n"
            default: break
            }
            try journal.begin(scenario: s, text: recorded)
            return ApproachRecorder(record: journal.record, checkpoint: { journal.checkpoint(round: $0, adapter: $1) })
        }
    }

    /// Runs the comparison on another thread under the dashboard's compare view.
    /// - Returns: the finished comparison, or nil when the user abandoned it.
    func runLive(_ comparison: inout Comparison, model: EngineModel, noise: Double,
                 recorder: (@Sendable (String, Scenario) throws -> ApproachRecorder?)?) throws -> Comparison? {
        let s = comparison.scenario
        let feed = CompareFeed(CompareSnapshot(scenario: s.name, model: s.modelPath, rounds: s.rounds, clients: s.clients.map(\.id),
                                               approaches: Comparison.approaches(dp: true), dpTarget: (epsilon, noise)))
        let outcome = CompareOutcome()
        let start = comparison
        let target = epsilon
        Thread.detachNewThread {
            var c = start
            do {
                try c.run(model: model, dpNoise: (noise, target), recorder: recorder,
                          observe: { name, event in feed.update { $0.apply(event, approach: name) } },
                          finished: { r in
                              feed.update {
                                  $0.finish(name: r.name, evalLoss: r.overall, perClient: r.perClient, bytes: r.bytesMoved,
                                            seconds: r.wallSeconds, epsilon: r.epsilon, trainingTokens: r.trainingTokens)
                              }
                          }, progress: { _ in })
                let verdict = c.verdict, base = c.baseOverall, perClient = c.base
                feed.update { $0.verdict = verdict; $0.baseEvalLoss = base; $0.basePerClient = perClient }
                outcome.set(.success(c))
            } catch {
                outcome.set(.failure(error))
                feed.update { snapshot in
                    for i in snapshot.approaches.indices where snapshot.approaches[i].status != .done { snapshot.approaches[i].status = .done }
                    snapshot.verdict = "failed: \(error)"
                }
            }
        }
        let completed = try showCompare(feed: feed)
        guard completed, let result = outcome.value else { return nil }
        return try result.get()
    }

    func printComparisonJSON(_ comparison: Comparison, noise: Double) throws {
        /// Task fields of an approach: written only when the data has labels.
        func task(_ tasks: [String: TaskScore], into o: inout [String: Any]) {
            guard !tasks.isEmpty else { return }
            let pooled = tasks.values.reduce(TaskScore()) { $0.merged(with: $1) }
            o["task_accuracy"] = pooled.accuracy
            o["macro_f1"] = pooled.macroF1
            o["per_client_task_accuracy"] = tasks.compactMapValues(\.accuracy)
            o["per_client_macro_f1"] = tasks.compactMapValues(\.macroF1)
        }
        var approaches: [[String: Any]] = comparison.results.map { r in
            var o: [String: Any] = [
                "name": r.name, "eval_loss": r.overall, "perplexity": exp(r.overall),
                "delta_vs_base": comparison.baseOverall - r.overall, "per_client": r.perClient,
                "bytes": r.bytesMoved, "wall_seconds": r.wallSeconds, "training_tokens": r.trainingTokens,
                "epsilon": r.epsilon.map { $0 as Any } ?? NSNull(),
            ]
            task(r.tasks, into: &o)
            return o
        }
        // The model as shipped, no fine-tuning: on-prem inference of the base model.
        var base: [String: Any] = [
            "name": "base-model", "eval_loss": comparison.baseOverall, "perplexity": exp(comparison.baseOverall),
            "delta_vs_base": 0.0, "per_client": comparison.base, "bytes": 0, "wall_seconds": 0.0, "training_tokens": 0,
            "epsilon": 0.0,
        ]
        task(comparison.baseTasks, into: &base)
        approaches.append(base)
        var out: [String: Any] = [
            "scenario": comparison.scenario.name, "base_eval_loss": comparison.baseOverall, "base_per_client": comparison.base,
            "dp_noise_multiplier": noise, "verdict": comparison.verdict, "approaches": approaches,
        ]
        if !comparison.taskLabels.isEmpty { out["task_labels"] = comparison.taskLabels }
        try printJSON(out)
    }

    func printTable(_ comparison: Comparison) {
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        let task = !comparison.taskLabels.isEmpty
        func accuracy(_ tasks: [String: TaskScore]) -> String {
            guard task else { return "" }
            let pooled = tasks.values.reduce(TaskScore()) { $0.merged(with: $1) }
            return "  " + (pooled.accuracy.map { String(format: "%8.3f", $0) } ?? "       -")
                + "  " + (pooled.macroF1.map { String(format: "%8.3f", $0) } ?? "       -")
        }
        print(pad("approach", 14) + "  eval loss  perplexity     vs base         bytes   seconds  epsilon" + (task ? "  accuracy  macro-F1" : ""))
        for r in comparison.results {
            print(pad(r.name, 14) + String(format: " %10.4f  %10.2f  %+10.4f  %12d  %8.1f  ", r.overall, exp(r.overall),
                                           comparison.baseOverall - r.overall, r.bytesMoved, r.wallSeconds)
                  + pad(r.epsilon.map { String(format: "%.2f", $0) } ?? "-", 7) + accuracy(r.tasks))
        }
        print(pad("base model", 14) + String(format: " %10.4f  %10.2f  %+10.4f  %12d  %8.1f  ", comparison.baseOverall,
                                               exp(comparison.baseOverall), 0.0, 0, 0.0) + pad("0", 7) + accuracy(comparison.baseTasks))
        print(comparison.verdict)
    }
}

/// The comparison thread's result, read by the UI thread once the view closes.
private final class CompareOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Comparison, any Error>?
    func set(_ r: Result<Comparison, any Error>) { lock.lock(); result = r; lock.unlock() }
    var value: Result<Comparison, any Error>? { lock.lock(); defer { lock.unlock() }; return result }
}

