import Foundation
import Privacy
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

    /// Adds the round just aggregated to the privacy ledger. The sample of `selected` clients out
    /// of all is treated as Poisson sampling with q = selected / population (an approximation:
    /// selection draws a fixed number). `noiseScale` < 1 when fewer clients than planned added
    /// their noise share (secure aggregation with dropouts): the round's σ is z·noiseScale.
    func account(round: Int, selected: Int, noiseScale: Double = 1) {
        guard privacy.differentialPrivacy, privacy.noiseMultiplier > 0 else { roundsWithoutDP.append(round); return }
        let q = min(1, Double(selected) / Double(max(1, clientSpecs.count)))
        do { try accountant.compose(noiseMultiplier: privacy.noiseMultiplier * noiseScale, sampleRate: q, steps: 1) } catch {
            roundsWithoutDP.append(round)
        }
    }

    /// Central DP: clip every update to C, weigh them equally and add Gaussian noise so that the
    /// mean carries N(0, (z_Δ C / n)²). With adaptive clipping, also moves C toward the target
    /// quantile from the noised count of updates within it.
    func privatize(_ updates: inout [ClientUpdate], rng: inout SeededRandom) {
        let c = Float(clipNorm), n = Float(updates.count)
        let std = Float(updateNoiseMultiplier) * c / n.squareRoot()
        var norms: [Double] = []
        for i in updates.indices {
            let norm = Float(UpdateGeometry.norm(updates[i].delta))
            norms.append(Double(norm))
            let factor = norm > c ? c / norm : 1
            for j in updates[i].delta.indices { updates[i].delta[j] = updates[i].delta[j] * factor + std * rng.normal() }
            updates[i].exampleCount = 1
        }
        if adaptiveClip != nil {
            let noise = Double(rng.normal()) * countNoiseStd
            adaptClip(noisedFraction: adaptiveClip!.noisedFraction(norms: norms, noise: noise))
        }
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
