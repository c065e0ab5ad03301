import ArgumentParser
import Dashboard
import Federation
import Foundation
import Journal
import Llama

/// `fedpilot run SCENARIO`: a federated pilot, in-process.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a federated pilot from a scenario file.",
        discussion: """
        With --headless, every event is printed as one JSON object per line.
        \(PilotExit.help)
        """)
    @Argument(help: "A scenario file (TOML).") var scenario: String = "scenarios/clinical-pilot.toml"
    @Flag(help: "Print events as JSON lines instead of opening the dashboard.") var headless = false
    @Option(help: "Override the number of rounds.") var rounds: Int?
    @Option(help: "Override the scenario's seed.") var seed: UInt64?
    @Option(help: "Record the run in this SQLite journal.") var journal: String?
    @Option(help: "Resume a killed run from its journal, after its last completed round.") var resume: String?
    @Flag(help: "Print a readable progress log instead of opening the dashboard (the default when output is not a terminal).") var plain = false
    @Flag(help: "Open the dashboard paused (space resumes, s steps one round).") var paused = false
    @Option(help: "Clients that train or evaluate at once, each on its share of the cores (default: one per core). Results do not depend on it.")
    var parallelClients: Int?

    func validate() throws {
        if let n = parallelClients, n < 1 { throw ValidationError("--parallel-clients must be at least 1, got \(n)") }
    }

    func run() throws {
        let exit: PilotExit = try reportingErrors {
            let overrides = ScenarioOverrides(rounds: rounds, seed: seed)
            let loaded = try ScenarioLoader.load(path: scenario, overrides: overrides)
            let model = try EngineModel.load(path: loaded.modelPath, compute: loaded.compute)
            let opened = try PilotJournal.open(scenario: loaded, scenarioPath: scenario, journal: journal, resume: resume, model: model)
            let driver = PilotDriver(loaded, journal: opened, output: PilotOutput(headless: headless, plain: plain, paused: paused))
            let pilot = try PilotBuilder.build(loaded, start: opened.start, startRound: opened.startRound, model: model,
                                               parallelClients: parallelClients, sink: driver.sink)
            let stats = pilot.transport.clients.mapValues { DataStats(train: $0.data.train.count, validation: $0.data.validation.count) }
            return try driver.run(pilot.coordinator, dataStats: stats)
        }
        try exit.throwUnlessCompleted()
    }
}

/// Writes events to standard output: JSON lines, or a readable progress log.
final class EventPrinter: @unchecked Sendable {
    let json: Bool
    private let lock = NSLock()

    init(json: Bool) { self.json = json }

    func print(_ event: FederationEvent) {
        lock.lock()
        defer { lock.unlock() }
        if json {
            FileHandle.standardOutput.write(Data((event.jsonLine + "\n").utf8))
            return
        }
        guard let line = Self.describe(event) else { return }
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func describe(_ event: FederationEvent) -> String? {
        func f(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "-" }
        switch event {
        case .runStarted(let scenario, let model, let strategy, let rounds, let clients, _):
            return "\(scenario): \(clients.count) clients, \(rounds) rounds, \(strategy), model \(model)"
        case .roundStarted(let r, let selected): return "round \(r): \(selected.joined(separator: ", "))"
        case .clientUpdate(let m) where m.status == .done || m.status == .rejected || m.status == .dropped
            || m.status == .timedOut || m.status == .failed:
            return String(format: "  %-14@ %-9@ loss %@ -> %@  eval %@  Δbase %@  norm %@  drift %@  up %d B",
                          m.client, m.status.rawValue, f(m.localLossStart), f(m.localLossEnd), f(m.evalLoss),
                          f(m.qualityDeltaBase), f(m.updateNorm), f(m.drift), m.bytesUp)
                + (m.taskAccuracy.map { String(format: "  acc %.2f (Δbase %@)", $0, f(m.taskAccuracyDeltaBase)) } ?? "")
        case .roundCompleted(let m):
            var line = String(format: "  global eval loss %@, %d B up, %d B down, %.1f s wall, %.1f s simulated",
                              f(m.globalEvalLoss), m.bytesUp, m.bytesDown, m.wallSeconds, m.simulatedSeconds)
            if let a = m.globalTaskAccuracy {
                line += String(format: "; accuracy %.3f (base %@), macro-F1 %@", a, f(m.baseTaskAccuracy), f(m.globalMacroF1))
            }
            return line
        case .taskLabels(_, let labels, let source):
            return "task: \(labels.count) labels from the \(source): \(labels.joined(separator: ", "))"
        case .roundFailed(let r, let reason): return "round \(r) failed: \(reason)"
        case .alert(let a): return "  ALERT \(a.client ?? "run"): \(a.reason)"
        case .operatorAction(_, let action, let applied): return "  operator: \(action)\(applied ? "" : " (no effect)")"
        case .sample(let round, let client, let prompt, let text, _):
            return "  sample \(client) after round \(round): \(prompt) [\(text)]"
        case .runFinished(let rounds, let final, let base, let wall, _):
            return String(format: "finished %d rounds in %.1f s: eval loss %@ (base %@)", rounds, wall, f(final), f(base))
        default: return nil
        }
    }
}
