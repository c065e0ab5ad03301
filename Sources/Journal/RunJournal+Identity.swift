import Federation
import Foundation
import GRDB

extension RunJournal {
    /// Opens an existing journal to continue its run. Unlike `init(path:)` it creates nothing:
    /// a missing file, an empty one, or another program's SQLite database is refused (and left
    /// as it was) before the journal is opened for writing.
    public convenience init(resuming path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw JournalError(path: path, reason: "no such journal to resume (start a run that records one with --journal \(path))")
        }
        _ = try RunJournal(readingFrom: path)
        try self.init(path: path)
    }

    /// Refuses a file that exists but is not a FedPilot journal, before `init(path:)` would turn
    /// it into one: another program's SQLite database keeps its tables to itself.
    public static func refuseForeignFile(at path: String) throws {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size > 0 else { return }
        _ = try RunJournal(readingFrom: path)
    }

    /// Checks that `scenario` (parsed from `text`, with its effective seed) is the run this
    /// journal recorded, before a `--resume` appends to it.
    ///
    /// - Returns: a warning when the journal predates scenario hashes and its recorded text
    ///   cannot be compared either (nil when the check was made).
    /// - Throws: a `JournalError` naming what differs: the seed, or the scenario's keys whose
    ///   values changed (comments, whitespace and key order do not count).
    public func checkResume(scenario: Scenario, text: String) throws -> String? {
        let recorded = try read { db in
            try Row.fetchOne(db, sql: "SELECT scenario_text, scenario_hash, seed FROM run WHERE id = 1")
        }
        guard let recorded else {
            return "\(path) records no scenario (the run stopped before it began): nothing to check it against"
        }
        let recordedText: String = recorded["scenario_text"]
        let recordedHash: String? = recorded["scenario_hash"]
        let recordedSeed = UInt64(bitPattern: recorded["seed"] as Int64)
        if recordedSeed != scenario.seed {
            throw JournalError(path: path, reason: "was recorded with seed \(recordedSeed), but this run has seed \(scenario.seed); "
                               + "resume with --seed \(recordedSeed) (or the scenario as recorded), or start a new journal")
        }
        let current = try ScenarioFingerprint(text: text, path: scenario.sourcePath)
        let old = try? ScenarioFingerprint(text: recordedText, path: "\(path) (recorded scenario)")
        if let recordedHash, recordedHash == current.hash { return nil }
        if recordedHash == nil && old == nil {
            return "\(path) was written before journals recorded a scenario hash, and its recorded scenario cannot be read: "
                + "resuming without checking that \(scenario.sourcePath) is the scenario it ran"
        }
        if let old, old.hash == current.hash {
            // An older journal whose recorded text matches: record the hash now, for the next resume.
            try db.write { try $0.execute(sql: "UPDATE run SET scenario_hash = ? WHERE id = 1", arguments: [current.hash]) }
            return nil
        }
        let what = old.map { current.differences(from: $0).joined(separator: ", ") }
            ?? "its canonical hash is \(current.hash.prefix(12)), the journal's \(recordedHash!.prefix(12))"
        throw JournalError(path: path, reason: "was recorded with a different scenario than \(scenario.sourcePath): \(what); "
                           + "resume with the scenario it recorded, or start a new journal")
    }

    /// The recorded scenario hash (nil: none recorded, an older journal).
    public func scenarioHash() throws -> String? {
        try read { try String.fetchOne($0, sql: "SELECT scenario_hash FROM run WHERE id = 1") }
    }
}
