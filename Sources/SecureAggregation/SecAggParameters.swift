import Foundation

/// The neighbour degree k and Shamir threshold t for a round, with the failure probabilities
/// that justify them.
///
/// Rule (after Bell et al. 2020, with independent dropouts at rate p and, optionally, a fraction
/// γ of clients colluding with the server):
/// - **recovery**: the round fails if some client has fewer than t responding neighbours (its
///   self-mask seed or masking key cannot be rebuilt). Each neighbour responds with probability
///   1 − p, so per client P[Bin(k, 1 − p) < t]; union bound over the n clients. For the complete
///   graph the exact value P[Bin(n, 1 − p) ≤ t] is used instead (it is much smaller).
/// - **threshold privacy**: the server must never get both secrets of an honest client. Honest
///   neighbours reveal only one of the two, so the server (with C colluding neighbours) gets both
///   only if 2t ≤ k_max + C. With γ = 0 this is the requirement t > k_max/2; with γ > 0,
///   union bound over n of P[Bin(k_max, γ) ≥ 2t − k_max].
/// - **connectivity**: the server learns the sum of each connected component of the honest
///   survivors' graph, so that graph must stay connected. In the Harary ring with band ⌊k/2⌋ that
///   needs two disjoint runs of ⌊k/2⌋ removed clients: at most C(n, 2) · (p + γ)^(2⌊k/2⌋).
///   The complete graph never disconnects.
///
/// ``choose(clientCount:dropoutRate:corruptFraction:target:)`` returns the smallest k (the cost is
/// linear in k) and for it the smallest t whose summed failure probability is at most `target`
/// (default 1e-6). When no k ≤ n − 1 meets the target (few clients, heavy dropout), it returns the
/// complete graph with the best t and `meetsTarget == false`.
public struct SecAggParameters: Sendable, Equatable, CustomStringConvertible {
    public let clientCount: Int
    /// k: each client's number of neighbours (≤ n − 1; n − 1 is classic SecAgg).
    public let degree: Int
    /// t: shares needed to rebuild a secret.
    public let threshold: Int
    public let dropoutRate: Double
    public let corruptFraction: Double
    public let target: Double
    /// Union bound on P[some client has fewer than t responding neighbours].
    public let recoveryFailureProbability: Double
    /// Union bound on P[server plus colluders can rebuild both secrets of an honest client].
    public let thresholdPrivacyFailureProbability: Double
    /// Bound on P[the honest survivors' graph is disconnected].
    public let connectivityFailureProbability: Double
    /// True when chosen by ``choose``; false for explicit overrides.
    public let chosenAutomatically: Bool

    public var failureProbability: Double {
        min(1, recoveryFailureProbability + thresholdPrivacyFailureProbability + connectivityFailureProbability)
    }
    public var meetsTarget: Bool { failureProbability <= target }

    public var description: String {
        String(format: "k=%d t=%d (n=%d, dropout %.3g, corrupt %.3g): P[recovery fails] ≤ %.3g, P[threshold privacy fails] ≤ %.3g, P[graph disconnects] ≤ %.3g, target %.3g%@",
               degree, threshold, clientCount, dropoutRate, corruptFraction, recoveryFailureProbability,
               thresholdPrivacyFailureProbability, connectivityFailureProbability, target, meetsTarget ? "" : " NOT MET")
    }

    /// Explicit k and t (an override), with their failure probabilities. Throws if t ≤ k_max/2
    /// (the server could rebuild both secrets of a client) or t > k.
    public static func fixed(clientCount n: Int, degree k: Int, threshold t: Int, dropoutRate p: Double,
                             corruptFraction gamma: Double = 0, target: Double = 1e-6) throws -> SecAggParameters {
        try validateRates(n: n, p: p, gamma: gamma, target: target)
        guard k >= 1 else { throw SecAggError.invalidParameters("degree k must be at least 1") }
        let k = min(k, n - 1)
        let kMax = maximumDegree(n: n, k: k)
        guard t >= 1, t <= k else { throw SecAggError.invalidParameters("threshold t=\(t) must be in 1...\(k) (k=\(k))") }
        guard 2 * t > kMax else {
            throw SecAggError.invalidParameters("threshold t=\(t) must exceed half the largest degree \(kMax): otherwise the server can rebuild both secrets of a client")
        }
        return evaluate(n: n, k: k, t: t, p: p, gamma: gamma, target: target, automatic: false)
    }

    /// The default choice described above.
    public static func choose(clientCount n: Int, dropoutRate p: Double, corruptFraction gamma: Double = 0,
                              target: Double = 1e-6) throws -> SecAggParameters {
        try validateRates(n: n, p: p, gamma: gamma, target: target)
        var best: SecAggParameters?
        for k in 1...(n - 1) {
            // Odd k with odd n gives one client degree k + 1; prefer regular graphs.
            if k % 2 == 1, n % 2 == 1, k < n - 1 { continue }
            let kMax = maximumDegree(n: n, k: k)
            for t in (kMax / 2 + 1)...k {
                let candidate = evaluate(n: n, k: k, t: t, p: p, gamma: gamma, target: target, automatic: true)
                if candidate.meetsTarget { return candidate }
                if best == nil || candidate.failureProbability < best!.failureProbability { best = candidate }
                // Recovery only gets worse as t grows; stop once it alone exceeds the target.
                if candidate.recoveryFailureProbability > target { break }
            }
        }
        // Nothing meets the target: the complete graph with its best threshold.
        let k = n - 1
        var complete: SecAggParameters?
        for t in (k / 2 + 1)...k {
            let c = evaluate(n: n, k: k, t: t, p: p, gamma: gamma, target: target, automatic: true)
            if complete == nil || c.failureProbability < complete!.failureProbability { complete = c }
        }
        return complete ?? best!
    }

    static func maximumDegree(n: Int, k: Int) -> Int {
        (k % 2 == 1 && n % 2 == 1 && k < n - 1) ? k + 1 : k
    }

    private static func validateRates(n: Int, p: Double, gamma: Double, target: Double) throws {
        guard n >= 2 else { throw SecAggError.invalidParameters("need at least 2 clients, got \(n)") }
        guard p >= 0, p < 1 else { throw SecAggError.invalidParameters("dropout rate must be in [0, 1), got \(p)") }
        guard gamma >= 0, gamma < 0.5 else { throw SecAggError.invalidParameters("corrupt fraction must be in [0, 0.5), got \(gamma)") }
        guard target > 0, target < 1 else { throw SecAggError.invalidParameters("target must be in (0, 1), got \(target)") }
    }

    static func evaluate(n: Int, k: Int, t: Int, p: Double, gamma: Double, target: Double, automatic: Bool) -> SecAggParameters {
        let kMax = maximumDegree(n: n, k: k)
        var recovery = min(1, Double(n) * binomialCDF(successes: t - 1, trials: k, probability: 1 - p))
        if k == n - 1 {
            // Complete graph: the events are not independent, and the exact value is simple: with
            // R responders, a responder has R − 1 responding neighbours, so the round fails iff R ≤ t.
            recovery = min(recovery, binomialCDF(successes: t, trials: n, probability: 1 - p))
        }
        let threshold: Double
        if gamma == 0 {
            threshold = 2 * t > kMax ? 0 : 1
        } else {
            let needed = 2 * t - kMax // colluding neighbours needed
            threshold = needed <= 0 ? 1 : min(1, Double(n) * binomialUpperTail(atLeast: needed, trials: kMax, probability: gamma))
        }
        let connectivity: Double
        if k >= n - 1 {
            connectivity = 0
        } else {
            let q = min(1, p + gamma)
            connectivity = min(1, Double(n) * Double(n - 1) / 2 * pow(q, Double(2 * (k / 2))))
        }
        return SecAggParameters(clientCount: n, degree: k, threshold: t, dropoutRate: p, corruptFraction: gamma, target: target,
                                recoveryFailureProbability: recovery, thresholdPrivacyFailureProbability: threshold,
                                connectivityFailureProbability: connectivity, chosenAutomatically: automatic)
    }

    /// P[Bin(trials, probability) ≤ successes], summed in log space.
    public static func binomialCDF(successes s: Int, trials n: Int, probability q: Double) -> Double {
        if s < 0 { return 0 }
        if s >= n { return 1 }
        return (0...s).reduce(0) { $0 + binomialPMF($1, n, q) }
    }

    /// P[Bin(trials, probability) ≥ atLeast].
    public static func binomialUpperTail(atLeast m: Int, trials n: Int, probability q: Double) -> Double {
        if m <= 0 { return 1 }
        if m > n { return 0 }
        return (m...n).reduce(0) { $0 + binomialPMF($1, n, q) }
    }

    static func binomialPMF(_ m: Int, _ n: Int, _ q: Double) -> Double {
        if q <= 0 { return m == 0 ? 1 : 0 }
        if q >= 1 { return m == n ? 1 : 0 }
        let logC = lgamma(Double(n + 1)) - lgamma(Double(m + 1)) - lgamma(Double(n - m + 1))
        return exp(logC + Double(m) * log(q) + Double(n - m) * log1p(-q))
    }
}
