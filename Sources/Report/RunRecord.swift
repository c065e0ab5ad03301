import Federation
import Foundation

/// Everything a run report shows, folded from a recorded run's events (and, for a journal,
/// its audit trail). Plain values: the HTML and CSV writers only read it.
public struct RunRecord: Sendable {
    /// The journal or JSON-lines file the record came from.
    public var source: String
    public var scenario = ""
    public var description: String?
    public var model = ""
    public var strategy = ""
    /// Rounds the run was configured for (it may have stopped earlier).
    public var plannedRounds = 0
    public var clients: [String] = []
    public var domains: [String: String] = [:]
    /// The global eval loss of the starting adapter (from the run's end; nil when the run did not finish).
    public var baseEvalLoss: Double?
    public var startedAt: Date?
    /// One row per round from 1 to the last recorded one, missing rounds included.
    public var rounds: [RoundRow] = []
    /// Each client's final state in each round it appeared in, ordered by round, then client.
    public var clientRounds: [ClientRoundRow] = []
    public var alerts: [Alert] = []
    public var audit: [AuditEntry] = []
    /// The journal's key-management and security audit trail (certificates in use, expiry
    /// warnings, revoked or refused clients, joins); empty for JSON-lines input.
    public var securityAudit: [SecurityAuditEntry] = []
    public var finish: Finish?
    /// Recorded events, all kinds.
    public var eventCount = 0

    public init(source: String) { self.source = source }

    /// How the run ended.
    public struct Finish: Sendable, Equatable {
        public var rounds: Int
        public var finalEvalLoss: Double?
        public var wallSeconds: Double
        public var stopped: Bool
    }
}

/// One round as the report shows it.
public struct RoundRow: Sendable, Equatable {
    public enum Status: String, Sendable { case completed, failed, missing }
    public var round: Int
    public var status: Status
    public var selected: [String] = []
    public var aggregated: [String] = []
    public var dropped: [String] = []
    public var globalEvalLoss: Double?
    /// Base loss minus this round's loss: positive means better than the base model.
    public var deltaBase: Double?
    /// Previous recorded round's loss minus this round's: positive means this round helped.
    public var deltaLast: Double?
    public var bytesUp = 0
    public var bytesDown = 0
    public var wallSeconds: Double?
    public var simulatedSeconds: Double?
    public var failureReason: String?
    /// Whether differential privacy was on when the round was aggregated.
    public var dpEnabled = false
    /// The run's ε after this round; nil means unbounded (some round so far ran without DP).
    public var epsilon: Double?
    public var delta: Double?
    public var noiseMultiplier: Double?
    /// Task accuracy and macro-F1 of the global model over every client's labelled validation
    /// examples, and the base model's accuracy on them (nil without labels).
    public var taskAccuracy: Double?
    public var macroF1: Double?
    public var baseTaskAccuracy: Double?

    public init(round: Int, status: Status) { self.round = round; self.status = status }
}

/// One client's final state in one round.
public struct ClientRoundRow: Sendable, Equatable {
    public var round: Int
    public var client: String
    public var domain: String
    public var metrics: ClientRoundMetrics
}

/// One operator action.
public struct AuditEntry: Sendable, Equatable {
    /// When the journal recorded it (nil for JSON-lines input).
    public var at: Date?
    public var round: Int
    public var action: String
    public var applied: Bool
}

/// One line of the journal's security audit trail.
public struct SecurityAuditEntry: Sendable, Equatable {
    public var at: Date
    public var round: Int
    /// "coordinator", "transport", a client's certificate name, or "unauthenticated".
    public var actor: String
    public var action: String
    /// False for a refusal.
    public var applied: Bool
    public init(at: Date, round: Int, actor: String, action: String, applied: Bool) {
        self.at = at; self.round = round; self.actor = actor; self.action = action; self.applied = applied
    }
}

/// One mark on the run's timeline: an alert, a client dropping out, a failed or missing
/// round, or an operator action.
public struct TimelineEntry: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case alert, drop, round, operatorAction = "operator"
    }
    public var round: Int
    public var kind: Kind
    /// critical, warning or info for alerts; the client's status for drops; failed or missing for rounds;
    /// applied or ignored for operator actions.
    public var level: String
    public var client: String?
    public var text: String
}

extension RunRecord {
    /// Completed rounds.
    public var completedRounds: [RoundRow] { rounds.filter { $0.status == .completed } }

    /// The last completed round's global eval loss.
    public var finalEvalLoss: Double? { completedRounds.last(where: { $0.globalEvalLoss != nil })?.globalEvalLoss }

    public var totalBytes: Int { rounds.reduce(0) { $0 + $1.bytesUp + $1.bytesDown } }

    /// Bytes moved per client over the run: (up, down), in the order of `clients`.
    public var bytesPerClient: [(client: String, up: Int, down: Int)] {
        var up: [String: Int] = [:], down: [String: Int] = [:]
        for row in clientRounds {
            up[row.client, default: 0] += row.metrics.bytesUp
            down[row.client, default: 0] += row.metrics.bytesDown
        }
        return allClients.map { ($0, up[$0] ?? 0, down[$0] ?? 0) }
    }

    /// The scenario's clients followed by any that appear only in the events.
    public var allClients: [String] {
        var seen = Set(clients)
        var out = clients
        for row in clientRounds where seen.insert(row.client).inserted { out.append(row.client) }
        return out
    }

    /// Statuses that count as a client dropping out of a round.
    public static let dropStatuses: Set<ClientStatus> = [.dropped, .timedOut, .failed, .excluded, .rejected]

    /// Alerts, drops, failed and missing rounds and operator actions, ordered by round.
    public var timeline: [TimelineEntry] {
        var out: [TimelineEntry] = []
        for a in alerts {
            out.append(TimelineEntry(round: a.round, kind: .alert, level: a.severity.rawValue, client: a.client, text: a.reason))
        }
        for row in clientRounds where Self.dropStatuses.contains(row.metrics.status) {
            let what: String
            switch row.metrics.status {
            case .dropped: what = "dropped out (offline or upload lost)"
            case .timedOut: what = "missed the round deadline"
            case .failed: what = "local training failed"
            case .excluded: what = "excluded by the operator"
            case .rejected: what = "update rejected by the robust aggregator"
            default: what = row.metrics.status.rawValue
            }
            out.append(TimelineEntry(round: row.round, kind: .drop, level: row.metrics.status.rawValue, client: row.client,
                                     text: "\(row.client) \(what)"))
        }
        for r in rounds where r.status != .completed {
            let text = r.status == .failed ? "round \(r.round) failed: \(r.failureReason ?? "no reason recorded")"
                : "round \(r.round) is not in the record"
            out.append(TimelineEntry(round: r.round, kind: .round, level: r.status.rawValue, client: nil, text: text))
        }
        for a in audit {
            out.append(TimelineEntry(round: a.round, kind: .operatorAction, level: a.applied ? "applied" : "ignored", client: nil,
                                     text: a.action + (a.applied ? "" : " (no effect)")))
        }
        let order = Dictionary(uniqueKeysWithValues: TimelineEntry.Kind.allCases.enumerated().map { ($1, $0) })
        return out.enumerated().sorted { a, b in
            (a.element.round, order[a.element.kind]!, a.offset) < (b.element.round, order[b.element.kind]!, b.offset)
        }.map(\.element)
    }
}
