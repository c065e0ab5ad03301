// FedAvg (McMahan et al. 2017), FedProx (Li et al. 2020) and FedAvgM (Hsu et al. 2019).

/// FedAvg, or FedProx when built with a proximal μ: global += η · Σ n_i Δ_i / Σ n_i.
///
/// `serverLearningRate` η multiplies the averaged step; with the default η = 1 this is exactly
/// McMahan's FedAvg (the new global is the example-weighted mean of the clients' parameters).
/// FedProx aggregates identically; it only changes local training, through `instructions`.
public struct FedAvgStrategy: MeanAggregationStrategy {
    /// `.fedprox` when a proximal μ was given, `.fedavg` otherwise.
    public let kind: StrategyKind
    /// Server learning rate η (1 = plain FedAvg).
    public var serverLearningRate: Float
    /// FedProx's μ, sent to every client (0 for FedAvg).
    public var proximalMu: Float

    /// FedAvg (proximalMu nil) or FedProx (proximalMu set, even to 0).
    public init(serverLearningRate: Float = 1, proximalMu: Float? = nil) {
        self.kind = proximalMu == nil ? .fedavg : .fedprox
        self.serverLearningRate = serverLearningRate
        self.proximalMu = proximalMu ?? 0
    }

    /// FedProx asks for the proximal term; FedAvg for plain training.
    public func instructions(for client: String, dimension: Int) -> ClientInstructions {
        ClientInstructions(proximalMu: proximalMu)
    }

    /// global += η · mean delta.
    public func step(global: [Float], mean: [Float]) throws -> [Float] {
        guard mean.count == global.count else {
            throw AggregationError.stateDimensionMismatch(strategy: kind, expected: global.count, actual: mean.count)
        }
        return StrategyKernels.step(global, by: mean, scale: serverLearningRate)
    }
}

/// FedAvgM: server momentum on the example-weighted mean delta Δ; v = β v + Δ, global += η v.
///
/// v starts at zero, so round 1 steps by η Δ (as Flower's FedAvgM, which sets v = Δ in round 1).
public struct FedAvgMStrategy: MeanAggregationStrategy {
    /// Always `.fedavgm`.
    public var kind: StrategyKind { .fedavgm }
    /// Server learning rate η.
    public var serverLearningRate: Float
    /// Server momentum β.
    public var momentum: Float
    /// The momentum buffer v (empty before the first round).
    public internal(set) var velocity: [Float] = []

    /// A FedAvgM server with learning rate η and momentum β.
    public init(serverLearningRate: Float = 1, momentum: Float = 0.9) {
        self.serverLearningRate = serverLearningRate; self.momentum = momentum
    }

    /// Its state: the momentum buffer, once a round has run.
    public var savedState: StrategyState { velocity.isEmpty ? .empty : StrategyState(vectors: ["velocity": velocity]) }

    public mutating func restore(_ state: StrategyState, dimension: Int) throws {
        try state.check(only: ["velocity"], clients: false, strategy: kind)
        if !state.isEmpty { velocity = try state.vector("velocity", dimension: dimension, strategy: kind) }
    }

    /// v = β v + Δ; global += η v.
    public mutating func step(global: [Float], mean: [Float]) throws -> [Float] {
        let d = global.count
        if velocity.isEmpty { velocity = [Float](repeating: 0, count: d) }
        guard velocity.count == d, mean.count == d else {
            throw AggregationError.stateDimensionMismatch(strategy: kind, expected: velocity.count, actual: mean.count)
        }
        var out = global
        let beta = momentum, eta = serverLearningRate
        if d > 0 {
            out.withUnsafeMutableBufferPointer { gb in
                velocity.withUnsafeMutableBufferPointer { vb in
                    mean.withUnsafeBufferPointer { mb in
                        let g = gb.baseAddress!, v = vb.baseAddress!, m = mb.baseAddress!
                        for j in 0..<d {
                            let vj = beta * v[j] + m[j]
                            v[j] = vj
                            g[j] += eta * vj
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Client id → weight, in the order of `updates`.
func weightMap(_ updates: [ClientUpdate], _ weights: [Double]) -> [String: Double] {
    var map = [String: Double](minimumCapacity: updates.count)
    for (u, w) in zip(updates, weights) { map[u.client] = w }
    return map
}
