import Foundation

/// A Rényi-DP accountant for DP-FedAvg with Poisson client sampling (client-level DP).
///
/// Each round samples every client independently with probability q (the sample rate), clips each
/// client's update to L2 norm C and adds N(0, σ²C²) to the sum, σ being the noise multiplier. One
/// round is then the Poisson-subsampled Gaussian mechanism, whose RDP `SampledGaussianRDP`
/// computes at every order of a fixed grid. Rounds compose by adding RDP order by order (RDP × steps),
/// and runs whose σ or q changes part-way compose segment by segment (`compose` may be called any
/// number of times). `epsilon(delta:)` converts the total to (ε, δ)-DP with the conversion of
/// Balle et al. 2020 (Thm. 21) / Canonne, Kamath, Steinke 2020 (Prop. 12 of "The Discrete Gaussian
/// for DP"), minimized over the orders:
///
///     ε(α) = RDP(α) + log((α − 1)/α) − (log δ + log α) / (α − 1)
///
/// exactly as Google's `dp_accounting.rdp.RdpAccountant` and Opacus' `get_privacy_spent` do.
///
/// A round in which DP is switched off releases an un-noised aggregate: compose it with σ = 0,
/// which makes ε infinite from then on, as it must.
public struct RDPAccountant: Sendable, Codable, Equatable {

    /// A stretch of rounds with one noise multiplier and one sample rate.
    public struct Segment: Sendable, Codable, Equatable {
        public var noiseMultiplier: Double
        public var sampleRate: Double
        public var steps: Int
        public init(noiseMultiplier: Double, sampleRate: Double, steps: Int) {
            self.noiseMultiplier = noiseMultiplier
            self.sampleRate = sampleRate
            self.steps = steps
        }
    }

    /// The default order grid: 1.1, 1.2, …, 10.9 (as `1 + x / 10.0`), 11, 12, …, 63, then
    /// 64, 72, 80, 88, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 768, 1024.
    /// It contains Google dp-accounting's default grid (which ends 128, 256, 512, 1024) and Opacus'
    /// (which ends 128, 256, 512), plus intermediate large orders for small-ε regimes.
    public static let defaultOrders: [Double] = {
        let fractional: [Double] = (1...99).map { (x: Int) -> Double in 1 + Double(x) / 10.0 }
        let integers: [Double] = (11...63).map { (x: Int) -> Double in Double(x) }
        let large: [Double] = [64, 72, 80, 88, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 768, 1024]
        return fractional + integers + large
    }()

    /// The RDP orders α (all > 1), ascending.
    public let orders: [Double]
    /// The accumulated RDP at each order.
    public private(set) var rdp: [Double]
    /// What has been composed so far; consecutive rounds with the same σ and q are merged.
    public private(set) var segments: [Segment] = []

    /// An accountant with nothing composed (ε = 0).
    public init() {
        orders = Self.defaultOrders
        rdp = Array(repeating: 0, count: orders.count)
    }

    /// An accountant over a custom order grid: ascending, finite, every order > 1.
    public init(orders: [Double]) throws {
        guard !orders.isEmpty else { throw PrivacyError.invalidOrders("the grid is empty") }
        guard orders.allSatisfy({ $0.isFinite && $0 > 1 }) else {
            throw PrivacyError.invalidOrders("every order must be finite and > 1")
        }
        guard zip(orders, orders.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw PrivacyError.invalidOrders("orders must be strictly ascending")
        }
        self.orders = orders
        rdp = Array(repeating: 0, count: orders.count)
    }

    private enum CodingKeys: String, CodingKey { case orders, rdp, segments }

    /// Decodes a saved accountant (e.g. from a run journal), checking that it is well formed.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let orders = try c.decode([Double].self, forKey: .orders)
        self = try RDPAccountant(orders: orders)
        let rdp = try c.decode([Double].self, forKey: .rdp)
        guard rdp.count == orders.count, rdp.allSatisfy({ !$0.isNaN && $0 >= 0 }) else {
            throw DecodingError.dataCorruptedError(forKey: .rdp, in: c,
                debugDescription: "expected \(orders.count) non-negative RDP values, one per order")
        }
        self.rdp = rdp
        segments = try c.decode([Segment].self, forKey: .segments)
    }

    /// The total number of composed rounds.
    public var steps: Int { segments.reduce(0) { $0 + $1.steps } }

    /// Composes `steps` rounds of the Poisson-subsampled Gaussian mechanism.
    /// - Parameters:
    ///   - noiseMultiplier: σ ≥ 0 (noise std / clip norm); 0 means no noise and ε = ∞.
    ///   - sampleRate: q ∈ [0, 1]; 0 means no client takes part and the rounds cost nothing.
    ///   - steps: ≥ 0 rounds.
    public mutating func compose(noiseMultiplier: Double, sampleRate: Double, steps: Int) throws {
        try Self.validate(noiseMultiplier: noiseMultiplier, sampleRate: sampleRate, steps: steps)
        guard steps > 0 else { return }
        let single = SampledGaussianRDP.rdp(sampleRate: sampleRate, noiseMultiplier: noiseMultiplier, orders: orders)
        for k in rdp.indices where single[k] != 0 { rdp[k] += Double(steps) * single[k] }
        if let last = segments.last, last.noiseMultiplier == noiseMultiplier, last.sampleRate == sampleRate {
            segments[segments.count - 1].steps += steps
        } else {
            segments.append(Segment(noiseMultiplier: noiseMultiplier, sampleRate: sampleRate, steps: steps))
        }
    }

    /// Composes one segment.
    public mutating func compose(_ segment: Segment) throws {
        try compose(noiseMultiplier: segment.noiseMultiplier, sampleRate: segment.sampleRate, steps: segment.steps)
    }

    /// The smallest ε over the orders for which the composition so far is (ε, δ)-DP, and the order
    /// that attains it. ε is `.infinity` (and the order `.nan`) when every order's RDP is infinite,
    /// e.g. after a round with σ = 0; ε is 0 when nothing private has been composed.
    public func epsilon(delta: Double) throws -> (epsilon: Double, order: Double) {
        guard delta > 0, delta < 1 else { throw PrivacyError.invalidDelta(delta) }
        return Self.epsilon(orders: orders, rdp: rdp, delta: delta)
    }

    /// RDP → (ε, δ), minimized over the orders (δ ∈ (0, 1) assumed).
    ///
    /// Per order, as dp-accounting's `compute_epsilon`: if δ² > 1 − e^(−RDP(α)) the KL bound
    /// δ ≥ √(1 − e^(−KL)) already gives ε = 0; otherwise, for α > 1.01,
    /// ε(α) = RDP(α) + log1p(−1/α) − log(δα)/(α − 1). The result is clamped at 0.
    public static func epsilon(orders: [Double], rdp: [Double], delta: Double) -> (epsilon: Double, order: Double) {
        var best = Double.infinity, bestOrder = Double.nan
        for (alpha, r0) in zip(orders, rdp) {
            guard !r0.isNaN else { continue }
            let r = max(r0, 0)   // a tiny negative RDP is rounding error
            let eps: Double
            if r.isInfinite {
                eps = .infinity
            } else if delta * delta + expm1(-r) > 0 {
                eps = 0
            } else if alpha > 1.01 {
                eps = r + log1p(-1 / alpha) - log(delta * alpha) / (alpha - 1)
            } else {
                eps = .infinity
            }
            if eps < best { best = eps; bestOrder = alpha }
        }
        return (max(best, 0), bestOrder)
    }

    /// ε after `steps` rounds with one σ and q, on the default order grid.
    public static func epsilon(noiseMultiplier: Double, sampleRate: Double, steps: Int, delta: Double,
                               orders: [Double] = defaultOrders) throws -> (epsilon: Double, order: Double) {
        var accountant = try RDPAccountant(orders: orders)
        try accountant.compose(noiseMultiplier: noiseMultiplier, sampleRate: sampleRate, steps: steps)
        return try accountant.epsilon(delta: delta)
    }

    static func validate(noiseMultiplier: Double, sampleRate: Double, steps: Int) throws {
        guard sampleRate.isFinite, sampleRate >= 0, sampleRate <= 1 else { throw PrivacyError.invalidSampleRate(sampleRate) }
        guard noiseMultiplier.isFinite, noiseMultiplier >= 0 else { throw PrivacyError.invalidNoiseMultiplier(noiseMultiplier) }
        guard steps >= 0 else { throw PrivacyError.invalidSteps(steps) }
    }
}

// MARK: - Calibration

extension RDPAccountant {

    /// The noise multiplier σ for which `steps` rounds at sample rate q are (ε, δ)-DP with ε just
    /// at or below `targetEpsilon`.
    ///
    /// ε(σ) is non-increasing in σ. σ is bracketed by doubling / halving from 1 and then bisected
    /// until ε(σ) ∈ [(1 − tolerance) · target, target] (or the bracket is narrower than 1e-9
    /// relative, which only happens at a jump of ε(σ)). The upper end of the bracket is returned,
    /// so the result never exceeds the target budget.
    public static func noiseMultiplier(targetEpsilon: Double, delta: Double, sampleRate: Double, steps: Int,
                                       tolerance: Double = 0.01, orders: [Double] = defaultOrders) throws -> Double {
        guard targetEpsilon.isFinite, targetEpsilon > 0 else { throw PrivacyError.invalidEpsilon(targetEpsilon) }
        guard delta > 0, delta < 1 else { throw PrivacyError.invalidDelta(delta) }
        guard sampleRate.isFinite, sampleRate > 0, sampleRate <= 1 else { throw PrivacyError.invalidSampleRate(sampleRate) }
        guard steps >= 1 else { throw PrivacyError.invalidSteps(steps) }
        guard tolerance > 0, tolerance < 1 else { throw PrivacyError.calibrationFailed("tolerance must be in (0, 1), got \(tolerance)") }
        _ = try RDPAccountant(orders: orders)

        func eps(_ sigma: Double) -> Double {
            // Inputs were validated above; composing cannot fail.
            (try? epsilon(noiseMultiplier: sigma, sampleRate: sampleRate, steps: steps, delta: delta, orders: orders).epsilon)
                ?? .infinity
        }
        let maxSigma = 1e6, minSigma = 1e-6
        var hi = 1.0, epsHi = eps(hi)
        while epsHi > targetEpsilon {
            hi *= 2
            guard hi <= maxSigma else {
                throw PrivacyError.calibrationFailed("ε = \(targetEpsilon) is not reached even with noise multiplier \(maxSigma)")
            }
            epsHi = eps(hi)
        }
        var lo = hi / 2
        while eps(lo) <= targetEpsilon {
            hi = lo
            epsHi = eps(hi)
            lo /= 2
            if lo < minSigma { return hi }   // any σ this small meets the target: no meaningful noise needed
        }
        // Invariant: eps(lo) > target ≥ eps(hi).
        while targetEpsilon - epsHi > tolerance * targetEpsilon, hi - lo > 1e-9 * hi {
            let mid = 0.5 * (lo + hi)
            let e = eps(mid)
            if e <= targetEpsilon { hi = mid; epsHi = e } else { lo = mid }
        }
        return hi
    }
}
