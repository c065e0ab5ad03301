import ArgumentParser
import Dashboard
import Federation
import Foundation
import Journal
import Privacy
import Report

/// `fedpilot compare SCENARIO`: federated fine-tuning against simpler alternatives.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run centralized, local-only, federated, federated+DP, the base model and retrieval on the same data and budget.",
        discussion: """
        In a terminal the comparison is shown live in the dashboard's compare view; --plain prints a \
        table and --json a JSON object instead. --journal-dir DIR records each approach in its own run \
        journal (DIR/federated.sqlite, federated-dp.sqlite, centralized.sqlite, local-only.sqlite), which \
        `fedpilot report`, `fedpilot replay` and `fedpilot export` open like any run's journal; \
        centralized and local-only are recorded as one round that spends the whole training budget. \
        The base model and, with labelled data, retrieval (BM25 over the pooled training text: the k \
        most similar training examples as few-shot context) and the kNN label vote follow; they train \
        nothing and have no journal.
        """)
    @Argument(help: "A scenario file (TOML).") var scenario: String = "scenarios/clinical-pilot.toml"
    @Option(help: "Target ε for the federated + DP run (noise is calibrated to it over the scenario's rounds).") var epsilon: Double = 8
    @Option(help: "Override the number of rounds.") var rounds: Int?
    @Option(help: "Record each approach in a run journal in this directory.") var journalDir: String?
    @Option(help: "Training examples put in the prompt by the retrieval approach (and neighbours in the kNN vote).") var retrievalK: Int = 3
    @Option(help: "Also write the comparison as an HTML page to this file.") var html: String?
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
            guard retrievalK >= 1 else { throw ValidationError("--retrieval-k must be at least 1, got \(retrievalK)") }
            var comparison = Comparison(scenario: loaded)
            comparison.retrievalK = retrievalK
            if !json && !plain && isatty(0) == 1 && isatty(1) == 1 {
                guard let finished = try runLive(&comparison, model: model, noise: noise, recorder: recorder) else { return .stopped }
                comparison = finished
            } else {
                try comparison.run(model: model, dpNoise: (noise, epsilon), recorder: recorder) { line in
                    if !json { FileHandle.standardError.write(Data((line + "\n").utf8)) }
                }
            }
            if json { try printComparisonJSON(comparison, noise: noise) } else { printTable(comparison) }
            if let html {
                try CompareReport.write(comparison, to: html)
                if !json { print("html: \(html)") }
            }
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
                                               approaches: Comparison.approaches(dp: true) + Comparison.baselines(labelled: true),
                                               dpTarget: (epsilon, noise)))
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
                                  $0.record(CompareSnapshot.details(r), name: r.name)
                              }
                          }, progress: { _ in })
                let verdict = c.verdict, base = c.baseOverall, perClient = c.base
                feed.update { $0.verdict = verdict; $0.baseEvalLoss = base; $0.basePerClient = perClient; $0.dropUnstarted() }
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
        try printJSON(comparison.jsonObject(noise: noise))
    }

    func printTable(_ comparison: Comparison) {
        func pad(_ s: String, _ n: Int) -> String { s.padding(toLength: max(n, s.count), withPad: " ", startingAt: 0) }
        func num(_ v: Double?, _ format: String, _ width: Int) -> String {
            let text = v.flatMap { $0.isFinite ? String(format: format, $0) : nil } ?? "-"
            return String(repeating: " ", count: max(0, width - text.count)) + text
        }
        let task = !comparison.taskLabels.isEmpty
        print(pad("approach", 14) + "  eval loss     vs base" + (task ? "  accuracy  macro-F1" : "")
              + "  ms/pred  train cpu s  infer cpu s  peak MiB         bytes  epsilon  privacy")
        for r in comparison.results {
            let pooled = r.pooledTask
            var line = pad(r.name, 14) + " " + num(r.overall, "%.4f", 10) + "  " + num(comparison.baseOverall - r.overall, "%+.4f", 10)
            if task { line += "  " + num(pooled.accuracy, "%.3f", 8) + "  " + num(pooled.macroF1, "%.3f", 8) }
            let peak = [r.training, r.inference].compactMap { $0?.peakMemoryBytes }.max().map { Double($0) / 1_048_576 }
            line += "  " + num(r.latencySeconds.map { $0 * 1000 }, "%.1f", 7) + "  " + num(r.training?.cpuSeconds, "%.1f", 11)
                + "  " + num(r.inference?.cpuSeconds, "%.1f", 11) + "  " + num(peak, "%.0f", 8)
                + "  " + String(format: "%12d", r.bytesMoved) + "  " + pad(r.epsilon.map { String(format: "%.2f", $0) } ?? "-", 7)
                + "  " + (r.privacy?.summary ?? "-")
            print(line)
        }
        if task {
            print("accuracy per client:")
            for c in comparison.scenario.clients.map(\.id) {
                print("  " + pad(c, 12) + comparison.results.map { r in
                    " \(r.name) " + (r.tasks[c]?.accuracy.map { String(format: "%.3f", $0) } ?? "-")
                }.joined(separator: ","))
            }
        }
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

