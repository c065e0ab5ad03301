import ArgumentParser
import Dashboard
import Federation
import Foundation
import Journal
import Llama

/// How a pilot shows its progress: the dashboard, JSON lines (`--headless`) or a readable log.
struct PilotOutput {
    var headless: Bool
    var plain: Bool
    var paused: Bool
    var usesDashboard: Bool { !headless && !plain && isatty(1) == 1 }
}

/// A run's journal, opened for a new run or to resume a killed one.
struct PilotJournal {
    var journal: RunJournal?
    /// The global adapter to resume from, and the rounds already completed.
    var start: LoRAAdapter?
    var startRound = 0

    static func open(scenario: Scenario, scenarioPath: String, journal: String?, resume: String?, model: EngineModel) throws -> PilotJournal {
        var out = PilotJournal()
        guard let path = resume ?? journal else { return out }
        let j = try RunJournal(path: path)
        let last = try j.lastRound()
        if resume == nil, last > 0 {
            throw ValidationError("\(path) already holds \(last) rounds; use --resume \(path) to continue it")
        }
        if resume != nil, let saved = try j.adapterData() {
            out.start = try LoRAAdapter(safetensors: saved.data, path: path, model: model.model.config, config: scenario.lora)
        }
        out.startRound = last
        try j.begin(scenario: scenario, text: (try? String(contentsOfFile: scenarioPath, encoding: .utf8)) ?? "")
        out.journal = j
        return out
    }
}

/// Runs a coordinator, whatever its transport, under the dashboard or with printed events.
///
/// - Parameters:
///   - makeCoordinator: builds the coordinator around the event sink it must publish to; also
///     returns each client's data counts for the dashboard.
///   - beforeRun: runs on the coordinator's thread before the first round (a deployment waits
///     for its clients there).
/// - Returns: `fedpilot run`'s exit code: 0 done, 3 stopped early, 4 a round failed.
func drivePilot(_ scenario: Scenario, journal: RunJournal?, output: PilotOutput,
                makeCoordinator: (@escaping EventSink) throws -> (Coordinator, [String: DataStats]),
                beforeRun: (@Sendable (Coordinator) -> Void)? = nil) throws -> Int32 {
    if output.usesDashboard {
        let feed = EventFeed()
        let (coordinator, stats) = try makeCoordinator { event in
            journal?.record(event)
            feed.push(event)
        }
        if let journal { coordinator.onCheckpoint = { journal.checkpoint(round: $0, adapter: $1) } }
        return try runDashboard(scenario: scenario, coordinator: coordinator, feed: feed, dataStats: stats,
                                startPaused: output.paused, beforeRun: beforeRun.map { hook in { @Sendable in hook(coordinator) } })
    }
    let printer = EventPrinter(json: output.headless)
    let (coordinator, _) = try makeCoordinator { event in
        journal?.record(event)
        printer.print(event)
    }
    if let journal { coordinator.onCheckpoint = { journal.checkpoint(round: $0, adapter: $1) } }
    beforeRun?(coordinator)
    let result = coordinator.run()
    if result.stopped { return 3 }
    return printer.failedRounds > 0 ? 4 : 0
}
