import Federation
import Foundation
import GRDB
import Llama

/// A run's journal: one SQLite file (through GRDB) holding the scenario, every event,
/// each round's client metrics and global adapter, and the operator's audit trail.
///
/// Events of a round are buffered and written in one transaction with the round's
/// adapter when the round completes (or fails), so a killed run leaves no half-written
/// round behind, and a resumed run continues from the last completed round.
public final class RunJournal: @unchecked Sendable {
    public let path: String
    let db: DatabaseQueue
    private let lock = NSLock()
    private var pending: [FederationEvent] = []
    private var pendingAdapter: (round: Int, data: Data)?
    private var pendingState: (round: Int, data: Data)?

    /// Opens (creating if needed) a journal.
    public init(path: String) throws {
        self.path = path
        do { db = try DatabaseQueue(path: path) } catch {
            throw JournalError(path: path, reason: JournalError.explain(error))
        }
        try migrate()
    }

    /// Opens an existing journal for reading only: nothing is created or migrated, so a file
    /// that is not a FedPilot journal is left untouched and reported as such.
    public init(readingFrom path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else {
            throw JournalError(path: path, reason: "no such file (write one with `fedpilot run SCENARIO --journal PATH`)")
        }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int, size == 0 {
            throw JournalError(path: path, reason: "is empty, not a FedPilot journal")
        }
        var configuration = Configuration()
        configuration.readonly = true
        do {
            db = try DatabaseQueue(path: path, configuration: configuration)
            let tables = try db.read { db in try ["run", "event", "round", "client_round", "audit"].filter { try !db.tableExists($0) } }
            if !tables.isEmpty {
                throw JournalError(path: path, reason: "not a FedPilot journal (no \(tables.joined(separator: ", ")) table)")
            }
        } catch let e as JournalError { throw e } catch {
            throw JournalError(path: path, reason: JournalError.explain(error))
        }
    }

    private func migrate() throws {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "run") { t in
                t.primaryKey("id", .integer)
                t.column("scenario_path", .text).notNull()
                t.column("scenario_text", .text).notNull()
                t.column("scenario_name", .text).notNull()
                t.column("model", .text).notNull()
                t.column("seed", .integer).notNull()
                t.column("started_at", .datetime).notNull()
            }
            try db.create(table: "event") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("round", .integer).notNull().indexed()
                t.column("type", .text).notNull()
                t.column("json", .text).notNull()
            }
            try db.create(table: "client_round") { t in
                t.column("round", .integer).notNull()
                t.column("client", .text).notNull()
                t.column("status", .text).notNull()
                t.column("eval_loss", .double)
                t.column("json", .text).notNull()
                t.primaryKey(["round", "client"])
            }
            try db.create(table: "round") { t in
                t.primaryKey("round", .integer)
                t.column("status", .text).notNull()
                t.column("global_eval_loss", .double)
                t.column("json", .text).notNull()
                t.column("adapter", .blob)
                t.column("completed_at", .datetime).notNull()
            }
            try db.create(table: "audit") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .datetime).notNull()
                t.column("round", .integer).notNull()
                t.column("actor", .text).notNull()
                t.column("action", .text).notNull()
                t.column("applied", .boolean).notNull()
            }
        }
        migrator.registerMigration("v2-server-state") { db in
            // The coordinator's state after the last completed round (see ServerState), for exact resumes.
            try db.create(table: "server_state") { t in
                t.primaryKey("round", .integer)
                t.column("format", .integer).notNull()
                t.column("data", .blob).notNull()
            }
        }
        migrator.registerMigration("v3-scenario-hash") { db in
            // The scenario's canonical hash (ScenarioFingerprint), checked by --resume; NULL in older journals.
            try db.alter(table: "run") { t in t.add(column: "scenario_hash", .text) }
        }
        do { try migrator.migrate(db) } catch {
            throw JournalError(path: path, reason: JournalError.explain(error))
        }
    }

    /// Records the scenario once, at the start of a new run: its text, its canonical hash
    /// (`ScenarioFingerprint`, nil when `text` is not TOML) and the run's effective seed.
    public func begin(scenario: Scenario, text: String) throws {
        let hash = (try? ScenarioFingerprint(text: text, path: scenario.sourcePath))?.hash
        try db.write { db in
            if try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM run") == 0 {
                try db.execute(sql: """
                    INSERT INTO run (id, scenario_path, scenario_text, scenario_name, model, seed, started_at, scenario_hash)
                    VALUES (1, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [scenario.sourcePath, text, scenario.name, scenario.modelPath, Int64(bitPattern: scenario.seed), Date(), hash])
            }
        }
    }

    /// The adapter of the round about to complete (called by the coordinator's checkpoint hook).
    public func checkpoint(round: Int, adapter: LoRAAdapter) {
        let data = (try? adapter.safetensorsData()) ?? Data()
        lock.lock()
        pendingAdapter = (round, data)
        lock.unlock()
    }

    /// The server state of the round about to complete (strategy buffers, privacy ledger, operator
    /// settings); written with the round, and replacing the previous round's (only the last is kept:
    /// an adaptive strategy's state is twice the adapter's size).
    public func checkpoint(state: ServerState) {
        let data: Data
        do { data = try state.encoded() } catch {
            FileHandle.standardError.write(Data("fedpilot: journal \(path): cannot encode the server state of round \(state.round): \(error)\n".utf8))
            return
        }
        lock.lock()
        pendingState = (state.round, data)
        lock.unlock()
    }

    /// Takes one event. Round-scoped events are buffered until the round ends; operator
    /// actions also go to the audit trail.
    public func record(_ event: FederationEvent) {
        lock.lock()
        pending.append(event)
        let flush: Bool
        switch event {
        case .roundCompleted, .roundFailed, .runStarted, .runFinished: flush = true
        default: flush = false
        }
        guard flush else { lock.unlock(); return }
        let batch = pending
        let adapter = pendingAdapter
        let state = pendingState
        pending = []
        pendingAdapter = nil
        pendingState = nil
        lock.unlock()
        do { try write(batch, adapter: adapter, state: state) } catch {
            FileHandle.standardError.write(Data("fedpilot: journal \(path): \(error)\n".utf8))
        }
    }

    private func write(_ events: [FederationEvent], adapter: (round: Int, data: Data)?, state: (round: Int, data: Data)?) throws {
        try db.write { db in
            for event in events {
                try db.execute(sql: "INSERT INTO event (round, type, json) VALUES (?, ?, ?)",
                               arguments: [event.round, event.type, event.jsonLine])
                switch event {
                case .clientUpdate(let m):
                    try db.execute(sql: """
                        INSERT OR REPLACE INTO client_round (round, client, status, eval_loss, json) VALUES (?, ?, ?, ?, ?)
                        """, arguments: [m.round, m.client, m.status.rawValue, m.evalLoss, event.jsonLine])
                case .roundCompleted(let m):
                    try db.execute(sql: """
                        INSERT OR REPLACE INTO round (round, status, global_eval_loss, json, adapter, completed_at) VALUES (?, 'completed', ?, ?, ?, ?)
                        """, arguments: [m.round, m.globalEvalLoss, event.jsonLine, adapter?.round == m.round ? adapter?.data : nil, Date()])
                    if let state, state.round == m.round {
                        try db.execute(sql: "DELETE FROM server_state WHERE round <> ?", arguments: [m.round])
                        try db.execute(sql: "INSERT OR REPLACE INTO server_state (round, format, data) VALUES (?, ?, ?)",
                                       arguments: [m.round, Int(ServerState.formatVersion), state.data])
                    }
                case .roundFailed(let r, _):
                    try db.execute(sql: """
                        INSERT OR REPLACE INTO round (round, status, global_eval_loss, json, adapter, completed_at) VALUES (?, 'failed', NULL, ?, NULL, ?)
                        """, arguments: [r, event.jsonLine, Date()])
                case .operatorAction(let r, let command, let applied):
                    try db.execute(sql: "INSERT INTO audit (at, round, actor, action, applied) VALUES (?, ?, 'operator', ?, ?)",
                                   arguments: [Date(), r, command.description, applied])
                case .keyAudit(let r, let actor, let name, let fields):
                    let detail = fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                    try db.execute(sql: "INSERT INTO audit (at, round, actor, action, applied) VALUES (?, ?, ?, ?, 1)",
                                   arguments: [Date(), r, actor, "\(name) \(detail)"])
                default: break
                }
            }
        }
    }

    /// Records a transport or security event at once, outside any round's batch: a client
    /// joining (`applied` true) or a refused connection or message (`applied` false).
    /// `actor` names who acted: "transport", or the client's certificate name.
    public func recordSecurity(round: Int, actor: String, action: String, applied: Bool) {
        do {
            try db.write { db in
                try db.execute(sql: "INSERT INTO audit (at, round, actor, action, applied) VALUES (?, ?, ?, ?, ?)",
                               arguments: [Date(), round, actor, action, applied])
            }
        } catch {
            FileHandle.standardError.write(Data("fedpilot: journal \(path): \(error)\n".utf8))
        }
    }

    // MARK: Reading

    /// Reads from the database; SQLite's errors become a `JournalError` naming the file.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try db.read(body) } catch let e as JournalError { throw e } catch let e as DatabaseError {
            throw JournalError(path: path, reason: JournalError.explain(e))
        }
    }

    /// The last round that completed or failed (0 when none).
    public func lastRound() throws -> Int {
        try read { try Int.fetchOne($0, sql: "SELECT MAX(round) FROM round") ?? 0 }
    }

    /// The global adapter saved after `round` (the latest when nil), as PEFT safetensors bytes.
    public func adapterData(round: Int? = nil) throws -> (round: Int, data: Data)? {
        try read { db in
            let row: Row?
            if let round {
                row = try Row.fetchOne(db, sql: "SELECT round, adapter FROM round WHERE round = ? AND adapter IS NOT NULL", arguments: [round])
            } else {
                row = try Row.fetchOne(db, sql: "SELECT round, adapter FROM round WHERE adapter IS NOT NULL ORDER BY round DESC LIMIT 1")
            }
            return row.map { ($0["round"], $0["adapter"]) }
        }
    }

    /// The recorded scenario text and path.
    public func scenario() throws -> (path: String, text: String)? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT scenario_path, scenario_text FROM run WHERE id = 1").map { ($0["scenario_path"], $0["scenario_text"]) }
        }
    }

    /// Every recorded event as (round, type, json), in order.
    public func events() throws -> [(round: Int, type: String, json: String)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT round, type, json FROM event ORDER BY id").map { ($0["round"], $0["type"], $0["json"]) }
        }
    }

    /// When the run began (nil when no run was recorded).
    public func startedAt() throws -> Date? {
        try read { try Date.fetchOne($0, sql: "SELECT started_at FROM run WHERE id = 1") }
    }

    /// The operator audit trail (actor "operator") with the time each action was recorded.
    public func auditEntries() throws -> [(at: Date, round: Int, action: String, applied: Bool)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT at, round, action, applied FROM audit WHERE actor = 'operator' ORDER BY id")
                .map { ($0["at"], $0["round"], $0["action"], $0["applied"]) }
        }
    }

    /// The operator audit trail (actor "operator").
    public func audit() throws -> [(round: Int, action: String, applied: Bool)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT round, action, applied FROM audit WHERE actor = 'operator' ORDER BY id")
                .map { ($0["round"], $0["action"], $0["applied"]) }
        }
    }

    /// The audit trail other than the operator's: key-management, certificate and
    /// transport/security events, with their time and actor.
    public func securityAuditEntries() throws -> [(at: Date, round: Int, actor: String, action: String, applied: Bool)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT at, round, actor, action, applied FROM audit WHERE actor <> 'operator' ORDER BY id")
                .map { ($0["at"], $0["round"], $0["actor"], $0["action"], $0["applied"]) }
        }
    }

    /// The whole audit trail: operator actions, key-management and transport/security events, with their actor.
    public func auditTrail() throws -> [(round: Int, actor: String, action: String, applied: Bool)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT round, actor, action, applied FROM audit ORDER BY id")
                .map { ($0["round"], $0["actor"], $0["action"], $0["applied"]) }
        }
    }
}

public struct JournalError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "\(path): \(reason)" }

    /// SQLite's error as one plain sentence (no result codes or SQL), with what to do about it.
    static func explain(_ error: any Error) -> String {
        guard let e = error as? DatabaseError else { return "cannot be read as a journal: \(error)" }
        switch e.resultCode.primaryResultCode {
        case .SQLITE_NOTADB: return "is not a SQLite database, so not a FedPilot journal (damaged, or another kind of file)"
        case .SQLITE_CORRUPT: return "is damaged (truncated or overwritten); use a copy of the journal, or start a new run"
        case .SQLITE_CANTOPEN: return "cannot be opened (check that the file and its directory exist and are accessible)"
        case .SQLITE_PERM, .SQLITE_READONLY: return "cannot be written (check its permissions)"
        case .SQLITE_BUSY, .SQLITE_LOCKED: return "is in use by another process"
        case .SQLITE_FULL: return "cannot grow: the disk is full"
        case .SQLITE_IOERR: return "cannot be read: input/output error"
        default: return "cannot be used as a journal: \(e.message ?? "SQLite error \(e.resultCode.rawValue)")"
        }
    }
}
