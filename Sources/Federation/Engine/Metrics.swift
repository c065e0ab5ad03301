import Foundation

/// What happened to a client in a round.
public enum ClientStatus: String, Sendable, Codable, CaseIterable {
    /// Not selected this round.
    case idle
    /// Chosen for this round; waiting for its turn.
    case selected
    /// Training locally.
    case training
    /// Sending its update.
    case uploading
    /// Its update arrived and was aggregated.
    case done
    /// Its update arrived but a robust rule excluded it.
    case rejected
    /// Offline, or its upload was lost.
    case dropped
    /// Missed the round deadline.
    case timedOut = "timed_out"
    /// Removed by the operator; not selected until readmitted.
    case excluded
    /// Its local run raised an error; the round went on without it.
    case failed
    /// It answered, but the round's secure aggregation aborted (too few survivors) and
    /// discarded every update.
    case aborted
}

/// One client's measurements in one round.
public struct ClientRoundMetrics: Sendable, Codable, Equatable {
    public var client: String
    public var round: Int
    public var status: ClientStatus
    public var trainExamples: Int
    /// Token positions trained on this round.
    public var trainTokens: Int = 0
    /// Mean training loss of the first and last local step.
    public var localLossStart: Double?
    public var localLossEnd: Double?
    /// The new global model's loss on this client's validation data.
    public var evalLoss: Double?
    /// Base model loss minus current eval loss: positive means better than the base model.
    public var qualityDeltaBase: Double?
    /// Previous round's eval loss minus this round's: positive means this round helped.
    public var qualityDeltaLast: Double?
    /// ‖Δᵢ − Δ̄‖ / ‖Δ̄‖: how far this client's update strays from the aggregate.
    public var drift: Double?
    /// ‖Δᵢ‖ of the adapter update.
    public var updateNorm: Double?
    /// Cosine similarity of Δᵢ to the mean of the other participants' updates.
    public var cosineToOthers: Double?
    /// Cosine similarity of Δᵢ to the aggregate update applied to the global adapter.
    public var cosineToAggregate: Double?
    /// Serialized payload bytes this round, coordinator to client and back.
    public var bytesDown: Int
    public var bytesUp: Int
    /// Simulated seconds: download + local compute (scaled by the link's compute factor) + upload.
    public var simulatedSeconds: Double
    /// Simulated transfer seconds (download + upload) from the encoded sizes and the link.
    public var transferSeconds: Double = 0
    /// Simulated compute seconds: measured training time times the link's compute factor (and any straggler fault).
    public var computeSeconds: Double = 0
    public var trainSeconds: Double
    /// Weight the aggregation gave this update.
    public var aggregationWeight: Double?
    /// The alert detector's combined evidence that this client degraded this round (0: none),
    /// and its strongest signals in words.
    public var anomalyScore: Double?
    public var anomalyEvidence: String?
    /// Share of this client's labelled validation examples that the global model labels right
    /// (nil when the client has no labelled data or no evaluation ran).
    public var taskAccuracy: Double?
    /// `taskAccuracy` minus the base model's on the same examples: positive means better.
    public var taskAccuracyDeltaBase: Double?
    /// Macro-F1 on the same examples.
    public var taskMacroF1: Double?
    /// The same evaluation's confusion counts, `confusion[gold][predicted]`.
    public var confusion: [String: [String: Int]]?
    /// Mean ROUGE-L F1 of the global model's greedy generations on this client's instruction examples.
    public var rougeL: Double?
    /// The client's check of its own update on a fixed held-out sample (`UpdateCheck`): the loss
    /// with the update applied minus without, at example ends, on label tokens and on all learned
    /// tokens; and the seconds the check took.
    public var checkEndLoss: Double?
    public var checkLabelLoss: Double?
    public var checkTextLoss: Double?
    public var checkSeconds: Double?
    /// The global model's loss on the client's probe sample (`ProbeLosses`, measured before it
    /// trains, like `localLossStart`) at each example's tail, and on its label's tokens where the
    /// text spells its label.
    public var localLossStartTail: Double?
    public var localLossStartLabel: Double?
    /// The client's checks of the text it trained on against its held-out examples
    /// (`DataProfile`): the share of its labelled training examples whose label its held-out
    /// neighbours vote against (and the same among its held-out examples), and the share carrying
    /// a recurring phrase its held-out text never shows, each with the examples it was measured on.
    public var dataLabelDisagreement: Double?
    public var dataReferenceDisagreement: Double?
    public var dataLabelledExamples: Int?
    public var dataUnexplainedPhrases: Double?
    public var dataCheckedExamples: Int?

    public init(client: String, round: Int, status: ClientStatus) {
        self.client = client; self.round = round; self.status = status
        trainExamples = 0; bytesDown = 0; bytesUp = 0; simulatedSeconds = 0; trainSeconds = 0
    }
}

/// Global measurements of one round.
public struct RoundMetrics: Sendable, Codable, Equatable {
    public var round: Int
    public var selected: [String]
    public var aggregated: [String]
    public var dropped: [String]
    /// Example-weighted mean eval loss of the global model over all clients' validation data.
    public var globalEvalLoss: Double?
    public var baseEvalLoss: Double?
    public var bytesUp: Int
    public var bytesDown: Int
    public var wallSeconds: Double
    /// The round's simulated duration: the slowest participant's download + compute + upload.
    public var simulatedSeconds: Double
    public var strategy: String
    public var updateNormMean: Double?
    /// Mean eval loss per client domain.
    public var domainEvalLoss: [String: Double]
    /// Accuracy and macro-F1 of the global model over every client's labelled validation
    /// examples pooled, and of the base model on the same examples (nil without labels).
    public var globalTaskAccuracy: Double?
    public var globalMacroF1: Double?
    public var baseTaskAccuracy: Double?
    public var baseMacroF1: Double?
    /// ROUGE-L F1 of greedy generations over every client's instruction examples, and the base model's.
    public var globalRougeL: Double?
    public var baseRougeL: Double?

    /// A round's measurements; the task metrics are set afterwards, when the run has a task.
    public init(round: Int, selected: [String], aggregated: [String], dropped: [String], globalEvalLoss: Double?,
                baseEvalLoss: Double?, bytesUp: Int, bytesDown: Int, wallSeconds: Double, simulatedSeconds: Double,
                strategy: String, updateNormMean: Double?, domainEvalLoss: [String: Double]) {
        self.round = round; self.selected = selected; self.aggregated = aggregated; self.dropped = dropped
        self.globalEvalLoss = globalEvalLoss; self.baseEvalLoss = baseEvalLoss; self.bytesUp = bytesUp; self.bytesDown = bytesDown
        self.wallSeconds = wallSeconds; self.simulatedSeconds = simulatedSeconds; self.strategy = strategy
        self.updateNormMean = updateNormMean; self.domainEvalLoss = domainEvalLoss
    }
}

// MARK: - JSON (the fields of `client_update` and `round_completed` events)

extension ClientRoundMetrics {
    enum CodingKeys: String, CodingKey {
        case client, round, status, trainExamples = "train_examples", trainTokens = "train_tokens"
        case localLossStart = "local_loss_start", localLossEnd = "local_loss_end", evalLoss = "eval_loss"
        case evalPerplexity = "eval_perplexity"   // written only: exp(eval_loss)
        case qualityDeltaBase = "quality_delta_base", qualityDeltaLast = "quality_delta_last", drift, updateNorm = "update_norm"
        case cosineToOthers = "cosine_to_others", cosineToAggregate = "cosine_to_aggregate"
        case bytesDown = "bytes_down", bytesUp = "bytes_up", simulatedSeconds = "simulated_seconds"
        case transferSeconds = "transfer_seconds", computeSeconds = "compute_seconds", trainSeconds = "train_seconds"
        case aggregationWeight = "aggregation_weight", anomalyScore = "anomaly_score", anomalyEvidence = "anomaly_evidence"
        case taskAccuracy = "task_accuracy", taskAccuracyDeltaBase = "task_accuracy_delta_base", taskMacroF1 = "task_macro_f1"
        case confusion, rougeL = "rouge_l"
        case checkEndLoss = "check_end_loss", checkLabelLoss = "check_label_loss", checkTextLoss = "check_text_loss"
        case checkSeconds = "check_seconds"
        case localLossStartTail = "local_loss_start_tail", localLossStartLabel = "local_loss_start_label"
        case dataLabelDisagreement = "data_label_disagreement", dataLabelledExamples = "data_labelled_examples"
        case dataReferenceDisagreement = "data_reference_disagreement"
        case dataUnexplainedPhrases = "data_unexplained_phrases", dataCheckedExamples = "data_checked_examples"
    }

    /// Reads the fields; only `client`, `round` and `status` are required (older journals lack later fields).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(client: try c.decode(String.self, forKey: .client), round: try c.decode(Int.self, forKey: .round),
                  status: try c.decode(ClientStatus.self, forKey: .status))
        func number(_ key: CodingKeys) throws -> Double? { try c.decodeIfPresent(Double.self, forKey: key) }
        func count(_ key: CodingKeys) throws -> Int { try c.decodeIfPresent(Int.self, forKey: key) ?? 0 }
        trainExamples = try count(.trainExamples); trainTokens = try count(.trainTokens)
        localLossStart = try number(.localLossStart); localLossEnd = try number(.localLossEnd); evalLoss = try number(.evalLoss)
        qualityDeltaBase = try number(.qualityDeltaBase); qualityDeltaLast = try number(.qualityDeltaLast)
        drift = try number(.drift); updateNorm = try number(.updateNorm)
        cosineToOthers = try number(.cosineToOthers); cosineToAggregate = try number(.cosineToAggregate)
        bytesDown = try count(.bytesDown); bytesUp = try count(.bytesUp)
        simulatedSeconds = try number(.simulatedSeconds) ?? 0; transferSeconds = try number(.transferSeconds) ?? 0
        computeSeconds = try number(.computeSeconds) ?? 0; trainSeconds = try number(.trainSeconds) ?? 0
        aggregationWeight = try number(.aggregationWeight)
        anomalyScore = try number(.anomalyScore); anomalyEvidence = try c.decodeIfPresent(String.self, forKey: .anomalyEvidence)
        taskAccuracy = try number(.taskAccuracy); taskAccuracyDeltaBase = try number(.taskAccuracyDeltaBase)
        taskMacroF1 = try number(.taskMacroF1); rougeL = try number(.rougeL)
        confusion = try c.decodeIfPresent([String: [String: Int]].self, forKey: .confusion)
        checkEndLoss = try number(.checkEndLoss); checkLabelLoss = try number(.checkLabelLoss)
        checkTextLoss = try number(.checkTextLoss); checkSeconds = try number(.checkSeconds)
        localLossStartTail = try number(.localLossStartTail); localLossStartLabel = try number(.localLossStartLabel)
        dataLabelDisagreement = try number(.dataLabelDisagreement); dataReferenceDisagreement = try number(.dataReferenceDisagreement)
        dataUnexplainedPhrases = try number(.dataUnexplainedPhrases)
        dataLabelledExamples = try c.decodeIfPresent(Int.self, forKey: .dataLabelledExamples)
        dataCheckedExamples = try c.decodeIfPresent(Int.self, forKey: .dataCheckedExamples)
    }

    /// Writes the fields. A loss or measurement that is missing is written as null; the anomaly
    /// fields only once the detector scored the client, and the task metrics only when they apply.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(client, forKey: .client); try c.encode(round, forKey: .round); try c.encode(status, forKey: .status)
        try c.encode(trainExamples, forKey: .trainExamples); try c.encode(trainTokens, forKey: .trainTokens)
        try c.encodeOrNull(localLossStart, forKey: .localLossStart); try c.encodeOrNull(localLossEnd, forKey: .localLossEnd)
        try c.encodeOrNull(evalLoss, forKey: .evalLoss); try c.encodeOrNull(evalLoss.map { exp($0) }, forKey: .evalPerplexity)
        try c.encodeOrNull(qualityDeltaBase, forKey: .qualityDeltaBase); try c.encodeOrNull(qualityDeltaLast, forKey: .qualityDeltaLast)
        try c.encodeOrNull(drift, forKey: .drift); try c.encodeOrNull(updateNorm, forKey: .updateNorm)
        try c.encodeOrNull(cosineToOthers, forKey: .cosineToOthers); try c.encodeOrNull(cosineToAggregate, forKey: .cosineToAggregate)
        try c.encode(bytesDown, forKey: .bytesDown); try c.encode(bytesUp, forKey: .bytesUp)
        try c.encodeOrNull(simulatedSeconds, forKey: .simulatedSeconds); try c.encodeOrNull(transferSeconds, forKey: .transferSeconds)
        try c.encodeOrNull(computeSeconds, forKey: .computeSeconds); try c.encodeOrNull(trainSeconds, forKey: .trainSeconds)
        try c.encodeOrNull(aggregationWeight, forKey: .aggregationWeight)
        if let anomalyScore {
            try c.encodeOrNull(anomalyScore, forKey: .anomalyScore); try c.encode(anomalyEvidence ?? "", forKey: .anomalyEvidence)
        }
        try c.encodeIfFinite(taskAccuracy, forKey: .taskAccuracy); try c.encodeIfFinite(taskAccuracyDeltaBase, forKey: .taskAccuracyDeltaBase)
        try c.encodeIfFinite(taskMacroF1, forKey: .taskMacroF1); try c.encodeIfPresent(confusion, forKey: .confusion)
        try c.encodeIfFinite(rougeL, forKey: .rougeL)
        try c.encodeIfFinite(checkEndLoss, forKey: .checkEndLoss); try c.encodeIfFinite(checkLabelLoss, forKey: .checkLabelLoss)
        try c.encodeIfFinite(checkTextLoss, forKey: .checkTextLoss); try c.encodeIfFinite(checkSeconds, forKey: .checkSeconds)
        try c.encodeIfFinite(localLossStartTail, forKey: .localLossStartTail)
        try c.encodeIfFinite(localLossStartLabel, forKey: .localLossStartLabel)
        try c.encodeIfFinite(dataLabelDisagreement, forKey: .dataLabelDisagreement)
        try c.encodeIfFinite(dataReferenceDisagreement, forKey: .dataReferenceDisagreement)
        try c.encodeIfPresent(dataLabelledExamples, forKey: .dataLabelledExamples)
        try c.encodeIfFinite(dataUnexplainedPhrases, forKey: .dataUnexplainedPhrases)
        try c.encodeIfPresent(dataCheckedExamples, forKey: .dataCheckedExamples)
    }
}

extension RoundMetrics {
    enum CodingKeys: String, CodingKey {
        case round, selected, aggregated, dropped, globalEvalLoss = "global_eval_loss", baseEvalLoss = "base_eval_loss"
        case bytesUp = "bytes_up", bytesDown = "bytes_down", wallSeconds = "wall_seconds", simulatedSeconds = "simulated_seconds"
        case strategy, updateNormMean = "update_norm_mean", domainEvalLoss = "domain_eval_loss"
        case globalTaskAccuracy = "global_task_accuracy", globalMacroF1 = "global_macro_f1"
        case baseTaskAccuracy = "base_task_accuracy", baseMacroF1 = "base_macro_f1"
        case globalRougeL = "global_rouge_l", baseRougeL = "base_rouge_l"
    }

    /// Reads the fields; only `round` is required.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(round: try c.decode(Int.self, forKey: .round),
                  selected: try c.decodeIfPresent([String].self, forKey: .selected) ?? [],
                  aggregated: try c.decodeIfPresent([String].self, forKey: .aggregated) ?? [],
                  dropped: try c.decodeIfPresent([String].self, forKey: .dropped) ?? [],
                  globalEvalLoss: try c.decodeIfPresent(Double.self, forKey: .globalEvalLoss),
                  baseEvalLoss: try c.decodeIfPresent(Double.self, forKey: .baseEvalLoss),
                  bytesUp: try c.decodeIfPresent(Int.self, forKey: .bytesUp) ?? 0,
                  bytesDown: try c.decodeIfPresent(Int.self, forKey: .bytesDown) ?? 0,
                  wallSeconds: try c.decodeIfPresent(Double.self, forKey: .wallSeconds) ?? 0,
                  simulatedSeconds: try c.decodeIfPresent(Double.self, forKey: .simulatedSeconds) ?? 0,
                  strategy: try c.decodeIfPresent(String.self, forKey: .strategy) ?? "",
                  updateNormMean: try c.decodeIfPresent(Double.self, forKey: .updateNormMean),
                  // A domain whose loss was not finite was written as null.
                  domainEvalLoss: (try c.decodeIfPresent([String: Double?].self, forKey: .domainEvalLoss) ?? [:]).compactMapValues { $0 })
        globalTaskAccuracy = try c.decodeIfPresent(Double.self, forKey: .globalTaskAccuracy)
        globalMacroF1 = try c.decodeIfPresent(Double.self, forKey: .globalMacroF1)
        baseTaskAccuracy = try c.decodeIfPresent(Double.self, forKey: .baseTaskAccuracy)
        baseMacroF1 = try c.decodeIfPresent(Double.self, forKey: .baseMacroF1)
        globalRougeL = try c.decodeIfPresent(Double.self, forKey: .globalRougeL)
        baseRougeL = try c.decodeIfPresent(Double.self, forKey: .baseRougeL)
    }

    /// Writes the fields: a missing loss as null, the task metrics only when they apply.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(round, forKey: .round)
        try c.encode(selected, forKey: .selected); try c.encode(aggregated, forKey: .aggregated); try c.encode(dropped, forKey: .dropped)
        try c.encodeOrNull(globalEvalLoss, forKey: .globalEvalLoss); try c.encodeOrNull(baseEvalLoss, forKey: .baseEvalLoss)
        try c.encode(bytesUp, forKey: .bytesUp); try c.encode(bytesDown, forKey: .bytesDown)
        try c.encodeOrNull(wallSeconds, forKey: .wallSeconds); try c.encodeOrNull(simulatedSeconds, forKey: .simulatedSeconds)
        try c.encode(strategy, forKey: .strategy); try c.encodeOrNull(updateNormMean, forKey: .updateNormMean)
        try c.encode(domainEvalLoss.mapValues { $0.isFinite ? $0 : nil }, forKey: .domainEvalLoss)
        try c.encodeIfFinite(globalTaskAccuracy, forKey: .globalTaskAccuracy); try c.encodeIfFinite(globalMacroF1, forKey: .globalMacroF1)
        try c.encodeIfFinite(baseTaskAccuracy, forKey: .baseTaskAccuracy); try c.encodeIfFinite(baseMacroF1, forKey: .baseMacroF1)
        try c.encodeIfFinite(globalRougeL, forKey: .globalRougeL); try c.encodeIfFinite(baseRougeL, forKey: .baseRougeL)
    }
}
