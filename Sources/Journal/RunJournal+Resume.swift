import Federation
import Foundation
import GRDB
import Llama

/// Where a run continues from its journal: after `startRound`, from `adapter` and `state`.
public struct ResumePoint: Sendable {
    /// Rounds already done (completed or failed).
    public var startRound: Int
    /// The global adapter after the last completed round (nil: none completed).
    public var adapter: LoRAAdapter?
    /// The server state after that round (nil: none completed, or an older journal without one).
    public var state: ServerState?
    /// Why the resumed run cannot continue exactly, when it cannot.
    public var warning: String?

    /// A fresh run starts from round 0 with nothing restored.
    public init(startRound: Int = 0, adapter: LoRAAdapter? = nil, state: ServerState? = nil, warning: String? = nil) {
        self.startRound = startRound; self.adapter = adapter; self.state = state; self.warning = warning
    }
}

extension RunJournal {
    /// The saved server state of `round`; nil when the journal has none for it.
    /// A state that cannot be read throws a `JournalError` naming the journal, the round and the field.
    public func serverState(round: Int) throws -> ServerState? {
        let row = try db.read { db in
            try Row.fetchOne(db, sql: "SELECT format, data FROM server_state WHERE round = ?", arguments: [round])
        }
        guard let row else { return nil }
        let data: Data? = row["data"]
        do {
            guard let data else { throw ServerStateError(field: "data", reason: "is empty") }
            let state = try ServerState(encoded: data)
            guard state.round == round else {
                throw ServerStateError(field: "round", reason: "is \(state.round), but the row is round \(round)")
            }
            return state
        } catch let e as ServerStateError {
            throw JournalError(path: path, reason: "server state of round \(round): \(e) (the journal is damaged; resume from a copy or start a new run)")
        }
    }

    /// What `--resume` continues from: the last completed round's adapter and server state.
    public func resumePoint(model: ModelConfig, lora: LoRAConfig) throws -> ResumePoint {
        let last = try lastRound()
        guard let saved = try adapterData() else { return ResumePoint(startRound: last) }
        let adapter = try LoRAAdapter(safetensors: saved.data, path: path, model: model, config: lora)
        let state = try serverState(round: saved.round)
        let warning = state == nil
            ? "\(path) has no server state for round \(saved.round) (written by an older FedPilot): the strategy's buffers, the privacy ledger and the operator's settings start afresh"
            : nil
        return ResumePoint(startRound: last, adapter: adapter, state: state, warning: warning)
    }

    /// Records every completed round's global adapter and server state from `coordinator`.
    public func attach(to coordinator: Coordinator) {
        coordinator.onCheckpoint = { [self] completed in
            checkpoint(round: completed.round, adapter: completed.adapter)
            checkpoint(state: completed.state)
        }
    }
}


extension RunJournal {
    /// The stored bytes of a round's server state (for tests of damaged journals).
    func testOnly_serverStateData(round: Int) throws -> Data? {
        try db.read { try Data.fetchOne($0, sql: "SELECT data FROM server_state WHERE round = ?", arguments: [round]) }
    }

    /// Overwrites the stored bytes of a round's server state (for tests of damaged journals).
    func testOnly_setServerStateData(round: Int, _ data: Data) throws {
        try db.write { try $0.execute(sql: "UPDATE server_state SET data = ? WHERE round = ?", arguments: [data, round]) }
    }
}
