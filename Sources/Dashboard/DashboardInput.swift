import Federation
import Foundation

/// The live dashboard's inputs merged into one stream of `DashboardEvent`s: keys and resizes
/// from the terminal, SIGINT/SIGTERM, lines captured from stderr, the engine's events and the
/// clock.
///
/// curses may only be read on the thread that draws, so this waits on the terminal (up to 30 ms
/// for a key) and then collects what the other sources hold; a key's effect therefore shows
/// within a frame whatever the engine is doing.
final class DashboardInput {
    private let terminal: Terminal
    private let feed: EventFeed
    private let capture: StderrCapture?
    private let began: Date
    private var handledSignals = 0
    private var engineFinished = false

    init(terminal: Terminal, feed: EventFeed, capture: StderrCapture?, began: Date = Date()) {
        self.terminal = terminal
        self.feed = feed
        self.capture = capture
        self.began = began
    }

    /// Waits up to 30 ms for a key, then returns every event that has arrived, in this order:
    /// keys and resizes (at most 64), a signal, stderr lines, engine events, the end of the run,
    /// and a tick while the run goes on.
    func next() -> [DashboardEvent] {
        var out: [DashboardEvent] = []
        var wait = true
        var keysRead = 0
        while keysRead < 64, let input = terminal.read(wait: wait) {
            wait = false
            keysRead += 1
            switch input {
            case .resize: out.append(.resize(width: terminal.width, height: terminal.height))
            case .key(let key): out.append(.key(key))
            case .other: break
            }
        }
        if Terminal.stopRequests > handledSignals {
            handledSignals = Terminal.stopRequests
            out.append(.signal)
        }
        if let capture {
            out += capture.newLines().map(DashboardEvent.stderrLine)
        }
        let (events, finished) = feed.take()
        out += events.map(DashboardEvent.engine)
        if finished && !engineFinished {
            engineFinished = true
            out.append(.engineFinished)
        }
        if !engineFinished { out.append(.tick(elapsed: Date().timeIntervalSince(began))) }
        return out
    }
}
