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

/// Runs a pilot's coordinator, whatever its transport, and shows the run: in the dashboard, as
/// JSON lines (`--headless`) or as a readable log. Build the driver first, give its `sink` to the
/// coordinator, then call `run`.
///
/// Under the dashboard the coordinator runs on an `EngineThread` and the main thread shows the
/// dashboard, which gets the run's events through an `EventFeed` and sends operator commands
/// through the coordinator's command queue; otherwise the coordinator runs on the calling thread.
final class PilotDriver {
    let scenario: Scenario
    let opened: PilotJournal
    let output: PilotOutput
    /// Where the coordinator publishes: the journal, then the dashboard's feed or the printer.
    let sink: EventSink
    private let feed: EventFeed?
    private let failures: RoundFailures

    init(_ scenario: Scenario, journal opened: PilotJournal, output: PilotOutput) {
        self.scenario = scenario
        self.opened = opened
        self.output = output
        let journal = opened.journal
        let failures = RoundFailures()
        self.failures = failures
        if output.usesDashboard {
            let feed = EventFeed()
            self.feed = feed
            sink = { event in
                journal?.record(event)
                failures.note(event)
                feed.push(event)
            }
        } else {
            let printer = EventPrinter(json: output.headless)
            feed = nil
            sink = { event in
                journal?.record(event)
                failures.note(event)
                printer.print(event)
            }
        }
    }

    /// Runs the coordinator to the end of the run, or until the operator quits the dashboard.
    ///
    /// - Parameters:
    ///   - dataStats: each client's data counts, for the dashboard.
    ///   - beforeRun: runs on the coordinator's thread before the first round (a deployment waits
    ///     for its clients there).
    func run(_ coordinator: Coordinator, dataStats: [String: DataStats] = [:],
             beforeRun: (@Sendable () -> Void)? = nil) throws -> PilotExit {
        try prepare(coordinator)
        guard let feed else {
            beforeRun?()
            let result = coordinator.run()
            return PilotExit(stopped: result.stopped, failedRounds: failures.count)
        }
        // The screen takes over the terminal and stderr before the engine can write anything.
        let screen = try DashboardScreen(stderrLog: StderrCapture.defaultPath(journal: opened.journal?.path))
        if output.paused { coordinator.startPaused() }
        let engine = EngineThread()
        engine.start({
            beforeRun?()
            return coordinator.run()
        }, finished: { feed.finish() })
        screen.show(scenario: scenario, dataStats: dataStats, feed: feed, send: coordinator.commands.send)
        guard let result = engine.result else { return .stopped }   // the operator quit before the run finished
        return PilotExit(stopped: result.stopped, failedRounds: failures.count)
    }

    /// A resumed run restores the server state, and every completed round is checkpointed.
    private func prepare(_ coordinator: Coordinator) throws {
        let journal = opened.journal
        if let state = opened.point.state {
            do { try coordinator.restore(state) } catch {
                throw ValidationError("\(journal?.path ?? "journal"): the server state of round \(state.round) does not fit this run: \(error)")
            }
        }
        journal?.attach(to: coordinator)
    }
}
