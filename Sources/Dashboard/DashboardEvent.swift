import Federation
import Foundation

/// Everything the live dashboard reacts to, as one enum: the loop takes these from a
/// `DashboardInput` and hands each one to `LiveDashboard.handle(_:)`.
public enum DashboardEvent: Sendable, Equatable {
    /// A key press.
    case key(Key)
    /// The terminal's new size.
    case resize(width: Int, height: Int)
    /// An event from the engine.
    case engine(FederationEvent)
    /// The engine's run has returned; no engine event follows.
    case engineFinished
    /// A line written to stderr while the dashboard ran (the capture keeps it in a log file).
    case stderrLine(String)
    /// SIGINT or SIGTERM: handled like `q`.
    case signal
    /// The wall clock: seconds since the dashboard started, while the run goes on.
    case tick(elapsed: Double)
}

/// The live dashboard's state machine: what it shows, and what each event does to it. Pure:
/// no terminal and no engine. The loop sends the commands `handle(_:)` returns, draws when
/// `needsDraw` is set, and stops when `done` is.
public struct LiveDashboard: Sendable {
    public private(set) var state: DashboardState
    /// The engine's run has returned.
    public private(set) var engineFinished = false
    /// `q` pressed again while the run was stopping: quit without waiting for it.
    public private(set) var forced = false
    /// Something visible changed since the last frame.
    public var needsDraw = true
    /// The wall-clock second last shown in the header.
    private var shownSecond = -1
    /// Where captured stderr lines are kept (named in the event log).
    private let stderrLog: String

    public init(state: DashboardState, stderrLog: String = "") {
        self.state = state
        self.stderrLog = stderrLog
    }

    /// The operator asked to quit, and the run has finished (or the operator insisted).
    public var done: Bool { state.ui.quitRequested && (engineFinished || forced) }

    /// Handles one event.
    /// - Returns: the operator commands to send to the engine.
    public mutating func handle(_ event: DashboardEvent) -> [OperatorCommand] {
        switch event {
        case .key(let key):
            if state.ui.quitRequested, key == .char("q") || key == .char("Q") { forced = true }
            needsDraw = true
            return handleKey(key, state: &state)
        case .resize(let width, let height):
            state.ui.width = width
            state.ui.height = height
            needsDraw = true
        case .engine(let e):
            state.apply(e)
            needsDraw = true
        case .engineFinished:
            engineFinished = true
        case .stderrLine(let line):
            state.noteStderr([line], path: stderrLog)
            needsDraw = true
        case .signal:
            needsDraw = true
            return handleKey(.char("q"), state: &state)
        case .tick(let elapsed):
            guard !engineFinished else { return [] }
            state.tick(elapsed: elapsed)
            let second = Int(state.run.wallSeconds)
            if second != shownSecond {
                shownSecond = second
                needsDraw = true
            }
        }
        return []
    }
}
