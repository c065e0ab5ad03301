import Federation
import Foundation
import Journal

/// A file that cannot be turned into a report, with the reason and how to fix it.
public struct ReportError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "\(path): \(reason)" }
}

extension RunRecord {
    /// Reads a run journal (SQLite, from `fedpilot run --journal`) or the JSON lines that
    /// `fedpilot run --headless` prints. The file is opened read-only.
    ///
    /// Throws a ``ReportError`` naming the file when it is missing, is neither kind of file,
    /// holds an event that cannot be read, or holds no events at all.
    public static func load(path: String) throws -> RunRecord {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ReportError(path: path, reason: "no such file (record a run with `fedpilot run SCENARIO --journal PATH`)")
        }
        guard let handle = FileHandle(forReadingAtPath: path) else { throw ReportError(path: path, reason: "cannot be read") }
        let head = handle.readData(ofLength: 16)
        try? handle.close()
        if head.starts(with: Data("SQLite format 3".utf8)) { return try loadJournal(path: path) }
        if head.isEmpty { throw ReportError(path: path, reason: "is empty: neither a journal nor JSON lines of events") }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ReportError(path: path, reason: "is neither a SQLite journal nor UTF-8 JSON lines of events")
        }
        let events: [FederationEvent]
        do { events = try FederationEvent.decode(jsonLines: text) } catch {
            throw ReportError(path: path, reason: "is not a journal, and \(error)")
        }
        guard !events.isEmpty else { throw ReportError(path: path, reason: "holds no events") }
        return RunRecord(source: path, events: events)
    }

    static func loadJournal(path: String) throws -> RunRecord {
        let journal: RunJournal
        do { journal = try RunJournal(readingFrom: path) } catch let e as JournalError {
            throw ReportError(path: path, reason: e.reason)
        }
        do {
            let rows = try journal.events()
            guard !rows.isEmpty else {
                throw ReportError(path: path, reason: "holds no events: the run recorded nothing before it stopped")
            }
            let events = try rows.enumerated().map { i, row in
                guard let e = FederationEvent(jsonLine: row.json) else {
                    throw ReportError(path: path, reason: "event \(i + 1) (\(row.type), round \(row.round)) cannot be read")
                }
                return e
            }
            let audit = try journal.auditEntries().map { AuditEntry(at: $0.at, round: $0.round, action: $0.action, applied: $0.applied) }
            var record = RunRecord(source: path, events: events, audit: audit)
            record.securityAudit = try journal.securityAuditEntries().map {
                SecurityAuditEntry(at: $0.at, round: $0.round, actor: $0.actor, action: $0.action, applied: $0.applied)
            }
            record.startedAt = try journal.startedAt()
            if let s = try journal.scenario() {
                record.description = ScenarioLoader.recordedDescription(s.text)
            }
            return record
        } catch let e as ReportError { throw e } catch let e as JournalError {
            throw ReportError(path: path, reason: e.reason)
        } catch {
            throw ReportError(path: path, reason: "cannot be read as a journal: \(error)")
        }
    }
}

extension ScenarioLoader {
    /// The `description` line of a recorded scenario's TOML, without validating the rest
    /// (the data files it names need not exist where the report is made).
    static func recordedDescription(_ text: String) -> String? {
        for line in text.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("description"), let eq = t.firstIndex(of: "=") else { continue }
            var v = t[t.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            guard v.hasPrefix("\"") else { continue }
            v.removeFirst()
            guard let end = v.firstIndex(of: "\"") else { continue }
            return String(v[..<end])
        }
        return nil
    }
}
