// Server-side aggregation: the public contract shared by every strategy.
//
// All strategies work on one flat `[Float]` parameter vector (a LoRA adapter's parameters,
// concatenated). A client reports a *delta* (its local parameters minus the global parameters
// it started from); the server's "pseudo-gradient" Δ is the (example-weighted) mean delta.
// Every strategy returns the new global parameters and never mutates its input.

/// One client's contribution to a round.
public struct ClientUpdate: Sendable {
    /// The client's id.
    public var client: String
    /// Local parameters minus the global parameters the client started from.
    public var delta: [Float]
    /// Number of training examples (FedAvg weight).
    public var exampleCount: Int
    /// SCAFFOLD: change of the client's control variate (c_i^+ - c_i); nil otherwise.
    public var controlDelta: [Float]?

    /// An update; `controlDelta` only for SCAFFOLD.
    public init(client: String, delta: [Float], exampleCount: Int, controlDelta: [Float]? = nil) {
        self.client = client; self.delta = delta; self.exampleCount = exampleCount; self.controlDelta = controlDelta
    }
}

/// What the server asks of clients' local training in a round.
public struct ClientInstructions: Sendable, Equatable {
    /// FedProx: add mu * (w - w_global) to the local gradient; 0 = none.
    public var proximalMu: Float
    /// SCAFFOLD: add (c - c_i) to every local gradient; nil = no correction.
    public var gradientCorrection: [Float]?
    /// SCAFFOLD: the server control variate c, which the client needs to compute its new c_i
    /// (see `ScaffoldClient.updatedControl`); nil for other strategies.
    public var serverControl: [Float]?

    /// Instructions; the defaults mean plain local training.
    public init(proximalMu: Float = 0, gradientCorrection: [Float]? = nil, serverControl: [Float]? = nil) {
        self.proximalMu = proximalMu; self.gradientCorrection = gradientCorrection; self.serverControl = serverControl
    }

    /// Plain local training: no proximal term, no gradient correction.
    public static let none = ClientInstructions()
}

/// The result of one aggregation round.
public struct AggregationOutcome: Sendable {
    /// The new global parameters.
    public var global: [Float]
    /// Clients whose updates were excluded or down-weighted by a robust rule (Krum's rejects, trimmed coordinates don't count) — for the operator's view.
    public var rejected: [String]
    /// Per-client weight actually used (FedAvg weights, Krum selection as 0/1, ...), for metrics.
    public var weights: [String: Double]

    /// An outcome; nothing rejected and no weights unless given.
    public init(global: [Float], rejected: [String] = [], weights: [String: Double] = [:]) {
        self.global = global; self.rejected = rejected; self.weights = weights
    }
}

/// A server-side rule that turns a round's client updates into new global parameters.
public protocol AggregationStrategy: Sendable {
    /// Which strategy this is.
    var kind: StrategyKind { get }
    /// Local-training instructions for a client (uses the client's id for per-client state such as SCAFFOLD's c_i).
    func instructions(for client: String, dimension: Int) -> ClientInstructions
    /// Combines the round's updates into new global parameters. Throws on empty input or mismatched dimensions (message names the client).
    mutating func aggregate(global: [Float], updates: [ClientUpdate]) throws -> AggregationOutcome
    /// The server-side buffers to save after a round (see `StrategyState`); stateless strategies
    /// keep the default, which saves nothing.
    var savedState: StrategyState { get }
    /// Puts saved buffers back on resume; every vector must have `dimension` values. Throws a
    /// `StrategyStateError` naming the field that does not fit this strategy.
    mutating func restore(_ state: StrategyState, dimension: Int) throws
}

/// A strategy whose server step needs only the (weighted) mean of the client deltas, so that
/// secure aggregation, which reveals only a sum, can feed it.
public protocol MeanAggregationStrategy: AggregationStrategy {
    /// Steps the global parameters by the round's mean delta (and updates any server state).
    mutating func step(global: [Float], mean: [Float]) throws -> [Float]
}

extension MeanAggregationStrategy {
    /// The example-weighted mean delta, then `step(global:mean:)`.
    public mutating func aggregate(global: [Float], updates: [ClientUpdate]) throws -> AggregationOutcome {
        try StrategyKernels.validate(global: global, updates: updates, strategy: kind)
        let weights = try StrategyKernels.exampleWeights(updates, strategy: kind)
        let mean = StrategyKernels.weightedDelta(updates, weights: weights, dimension: global.count)
        return AggregationOutcome(global: try step(global: global, mean: mean), rejected: [], weights: weightMap(updates, weights))
    }
}

extension AggregationStrategy {
    /// Default: plain local training.
    public func instructions(for client: String, dimension: Int) -> ClientInstructions { .none }
}

/// Why a round could not be aggregated.
public enum AggregationError: Error, Equatable, CustomStringConvertible {
    /// The round has no updates.
    case noUpdates(strategy: StrategyKind)
    /// A client's delta does not have the global parameters' dimension.
    case dimensionMismatch(client: String, expected: Int, actual: Int)
    /// A SCAFFOLD client's control delta does not have the global parameters' dimension.
    case controlDimensionMismatch(client: String, expected: Int, actual: Int)
    /// A client reported a negative example count.
    case negativeExampleCount(client: String, count: Int)
    /// Example-weighted averaging is impossible: every client reported zero examples.
    case zeroTotalExamples(strategy: StrategyKind)
    /// The same client appears twice in one round.
    case duplicateClient(String)
    /// The global parameters changed dimension since the strategy's state was created.
    case stateDimensionMismatch(strategy: StrategyKind, expected: Int, actual: Int)
    /// An argument of a helper is out of range (the message says which).
    case invalidArgument(String)

    /// A one-sentence message naming the client or strategy at fault.
    public var description: String {
        switch self {
        case .noUpdates(let s):
            return "\(s.rawValue): no client updates to aggregate"
        case let .dimensionMismatch(client, expected, actual):
            return "client '\(client)' sent an update of dimension \(actual), but the global parameters have dimension \(expected)"
        case let .controlDimensionMismatch(client, expected, actual):
            return "client '\(client)' sent a control-variate delta of dimension \(actual), but the global parameters have dimension \(expected)"
        case let .negativeExampleCount(client, count):
            return "client '\(client)' reported a negative example count (\(count))"
        case .zeroTotalExamples(let s):
            return "\(s.rawValue): every client reported zero training examples, so the weighted mean is undefined"
        case .duplicateClient(let client):
            return "client '\(client)' sent more than one update in the same round"
        case let .stateDimensionMismatch(s, expected, actual):
            return "\(s.rawValue): global parameters have dimension \(actual), but the strategy's state was built for dimension \(expected)"
        case .invalidArgument(let message):
            return message
        }
    }
}

/// Builds the strategy a scenario asks for; `totalClients` is SCAFFOLD's N (nil = number of clients seen so far).
public func makeStrategy(_ config: StrategyConfig, totalClients: Int? = nil) -> any AggregationStrategy {
    switch config.kind {
    case .fedavg:
        return FedAvgStrategy(serverLearningRate: config.serverLearningRate)
    case .fedprox:
        return FedAvgStrategy(serverLearningRate: config.serverLearningRate, proximalMu: config.proximalMu)
    case .fedavgm:
        return FedAvgMStrategy(serverLearningRate: config.serverLearningRate, momentum: config.momentum)
    case .fedadagrad:
        return AdaptiveFedOptStrategy(rule: .adagrad, config: config)
    case .fedadam:
        return AdaptiveFedOptStrategy(rule: .adam, config: config)
    case .fedyogi:
        return AdaptiveFedOptStrategy(rule: .yogi, config: config)
    case .scaffold:
        return ScaffoldStrategy(globalLearningRate: config.serverLearningRate, totalClients: totalClients)
    case .median:
        return CoordinateMedianStrategy()
    case .trimmedMean:
        return TrimmedMeanStrategy(trimFraction: config.trimFraction)
    case .krum:
        return KrumStrategy(byzantine: config.byzantine)
    case .multiKrum:
        return KrumStrategy(byzantine: config.byzantine, multiKrumSelect: config.multiKrumSelect)
    }
}
