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
}
