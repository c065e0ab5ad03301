import Federation
import Foundation

/// A thread-safe queue of engine events: the coordinator's sink pushes (any thread),
/// the UI loop drains (main thread). Never blocks the engine for longer than an append.
public final class EventFeed: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [FederationEvent] = []

    public init() {}

    public func push(_ event: FederationEvent) {
        lock.lock()
        events.append(event)
        lock.unlock()
    }

    /// The sink to give the coordinator (or to call from a sink that also journals).
    public var sink: EventSink { { [self] in push($0) } }

    public func drain() -> [FederationEvent] {
        lock.lock()
        defer { lock.unlock() }
        let out = events
        events.removeAll(keepingCapacity: true)
        return out
    }
}

/// The coordinator thread's outcome.
private final class RunOutcome: @unchecked Sendable {
    private let lock = NSLock()
    private var value: (rounds: Int, finalEvalLoss: Double?, stopped: Bool)?
    func set(_ v: (rounds: Int, finalEvalLoss: Double?, stopped: Bool)) { lock.lock(); value = v; lock.unlock() }
    var result: (rounds: Int, finalEvalLoss: Double?, stopped: Bool)? { lock.lock(); defer { lock.unlock() }; return value }
}

/// Runs a pilot under the dashboard: the coordinator on its own thread, the UI loop on this one.
/// The coordinator's sink must push into `feed` (build it with `feed.sink`, or call `feed.push` from your own sink).
///
/// While the dashboard runs, stderr (fd 2) goes to `stderrLog` (a temporary file when nil); its lines
/// show in the event log, and the path is printed on exit when anything was written.
///
/// Keys are polled every 30 ms; events are drained and drawn as they arrive, so a key's
/// effect shows within a frame whatever the engine is doing. `q` (or SIGINT/SIGTERM) sends
/// `.stop` and waits for the coordinator to finish its current step; a second one quits at once.
///
/// - Returns: the exit code of `fedpilot run`: 0 every round completed, 3 the operator stopped
///   the run early, 4 at least one round failed.
public func runDashboard(scenario: Scenario, coordinator: Coordinator, feed: EventFeed,
                         dataStats: [String: DataStats] = [:], startPaused: Bool = false,
                         stderrLog: String? = nil, beforeRun: (@Sendable () -> Void)? = nil) throws -> Int32 {
    var state = DashboardState(scenario: scenario, dataStats: dataStats)
    let terminal = try Terminal()
    defer { terminal.close() }
    // Nothing may write to the terminal behind curses' back: stderr goes to a file while the UI runs.
    let capture = try? StderrCapture(path: stderrLog ?? StderrCapture.defaultPath(journal: nil))
    defer { capture?.finish() }
    state.ui.charset = terminal.charset
    state.ui.width = terminal.width
    state.ui.height = terminal.height
    if startPaused { coordinator.startPaused() }

    let outcome = RunOutcome()
    let began = Date()
    Thread.detachNewThread {
        beforeRun?()   // for example, waiting for a deployment's clients to join
        let result = coordinator.run()
        outcome.set(result)
    }

    var dirty = true
    var shownSecond = -1
    var forced = false
    var handledSignals = 0
    while true {
        // Input: wait up to 30 ms for the first key, then take whatever else is queued.
        var wait = true
        var keysRead = 0
        while keysRead < 64, let input = terminal.read(wait: wait) {
            wait = false
            keysRead += 1
            switch input {
            case .resize:
                state.ui.width = terminal.width
                state.ui.height = terminal.height
                dirty = true
            case .key(let key):
                if state.ui.quitRequested, key == .char("q") || key == .char("Q") {
                    forced = true   // second q: quit now
                }
                for command in handleKey(key, state: &state) { coordinator.commands.send(command) }
                dirty = true
            case .other: break
            }
        }
        if Terminal.stopRequests > handledSignals {
            handledSignals = Terminal.stopRequests
            for command in handleKey(.char("q"), state: &state) { coordinator.commands.send(command) }
            dirty = true
        }

        if let capture {
            let lines = capture.newLines()
            if !lines.isEmpty { state.noteStderr(lines, path: capture.path); dirty = true }
        }

        // Events from the engine.
        let events = feed.drain()
        if !events.isEmpty {
            state.apply(events)
            dirty = true
        }
        let finished = outcome.result != nil
        if !finished {
            state.tick(elapsed: Date().timeIntervalSince(began))
            let second = Int(state.run.wallSeconds)
            if second != shownSecond { shownSecond = second; dirty = true }
        }

        if state.ui.quitRequested && (finished || forced) { break }
        if dirty {
            terminal.draw(render(state, width: terminal.width, height: terminal.height))
            dirty = false
        }
    }
    terminal.close()
    capture?.finish()

    guard let result = outcome.result else { return 3 }   // quit before the coordinator finished
    if result.stopped { return 3 }
    return state.run.failedRounds > 0 ? 4 : 0
}
