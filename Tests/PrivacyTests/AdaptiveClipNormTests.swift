import Foundation
import XCTest
@testable import Privacy

final class AdaptiveClipNormTests: XCTestCase {

    func testDefaultsAreThePapers() throws {
        let clip = try AdaptiveClipNorm(expectedClients: 100)
        XCTAssertEqual(clip.clipNorm, 0.1)
        XCTAssertEqual(clip.targetQuantile, 0.5)
        XCTAssertEqual(clip.learningRate, 0.2)
        XCTAssertEqual(clip.countNoiseStd, 5)   // m / 20
    }

    func testGeometricUpdate() throws {
        var clip = try AdaptiveClipNorm(initial: 1, targetQuantile: 0.5, learningRate: 0.2, expectedClients: 4, countNoiseStd: 0)
        // 3 of 4 norms ≤ 1: b̄ = 0.75 → C = exp(−0.2 · 0.25).
        XCTAssertEqual(clip.noisedFraction(norms: [0.2, 0.5, 1.0, 3.0], noise: 0), 0.75)
        XCTAssertEqual(clip.noisedFraction(norms: [0.2, 0.5, 1.0, 3.0], noise: -1), 0.5)
        var rng = SplitMix64(seed: 1)
        XCTAssertEqual(clip.update(norms: [0.2, 0.5, 1.0, 3.0], using: &rng), exp(-0.05), accuracy: 1e-15)
        XCTAssertEqual(clip.update(noisedFraction: 0), exp(-0.05) * exp(0.1), accuracy: 1e-15)
        XCTAssertEqual(clip.update(noisedFraction: 0.5), exp(0.05), accuracy: 1e-15, "b̄ = γ leaves C unchanged")
    }

    /// Synthetic client norms (log-normal around a median of 2, far above the initial 0.1): with the
    /// paper's defaults and its count noise, C climbs to and then hovers around the target quantile.
    func testMovesTowardTheTargetQuantile() throws {
        var rng = SplitMix64(seed: 42)
        let population = (0..<2000).map { _ in 2.0 * exp(0.5 * AdaptiveClipNorm.standardNormal(using: &rng)) }
        let q = 0.05, expected = q * Double(population.count)   // m = 100 clients per round
        for gamma in [0.5, 0.8] {
            var clip = try AdaptiveClipNorm(targetQuantile: gamma, expectedClients: expected)
            let sorted = population.sorted()
            let target = sorted[Int(gamma * Double(sorted.count))]
            var history: [Double] = []
            for _ in 0..<150 {
                let sampled = population.filter { _ in Double.random(in: 0..<1, using: &rng) < q }   // Poisson sampling
                history.append(clip.update(norms: sampled, using: &rng))
            }
            // Monotone approach from below while every norm is above C.
            XCTAssertLessThan(history[0], history[10])
            XCTAssertLessThan(history[10], history[25])
            // The last 50 rounds sit near the γ-quantile and the realized fraction under C near γ.
            let tail = history.suffix(50)
            let mean = tail.reduce(0, +) / Double(tail.count)
            XCTAssertEqual(mean / target, 1, accuracy: 0.15, "γ=\(gamma): C ≈ \(mean), quantile \(target)")
            let fraction = Double(population.filter { $0 <= mean }.count) / Double(population.count)
            XCTAssertEqual(fraction, gamma, accuracy: 0.08, "γ=\(gamma)")
        }
        // From far above, C comes down.
        var high = try AdaptiveClipNorm(initial: 100, expectedClients: expected)
        for _ in 0..<40 { high.update(norms: population.filter { _ in Double.random(in: 0..<1, using: &rng) < q }, using: &rng) }
        XCTAssertLessThan(high.clipNorm, 100 * exp(-0.2 * 0.5 * 30))
    }

    func testNoiseSplitBetweenCountAndUpdate() throws {
        // Paper's example regime: m = 100 → σ_b = 5; total z = 1 → z_Δ = (1 − 1/100)^(−1/2).
        let clip = try AdaptiveClipNorm(expectedClients: 100)
        let zDelta = try clip.updateNoiseMultiplier(total: 1)
        XCTAssertEqual(zDelta, 1 / (0.99).squareRoot(), accuracy: 1e-14)
        XCTAssertEqual(AdaptiveClipNorm.effectiveNoiseMultiplier(update: zDelta, countNoiseStd: 5), 1, accuracy: 1e-14)
        for (z, sb) in [(0.7, 1.0), (2.0, 3.0), (1.1, 50.0)] {
            let zd = try AdaptiveClipNorm.updateNoiseMultiplier(total: z, countNoiseStd: sb)
            XCTAssertGreaterThan(zd, z, "the update needs more noise than the total")
            XCTAssertEqual(AdaptiveClipNorm.effectiveNoiseMultiplier(update: zd, countNoiseStd: sb), z, accuracy: 1e-12)
        }
        XCTAssertEqual(try AdaptiveClipNorm.updateNoiseMultiplier(total: 1.3, countNoiseStd: .infinity), 1.3)
        XCTAssertThrowsError(try AdaptiveClipNorm.updateNoiseMultiplier(total: 2, countNoiseStd: 1)) {
            XCTAssertEqual($0 as? PrivacyError, .insufficientNoise(total: 2, countNoise: 1))
        }
        XCTAssertThrowsError(try AdaptiveClipNorm.updateNoiseMultiplier(total: 1, countNoiseStd: 0))
        XCTAssertThrowsError(try AdaptiveClipNorm.updateNoiseMultiplier(total: 0, countNoiseStd: 5))
        XCTAssertEqual(AdaptiveClipNorm.effectiveNoiseMultiplier(update: 1, countNoiseStd: 0), 0, "an exact count is not private")
    }

    func testInvalidParameters() {
        XCTAssertThrowsError(try AdaptiveClipNorm(initial: 0, expectedClients: 10))
        XCTAssertThrowsError(try AdaptiveClipNorm(targetQuantile: 1.2, expectedClients: 10))
        XCTAssertThrowsError(try AdaptiveClipNorm(learningRate: 0, expectedClients: 10))
        XCTAssertThrowsError(try AdaptiveClipNorm(expectedClients: 0))
        XCTAssertThrowsError(try AdaptiveClipNorm(expectedClients: 10, countNoiseStd: -1))
    }
}
