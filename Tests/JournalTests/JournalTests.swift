import Foundation
import Llama
import XCTest
@testable import Federation
@testable import Journal

/// The run journal: what it records, and resuming a killed run.
final class JournalTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedpilot-journal-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.appendingPathComponent(name).path
    }

    func tinyScenario(rounds: Int) throws -> Scenario {
        try ScenarioLoader.load(path: Self.root.appendingPathComponent("scenarios/tiny-test.toml").path,
                                overrides: ScenarioOverrides(rounds: rounds))
    }

    func testRecordsRoundsAdaptersEventsAndAudit() throws {
        let path = temporaryPath("run.sqlite")
        let journal = try RunJournal(path: path)
        let scenario = try tinyScenario(rounds: 2)
        try journal.begin(scenario: scenario, text: "name = \"tiny\"")
        let pilot = try withCurrentDirectory(Self.root) { try PilotBuilder.build(scenario, sink: journal.record) }
        pilot.coordinator.onCheckpoint = { journal.checkpoint(round: $0.round, adapter: $0.adapter) }
        pilot.coordinator.commands.send(.setNoiseMultiplier(1.3))
        pilot.coordinator.run()

        let reopened = try RunJournal(path: path)
        XCTAssertEqual(try reopened.lastRound(), 2)
        let saved = try XCTUnwrap(try reopened.adapterData())
        XCTAssertEqual(saved.round, 2)
        let adapter = try LoRAAdapter(safetensors: saved.data, path: path, model: pilot.model.model.config, config: scenario.lora)
        XCTAssertEqual(adapter.values, pilot.coordinator.global.values, "the journal keeps the exact global adapter")
        let types = try reopened.events().map(\.type)
        XCTAssertEqual(types.first, "run_started")
        XCTAssertEqual(types.last, "run_finished")
        XCTAssertEqual(types.filter { $0 == "round_completed" }.count, 2)
        XCTAssertEqual(try reopened.audit().map(\.action), ["set noise multiplier 1.30"])
        XCTAssertEqual(try reopened.scenario()?.text, "name = \"tiny\"")
    }

    /// A run killed with SIGKILL mid-run resumes from its last completed round: no round
    /// is lost and none is done twice.
    func testKilledRunResumesWithoutLosingOrRepeatingRounds() throws {
        let binary = Self.root.appendingPathComponent(".build/debug/fedpilot").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw XCTSkip("no debug binary at \(binary)") }
        let path = temporaryPath("killed.sqlite")
        let rounds = 12
        let first = Process()
        first.executableURL = URL(fileURLWithPath: binary)
        first.currentDirectoryURL = Self.root
        first.arguments = ["run", "scenarios/tiny-test.toml", "--headless", "--rounds", "\(rounds)", "--journal", path]
        let pipe = Pipe()
        first.standardOutput = pipe
        try first.run()
        // Kill it once three rounds have completed.
        var completed = 0, buffer = Data()
        while completed < 3 {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            completed = String(decoding: buffer, as: UTF8.self).components(separatedBy: "\"type\":\"round_completed\"").count - 1
        }
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let before = try RunJournal(path: path).lastRound()
        XCTAssertGreaterThanOrEqual(before, 3)
        XCTAssertLessThan(before, rounds, "the run was killed before it finished")

        let second = Process()
        second.executableURL = URL(fileURLWithPath: binary)
        second.currentDirectoryURL = Self.root
        second.arguments = ["run", "scenarios/tiny-test.toml", "--headless", "--rounds", "\(rounds)", "--resume", path]
        second.standardOutput = FileHandle.nullDevice
        try second.run()
        second.waitUntilExit()
        XCTAssertEqual(second.terminationStatus, 0)

        let journal = try RunJournal(path: path)
        let completedRounds = try journal.events().filter { $0.type == "round_completed" }.map(\.round)
        XCTAssertEqual(completedRounds, Array(1...rounds), "each round exactly once")
        XCTAssertEqual(try journal.lastRound(), rounds)
    }

    func testCorruptJournalGivesAClearError() throws {
        let path = temporaryPath("bad.sqlite")
        try Data("not a database at all, just text".utf8).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try RunJournal(path: path)) { XCTAssertTrue("\($0)".contains(path), "\($0)") }
    }

    func withCurrentDirectory<T>(_ url: URL, _ body: () throws -> T) rethrows -> T {
        let previous = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(url.path)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        return try body()
    }
}
