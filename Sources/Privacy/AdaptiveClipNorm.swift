import Foundation

/// Adaptive clipping to a target quantile of the client update norms
/// (Andrew, Thakkar, McMahan, Ramaswamy 2021, "Differentially Private Learning with Adaptive
/// Clipping", Algorithm 1 with the geometric update).
///
/// Each round, every participating client reports bᵢ = 1 if its update norm is ≤ the current clip
/// norm C. The server forms the noised fraction
///
///     b̄ = (Σ bᵢ + N(0, σ_b²)) / m,   m = expected number of participating clients,
///
/// and updates C ← C · exp(−η (b̄ − γ)). If more than a fraction γ of updates fit under C it
/// shrinks, otherwise it grows, so C tracks the γ-quantile of the norms.
/// Paper defaults: C₀ = 0.1, γ = 0.5, η = 0.2, σ_b = m / 20.
///
/// Accounting: the count is a second Gaussian query on the same clients. With bᵢ centred
/// (bᵢ − ½, sensitivity ½), a round that uses noise multiplier z_Δ on the update and std σ_b on the
/// count is, for RDP, the Gaussian mechanism with noise multiplier
/// z = (z_Δ⁻² + (2σ_b)⁻²)^(−1/2) (the paper's Theorem 1). So to keep the accountant's σ = z one
/// must noise the update with z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2) instead: see
/// `updateNoiseMultiplier(total:countNoiseStd:)`. Compose the accountant with z, not z_Δ.
public struct AdaptiveClipNorm: Sendable, Codable, Equatable {
    /// The current clip norm C.
    public private(set) var clipNorm: Double
    /// γ, the quantile of the update norms that C tracks.
    public let targetQuantile: Double
    /// η, the step of the geometric update.
    public let learningRate: Double
    /// m, the expected number of clients per round (sample rate × population); the count is
    /// divided by it rather than by the actual number so that the noised fraction stays private.
    public let expectedClients: Double
    /// σ_b, the std of the Gaussian noise on the unclipped count.
    public let countNoiseStd: Double

    /// - Parameters:
    ///   - initial: C₀ > 0 (default 0.1).
    ///   - targetQuantile: γ ∈ [0, 1] (default 0.5).
    ///   - learningRate: η > 0 (default 0.2).
    ///   - expectedClients: m > 0.
    ///   - countNoiseStd: σ_b ≥ 0 (default m / 20, the paper's choice).
    public init(initial: Double = 0.1, targetQuantile: Double = 0.5, learningRate: Double = 0.2,
                expectedClients: Double, countNoiseStd: Double? = nil) throws {
        guard initial.isFinite, initial > 0 else { throw PrivacyError.invalidClipping("initial clip norm must be > 0, got \(initial)") }
        guard targetQuantile >= 0, targetQuantile <= 1 else {
            throw PrivacyError.invalidClipping("target quantile must be in [0, 1], got \(targetQuantile)")
        }
        guard learningRate.isFinite, learningRate > 0 else {
            throw PrivacyError.invalidClipping("learning rate must be > 0, got \(learningRate)")
        }
        guard expectedClients.isFinite, expectedClients > 0 else {
            throw PrivacyError.invalidClipping("expected clients per round must be > 0, got \(expectedClients)")
        }
        let sb = countNoiseStd ?? expectedClients / 20
        guard sb.isFinite, sb >= 0 else { throw PrivacyError.invalidClipping("count noise std must be >= 0, got \(sb)") }
        clipNorm = initial
        self.targetQuantile = targetQuantile
        self.learningRate = learningRate
        self.expectedClients = expectedClients
        self.countNoiseStd = sb
    }

    /// b̄ = (#{norms ≤ C} + noise) / m, for a given noise draw.
    public func noisedFraction(norms: [Double], noise: Double) -> Double {
        let count = norms.reduce(0) { $0 + ($1 <= clipNorm ? 1 : 0) }
        return (Double(count) + noise) / expectedClients
    }

    /// Continues from a clip norm reached earlier (a resumed run).
    public mutating func restore(clipNorm c: Double) {
        guard c.isFinite, c > 0 else { return }
        clipNorm = c
    }

    /// C ← C · exp(−η (b̄ − γ)). Returns the new clip norm.
    @discardableResult
    public mutating func update(noisedFraction b: Double) -> Double {
        clipNorm *= exp(-learningRate * (b - targetQuantile))
        return clipNorm
    }

    /// One round: counts the norms under the current C, adds N(0, σ_b²) drawn from `rng`, and
    /// updates C. Returns the new clip norm.
    @discardableResult
    public mutating func update<G: RandomNumberGenerator>(norms: [Double], using rng: inout G) -> Double {
        let noise = countNoiseStd == 0 ? 0 : countNoiseStd * Self.standardNormal(using: &rng)
        return update(noisedFraction: noisedFraction(norms: norms, noise: noise))
    }

    /// The update noise multiplier z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2) that, together with count noise
    /// σ_b, spends the same privacy as noise multiplier z on the update alone.
    public func updateNoiseMultiplier(total z: Double) throws -> Double {
        try Self.updateNoiseMultiplier(total: z, countNoiseStd: countNoiseStd)
    }

    /// z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2). Requires 2σ_b > z: otherwise the count alone would spend the
    /// whole budget (an un-noised count, σ_b = 0, is never private). σ_b = ∞ costs nothing and gives z.
    public static func updateNoiseMultiplier(total z: Double, countNoiseStd sb: Double) throws -> Double {
        guard z.isFinite, z > 0 else { throw PrivacyError.invalidNoiseMultiplier(z) }
        guard sb >= 0, !sb.isNaN else { throw PrivacyError.invalidClipping("count noise std must be >= 0, got \(sb)") }
        if sb.isInfinite { return z }
        guard 2 * sb > z else { throw PrivacyError.insufficientNoise(total: z, countNoise: sb) }
        return 1 / (1 / (z * z) - 1 / (4 * sb * sb)).squareRoot()
    }

    /// The total noise multiplier z = (z_Δ⁻² + (2σ_b)⁻²)^(−1/2) of a round that noises the update
    /// with z_Δ and the count with σ_b; this is the σ to compose into the accountant.
    public static func effectiveNoiseMultiplier(update zDelta: Double, countNoiseStd sb: Double) -> Double {
        if zDelta == 0 || sb == 0 { return 0 }
        return 1 / (1 / (zDelta * zDelta) + 1 / (4 * sb * sb)).squareRoot()
    }

    /// A standard normal draw (Box–Muller).
    static func standardNormal<G: RandomNumberGenerator>(using rng: inout G) -> Double {
        var u = 0.0
        repeat { u = Double.random(in: 0..<1, using: &rng) } while u == 0
        let v = Double.random(in: 0..<1, using: &rng)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}
