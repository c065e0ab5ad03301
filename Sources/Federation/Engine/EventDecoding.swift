import Foundation

/// Reading events back from the flat JSON objects that `FederationEvent.jsonObject` writes
/// (headless output and the journal's `event.json` column).
extension FederationEvent {
    public init?(jsonObject o: [String: Any]) {
        func str(_ k: String) -> String? { o[k] as? String }
        func int(_ k: String) -> Int? {
            if let n = o[k] as? Int { return n }
            if let d = o[k] as? Double, d == d.rounded() { return Int(d) }
            return nil
        }
        func dbl(_ k: String) -> Double? {
            if let d = o[k] as? Double { return d }
            if let n = o[k] as? Int { return Double(n) }
            return nil
        }
        func bool(_ k: String) -> Bool? {
            if let b = o[k] as? Bool { return b }
            if let n = o[k] as? Int { return n != 0 }
            return nil
        }
        func strs(_ k: String) -> [String] { (o[k] as? [Any])?.compactMap { $0 as? String } ?? [] }
        guard let type = str("type"), let round = int("round") else { return nil }
        switch type {
        case "run_started":
            guard let scenario = str("scenario"), let model = str("model"), let strategy = str("strategy"), let rounds = int("rounds")
            else { return nil }
            let domains = (o["domains"] as? [String: Any])?.compactMapValues { $0 as? String } ?? [:]
            self = .runStarted(scenario: scenario, model: model, strategy: strategy, rounds: rounds, clients: strs("clients"), domains: domains)
        case "phase":
            guard let p = str("phase").flatMap(RunPhase.init(rawValue:)) else { return nil }
            self = .phase(round: round, p)
        case "round_started":
            self = .roundStarted(round: round, selected: strs("selected"))
        case "client_update":
            guard let client = str("client"), let status = str("status").flatMap(ClientStatus.init(rawValue:)) else { return nil }
            var m = ClientRoundMetrics(client: client, round: round, status: status)
            m.trainExamples = int("train_examples") ?? 0
            m.trainTokens = int("train_tokens") ?? 0
            m.localLossStart = dbl("local_loss_start"); m.localLossEnd = dbl("local_loss_end"); m.evalLoss = dbl("eval_loss")
            m.qualityDeltaBase = dbl("quality_delta_base"); m.qualityDeltaLast = dbl("quality_delta_last")
            m.drift = dbl("drift"); m.updateNorm = dbl("update_norm"); m.cosineToOthers = dbl("cosine_to_others")
            m.cosineToAggregate = dbl("cosine_to_aggregate")
            m.transferSeconds = dbl("transfer_seconds") ?? 0; m.computeSeconds = dbl("compute_seconds") ?? 0
            m.bytesUp = int("bytes_up") ?? 0; m.bytesDown = int("bytes_down") ?? 0
            m.simulatedSeconds = dbl("simulated_seconds") ?? 0; m.trainSeconds = dbl("train_seconds") ?? 0
            m.aggregationWeight = dbl("aggregation_weight")
            m.anomalyScore = dbl("anomaly_score"); m.anomalyEvidence = str("anomaly_evidence")
            self = .clientUpdate(m)
        case "round_completed":
            let domains = (o["domain_eval_loss"] as? [String: Any])?.compactMapValues { v -> Double? in
                (v as? Double) ?? (v as? Int).map(Double.init)
            } ?? [:]
            guard let m = RoundMetrics.make(
                round: round, selected: strs("selected"), aggregated: strs("aggregated"), dropped: strs("dropped"),
                globalEvalLoss: dbl("global_eval_loss"), baseEvalLoss: dbl("base_eval_loss"),
                bytesUp: int("bytes_up") ?? 0, bytesDown: int("bytes_down") ?? 0, wallSeconds: dbl("wall_seconds") ?? 0,
                simulatedSeconds: dbl("simulated_seconds") ?? 0, strategy: str("strategy") ?? "",
                updateNormMean: dbl("update_norm_mean"), domainEvalLoss: domains) else { return nil }
            self = .roundCompleted(m)
        case "round_failed":
            self = .roundFailed(round: round, reason: str("reason") ?? "")
        case "alert":
            guard let severity = str("severity").flatMap(Alert.Severity.init(rawValue:)) else { return nil }
            guard let a = Alert.make(round: round, client: str("client"), severity: severity, reason: str("reason") ?? "") else { return nil }
            self = .alert(a)
        case "privacy_budget":
            let off = (o["off_rounds"] as? [Any])?.compactMap { ($0 as? Int) ?? ($0 as? Double).map { Int($0) } } ?? []
            self = .privacyBudget(round: round, epsilon: dbl("epsilon"), delta: dbl("delta") ?? 0,
                                  noiseMultiplier: dbl("noise_multiplier") ?? 0, enabled: bool("enabled") ?? false,
                                  offRounds: off, clipNorm: dbl("clip_norm"))
        case "secure_aggregation":
            var s = SecureAggregationSummary(
                round: round, clients: strs("clients"), degree: int("degree") ?? 0, threshold: int("threshold") ?? 0,
                chosenAutomatically: bool("chosen_automatically") ?? false, failureProbability: dbl("failure_probability") ?? 0,
                quantizationBound: dbl("quantization_bound") ?? 0, quantizationStep: dbl("quantization_step") ?? 0)
            s.included = strs("included")
            s.dropped = (o["dropped"] as? [String: Any])?.mapValues { ($0 as? [Any])?.compactMap { $0 as? String } ?? [] } ?? [:]
            s.bytesUp = int("bytes_up") ?? 0; s.bytesDown = int("bytes_down") ?? 0
            s.serverSeconds = dbl("server_seconds") ?? 0; s.wallSeconds = dbl("wall_seconds") ?? 0
            s.aborted = str("aborted")
            self = .secureAggregation(s)
        case "key_audit":
            let fields = (o["fields"] as? [String: Any])?.compactMapValues { $0 as? String } ?? [:]
            self = .keyAudit(round: round, actor: str("actor") ?? "", event: str("event") ?? "", fields: fields)
        case "operator_action":
            guard let action = str("action") else { return nil }
            self = .operatorAction(round: round, action: action, applied: bool("applied") ?? false)
        case "run_finished":
            self = .runFinished(rounds: round, finalEvalLoss: dbl("final_eval_loss"), baseEvalLoss: dbl("base_eval_loss"),
                                wallSeconds: dbl("wall_seconds") ?? 0, stopped: bool("stopped") ?? false)
        case "sample":
            guard let client = str("client"), let prompt = str("prompt"), let text = str("text") else { return nil }
            self = .sample(round: round, client: client, prompt: prompt, text: text, seconds: dbl("seconds") ?? 0)
        case "task_labels":
            self = .taskLabels(round: round, labels: strs("labels"), source: str("source") ?? "")
        default:
            return nil
        }
        self = withTaskFields(from: o)
    }

    /// Parses one JSON line (as `jsonLine` writes it); nil when it is not an event.
    public init?(jsonLine: String) {
        guard let data = jsonLine.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        self.init(jsonObject: object)
    }

    /// Events from JSON lines (blank lines skipped); throws on the first line that is not an event.
    public static func decode(jsonLines text: String) throws -> [FederationEvent] {
        var events: [FederationEvent] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let e = FederationEvent(jsonLine: trimmed) else { throw EventDecodingError(line: i + 1, text: String(trimmed.prefix(80))) }
            events.append(e)
        }
        return events
    }
}

public struct EventDecodingError: Error, CustomStringConvertible {
    public var line: Int
    public var text: String
    public var description: String { "line \(line) is not a FedPilot event: \(text)" }
}

// The engine's `RoundMetrics` and `Alert` have no public memberwise initializers; they are
// Codable, so they are built through their Codable form (property names as keys).
private func decodeCodable<T: Decodable>(_ type: T.Type, _ fields: [String: Any?]) -> T? {
    let object = fields.compactMapValues { $0 }
    guard let data = try? JSONSerialization.data(withJSONObject: object) else { return nil }
    return try? JSONDecoder().decode(T.self, from: data)
}

extension RoundMetrics {
    public static func make(round: Int, selected: [String], aggregated: [String], dropped: [String], globalEvalLoss: Double?,
                            baseEvalLoss: Double?, bytesUp: Int, bytesDown: Int, wallSeconds: Double, simulatedSeconds: Double,
                            strategy: String, updateNormMean: Double?, domainEvalLoss: [String: Double]) -> RoundMetrics? {
        decodeCodable(RoundMetrics.self, [
            "round": round, "selected": selected, "aggregated": aggregated, "dropped": dropped,
            "globalEvalLoss": globalEvalLoss, "baseEvalLoss": baseEvalLoss, "bytesUp": bytesUp, "bytesDown": bytesDown,
            "wallSeconds": wallSeconds, "simulatedSeconds": simulatedSeconds, "strategy": strategy,
            "updateNormMean": updateNormMean, "domainEvalLoss": domainEvalLoss,
        ])
    }
}

extension Alert {
    public static func make(round: Int, client: String?, severity: Severity, reason: String) -> Alert? {
        decodeCodable(Alert.self, ["round": round, "client": client, "severity": severity.rawValue, "reason": reason])
    }
}
