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

    /// The JSON fields of its event.
    var jsonFields: [String: Any] {
        var o: [String: Any] = ["clients": clients, "degree": degree, "threshold": threshold, "chosen_automatically": chosenAutomatically,
                                "failure_probability": failureProbability, "quantization_bound": quantizationBound,
                                "quantization_step": quantizationStep, "included": included, "dropped": dropped,
                                "bytes_up": bytesUp, "bytes_down": bytesDown, "server_seconds": serverSeconds,
                                "wall_seconds": wallSeconds]
        o["aborted"] = aborted ?? NSNull()
        return o
    }
}
