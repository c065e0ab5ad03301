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
    /// Where a resumed run continues: its global adapter, rounds done and server state.
    var point = ResumePoint()
    var start: LoRAAdapter? { point.adapter }
    var startRound: Int { point.startRound }

    static func open(scenario: Scenario, scenarioPath: String, journal: String?, resume: String?, model: EngineModel) throws -> PilotJournal {
        var out = PilotJournal()
        guard let path = resume ?? journal else { return out }
        if let journal, resume != nil, journal != resume {
            throw ValidationError("--journal \(journal) and --resume \(path) name different files; --resume alone continues a run in its journal")
        }
        let text = (try? String(contentsOfFile: scenarioPath, encoding: .utf8)) ?? ""
        let j: RunJournal
        if resume != nil {
            j = try RunJournal(resuming: path)
            if let warning = try j.checkResume(scenario: scenario, text: text) {
                FileHandle.standardError.write(Data("fedpilot: warning: \(warning)\n".utf8))
            }
        } else {
            try RunJournal.refuseForeignFile(at: path)
            j = try RunJournal(path: path)
        }
        let last = try j.lastRound()
        if resume == nil, last > 0 {
            throw ValidationError("\(path) already holds \(last) rounds; use --resume \(path) to continue it")
        }
        if resume != nil {
            out.point = try j.resumePoint(model: model.model.config, lora: scenario.lora)
            if let warning = out.point.warning { FileHandle.standardError.write(Data("fedpilot: warning: \(warning)\n".utf8)) }
        }
        try j.begin(scenario: scenario, text: text)
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
func drivePilot(_ scenario: Scenario, journal opened: PilotJournal, output: PilotOutput,
                makeCoordinator: (@escaping EventSink) throws -> (Coordinator, [String: DataStats]),
                beforeRun: (@Sendable (Coordinator) -> Void)? = nil) throws -> Int32 {
    let journal = opened.journal
    /// A resumed run restores the server state, and every completed round is checkpointed.
    func prepare(_ coordinator: Coordinator) throws {
        if let state = opened.point.state {
            do { try coordinator.restore(state) } catch {
                throw ValidationError("\(journal?.path ?? "journal"): the server state of round \(state.round) does not fit this run: \(error)")
            }
        }
        journal?.attach(to: coordinator)
    }
    if output.usesDashboard {
        let feed = EventFeed()
        let (coordinator, stats) = try makeCoordinator { event in
            journal?.record(event)
            feed.push(event)
        }
        try prepare(coordinator)
        return try runDashboard(scenario: scenario, coordinator: coordinator, feed: feed, dataStats: stats,
                                startPaused: output.paused, stderrLog: StderrCapture.defaultPath(journal: journal?.path),
                                beforeRun: beforeRun.map { hook in { @Sendable in hook(coordinator) } })
    }
    let printer = EventPrinter(json: output.headless)
    let (coordinator, _) = try makeCoordinator { event in
        journal?.record(event)
        printer.print(event)
    }
    try prepare(coordinator)
    beforeRun?(coordinator)
    let result = coordinator.run()
    if result.stopped { return 3 }
    return printer.failedRounds > 0 ? 4 : 0
}
