import ArgumentParser
import Dashboard
import Federation
import Foundation
import Journal

/// `fedpilot replay FILE`: a recorded run (a journal, or headless JSON lines) in the dashboard.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a recorded run in the dashboard.",
        discussion: """
        FILE is a run journal (SQLite, from `fedpilot run --journal`) or the JSON lines that \
        `fedpilot run --headless` prints. Keys: space play/pause, ← → a round back/forward, \
        + - speed, ? help, q quit.
        """)
    @Argument(help: "A journal or a JSON-lines event file.") var file: String
    @Option(help: "Rounds per second.") var speed: Double = 2

    func run() throws {
        try reportingErrors {
            guard speed > 0 else { throw ValidationError("--speed must be positive") }
            guard FileManager.default.fileExists(atPath: file) else { throw ValidationError("\(file): no such file") }
            let head = (try? FileHandle(forReadingFrom: URL(fileURLWithPath: file)).readData(ofLength: 16)) ?? Data()
            var scenario: Scenario? = nil
            let events: [FederationEvent]
            if head.starts(with: Data("SQLite format 3".utf8)) {
                let journal = try RunJournal(readingFrom: file)
                events = try journal.events().enumerated().map { i, row in
                    guard let e = FederationEvent(jsonLine: row.json) else {
                        throw ValidationError("\(file): event \(i + 1) (\(row.type)) cannot be read")
                    }
                    return e
                }
                if let s = try journal.scenario() { scenario = try? ScenarioLoader.parse(s.text, path: s.path) }
            } else {
                events = try FederationEvent.decode(jsonLines: String(contentsOfFile: file, encoding: .utf8))
            }
            guard !events.isEmpty else { throw ValidationError("\(file) holds no events") }
            try replayDashboard(events: events, scenario: scenario, roundsPerSecond: speed)
        }
    }
}
