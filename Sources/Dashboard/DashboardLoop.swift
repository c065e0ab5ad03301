import Federation
import Foundation

/// The live dashboard on the terminal: a view of a run that someone else drives.
///
/// The caller owns the engine. It opens the screen first (so that nothing the engine writes to
/// stderr reaches the terminal behind curses' back), then starts the run on its own thread,
/// publishing the run's events into an `EventFeed` and calling `feed.finish()` when the run
/// returns, and then calls `show`. The dashboard sends operator commands through the `send`
/// function it is given and never touches the engine otherwise.
///
/// While the screen is open, stderr (fd 2) goes to a log file; its lines show in the event log,
/// and the path is printed on exit when anything was written. The terminal is restored on quit,
/// on SIGINT/SIGTERM and on a crash.
public final class DashboardScreen {
    private let terminal: Terminal
    private let capture: StderrCapture?

    /// Takes over the terminal and captures stderr in `stderrLog` (a temporary file when nil).
    /// - Throws: `DashboardError` when there is no terminal, or curses cannot start.
    public init(stderrLog: String? = nil) throws {
        terminal = try Terminal()
        capture = try? StderrCapture(path: stderrLog ?? StderrCapture.defaultPath(journal: nil))
    }

    deinit { close() }

    /// Shows the run until the operator quits, then restores the terminal.
    ///
    /// `q` (or SIGINT/SIGTERM) sends `.stop` and waits for the run to finish its current step;
    /// a second `q` quits at once. After the run finished, `q` quits.
    /// - Parameters:
    ///   - feed: the run's events; the caller calls `feed.finish()` when the run returns.
    ///   - send: delivers an operator command to the engine.
    public func show(scenario: Scenario, dataStats: [String: DataStats] = [:], feed: EventFeed,
                     send: (OperatorCommand) -> Void) {
        var state = DashboardState(scenario: scenario, dataStats: dataStats)
        state.ui.charset = terminal.charset
        state.ui.width = terminal.width
        state.ui.height = terminal.height
        var live = LiveDashboard(state: state, stderrLog: capture?.path ?? "")
        let input = DashboardInput(terminal: terminal, feed: feed, capture: capture)
        while true {
            for event in input.next() {
                for command in live.handle(event) { send(command) }
            }
            if live.done { break }
            if live.needsDraw {
                terminal.draw(render(live.state, width: terminal.width, height: terminal.height))
                live.needsDraw = false
            }
        }
        close()
    }

    /// Restores the terminal and stderr. Safe to call more than once.
    public func close() {
        terminal.close()
        capture?.finish()
    }
}
