import Foundation

/// Phase of the coordinator, for the operator's header.
public enum RunPhase: String, Sendable, Codable {
    case starting, selecting, training, aggregating, secureAggregation = "secure_aggregation", evaluating, paused, finished
}

/// A flagged problem with a client or the run.
public struct Alert: Sendable, Codable, Equatable {
    public enum Severity: String, Sendable, Codable { case info, warning, critical }
    public var round: Int
    public var client: String?
    public var severity: Severity
    public var reason: String

    /// An alert (raised by the engine, or outside it, by a network transport for example).
    public static func make(round: Int, client: String?, severity: Severity, reason: String) -> Alert {
        Alert(round: round, client: client, severity: severity, reason: reason)
    }

    // Its fields in its event's JSON: `client` (null for the run), `severity`, `reason`.
    enum CodingKeys: String, CodingKey { case round, client, severity, reason }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        round = try c.decode(Int.self, forKey: .round)
        client = try c.decodeIfPresent(String.self, forKey: .client)
        severity = try c.decode(Severity.self, forKey: .severity)
        reason = try c.decodeIfPresent(String.self, forKey: .reason) ?? ""
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(round, forKey: .round)
        try c.encodeOrNull(client, forKey: .client)
        try c.encode(severity, forKey: .severity)
        try c.encode(reason, forKey: .reason)
    }
}

extension Alert {
    init(round: Int, client: String?, severity: Severity, reason: String) {
        self.round = round; self.client = client; self.severity = severity; self.reason = reason
    }
}

/// Everything the engine reports. The journal, the dashboard and headless output consume these.
///
/// Each event is one flat JSON object (see `jsonLine`): `type` and `round`, then the event's
/// fields in snake_case. The fields of `clientUpdate`, `roundCompleted`, `alert` and
/// `secureAggregation` are those of their payload's own `Codable` form; the other cases' fields
/// are written and read in `encode(to:)` and `init(from:)` below.
public enum FederationEvent: Sendable, Equatable, Codable {
    case runStarted(scenario: String, model: String, strategy: String, rounds: Int, clients: [String], domains: [String: String])
    case phase(round: Int, RunPhase)
    case roundStarted(round: Int, selected: [String])
    case clientUpdate(ClientRoundMetrics)
    case roundCompleted(RoundMetrics)
    case roundFailed(round: Int, reason: String)
    case alert(Alert)
    /// ε(δ) so far (nil = unbounded: `offRounds` ran without DP, or nothing was aggregated yet).
    case privacyBudget(round: Int, epsilon: Double?, delta: Double, noiseMultiplier: Double, enabled: Bool,
                       offRounds: [Int] = [], clipNorm: Double? = nil)
    case secureAggregation(SecureAggregationSummary)
    /// A key-management event for the audit trail (secure aggregation keys generated, shared,
    /// used for recovery). Carries fingerprints and ids, never secrets.
    case keyAudit(round: Int, actor: String, event: String, fields: [String: String])
    /// An operator command the coordinator took (`applied` false: it had no effect). Its JSON
    /// carries the typed `command` and, for people and the audit trail, its `action` text.
    case operatorAction(round: Int, command: OperatorCommand, applied: Bool)
    case runFinished(rounds: Int, finalEvalLoss: Double?, baseEvalLoss: Double?, wallSeconds: Double, stopped: Bool)
    /// The candidate labels of the run's classification task, announced once at its start, and
    /// where they come from (`scenario`: `[evaluation] labels`; `validation`: the union of the
    /// labels in the clients' validation splits).
    case taskLabels(round: Int, labels: [String], source: String)
    /// The global model after `round` continued `client`'s probe prompt (greedy) with `text`, in `seconds`.
    case sample(round: Int, client: String, prompt: String, text: String, seconds: Double)

    /// The event's `type` as headless output and the journal name it.
    public var type: String {
        switch self {
        case .runStarted: return "run_started"
        case .phase: return "phase"
        case .roundStarted: return "round_started"
        case .clientUpdate: return "client_update"
        case .roundCompleted: return "round_completed"
        case .roundFailed: return "round_failed"
        case .alert: return "alert"
        case .privacyBudget: return "privacy_budget"
        case .secureAggregation: return "secure_aggregation"
        case .keyAudit: return "key_audit"
        case .operatorAction: return "operator_action"
        case .runFinished: return "run_finished"
        case .sample: return "sample"
        case .taskLabels: return "task_labels"
        }
    }

    public var round: Int {
        switch self {
        case .runStarted: return 0
        case .phase(let r, _), .roundStarted(let r, _), .roundFailed(let r, _), .privacyBudget(let r, _, _, _, _, _, _),
             .operatorAction(let r, _, _), .keyAudit(let r, _, _, _), .sample(let r, _, _, _, _), .taskLabels(let r, _, _):
            return r
        case .secureAggregation(let s): return s.round
        case .clientUpdate(let m): return m.round
        case .roundCompleted(let m): return m.round
        case .alert(let a): return a.round
        case .runFinished(let r, _, _, _, _): return r
        }
    }

    // MARK: - JSON

    /// Every key of the cases' own fields (the payload structs declare theirs).
    enum CodingKeys: String, CodingKey {
        case type, round
        case scenario, model, strategy, rounds, clients, domains   // run_started
        case phase                                                 // phase
        case selected                                              // round_started
        case reason                                                // round_failed
        case epsilon, delta, noiseMultiplier = "noise_multiplier", enabled, offRounds = "off_rounds", clipNorm = "clip_norm"
        case actor, event, fields                                  // key_audit
        case command, action, applied                              // operator_action
        case finalEvalLoss = "final_eval_loss", baseEvalLoss = "base_eval_loss", wallSeconds = "wall_seconds", stopped
        case labels, source                                        // task_labels
        case client, prompt, text, seconds                         // sample
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .clientUpdate(let m): try m.encode(to: encoder)
        case .roundCompleted(let m): try m.encode(to: encoder)
        case .alert(let a): try a.encode(to: encoder)
        case .secureAggregation(let s): try s.encode(to: encoder)
        case .runStarted(let scenario, let model, let strategy, let rounds, let clients, let domains):
            try c.encode(scenario, forKey: .scenario); try c.encode(model, forKey: .model); try c.encode(strategy, forKey: .strategy)
            try c.encode(rounds, forKey: .rounds); try c.encode(clients, forKey: .clients); try c.encode(domains, forKey: .domains)
        case .phase(_, let p): try c.encode(p, forKey: .phase)
        case .roundStarted(_, let selected): try c.encode(selected, forKey: .selected)
        case .roundFailed(_, let reason): try c.encode(reason, forKey: .reason)
        case .privacyBudget(_, let epsilon, let delta, let noise, let enabled, let off, let clip):
            try c.encodeOrNull(epsilon, forKey: .epsilon); try c.encodeOrNull(delta, forKey: .delta)
            try c.encodeOrNull(noise, forKey: .noiseMultiplier); try c.encode(enabled, forKey: .enabled)
            try c.encode(off, forKey: .offRounds); try c.encodeOrNull(clip, forKey: .clipNorm)
        case .keyAudit(_, let actor, let event, let fields):
            try c.encode(actor, forKey: .actor); try c.encode(event, forKey: .event); try c.encode(fields, forKey: .fields)
        case .operatorAction(_, let command, let applied):
            try c.encode(command, forKey: .command); try c.encode(command.description, forKey: .action)
            try c.encode(applied, forKey: .applied)
        case .runFinished(_, let final, let base, let wall, let stopped):
            try c.encodeOrNull(final, forKey: .finalEvalLoss); try c.encodeOrNull(base, forKey: .baseEvalLoss)
            try c.encodeOrNull(wall, forKey: .wallSeconds); try c.encode(stopped, forKey: .stopped)
        case .taskLabels(_, let labels, let source): try c.encode(labels, forKey: .labels); try c.encode(source, forKey: .source)
        case .sample(_, let client, let prompt, let text, let seconds):
            try c.encode(client, forKey: .client); try c.encode(prompt, forKey: .prompt); try c.encode(text, forKey: .text)
            try c.encodeOrNull(seconds, forKey: .seconds)
        }
        try c.encode(type, forKey: .type)
        try c.encode(round, forKey: .round)
    }

    /// Reads an event back. Fields added after the first journals were written (and numbers
    /// written as null because they were not finite) take their defaults; the fields an event
    /// cannot do without (a client update's client and status, ...) must be there.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let type = try c.decode(String.self, forKey: .type)
        let round = try c.decode(Int.self, forKey: .round)
        func optional<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? fallback }
        switch type {
        case "client_update": self = .clientUpdate(try ClientRoundMetrics(from: decoder))
        case "round_completed": self = .roundCompleted(try RoundMetrics(from: decoder))
        case "alert": self = .alert(try Alert(from: decoder))
        case "secure_aggregation": self = .secureAggregation(try SecureAggregationSummary(from: decoder))
        case "run_started":
            self = .runStarted(scenario: try c.decode(String.self, forKey: .scenario), model: try c.decode(String.self, forKey: .model),
                               strategy: try c.decode(String.self, forKey: .strategy), rounds: try c.decode(Int.self, forKey: .rounds),
                               clients: try optional(.clients, []), domains: try optional(.domains, [:]))
        case "phase": self = .phase(round: round, try c.decode(RunPhase.self, forKey: .phase))
        case "round_started": self = .roundStarted(round: round, selected: try optional(.selected, []))
        case "round_failed": self = .roundFailed(round: round, reason: try optional(.reason, ""))
        case "privacy_budget":
            self = .privacyBudget(round: round, epsilon: try c.decodeIfPresent(Double.self, forKey: .epsilon),
                                  delta: try optional(.delta, 0), noiseMultiplier: try optional(.noiseMultiplier, 0),
                                  enabled: try optional(.enabled, false), offRounds: try optional(.offRounds, []),
                                  clipNorm: try c.decodeIfPresent(Double.self, forKey: .clipNorm))
        case "key_audit":
            self = .keyAudit(round: round, actor: try optional(.actor, ""), event: try optional(.event, ""), fields: try optional(.fields, [:]))
        case "operator_action":
            let command: OperatorCommand
            if c.contains(.command) {
                command = try c.decode(OperatorCommand.self, forKey: .command)
            } else {
                // Journals written before commands were typed carry only the action's text.
                let text = try c.decode(String.self, forKey: .action)
                guard let legacy = OperatorCommand(legacyActionText: text) else {
                    throw DecodingError.dataCorruptedError(forKey: .action, in: c, debugDescription: "no operator command reads \"\(text)\"")
                }
                command = legacy
            }
            self = .operatorAction(round: round, command: command, applied: try optional(.applied, false))
        case "run_finished":
            self = .runFinished(rounds: round, finalEvalLoss: try c.decodeIfPresent(Double.self, forKey: .finalEvalLoss),
                                baseEvalLoss: try c.decodeIfPresent(Double.self, forKey: .baseEvalLoss),
                                wallSeconds: try optional(.wallSeconds, 0), stopped: try optional(.stopped, false))
        case "task_labels": self = .taskLabels(round: round, labels: try optional(.labels, []), source: try optional(.source, ""))
        case "sample":
            self = .sample(round: round, client: try c.decode(String.self, forKey: .client), prompt: try c.decode(String.self, forKey: .prompt),
                           text: try c.decode(String.self, forKey: .text), seconds: try optional(.seconds, 0))
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown event type \"\(type)\"")
        }
    }
}
