import Foundation

/// Rényi DP of the Poisson-subsampled Gaussian mechanism, for one step.
///
/// The mechanism: each record (here, each client) is included independently with probability q,
/// the included contributions (each of L2 norm ≤ C) are summed, and Gaussian noise N(0, σ²C²) is
/// added. Its RDP at order α is `log(A_α) / (α − 1)` with
///
///     A_α = E_{z ~ N(0, σ²)} [ (1 − q + q · exp((2z − 1) / (2σ²)))^α ]
///
/// (Mironov, Talwar, Zhang 2019, "Rényi Differential Privacy of the Sampled Gaussian Mechanism",
/// §3.3). For integer α the binomial expansion is finite (the closed form); for fractional α the
/// integral is split at z₀ = σ² log(1/q − 1) + 1/2 and both halves are expanded into binomial
/// series whose terms carry the sign of the generalized binomial coefficient C(α, i). Everything
/// is summed in log space.
///
/// Special cases: q = 0 → 0; σ = 0 (with q > 0) → ∞; q = 1 → α / (2σ²), the Gaussian mechanism.
public enum SampledGaussianRDP {

    /// RDP of one step at each order, in the same order as `orders`.
    public static func rdp(sampleRate q: Double, noiseMultiplier sigma: Double, orders: [Double]) -> [Double] {
        orders.map { rdp(sampleRate: q, noiseMultiplier: sigma, order: $0) }
    }

    /// RDP of one step at a single order α > 1 (NaN for α ≤ 1). Inputs are assumed valid
    /// (q ∈ [0, 1], σ ≥ 0); `RDPAccountant` validates them.
    public static func rdp(sampleRate q: Double, noiseMultiplier sigma: Double, order alpha: Double) -> Double {
        guard alpha > 1 else { return .nan }
        if q == 0 { return 0 }
        if sigma == 0 || alpha.isInfinite { return .infinity }
        if q == 1 { return alpha / (2 * sigma * sigma) }
        let logA = alpha.rounded() == alpha
            ? logAInteger(q: q, sigma: sigma, alpha: Int(alpha))
            : logAFractional(q: q, sigma: sigma, alpha: alpha)
        return logA / (alpha - 1)
    }

    // MARK: - log(A_α)

    /// log A_α for integer α ≥ 2, 0 < q < 1:
    /// A_α = Σ_{i=0..α} C(α, i) q^i (1 − q)^(α−i) exp((i² − i) / (2σ²)).
    static func logAInteger(q: Double, sigma: Double, alpha: Int) -> Double {
        let logQ = log(q), log1mQ = log1p(-q), twoSigma2 = 2 * sigma * sigma
        let a = Double(alpha)
        let lgA = logGamma(a + 1)
        var terms = [Double]()
        terms.reserveCapacity(alpha + 1)
        for i in 0...alpha {
            let k = Double(i)
            let logBinom = lgA - logGamma(k + 1) - logGamma(a - k + 1)
            terms.append(logBinom + k * logQ + (a - k) * log1mQ + (k * k - k) / twoSigma2)
        }
        return LogSpace.sumExp(terms)
    }

    /// log Γ(x) for x > 0 (the re-entrant `lgamma_r` behind the platform's tuple-returning `lgamma`).
    static func logGamma(_ x: Double) -> Double {
        let (value, _): (Double, Int) = lgamma(x)
        return value
    }

    /// Largest number of series terms for a fractional order before the order is given up
    /// (its RDP is then reported as +∞, which only excludes it from the ε minimization).
    static let maxFractionalTerms = 1_000_000

    /// Relative accuracy of log A_α (hence of the RDP) at which the fractional series stops.
    static let fractionalTolerance = 1e-10

    /// log A_α for fractional α > 1, 0 < q < 1 (Mironov et al. 2019, §3.3).
    ///
    /// A_α = A₀ + A₁ with, for i = 0, 1, 2, … and j = α − i,
    ///   A₀ term i: C(α, i) q^i (1−q)^j exp((i² − i)/(2σ²)) · ½ erfc((i − z₀) / (√2 σ))
    ///   A₁ term i: C(α, i) q^j (1−q)^i exp((j² − j)/(2σ²)) · ½ erfc((z₀ − j) / (√2 σ))
    /// C(α, i) > 0 for i ≤ ⌊α⌋ + 1 and alternates in sign afterwards. Positive and negative terms are
    /// accumulated separately in log space.
    ///
    /// Truncation: past i = ⌊α⌋ + 1 the series alternates and (once the terms decrease) the true sum
    /// lies between two consecutive partial sums, whose midpoint is returned. The tail decays only
    /// polynomially (like i^-(α+2)) because the geometric factors cancel at z₀, so the summation
    /// stops as soon as the last term is below `fractionalTolerance` · A_α · log A_α, i.e. once the
    /// bracket pins log A_α to that relative accuracy.
    static func logAFractional(q: Double, sigma: Double, alpha: Double) -> Double {
        let logQ = log(q), log1mQ = log1p(-q), twoSigma2 = 2 * sigma * sigma
        let z0 = sigma * sigma * log(1 / q - 1) + 0.5
        let sqrt2Sigma = 2.0.squareRoot() * sigma
        let logHalf = -M_LN2
        let logTolerance = log(fractionalTolerance)
        var positive = LogSpace.Accumulator(), negative = LogSpace.Accumulator()
        var logBinom = 0.0          // log |C(α, i)|
        var binomNegative = false   // sign of C(α, i)
        var last = Double.infinity
        for n in 0..<maxFractionalTerms {
            let i = Double(n), j = alpha - i
            let s0 = logBinom + i * logQ + j * log1mQ + (i * i - i) / twoSigma2
                + logHalf + LogSpace.logErfc((i - z0) / sqrt2Sigma)
            let s1 = logBinom + j * logQ + i * log1mQ + (j * j - j) / twoSigma2
                + logHalf + LogSpace.logErfc((z0 - j) / sqrt2Sigma)
            let term = LogSpace.add(s0, s1)
            if binomNegative { negative.add(term) } else { positive.add(term) }
            if i > alpha + 1, term < last {
                let logA = LogSpace.subtract(positive.value, negative.value)
                // |term| ≤ tol · A · log A  ⇔  term ≤ log tol + log A + log(log A)
                let bound = logA > 0 ? logTolerance + logA + log(logA) : positive.value - 40
                if term < bound {
                    // Midpoint of the last two partial sums: add back half of the last term.
                    let half = term + logHalf
                    return binomNegative ? LogSpace.add(logA, half) : LogSpace.subtract(logA, half)
                }
            }
            last = term
            // C(α, i+1) = C(α, i) · (α − i) / (i + 1)
            let factor = (alpha - i) / (i + 1)
            logBinom += log(abs(factor))
            if factor < 0 { binomNegative.toggle() }
        }
        return .infinity
    }
}

/// Arithmetic on numbers represented by their natural logarithm (−∞ is zero).
enum LogSpace {
    /// log(eˣ + eʸ).
    static func add(_ x: Double, _ y: Double) -> Double {
        let (a, b) = x < y ? (x, y) : (y, x)
        if a == -.infinity { return b }
        if b == .infinity { return .infinity }
        return b + log1p(exp(a - b))
    }

    /// log(eˣ − eʸ) for x ≥ y; −∞ when y ≥ x.
    static func subtract(_ x: Double, _ y: Double) -> Double {
        if y == -.infinity { return x }
        if y >= x { return -.infinity }
        return x + log(-expm1(y - x))
    }

    /// log Σ e^(tᵢ), shifted by the maximum.
    static func sumExp(_ terms: [Double]) -> Double {
        guard let m = terms.max(), m > -.infinity else { return -.infinity }
        if m == .infinity { return .infinity }
        var s = 0.0
        for t in terms { s += exp(t - m) }
        return m + log(s)
    }

    /// A running log-sum-exp.
    struct Accumulator {
        private(set) var value = -Double.infinity
        mutating func add(_ t: Double) { value = LogSpace.add(value, t) }
    }

    /// log(erfc(x)), accurate where erfc underflows: below x = 25 erfc itself is accurate to a few
    /// ulps relative; above it the asymptotic expansion
    /// erfc(x) = e^(−x²) / (x √π) · (1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶) + 105/(16x⁸) − …)
    /// is used (the first omitted term is < 1e-13 there).
    static func logErfc(_ x: Double) -> Double {
        if x < 25 { return log(erfc(x)) }
        let y = 1 / (2 * x * x)   // 1/(2x²)
        // Σ (−1)^k (2k−1)!! / (2x²)^k, k = 0…6
        var series = 1.0, term = 1.0
        for k in 1...6 {
            term *= -Double(2 * k - 1) * y
            series += term
        }
        return -x * x - log(x) - 0.5 * log(Double.pi) + log(series)
    }
}
