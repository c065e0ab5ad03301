import Foundation
import GRDB
import XCTest
@testable import Federation
@testable import Journal

/// A journal belongs to one run: `--resume` refuses another scenario or seed, and a path that
/// holds no journal; commands that only read leave other files exactly as they were.
final class JournalIdentityTests: XCTestCase {
    static let root = JournalTests.root
    static let scenarioPath = root.appendingPathComponent("scenarios/tiny-test.toml").path

    func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedpilot-identity-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.appendingPathComponent(name).path
    }

    var scenarioText: String { (try? String(contentsOfFile: Self.scenarioPath, encoding: .utf8)) ?? "" }

    // MARK: The canonical hash

    func testFingerprintIgnoresLayoutButNotValues() throws {
        let text = scenarioText
        let base = try ScenarioFingerprint(text: text, path: "a.toml")
        XCTAssertEqual(base.hash.count, 64)
        // Comments, blank lines, indentation and number spelling do not change the hash.
        let relaid = "# a comment\n\n" + text.replacingOccurrences(of: "learning_rate = 2e-3", with: "  learning_rate   =   0.002   # same value")
            .replacingOccurrences(of: "rank = 4", with: "rank = 4 # four")
        XCTAssertNotEqual(relaid, text)
        XCTAssertEqual(try ScenarioFingerprint(text: relaid, path: "b.toml").hash, base.hash)
        // Key order within a table does not either.
        let reordered = text.replacingOccurrences(of: "rank = 4\nalpha = 8.0", with: "alpha = 8.0\nrank = 4")
        XCTAssertNotEqual(reordered, text)
        XCTAssertEqual(try ScenarioFingerprint(text: reordered, path: "c.toml").hash, base.hash)
        // A value does, and the differences name it.
        let changed = try ScenarioFingerprint(text: text.replacingOccurrences(of: "learning_rate = 2e-3", with: "learning_rate = 3e-3"), path: "d.toml")
        XCTAssertNotEqual(changed.hash, base.hash)
        XCTAssertEqual(changed.differences(from: base), ["training.learning_rate (0.002 → 0.003)"])
        // seed and rounds are not part of it (the seed is checked on its own; rounds may be extended).
        let reseeded = text.replacingOccurrences(of: "seed = 1", with: "seed = 9").replacingOccurrences(of: "rounds = 2", with: "rounds = 5")
        XCTAssertEqual(try ScenarioFingerprint(text: reseeded, path: "e.toml").hash, base.hash)
    }

    func testResumeChecksScenarioAndSeed() throws {
        let path = temporaryPath("run.sqlite")
        let scenario = try ScenarioLoader.parse(scenarioText, path: Self.scenarioPath)
        let journal = try RunJournal(path: path)
        try journal.begin(scenario: scenario, text: scenarioText)
        XCTAssertEqual(try journal.scenarioHash(), try ScenarioFingerprint(text: scenarioText, path: "x").hash)
        XCTAssertNil(try journal.checkResume(scenario: scenario, text: "# reformatted\n" + scenarioText))

        let edited = scenarioText.replacingOccurrences(of: "steps = 2", with: "steps = 3")
        XCTAssertThrowsError(try journal.checkResume(scenario: try ScenarioLoader.parse(edited, path: "edited.toml"), text: edited)) {
            XCTAssertEqual("\($0)", "\(path): was recorded with a different scenario than edited.toml: training.steps (2 → 3); "
                           + "resume with the scenario it recorded, or start a new journal")
        }
        var reseeded = scenario
        reseeded.seed = 8
        XCTAssertThrowsError(try journal.checkResume(scenario: reseeded, text: scenarioText)) {
            XCTAssertTrue("\($0)".contains("was recorded with seed 1, but this run has seed 8; resume with --seed 1"), "\($0)")
        }

        // A journal from before the hash: compared through its recorded text, and upgraded.
        try journal.db.write { try $0.execute(sql: "UPDATE run SET scenario_hash = NULL") }
        XCTAssertThrowsError(try journal.checkResume(scenario: try ScenarioLoader.parse(edited, path: "edited.toml"), text: edited))
        XCTAssertNil(try journal.checkResume(scenario: scenario, text: scenarioText))
        XCTAssertNotNil(try journal.scenarioHash(), "the hash is recorded for the next resume")
        // ... and resumed with a warning when even its text cannot be read.
        try journal.db.write { try $0.execute(sql: "UPDATE run SET scenario_hash = NULL, scenario_text = 'not [toml'") }
        let warning = try XCTUnwrap(try journal.checkResume(scenario: scenario, text: scenarioText))
        XCTAssertTrue(warning.contains("written before journals recorded a scenario hash"), warning)
    }

    func testResumeRefusesAMissingFileAndNonJournals() throws {
        let missing = temporaryPath("missing.sqlite")
        XCTAssertThrowsError(try RunJournal(resuming: missing)) { XCTAssertTrue("\($0)".hasPrefix("\(missing): no such journal to resume"), "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
        let empty = temporaryPath("empty.sqlite")
        FileManager.default.createFile(atPath: empty, contents: Data())
        XCTAssertThrowsError(try RunJournal(resuming: empty)) { XCTAssertEqual("\($0)", "\(empty): is empty, not a FedPilot journal") }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: empty)), Data())
        let other = try foreignDatabase()
        let before = try Data(contentsOf: URL(fileURLWithPath: other))
        XCTAssertThrowsError(try RunJournal(resuming: other))
        XCTAssertThrowsError(try RunJournal.refuseForeignFile(at: other))
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: other)), before)
    }

    // MARK: Through the binary

    func testCommandsRefuseTheWrongRunAndLeaveOtherFilesAlone() throws {
        let binary = Self.root.appendingPathComponent(".build/debug/fedpilot").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw XCTSkip("no debug binary at \(binary)") }
        func fedpilot(_ arguments: [String]) throws -> (status: Int32, stderr: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.currentDirectoryURL = Self.root
            p.arguments = arguments
            p.standardOutput = FileHandle.nullDevice
            let pipe = Pipe()
            p.standardError = pipe
            try p.run()
            let err = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            return (p.terminationStatus, err)
        }
        let journal = temporaryPath("run.sqlite")
        let dir = (journal as NSString).deletingLastPathComponent
        XCTAssertEqual(try fedpilot(["run", "scenarios/tiny-test.toml", "--headless", "--rounds", "1", "--journal", journal]).status, 0)

        // --resume on a path with no journal creates nothing.
        let missing = dir + "/nope.sqlite"
        let m = try fedpilot(["run", "scenarios/tiny-test.toml", "--headless", "--resume", missing])
        XCTAssertEqual(m.status, 1)
        XCTAssertEqual(m.stderr, "fedpilot: \(missing): no such journal to resume (start a run that records one with --journal \(missing))\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))

        // Another scenario, or another seed, is refused and names what differs; the journal is unchanged.
        let rounds = try RunJournal(readingFrom: journal).lastRound()
        let edited = dir + "/edited.toml"
        try scenarioText.replacingOccurrences(of: "learning_rate = 2e-3", with: "learning_rate = 5e-3").write(toFile: edited, atomically: true, encoding: .utf8)
        let e = try fedpilot(["run", edited, "--headless", "--rounds", "2", "--resume", journal])
        XCTAssertEqual(e.status, 1)
        XCTAssertTrue(e.stderr.contains("was recorded with a different scenario than \(edited): training.learning_rate (0.002 → 0.005)"), e.stderr)
        let s = try fedpilot(["run", "scenarios/tiny-test.toml", "--headless", "--rounds", "2", "--seed", "5", "--resume", journal])
        XCTAssertEqual(s.status, 1)
        XCTAssertTrue(s.stderr.contains("was recorded with seed 1, but this run has seed 5"), s.stderr)
        XCTAssertEqual(try RunJournal(readingFrom: journal).lastRound(), rounds)
        // The same scenario, reformatted, resumes.
        let relaid = dir + "/relaid.toml"
        try ("# the same run\n" + scenarioText).write(toFile: relaid, atomically: true, encoding: .utf8)
        XCTAssertEqual(try fedpilot(["run", relaid, "--headless", "--rounds", "2", "--resume", journal]).status, 0)
        XCTAssertEqual(try RunJournal(readingFrom: journal).lastRound(), 2)

        // export and replay open journals read-only: other files are refused and left byte for byte.
        let other = try foreignDatabase()
        let empty = dir + "/empty.sqlite"
        FileManager.default.createFile(atPath: empty, contents: Data())
        for file in [other, empty] {
            let before = try Data(contentsOf: URL(fileURLWithPath: file))
            for command in [["export", file, "--peft", dir + "/peft"], ["replay", file]] {
                let r = try fedpilot(command)
                XCTAssertEqual(r.status, 1, "\(command)")
                XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
                XCTAssertTrue(r.stderr.hasPrefix("fedpilot: \(file)"), r.stderr)
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: file)), before, "\(command) changed \(file)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/peft"))

        // A truncated journal: one line naming the file, no SQLite result codes.
        let truncated = dir + "/truncated.sqlite"
        let whole = try Data(contentsOf: URL(fileURLWithPath: journal))
        try whole.prefix(whole.count / 3).write(to: URL(fileURLWithPath: truncated))
        for command in [["export", truncated, "--peft", dir + "/peft"], ["replay", truncated], ["report", truncated, "--out", dir + "/report"]] {
            let r = try fedpilot(command)
            XCTAssertEqual(r.status, 1, "\(command)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
            XCTAssertTrue(r.stderr.hasPrefix("fedpilot: \(truncated): "), r.stderr)
            XCTAssertFalse(r.stderr.contains("SQLite error"), r.stderr)
        }
    }

    /// Another program's SQLite database.
    func foreignDatabase() throws -> String {
        let path = temporaryPath("other.sqlite")
        let db = try DatabaseQueue(path: path)
        try db.write { try $0.execute(sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('hello')") }
        try db.close()
        return path
    }
}
