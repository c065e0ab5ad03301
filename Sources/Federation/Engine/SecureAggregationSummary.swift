import Foundation

/// What the operator sees of one secure-aggregation round: the parameters, who dropped where,
/// and what it cost. It holds no update values.
public struct SecureAggregationSummary: Sendable, Codable, Equatable {
    public var round: Int
    /// Clients that entered secure aggregation (their local training finished).
    public var clients: [String]
    /// SecAgg+ neighbour degree k and Shamir threshold t.
    public var degree: Int
    public var threshold: Int
    public var chosenAutomatically: Bool
    /// Bound on the probability that a round with these parameters fails.
    public var failureProbability: Double
    /// Fixed-point range per coordinate and the size of one quantization step.
    public var quantizationBound: Double
    public var quantizationStep: Double
    /// Clients whose masked input is in the sum.
    public var included: [String] = []
    /// Clients that dropped, by the phase they did not answer (advertise_keys, share_keys,
    /// masked_input, unmask).
    public var dropped: [String: [String]] = [:]
    public var bytesUp = 0
    public var bytesDown = 0
    /// Seconds the coordinator spent in the protocol (receiving, recovery, unmasking).
    public var serverSeconds = 0.0
    /// Wall seconds of the whole protocol, client work included (in process).
    public var wallSeconds = 0.0
    /// Why the round aborted, when it did.
    public var aborted: String?

    public init(round: Int, clients: [String], degree: Int, threshold: Int, chosenAutomatically: Bool, failureProbability: Double,
                quantizationBound: Double, quantizationStep: Double) {
        self.round = round; self.clients = clients; self.degree = degree; self.threshold = threshold
        self.chosenAutomatically = chosenAutomatically; self.failureProbability = failureProbability
        self.quantizationBound = quantizationBound; self.quantizationStep = quantizationStep
    }
}

extension SecureAggregationSummary {
    // Its fields in its `secure_aggregation` event.
    enum CodingKeys: String, CodingKey {
        case round, clients, degree, threshold, chosenAutomatically = "chosen_automatically"
        case failureProbability = "failure_probability", quantizationBound = "quantization_bound", quantizationStep = "quantization_step"
        case included, dropped, bytesUp = "bytes_up", bytesDown = "bytes_down", serverSeconds = "server_seconds"
        case wallSeconds = "wall_seconds", aborted
    }

    /// Reads the fields; only `round` is required.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(round: try c.decode(Int.self, forKey: .round), clients: try c.decodeIfPresent([String].self, forKey: .clients) ?? [],
                  degree: try c.decodeIfPresent(Int.self, forKey: .degree) ?? 0,
                  threshold: try c.decodeIfPresent(Int.self, forKey: .threshold) ?? 0,
                  chosenAutomatically: try c.decodeIfPresent(Bool.self, forKey: .chosenAutomatically) ?? false,
                  failureProbability: try c.decodeIfPresent(Double.self, forKey: .failureProbability) ?? 0,
                  quantizationBound: try c.decodeIfPresent(Double.self, forKey: .quantizationBound) ?? 0,
                  quantizationStep: try c.decodeIfPresent(Double.self, forKey: .quantizationStep) ?? 0)
        included = try c.decodeIfPresent([String].self, forKey: .included) ?? []
        dropped = try c.decodeIfPresent([String: [String]].self, forKey: .dropped) ?? [:]
        bytesUp = try c.decodeIfPresent(Int.self, forKey: .bytesUp) ?? 0
        bytesDown = try c.decodeIfPresent(Int.self, forKey: .bytesDown) ?? 0
        serverSeconds = try c.decodeIfPresent(Double.self, forKey: .serverSeconds) ?? 0
        wallSeconds = try c.decodeIfPresent(Double.self, forKey: .wallSeconds) ?? 0
        aborted = try c.decodeIfPresent(String.self, forKey: .aborted)
    }

    /// Writes the fields (`aborted` as null when the round did not abort).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(round, forKey: .round); try c.encode(clients, forKey: .clients)
        try c.encode(degree, forKey: .degree); try c.encode(threshold, forKey: .threshold)
        try c.encode(chosenAutomatically, forKey: .chosenAutomatically)
        try c.encodeOrNull(failureProbability, forKey: .failureProbability)
        try c.encodeOrNull(quantizationBound, forKey: .quantizationBound); try c.encodeOrNull(quantizationStep, forKey: .quantizationStep)
        try c.encode(included, forKey: .included); try c.encode(dropped, forKey: .dropped)
        try c.encode(bytesUp, forKey: .bytesUp); try c.encode(bytesDown, forKey: .bytesDown)
        try c.encodeOrNull(serverSeconds, forKey: .serverSeconds); try c.encodeOrNull(wallSeconds, forKey: .wallSeconds)
        try c.encodeOrNull(aborted, forKey: .aborted)
    }
}
