// FedAdagrad, FedAdam and FedYogi: Reddi et al. 2021, "Adaptive Federated Optimization", Algorithm 2.

/// FedAdagrad / FedAdam / FedYogi: an adaptive server optimizer on the example-weighted mean delta Δ.
///
/// Per coordinate, each round:
///
///     m = β1 m + (1 − β1) Δ
///     Adagrad: v = v + Δ²
///     Adam:    v = β2 v + (1 − β2) Δ²
///     Yogi:    v = v − (1 − β2) Δ² sign(v − Δ²)        (sign(0) = 0)
///     global += η m / (√v + τ)
///
/// This is Reddi's algorithm as written: **no bias correction** (current Flower's FedAdam
/// multiplies η by √(1−β2^t)/(1−β1^t); older Flower and the paper do not). m starts at 0 and
/// v at `initialSecondMoment`, τ² by default — the paper's initialization v₋₁ ≥ τ² (Flower starts
/// v at 0; the two differ only where Δ is ~τ or smaller). β1 is used by all three rules as in
/// the paper (Flower's FedAdagrad forces β1 = 0; pass beta1 0 to get that).
public struct AdaptiveFedOptStrategy: MeanAggregationStrategy {
    /// Which second-moment rule.
    public enum Rule: String, Sendable, CaseIterable {
        case adagrad, adam, yogi
    }

    /// The second-moment rule in use.
    public let rule: Rule
    /// `.fedadagrad`, `.fedadam` or `.fedyogi`, from the rule.
    public var kind: StrategyKind {
        switch rule {
        case .adagrad: return .fedadagrad
        case .adam: return .fedadam
        case .yogi: return .fedyogi
        }
    }
    /// Server learning rate η.
    public var serverLearningRate: Float
    /// First-moment decay β1.
    public var beta1: Float
    /// Second-moment decay β2 (Adam, Yogi).
    public var beta2: Float
    /// Adaptivity τ.
    public var tau: Float
    /// Starting value of every coordinate of v (τ² unless given).
    public var initialSecondMoment: Float
    /// First moment m (empty before the first round).
    public internal(set) var firstMoment: [Float] = []
    /// Second moment v (empty before the first round).
    public internal(set) var secondMoment: [Float] = []

    /// An adaptive server optimizer; `initialSecondMoment` nil means τ².
    public init(rule: Rule, serverLearningRate: Float, beta1: Float = 0.9, beta2: Float = 0.99,
                tau: Float = 1e-3, initialSecondMoment: Float? = nil) {
        self.rule = rule; self.serverLearningRate = serverLearningRate
        self.beta1 = beta1; self.beta2 = beta2; self.tau = tau
        self.initialSecondMoment = initialSecondMoment ?? tau * tau
    }

    /// An adaptive server optimizer with the scenario's η, β1, β2 and τ.
    public init(rule: Rule, config: StrategyConfig) {
        self.init(rule: rule, serverLearningRate: config.serverLearningRate, beta1: config.beta1,
                  beta2: config.beta2, tau: config.tau)
    }

    /// Its state: both moments, once a round has run.
    public var savedState: StrategyState {
        firstMoment.isEmpty ? .empty : StrategyState(vectors: ["first_moment": firstMoment, "second_moment": secondMoment])
    }

    public mutating func restore(_ state: StrategyState, dimension: Int) throws {
        try state.check(only: ["first_moment", "second_moment"], clients: false, strategy: kind)
        guard !state.isEmpty else { return }
        firstMoment = try state.vector("first_moment", dimension: dimension, strategy: kind)
        secondMoment = try state.vector("second_moment", dimension: dimension, strategy: kind)
    }

    /// Updates m and v from the weighted mean delta and steps the global parameters.
    public mutating func step(global: [Float], mean delta: [Float]) throws -> [Float] {
        let d = global.count
        if firstMoment.isEmpty && secondMoment.isEmpty {
            firstMoment = [Float](repeating: 0, count: d)
            secondMoment = [Float](repeating: initialSecondMoment, count: d)
        }
        guard firstMoment.count == d, delta.count == d else {
            throw AggregationError.stateDimensionMismatch(strategy: kind, expected: firstMoment.count, actual: delta.count)
        }
        var out = global
        let b1 = beta1, b2 = beta2, eta = serverLearningRate, tau = tau, rule = rule
        if d > 0 {
            out.withUnsafeMutableBufferPointer { gb in
                firstMoment.withUnsafeMutableBufferPointer { mb in
                    secondMoment.withUnsafeMutableBufferPointer { vb in
                        delta.withUnsafeBufferPointer { db in
                            Self.step(g: gb.baseAddress!, m: mb.baseAddress!, v: vb.baseAddress!, delta: db.baseAddress!,
                                      count: d, rule: rule, b1: b1, b2: b2, eta: eta, tau: tau)
                        }
                    }
                }
            }
        }
        return out
    }

    /// The per-coordinate update; one loop per rule so each vectorizes.
    @inline(__always)
    static func step(g: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                     delta: UnsafePointer<Float>, count d: Int, rule: Rule,
                     b1: Float, b2: Float, eta: Float, tau: Float) {
        let c1 = 1 - b1, c2 = 1 - b2
        switch rule {
        case .adagrad:
            for j in 0..<d {
                let x = delta[j]
                let mj = b1 * m[j] + c1 * x
                let vj = v[j] + x * x
                m[j] = mj; v[j] = vj
                g[j] += eta * mj / (vj.squareRoot() + tau)
            }
        case .adam:
            for j in 0..<d {
                let x = delta[j]
                let mj = b1 * m[j] + c1 * x
                let vj = b2 * v[j] + c2 * (x * x)
                m[j] = mj; v[j] = vj
                g[j] += eta * mj / (vj.squareRoot() + tau)
            }
        case .yogi:
            for j in 0..<d {
                let x = delta[j]
                let x2 = x * x
                let mj = b1 * m[j] + c1 * x
                let s = v[j] - x2
                let sign: Float = s > 0 ? 1 : (s < 0 ? -1 : 0)
                let vj = v[j] - c2 * x2 * sign
                m[j] = mj; v[j] = vj
                g[j] += eta * mj / (vj.squareRoot() + tau)
            }
        }
    }
}
