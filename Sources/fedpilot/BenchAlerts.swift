import ArgumentParser
import Federation
import Foundation

/// `fedpilot bench alerts`: the alert detector's detection rate and false alarms, measured on a
/// matrix of faults (kind × severity × client × start round × strategy) and clean runs.
struct BenchAlerts: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Measure how soon the alert detector flags a faulty client, and how often it flags a healthy one.")
    @Option(help: "The pilot whose clients, data and training the runs use.") var scenario: String = "scenarios/clinical-pilot.toml"
    @Option(help: "\"tiny\" (a random model, fast) or a model path; default: the scenario's model.") var model: String?
    @Option(help: "Fault runs per kind, severity and strategy.") var trials: Int = 1
    @Option(help: "Clean runs per strategy.") var cleanRuns: Int = 2
    @Option(help: "Rounds per run.") var rounds: Int = 6
    @Option(help: "Fault kinds, comma-separated.") var kinds: String = "degrade,label_noise,backdoor,corrupt_update"
    @Option(help: "Severities, comma-separated.") var severities: String = "0.3,0.5,0.7,0.9"
    @Option(help: "Strategies, comma-separated.") var strategies: String = "fedavg,trimmed_mean"
    @Option(help: "Write every run (scores, alerts and the metrics the detector read) as JSON to this file.") var save: String?
    @Option(help: "Run no pilot: replay the current detector on the runs saved in this file (from --save) and print their matrix.")
    var replay: String?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            guard trials >= 0, cleanRuns >= 0, rounds >= 2 else { throw ValidationError("--trials and --clean-runs must be >= 0 and --rounds >= 2") }
            if let replay {
                let began = Date()
                let saved: [AlertBench.Run]
                do {
                    saved = try JSONDecoder().decode([AlertBench.Run].self, from: Data(contentsOf: URL(fileURLWithPath: replay)))
                } catch {
                    throw ValidationError("--replay \(replay): not a saved matrix (\(error))")
                }
                guard saved.allSatisfy({ !$0.metrics.isEmpty }) else {
                    throw ValidationError("--replay \(replay): runs without recorded metrics (saved by an older build) cannot be replayed")
                }
                let replayed = AlertBench.replay(saved)
                if let save {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    try encoder.encode(replayed).write(to: URL(fileURLWithPath: save))
                }
                try report(replayed, seconds: Date().timeIntervalSince(began), model: "replay of \(replay)")
                return
            }
            var base = try ScenarioLoader.load(path: scenario)
            if let model { base.modelPath = model }
            var matrix = AlertBench.Matrix()
            matrix.trials = trials
            matrix.cleanRuns = cleanRuns
            matrix.rounds = rounds
            matrix.startRounds = [2, 3, 4].filter { $0 <= rounds - 1 }
            matrix.kinds = try kinds.split(separator: ",").map { k in
                guard let kind = FaultKind(rawValue: String(k)) else { throw ValidationError("--kinds: unknown fault kind \"\(k)\"") }
                return kind
            }
            matrix.severities = try severities.split(separator: ",").map { s in
                guard let v = Double(s), v > 0, v <= 1 else { throw ValidationError("--severities: \"\(s)\" is not in (0, 1]") }
                return v
            }
            matrix.strategies = try strategies.split(separator: ",").map { s in
                guard let k = StrategyKind(rawValue: String(s)) else { throw ValidationError("--strategies: unknown strategy \"\(s)\"") }
                return k
            }
            let engine = try EngineModel.load(path: base.modelPath, compute: base.compute)
            let began = Date()
            var finished: [AlertBench.Run] = []
            let runs = try AlertBench.run(base: base, model: engine, matrix: matrix) { done, total, run in
                // Saved after every run, so that a matrix stopped early still has its finished runs.
                finished.append(run)
                if let save {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    try? encoder.encode(finished).write(to: URL(fileURLWithPath: save), options: .atomic)
                }
                if !json {
                    let what = run.kind.map { "\($0.rawValue) \(run.severity) on \(run.client ?? "-") from round \(run.start)" } ?? "clean"
                    FileHandle.standardError.write(Data(String(format: "run %d/%d (%@, %@): %.0f s\n", done, total, what,
                                                              run.strategy.rawValue, Date().timeIntervalSince(began)).utf8))
                }
            }
            if let save {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                try encoder.encode(runs).write(to: URL(fileURLWithPath: save))
            }
            try report(runs, seconds: Date().timeIntervalSince(began), model: base.modelPath)
        }
    }

    func report(_ runs: [AlertBench.Run], seconds: Double, model: String) throws {
        let summary = AlertBench.summarize(runs, warning: AlertThresholds.warning, critical: AlertThresholds.critical)
        let sweep = [2.0, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 8.0].map { AlertBench.summarize(runs, warning: $0, critical: $0) }
        let byStrategy = Set(runs.map(\.strategy)).sorted { $0.rawValue < $1.rawValue }.map { strategy in
            (strategy, AlertBench.summarize(runs.filter { $0.strategy == strategy }, warning: summary.warning, critical: summary.critical))
        }
        if json {
            var object = Self.object(summary, sweep: sweep, runs: runs.count, seconds: seconds, model: model)
            var strategies: [String: Any] = [:]
            for (s, sum) in byStrategy {
                let entry: [String: Any] = ["false_warnings_per_100": sum.falseWarningsPer100, "false_criticals": sum.falseCriticals,
                                            "detected_within_2_severity_ge_0_5": sum.detectedWithin2AtHalfOrMore]
                strategies[s.rawValue] = entry
            }
            object["by_strategy"] = strategies
            if let cost = Self.checkCost(runs) {
                object["update_check_seconds_mean"] = cost.check
                object["train_seconds_mean"] = cost.train
            }
            try printJSON(object)
        } else {
            print(Self.table(summary, sweep: sweep, runs: runs.count, seconds: seconds))
            if let cost = Self.checkCost(runs) {
                print(String(format: "update check: %.3f s per client-round on average (%d client-rounds), local training %.3f s (%.1f%%)",
                             cost.check, cost.count, cost.train, 100 * cost.check / max(cost.train, 1e-9)))
            }
            for (s, sum) in byStrategy {
                print(String(format: "%@: detected within 2 rounds at severity >= 0.5: %.0f%%; false warnings per 100: %.2f; false criticals: %d",
                             s.rawValue, 100 * sum.detectedWithin2AtHalfOrMore, sum.falseWarningsPer100, sum.falseCriticals))
            }
        }
    }

    /// Mean seconds of the clients' update checks and of their local rounds (training and the
    /// check, as the client measured them) over every recorded client-round that has a check.
    static func checkCost(_ runs: [AlertBench.Run]) -> (check: Double, train: Double, count: Int)? {
        let checked = runs.flatMap { $0.metrics.values.flatMap { $0 } }.filter { $0.checkSeconds != nil }
        guard !checked.isEmpty else { return nil }
        let n = Double(checked.count)
        return (checked.reduce(0) { $0 + $1.checkSeconds! } / n, checked.reduce(0) { $0 + $1.trainSeconds } / n, checked.count)
    }

    static func object(_ s: AlertBench.Summary, sweep: [AlertBench.Summary], runs: Int, seconds: Double, model: String) -> [String: Any] {
        [
            "model": model, "runs": runs, "seconds": seconds, "warning_threshold": s.warning, "critical_threshold": s.critical,
            "clean_client_rounds": s.cleanClientRounds, "false_warnings": s.falseWarnings, "false_criticals": s.falseCriticals,
            "task_accuracy_warnings_on_healthy": s.accuracyWarningsOnHealthy, "task_accuracy_warnings_on_faulty": s.accuracyWarningsOnFaulty,
            "false_warnings_per_100": s.falseWarningsPer100, "detected_within_2_severity_ge_0_5": s.detectedWithin2AtHalfOrMore,
            "cells": s.cells.map { c -> [String: Any] in
                ["kind": c.kind.rawValue, "severity": c.severity, "runs": c.runs, "within_1": c.within1, "within_2": c.within2,
                 "median_rounds_to_detection": c.median.map { $0 as Any } ?? NSNull()]
            },
            "sweep": sweep.map { ["threshold": $0.warning, "false_warnings_per_100": $0.falseWarningsPer100,
                                  "detected_within_2_severity_ge_0_5": $0.detectedWithin2AtHalfOrMore] },
        ]
    }

    static func table(_ s: AlertBench.Summary, sweep: [AlertBench.Summary], runs: Int, seconds: Double) -> String {
        var lines = [String(format: "%d runs in %.0f s; warning at score %.1f, critical at %.1f", runs, seconds, s.warning, s.critical),
                     "kind            severity  runs  within 1  within 2  median rounds"]
        for c in s.cells {
            lines.append(c.kind.rawValue.padding(toLength: 15, withPad: " ", startingAt: 0) + String(format: " %8.1f  %4d  %7.0f%%  %7.0f%%  %@", c.severity, c.runs,
                                100 * Double(c.within1) / Double(max(1, c.runs)), 100 * Double(c.within2) / Double(max(1, c.runs)),
                                c.median.map { String(format: "%.1f", $0) } ?? "-"))
        }
        lines.append(String(format: "false warnings: %d in %d clean client-rounds (%.2f per 100); false criticals: %d",
                            s.falseWarnings, s.cleanClientRounds, s.falseWarningsPer100, s.falseCriticals))
        lines.append(String(format: "detected within 2 rounds at severity >= 0.5: %.0f%%", 100 * s.detectedWithin2AtHalfOrMore))
        lines.append("task-accuracy rule (warnings outside the score): \(s.accuracyWarningsOnHealthy) on healthy clients, "
                     + "\(s.accuracyWarningsOnFaulty) on faulty ones")
        lines.append("threshold sweep (warning = threshold): threshold, false warnings per 100, detected within 2 at >= 0.5")
        for t in sweep {
            lines.append(String(format: "  %4.1f  %6.2f  %5.0f%%", t.warning, t.falseWarningsPer100, 100 * t.detectedWithin2AtHalfOrMore))
        }
        return lines.joined(separator: "\n")
    }
}
