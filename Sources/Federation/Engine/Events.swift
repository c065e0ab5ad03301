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
}

/// Everything the engine reports. The journal, the dashboard and headless output consume these.
public enum FederationEvent: Sendable, Equatable {
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
    case operatorAction(round: Int, action: String, applied: Bool)
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

    /// A flat JSON object: `type`, `round`, and the event's fields in snake_case.
    public var jsonObject: [String: Any] {
        var o: [String: Any] = ["type": type, "round": round]
        func put(_ key: String, _ value: Any?) { o[key] = value ?? NSNull() }
        switch self {
        case .runStarted(let scenario, let model, let strategy, let rounds, let clients, let domains):
            put("scenario", scenario); put("model", model); put("strategy", strategy); put("rounds", rounds)
            put("clients", clients); put("domains", domains)
        case .phase(_, let p): put("phase", p.rawValue)
        case .roundStarted(_, let selected): put("selected", selected)
        case .clientUpdate(let m):
            put("client", m.client); put("status", m.status.rawValue); put("train_examples", m.trainExamples); put("train_tokens", m.trainTokens)
            put("local_loss_start", m.localLossStart); put("local_loss_end", m.localLossEnd); put("eval_loss", m.evalLoss)
            put("eval_perplexity", m.evalLoss.map { exp($0) })
            put("quality_delta_base", m.qualityDeltaBase); put("quality_delta_last", m.qualityDeltaLast)
            put("drift", m.drift); put("update_norm", m.updateNorm); put("cosine_to_others", m.cosineToOthers)
            put("cosine_to_aggregate", m.cosineToAggregate); put("transfer_seconds", m.transferSeconds)
            put("compute_seconds", m.computeSeconds)
            put("bytes_up", m.bytesUp); put("bytes_down", m.bytesDown); put("simulated_seconds", m.simulatedSeconds)
            put("train_seconds", m.trainSeconds); put("aggregation_weight", m.aggregationWeight)
            if let score = m.anomalyScore { put("anomaly_score", score); put("anomaly_evidence", m.anomalyEvidence ?? "") }
        case .roundCompleted(let m):
            put("selected", m.selected); put("aggregated", m.aggregated); put("dropped", m.dropped)
            put("global_eval_loss", m.globalEvalLoss); put("base_eval_loss", m.baseEvalLoss)
            put("bytes_up", m.bytesUp); put("bytes_down", m.bytesDown); put("wall_seconds", m.wallSeconds)
            put("simulated_seconds", m.simulatedSeconds); put("strategy", m.strategy); put("update_norm_mean", m.updateNormMean)
            put("domain_eval_loss", m.domainEvalLoss)
        case .roundFailed(_, let reason): put("reason", reason)
        case .alert(let a): put("client", a.client); put("severity", a.severity.rawValue); put("reason", a.reason)
        case .privacyBudget(_, let epsilon, let delta, let noise, let enabled, let off, let clip):
            put("epsilon", epsilon); put("delta", delta); put("noise_multiplier", noise); put("enabled", enabled)
            put("off_rounds", off); put("clip_norm", clip)
        case .secureAggregation(let summary):
            for (k, v) in summary.jsonFields { o[k] = v }
        case .keyAudit(_, let actor, let event, let fields):
            put("actor", actor); put("event", event); put("fields", fields)
        case .operatorAction(_, let action, let applied): put("action", action); put("applied", applied)
        case .runFinished(_, let final, let base, let wall, let stopped):
            put("final_eval_loss", final); put("base_eval_loss", base); put("wall_seconds", wall); put("stopped", stopped)
        case .sample(_, let client, let prompt, let text, let seconds):
            put("client", client); put("prompt", prompt); put("text", text); put("seconds", seconds)
        case .taskLabels(_, let labels, let source): put("labels", labels); put("source", source)
        }
        addTaskFields(to: &o)
        return o
    }

    /// One line of JSON. JSON has no NaN or infinity: a non-finite number is written as null
    /// (engine checks keep them out of metrics; this is the last line of defence). Never `{}`:
    /// if the object still cannot be written, the line keeps `type` and `round` and says why.
    public var jsonLine: String {
        let options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes]
        if let data = try? JSONSerialization.data(withJSONObject: Self.finite(jsonObject), options: options) {
            return String(decoding: data, as: UTF8.self)
        }
        let fallback: [String: Any] = ["type": type, "round": round, "error": "the event's fields could not be written as JSON"]
        return String(decoding: (try? JSONSerialization.data(withJSONObject: fallback, options: options)) ?? Data(), as: UTF8.self)
    }

    /// `value` with every non-finite floating-point number replaced by null.
    static func finite(_ value: Any) -> Any {
        switch value {
        case let d as Double: return d.isFinite ? d : NSNull()
        case let f as Float: return f.isFinite ? f : NSNull()
        case let dict as [String: Any]: return dict.mapValues(finite)
        case let list as [Any]: return list.map(finite)
        default: return value
        }
    }
}
