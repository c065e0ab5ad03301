import Foundation
import Privacy
import SecureAggregation
import TensorMath

/// Client-level differential privacy (DP-FedAvg): clipping (fixed or adaptive), Gaussian noise
/// (central or distributed through secure aggregation) and the live privacy ledger.
extension Coordinator {
    /// The clip norm C in force this round.
    var clipNorm: Double { adaptiveClip?.clipNorm ?? privacy.clipNorm }

    /// σ_b, the std of the noise on the clipped count (adaptive clipping): the paper's m/20, raised
    /// to z when that is smaller so that the count never spends the whole budget.
    var countNoiseStd: Double {
        guard let a = adaptiveClip else { return .infinity }
        return max(a.expectedClients / 20, privacy.noiseMultiplier)
    }

    /// z_Δ, the noise multiplier on the update: z itself, or slightly more with adaptive clipping
    /// so that update and count together spend what z alone would.
    var updateNoiseMultiplier: Double {
        guard adaptiveClip != nil, privacy.noiseMultiplier > 0 else { return privacy.noiseMultiplier }
        return (try? AdaptiveClipNorm.updateNoiseMultiplier(total: privacy.noiseMultiplier, countNoiseStd: countNoiseStd))
            ?? privacy.noiseMultiplier
    }

    /// The run's ε so far: nil (unbounded) when any aggregated round had no DP, or none did.
    public var epsilon: Double? {
        guard roundsWithoutDP.isEmpty, accountant.steps > 0 else { return nil }
        return try? accountant.epsilon(delta: privacy.delta).epsilon
    }

    func publishPrivacy(round: Int) {
        sink(.privacyBudget(round: round, epsilon: epsilon, delta: privacy.delta, noiseMultiplier: privacy.noiseMultiplier,
                            enabled: privacy.differentialPrivacy, offRounds: roundsWithoutDP, clipNorm: clipNorm))
    }

    /// Adds the round just aggregated to the privacy ledger: the Poisson-subsampled Gaussian
    /// mechanism with q = the scenario's selection fraction (the secret sampling `select` does
    /// under DP). `noiseScale` < 1 when fewer clients than planned added their noise share
    /// (secure aggregation with dropouts): the round's σ is z·noiseScale.
    func account(round: Int, selected: Int, noiseScale: Double = 1) {
        guard privacy.differentialPrivacy, privacy.noiseMultiplier > 0 else { roundsWithoutDP.append(round); return }
        let q = min(1, max(Double.leastNonzeroMagnitude, scenario.selection.fraction))
        do { try accountant.compose(noiseMultiplier: privacy.noiseMultiplier * noiseScale, sampleRate: q, steps: 1) } catch {
            roundsWithoutDP.append(round)
        }
    }

    /// Why DP cannot be turned on for this run's strategy (an operator command), or nil.
    func refuseDifferentialPrivacy() -> String? {
        var p = privacy
        p.differentialPrivacy = true
        let refusals = PrivacyPosture.refusals(privacy: p, strategy: strategy.kind)
        guard !refusals.isEmpty else { return nil }
        let reason = refusals.map(\.description).joined(separator: "; ")
        sink(.alert(Alert(round: completedRounds, client: nil, severity: .warning, reason: "DP stays off: \(reason)")))
        return reason
    }

    /// Central DP (DP-FedAvg): every update clipped to C and weighed the same, Gaussian noise of
    /// std z_Δ·C added to their sum from a cryptographic generator, divided by the number of
    /// updates: the mean carries N(0, (z_Δ C / n)²). Self-reported example counts play no part.
    /// With adaptive clipping, also moves C toward the target quantile from the noised count of
    /// updates within it.
    func privateMean(_ updates: [ClientUpdate]) -> [Float] {
        let c = clipNorm, n = Double(updates.count), d = global.values.count
        var sum = [Double](repeating: 0, count: d)
        var norms: [Double] = []
        for u in updates {
            let norm = UpdateGeometry.norm(u.delta)
            norms.append(norm)
            let factor = norm > c ? c / norm : 1
            for j in 0..<d { sum[j] += Double(u.delta[j]) * factor }
        }
        let noise = SecureNoise.gaussian(count: d, std: updateNoiseMultiplier * c)
        var mean = [Float](repeating: 0, count: d)
        for j in 0..<d { mean[j] = Float((sum[j] + noise[j]) / n) }
        if let clip = adaptiveClip {
            let countNoise = SecureNoise.gaussian(count: 1, std: countNoiseStd)[0]
            adaptClip(noisedFraction: clip.noisedFraction(norms: norms, noise: countNoise))
        }
        return mean
    }

    /// C ← C·exp(−η(b̄ − γ)), published in the next privacy event.
    func adaptClip(noisedFraction: Double) {
        adaptiveClip?.update(noisedFraction: noisedFraction)
    }

    /// "DP off in rounds 3–4, 7" for the operator.
    public static func describeRounds(_ rounds: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        let r = rounds.sorted()
        while i < r.count {
            var j = i
            while j + 1 < r.count, r[j + 1] == r[j] + 1 { j += 1 }
            parts.append(i == j ? "\(r[i])" : "\(r[i])–\(r[j])")
            i = j + 1
        }
        return parts.joined(separator: ", ")
    }
}
