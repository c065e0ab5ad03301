import Federation
import Foundation

/// A key press, independent of the terminal library.
public enum Key: Hashable, Sendable {
    case up, down, left, right, pageUp, pageDown, home, end, enter, escape
    case char(Character)

    /// How help and hints name the key.
    public func label(_ charset: Charset) -> String {
        switch self {
        case .up: return charset == .unicode ? "↑" : "Up"
        case .down: return charset == .unicode ? "↓" : "Down"
        case .left: return charset == .unicode ? "←" : "Left"
        case .right: return charset == .unicode ? "→" : "Right"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .char(" "): return "space"
        case .char(let c): return String(c)
        }
    }
}

/// Everything a key can do.
public enum KeyAction: String, Sendable, CaseIterable {
    case selectUp, selectDown, pageUp, pageDown, first, last
    case openDetail, back, help, cycleSort, reverseSort, cycleColumns
    case togglePause, step, dropClient, readmitClient, toggleDP, noiseDown, noiseUp, regenerateSample, quit
    case replayToggle, replayBack, replayForward, replayFaster, replaySlower
}

/// One entry of the key map: the keys, what they do, and the help text.
public struct KeyBinding: Sendable {
    public let keys: [Key]
    public let action: KeyAction
    public let help: String
    /// A few words for the status bar (nil: not shown there).
    public let hint: String?

    public func label(_ charset: Charset) -> String { keys.map { $0.label(charset) }.joined(separator: " ") }
}

/// The key maps: the single source of truth for the key handler, the help overlay and the status-bar hints.
public enum KeyMap {
    static let navigation: [KeyBinding] = [
        KeyBinding(keys: [.up, .char("k")], action: .selectUp, help: "select the previous client", hint: nil),
        KeyBinding(keys: [.down, .char("j")], action: .selectDown, help: "select the next client", hint: nil),
        KeyBinding(keys: [.pageUp], action: .pageUp, help: "scroll the table up a page", hint: nil),
        KeyBinding(keys: [.pageDown], action: .pageDown, help: "scroll the table down a page", hint: nil),
        KeyBinding(keys: [.home, .char("g")], action: .first, help: "select the first client", hint: nil),
        KeyBinding(keys: [.end, .char("G")], action: .last, help: "select the last client", hint: nil),
        KeyBinding(keys: [.enter], action: .openDetail, help: "open the selected client's detail view", hint: "detail"),
        KeyBinding(keys: [.escape], action: .back, help: "close help or go back to the main view", hint: nil),
        KeyBinding(keys: [.char("o")], action: .cycleSort, help: "sort the table by the next column", hint: nil),
        KeyBinding(keys: [.char("O")], action: .reverseSort, help: "reverse the sort order", hint: nil),
        KeyBinding(keys: [.char("c")], action: .cycleColumns,
                   help: "cycle the table columns: all, quality, training, network", hint: nil),
        KeyBinding(keys: [.char("?")], action: .help, help: "show or hide this help", hint: "help"),
    ]

    /// Keys of a live run.
    public static let live: [KeyBinding] = navigation + [
        KeyBinding(keys: [.char(" ")], action: .togglePause, help: "pause or resume the run (between steps)", hint: "pause"),
        KeyBinding(keys: [.char("s")], action: .step, help: "run exactly one round, then pause again (when paused)", hint: "step"),
        KeyBinding(keys: [.char("x")], action: .dropClient, help: "drop the selected client from the next rounds", hint: "drop"),
        KeyBinding(keys: [.char("a")], action: .readmitClient, help: "readmit the selected client", hint: "readmit"),
        KeyBinding(keys: [.char("d")], action: .toggleDP, help: "toggle client-level differential privacy", hint: "DP"),
        KeyBinding(keys: [.char("[")], action: .noiseDown, help: "lower the DP noise multiplier by 0.1 (not below 0)", hint: nil),
        KeyBinding(keys: [.char("]")], action: .noiseUp, help: "raise the DP noise multiplier by 0.1", hint: "noise"),
        KeyBinding(keys: [.char("r")], action: .regenerateSample, help: "generate a new sample of the global model (detail view)", hint: nil),
        KeyBinding(keys: [.char("q")], action: .quit, help: "stop after the current step and quit (the journal is kept)", hint: "quit"),
    ]

    /// Keys of a replay.
    public static let replay: [KeyBinding] = navigation + [
        KeyBinding(keys: [.char(" ")], action: .replayToggle, help: "pause or play the replay", hint: "play/pause"),
        KeyBinding(keys: [.left], action: .replayBack, help: "go back one round (pauses)", hint: "round"),
        KeyBinding(keys: [.right], action: .replayForward, help: "go forward one round (pauses)", hint: nil),
        KeyBinding(keys: [.char("+")], action: .replayFaster, help: "replay twice as fast", hint: "speed"),
        KeyBinding(keys: [.char("-")], action: .replaySlower, help: "replay half as fast", hint: nil),
        KeyBinding(keys: [.char("q")], action: .quit, help: "quit", hint: "quit"),
    ]

    public static func bindings(replay: Bool) -> [KeyBinding] { replay ? Self.replay : live }

    /// The binding of `key`, if any.
    public static func binding(for key: Key, replay: Bool) -> KeyBinding? {
        bindings(replay: replay).first { $0.keys.contains(key) }
    }

    /// The help overlay's lines: "keys  description", generated from the key map.
    public static func helpLines(replay: Bool, charset: Charset) -> [(keys: String, help: String)] {
        bindings(replay: replay).map { ($0.label(charset), $0.help) }
    }

    /// The status bar's hints.
    public static func hints(replay: Bool, charset: Charset) -> String {
        var parts: [String] = []
        let list = bindings(replay: replay)
        for b in list where b.hint != nil {
            // Pair keys that share a hint ([ ], ← →, + -).
            var keys = b.keys.first!.label(charset)
            if b.action == .noiseUp { keys = "[ ]" }
            if b.action == .replayBack { keys = Key.left.label(charset) + Key.right.label(charset) }
            if b.action == .replayFaster { keys = "+ -" }
            parts.append("\(keys) \(b.hint!)")
        }
        return parts.joined(separator: "  ")
    }
}

/// What a replay key asks of the player.
public enum ReplayRequest: Sendable, Equatable { case toggle, back, forward, faster, slower }

/// Handles one key of a live run: updates the UI state and returns the commands to send.
/// `q` returns `.stop` (when the run is still going) and sets `ui.quitRequested`.
public func handleKey(_ key: Key, state: inout DashboardState) -> [OperatorCommand] {
    guard let binding = KeyMap.binding(for: key, replay: false) else { return [] }
    return perform(binding.action, state: &state).commands
}

/// Handles one key of a replay; returns what the player should do.
public func handleReplayKey(_ key: Key, state: inout DashboardState) -> ReplayRequest? {
    guard let binding = KeyMap.binding(for: key, replay: true) else { return nil }
    return perform(binding.action, state: &state).replay
}

/// The one place where key actions take effect.
func perform(_ action: KeyAction, state s: inout DashboardState) -> (commands: [OperatorCommand], replay: ReplayRequest?) {
    s.ui.flash = nil
    let rows = s.sortedRows
    let current = rows.firstIndex { $0.id == s.ui.selected } ?? 0
    let layout = Layout(width: s.ui.width, height: s.ui.height, clients: rows.count)
    func select(_ index: Int) {
        guard !rows.isEmpty else { return }
        let i = min(max(0, index), rows.count - 1)
        s.ui.selected = rows[i].id
        s.ui.scroll = layout.scroll(s.ui.scroll, selected: i, count: rows.count)
    }
    /// A command for the coordinator, unless the run is over.
    func send(_ command: OperatorCommand) -> [OperatorCommand] {
        guard !s.run.finished else {
            s.ui.flash = "the run has finished; nothing to \(command.description)"
            return []
        }
        s.ui.pending.append(command)
        return [command]
    }
    let page = max(1, layout.tableRows - 1)
    /// In the detail view of a live run: a sample of the global model on the selected client's probe
    /// prompt, unless one for the current global model is shown or on its way (`force`: always).
    func requestSample(force: Bool) -> [OperatorCommand] {
        guard s.ui.replay == nil, let id = s.ui.selected, let row = s.run.clients.first(where: { $0.id == id }) else { return [] }
        guard row.probePrompt != nil else {
            if force { s.ui.flash = "\(id) has no probe prompt: add probe_prompt to its [[clients]] table or its domain to [probe_prompts]" }
            return []
        }
        if s.ui.pending.contains(.sample(client: id)) { return [] }
        if !force, let sample = row.sample, sample.round == s.run.completedRounds { return [] }
        if s.run.finished && !force { return [] }
        return send(.sample(client: id))
    }

    switch action {
    case .selectUp, .selectDown:
        select(current + (action == .selectUp ? -1 : 1))
        if s.ui.view == .detail && !s.ui.showHelp { return (requestSample(force: false), nil) }
    case .pageUp: select(current - page)
    case .pageDown: select(current + page)
    case .first: select(0)
    case .last: select(rows.count - 1)
    case .openDetail:
        if s.ui.selected != nil {
            s.ui.view = .detail
            s.ui.showHelp = false
            return (requestSample(force: false), nil)
        }
    case .back:
        if s.ui.showHelp { s.ui.showHelp = false } else { s.ui.view = .main }
    case .help: s.ui.showHelp.toggle()
    case .cycleSort:
        let all = SortColumn.allCases
        s.ui.sort = all[(all.firstIndex(of: s.ui.sort)! + 1) % all.count]
        s.ui.flash = "sorted by \(s.ui.sort.rawValue)"
        select(s.sortedRows.firstIndex { $0.id == s.ui.selected } ?? 0)
    case .cycleColumns:
        let all = ColumnSet.allCases
        s.ui.columns = all[(all.firstIndex(of: s.ui.columns)! + 1) % all.count]
        s.ui.flash = "columns: \(s.ui.columns.rawValue)"
    case .reverseSort:
        s.ui.sortDescending.toggle()
        s.ui.flash = "sorted by \(s.ui.sort.rawValue), \(s.ui.sortDescending ? "descending" : "ascending")"

    case .togglePause:
        return (send(s.effectivePaused ? .resume : .pause), nil)
    case .step:
        guard s.effectivePaused else {
            s.ui.flash = "s runs one round while paused: press space to pause first"
            return ([], nil)
        }
        return (send(.step), nil)
    case .dropClient:
        guard let id = s.ui.selected else { return ([], nil) }
        if s.effectiveExcluded(id) {
            s.ui.flash = "\(id) is already excluded (a readmits it)"
            return ([], nil)
        }
        return (send(.dropClient(id)), nil)
    case .readmitClient:
        guard let id = s.ui.selected else { return ([], nil) }
        guard s.effectiveExcluded(id) else {
            s.ui.flash = "\(id) is not excluded"
            return ([], nil)
        }
        return (send(.readmitClient(id)), nil)
    case .toggleDP:
        return (send(.setDifferentialPrivacy(!s.effectiveDP)), nil)
    case .noiseDown, .noiseUp:
        let step = action == .noiseUp ? 0.1 : -0.1
        let value = max(0, ((s.effectiveNoise + step) * 10).rounded() / 10)
        if value == s.effectiveNoise {
            s.ui.flash = "the noise multiplier is already 0"
            return ([], nil)
        }
        return (send(.setNoiseMultiplier(value)), nil)
    case .regenerateSample:
        return (requestSample(force: true), nil)
    case .quit:
        s.ui.quitRequested = true
        if s.ui.replay != nil || s.run.finished || s.run.stopping || s.ui.pending.contains(.stop) { return ([], nil) }
        return (send(.stop), nil)

    case .replayToggle: return ([], .toggle)
    case .replayBack: return ([], .back)
    case .replayForward: return ([], .forward)
    case .replayFaster: return ([], .faster)
    case .replaySlower: return ([], .slower)
    }
    return ([], nil)
}
