import Federation
import Foundation

/// Plays recorded events into a dashboard state, a round at a time: play/pause, step a
/// round back or forward, change speed. Pure apart from the clock it is given.
public struct ReplayPlayer: Sendable {
    public private(set) var state: DashboardState
    private let base: DashboardState
    private let events: [FederationEvent]
    /// Event counts at which a round is complete: [prelude, round 1, round 2, ..., end].
    public let boundaries: [Int]
    public private(set) var position = 0
    /// Position in segments between boundaries (fractional while playing).
    private var progress = 0.0
    public private(set) var playing: Bool
    public private(set) var roundsPerSecond: Double

    public init(events: [FederationEvent], base: DashboardState = DashboardState(), roundsPerSecond: Double = 2, playing: Bool = true) {
        self.events = events
        self.base = base
        self.state = base
        self.playing = playing
        self.roundsPerSecond = max(0.01, roundsPerSecond)
        var marks: [Int] = []
        let prelude = events.firstIndex { $0.round >= 1 && $0.type != "run_finished" } ?? events.count
        marks.append(prelude)
        for (i, e) in events.enumerated() {
            switch e {
            case .roundCompleted, .roundFailed: if i + 1 > marks.last! { marks.append(i + 1) }
            default: break
            }
        }
        if events.count > marks.last! { marks.append(events.count) }
        boundaries = marks
        seek(to: prelude)
    }

    public var atEnd: Bool { position >= events.count }
    /// Index of the last boundary at or before the position.
    private var segment: Int { (boundaries.lastIndex { $0 <= position }) ?? 0 }

    /// Moves to `target` events applied: forward by applying, backward by folding again from the start.
    public mutating func seek(to target: Int) {
        let t = min(max(0, target), events.count)
        if t < position {
            let ui = state.ui
            state = base
            state.ui = ui
            state.ui.pending = []
            state.apply(events[0..<t])
        } else if t > position {
            state.apply(events[position..<t])
        }
        position = t
        updateStatus()
    }

    /// Advances the clock by `seconds` while playing; true when the state changed.
    @discardableResult
    public mutating func advance(by seconds: Double) -> Bool {
        guard playing, !atEnd, boundaries.count > 1 else {
            if playing && atEnd { playing = false; updateStatus(); return true }
            return false
        }
        progress = min(Double(boundaries.count - 1), progress + seconds * roundsPerSecond)
        let k = min(Int(progress), boundaries.count - 2)
        let frac = progress - Double(k)
        let target = boundaries[k] + Int((frac * Double(boundaries[k + 1] - boundaries[k])).rounded(.down))
        guard target > position else { return false }
        seek(to: target)
        if atEnd { playing = false; updateStatus() }
        return true
    }

    /// The terminal's size and character set (the key handler scrolls with them).
    public mutating func configure(width: Int, height: Int, charset: Charset) {
        state.ui.width = width; state.ui.height = height; state.ui.charset = charset
    }

    /// Handles a key: navigation through the shared key map, play controls here.
    public mutating func handle(_ key: Key) {
        guard let request = handleReplayKey(key, state: &state) else { return }
        switch request {
        case .toggle:
            if atEnd && !playing {   // play again from the start
                seek(to: boundaries[0]); progress = 0
            }
            playing.toggle()
        case .back:
            playing = false
            let k = boundaries.lastIndex { $0 < position } ?? 0
            seek(to: boundaries[k]); progress = Double(k)
        case .forward:
            playing = false
            let k = boundaries.firstIndex { $0 > position } ?? (boundaries.count - 1)
            seek(to: boundaries[k]); progress = Double(k)
        case .faster: roundsPerSecond = min(64, roundsPerSecond * 2)
        case .slower: roundsPerSecond = max(0.125, roundsPerSecond / 2)
        }
        updateStatus()
    }

    private mutating func updateStatus() {
        state.ui.replay = ReplayStatus(round: state.run.completedRounds, rounds: max(0, boundaries.count - 2),
                                       playing: playing, roundsPerSecond: roundsPerSecond, atEnd: atEnd)
    }
}

/// Replays recorded events under the dashboard (space pause/play, ← → a round back/forward, + - speed, q quit).
public func replayDashboard(events: [FederationEvent], scenario: Scenario? = nil, roundsPerSecond: Double = 2) throws {
    let base = scenario.map { DashboardState(scenario: $0) } ?? DashboardState()
    var player = ReplayPlayer(events: events, base: base, roundsPerSecond: roundsPerSecond)
    let terminal = try Terminal()
    defer { terminal.close() }
    let capture = try? StderrCapture(path: StderrCapture.defaultPath(journal: nil))
    defer { terminal.close(); capture?.finish() }
    var last = Date()
    var dirty = true
    player.configure(width: terminal.width, height: terminal.height, charset: terminal.charset)
    var handledSignals = 0
    while true {
        var wait = true
        var quit = false
        while let input = terminal.read(wait: wait) {
            wait = false
            switch input {
            case .resize:
                player.configure(width: terminal.width, height: terminal.height, charset: terminal.charset)
                dirty = true
            case .key(let key):
                player.handle(key)
                quit = player.state.ui.quitRequested
                dirty = true
            case .other: break
            }
        }
        if Terminal.stopRequests > handledSignals { handledSignals = Terminal.stopRequests; quit = true }
        if quit { break }
        let now = Date()
        if player.advance(by: now.timeIntervalSince(last)) { dirty = true }
        last = now
        if dirty {
            terminal.draw(render(player.state, width: terminal.width, height: terminal.height))
            dirty = false
        }
    }
}

/// Replays events given as JSON lines (headless output, or the journal's event column).
public func replayDashboard(jsonLines: String, scenario: Scenario? = nil, roundsPerSecond: Double = 2) throws {
    try replayDashboard(events: FederationEvent.decode(jsonLines: jsonLines), scenario: scenario, roundsPerSecond: roundsPerSecond)
}
