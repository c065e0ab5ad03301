import Foundation
import XCTest
@testable import Dashboard
import Federation

/// The help overlay is generated from the key map the handler uses; these tests hold them together.
final class HelpTests: XCTestCase {
    /// Every key a label can name.
    static let candidateKeys: [Key] = [.up, .down, .left, .right, .pageUp, .pageDown, .home, .end, .enter, .escape]
        + (32...126).map { Key.char(Character(Unicode.Scalar(UInt8($0)))) }

    func helpScreen(replay: Bool, charset: Charset = .unicode) throws -> [String] {
        var s = SyntheticRun.state(clients: 4, rounds: 3)
        s.ui.charset = charset
        if replay { s.ui.replay = ReplayStatus(round: 1, rounds: 3, playing: false, roundsPerSecond: 2, atEnd: false) }
        s.ui.showHelp = true
        return (0..<40).map { render(s, width: 120, height: 40).line($0) }
    }

    /// The key labels and the text of each help line, read back from the rendered overlay.
    func parseHelp(_ lines: [String], charset: Charset) -> [(keys: [String], help: String)] {
        let bar = Character(charset == .unicode ? "│" : "|")
        var out: [(keys: [String], help: String)] = []
        guard let top = lines.firstIndex(where: { $0.contains(" keys ") }),
              let bottom = lines.firstIndex(where: { $0.contains("? or Esc closes this help") }) else { return [] }
        for line in lines[(top + 1)..<bottom] {
            let parts = line.split(separator: bar, omittingEmptySubsequences: false)
            guard parts.count >= 3 else { continue }
            let inside = parts[parts.count - 2].trimmingCharacters(in: .whitespaces)
            guard let gap = inside.range(of: "  ") else { continue }
            let keys = inside[..<gap.lowerBound].split(separator: " ").map(String.init)
            let help = inside[gap.upperBound...].trimmingCharacters(in: .whitespaces)
            if help.isEmpty || inside.hasPrefix("? or Esc closes") { continue }
            out.append((keys, help))
        }
        return out
    }

    func testEveryBindingAppearsInTheHelpWithItsKeys() throws {
        for replay in [false, true] {
            for charset in [Charset.unicode, .ascii] {
                let lines = try helpScreen(replay: replay, charset: charset)
                let parsed = parseHelp(lines, charset: charset)
                let bindings = KeyMap.bindings(replay: replay)
                XCTAssertEqual(parsed.count, bindings.count, "one help line per binding (replay \(replay))")
                for b in bindings {
                    let entry = parsed.first { $0.help == b.help }
                    XCTAssertNotNil(entry, "help for \(b.action) is missing")
                    XCTAssertEqual(entry?.keys, b.keys.map { $0.label(charset) }, "\(b.action)")
                }
            }
        }
    }

    func testEveryKeyInTheHelpIsHandled() throws {
        for replay in [false, true] {
            let parsed = parseHelp(try helpScreen(replay: replay), charset: .unicode)
            XCTAssertFalse(parsed.isEmpty)
            for entry in parsed {
                for label in entry.keys {
                    let keys = Self.candidateKeys.filter { $0.label(.unicode) == label }
                    XCTAssertEqual(keys.count, 1, "label \(label) names exactly one key")
                    guard let key = keys.first else { continue }
                    let binding = KeyMap.binding(for: key, replay: replay)
                    XCTAssertEqual(binding?.help, entry.help, "\(label) does what its help says")
                    XCTAssertTrue(try hasEffect(key, replay: replay), "\(label) is handled (replay \(replay))")
                }
            }
        }
    }

    /// Whether the key changes the state, sends a command or asks the player for something in some situation.
    func hasEffect(_ key: Key, replay: Bool) throws -> Bool {
        var situations: [DashboardState] = []
        var base = SyntheticRun.state(clients: 40, rounds: 3)
        base.ui.width = 120; base.ui.height = 40
        base.ui.selected = "client-010"
        situations.append(base)
        var help = base; help.ui.showHelp = true; help.ui.view = .detail
        situations.append(help)
        var paused = base; paused.apply(.phase(round: 3, .paused))
        paused.apply(.operatorAction(round: 3, command: .dropClient("client-010"), applied: true))
        situations.append(paused)
        for var s in situations {
            let before = s
            if replay {
                s.ui.replay = ReplayStatus(round: 1, rounds: 3, playing: false, roundsPerSecond: 2, atEnd: false)
                let b2 = s
                if handleReplayKey(key, state: &s) != nil || s != b2 { return true }
            } else {
                if !handleKey(key, state: &s).isEmpty || s != before { return true }
            }
        }
        return false
    }

    func testNoKeyIsBoundTwice() {
        for replay in [false, true] {
            let keys = KeyMap.bindings(replay: replay).flatMap(\.keys)
            XCTAssertEqual(keys.count, Set(keys).count)
            let actions = KeyMap.bindings(replay: replay).map(\.action)
            XCTAssertEqual(actions.count, Set(actions).count)
        }
    }

    func testStatusBarHintsComeFromTheKeyMap() {
        let hints = KeyMap.hints(replay: false, charset: .unicode)
        for b in KeyMap.live where b.hint != nil { XCTAssertTrue(hints.contains(b.hint!), b.hint!) }
        XCTAssertTrue(hints.contains("x drop"))
        XCTAssertTrue(hints.contains("q quit"))
        // The hints fit the narrowest supported terminal.
        XCTAssertLessThan(hints.count, Layout.minWidth - 2)
    }
}
