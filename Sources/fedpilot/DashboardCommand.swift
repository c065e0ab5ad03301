// Compiled once Package.swift gives fedpilot its Dashboard dependency (so this file can land
// before the manifest change without breaking the build); the guard can go after that.
#if canImport(Dashboard)
import ArgumentParser
import Dashboard
import Federation
import Foundation
import Journal
import Llama

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

/// `fedpilot bench render`: time to draw one dashboard frame.
struct BenchRender: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render", abstract: "Time the dashboard's render of one frame (pure, no terminal).")
    @Option(help: "Clients in the synthetic run.") var clients: Int = 128
    @Option(help: "Rounds in the synthetic run.") var rounds: Int = 30
    @Option(help: "Terminal width.") var width: Int = 120
    @Option(help: "Terminal height.") var height: Int = 40
    @Option(help: "Timed frames.") var frames: Int = 200
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            guard clients > 0, rounds > 0, frames > 0, width > 0, height > 0 else {
                throw ValidationError("--clients, --rounds, --frames, --width and --height must be positive")
            }
            let r = benchmarkRender(clients: clients, rounds: rounds, width: width, height: height, frames: frames)
            if json {
                try printJSON(["mean_ms": r.meanMs, "best_ms": r.bestMs, "clients": clients, "rounds": rounds,
                               "width": width, "height": height, "frames": frames])
            } else {
                print(String(format: "render: %.2f ms/frame mean, %.2f ms best (%d clients, %d rounds, %dx%d, %d frames)",
                             r.meanMs, r.bestMs, clients, rounds, width, height, frames))
            }
        }
    }
}
#endif
