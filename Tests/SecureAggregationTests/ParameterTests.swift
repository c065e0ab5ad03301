import Foundation
import XCTest
@testable import SecureAggregation

/// The neighbour graph, the choice of k and t, and quantization.
final class ParameterTests: XCTestCase {
    // MARK: graph

    func testHararyGraphIsSymmetricRegularAndSeeded() throws {
        for (n, k) in [(10, 4), (10, 5), (11, 4), (11, 5), (100, 31), (7, 6), (7, 20), (2, 1), (3, 1)] {
            let g = try NeighbourGraph(clientCount: n, degree: k, seed: 42)
            let kk = min(k, n - 1)
            for i in 0..<SecAggClientID(n) {
                let ns = g.neighbours(of: i)
                XCTAssertFalse(ns.contains(i))
                XCTAssertEqual(Set(ns).count, ns.count)
                for j in ns { XCTAssertTrue(g.areNeighbours(j, i), "n=\(n) k=\(k): \(i)-\(j) not symmetric") }
            }
            XCTAssertEqual(g.minimumDegree, kk, "n=\(n) k=\(k)")
            let oddOdd = kk % 2 == 1 && n % 2 == 1 && kk < n - 1
            XCTAssertEqual(g.maximumDegree, oddOdd ? kk + 1 : kk, "n=\(n) k=\(k)")
            if oddOdd { XCTAssertEqual(g.neighbours.filter { $0.count == kk + 1 }.count, 1) }
            XCTAssertEqual(try NeighbourGraph(clientCount: n, degree: k, seed: 42), g, "same seed, same graph")
        }
        let a = try NeighbourGraph(clientCount: 50, degree: 6, seed: 1), b = try NeighbourGraph(clientCount: 50, degree: 6, seed: 2)
        XCTAssertNotEqual(a.neighbours, b.neighbours, "the permutation depends on the seed")
        XCTAssertThrowsError(try NeighbourGraph(clientCount: 1, degree: 1, seed: 0))
    }

    // MARK: parameter choice

    /// At 20% dropout, a fixed k = 7, t = 4 graph fails about half the rounds by simple binomial
    /// odds: per client P[Bin(7, 0.8) < 4] = 0.033344, so with n = 20 independent clients
    /// P[some client fails] = 1 − (1 − 0.033344)^20 = 0.4925 (union bound 0.667; 0.817 at n = 50).
    /// On the Harary graph neighbouring clients share neighbours, so failures cluster and the
    /// simulated rate is lower (≈ 0.31 at n = 20, ≈ 0.60 at n = 50) — still far from usable. The
    /// default choice at n = 20 (complete graph, k = 19, t = 10) fails with probability 0.0026
    /// (P[Bin(20, 0.8) ≤ 10]; 1e-6 is out of reach at n = 20 with t > k/2).
    func testFixedSevenFourAtTwentyPercentDropoutFailsAboutHalfTheRounds() throws {
        let perClient = SecAggParameters.binomialCDF(successes: 3, trials: 7, probability: 0.8)
        XCTAssertEqual(perClient, 0.033344, accuracy: 1e-9)
        let independent20 = 1 - pow(1 - perClient, 20)
        XCTAssertEqual(independent20, 0.4925, accuracy: 1e-3)
        XCTAssertEqual(1 - pow(1 - perClient, 50), 0.8165, accuracy: 1e-3)
        let fixed = try SecAggParameters.fixed(clientCount: 20, degree: 7, threshold: 4, dropoutRate: 0.2)
        XCTAssertEqual(fixed.recoveryFailureProbability, 20 * perClient, accuracy: 1e-9)
        XCTAssertFalse(fixed.meetsTarget)

        // Graph-level Monte Carlo: every client drops with probability 0.2 after sharing keys (so
        // every client, dropped or not, needs t responding neighbours).
        var rng = SecAggSeededRandom(seed: 7)
        func simulatedFailureRate(n: Int, trials: Int) throws -> Double {
            var failures = 0
            for _ in 0..<trials {
                let g = try NeighbourGraph(clientCount: n, degree: 7, seed: rng.next())
                let alive = (0..<n).map { _ in rng.unit() >= 0.2 }
                if (0..<n).contains(where: { i in g.neighbours[i].filter { alive[Int($0)] }.count < 4 }) { failures += 1 }
            }
            return Double(failures) / Double(trials)
        }
        let rate20 = try simulatedFailureRate(n: 20, trials: 4000), rate50 = try simulatedFailureRate(n: 50, trials: 4000)
        print("k=7 t=4 p=0.2: simple binomial odds n=20 \(independent20), Harary graph simulated n=20 \(rate20), n=50 \(rate50)")
        XCTAssertEqual(rate20, 0.31, accuracy: 0.05, "simulated failure rate at n=20")
        XCTAssertEqual(rate50, 0.60, accuracy: 0.07, "simulated failure rate at n=50")

        // Real rounds: each aborts exactly when the graph-level rule says so; about half do.
        var aborted = 0
        for round in 0..<40 {
            let config = try SecAggConfig(round: UInt64(round), dimension: 4, parameters: fixed, graphSeed: rng.next(), clipBound: 1)
            var drops: [SecAggClientID: SecAggDropPoint] = [:]
            for i in 0..<SecAggClientID(20) where rng.unit() < 0.2 { drops[i] = .afterSharing }
            let outcome = try SecAggSimulation.run(config: config, updates: SecAggTestSupport.updates(n: 20, d: 4, seed: UInt64(round)), drops: drops, threads: 1)
            let predictedFailure = SecAggTestSupport.predict(config: config, drops: drops).survivors == nil
            XCTAssertEqual(outcome.aggregate == nil, predictedFailure, "round \(round)")
            if outcome.aggregate == nil { aborted += 1 }
        }
        XCTAssertTrue((6...22).contains(aborted), "\(aborted) of 40 rounds aborted")

        let chosen = try SecAggParameters.choose(clientCount: 20, dropoutRate: 0.2)
        XCTAssertEqual(chosen.degree, 19)
        XCTAssertEqual(chosen.threshold, 10)
        XCTAssertEqual(chosen.recoveryFailureProbability, SecAggParameters.binomialCDF(successes: 10, trials: 20, probability: 0.8), accuracy: 1e-12)
    }

    func testDefaultChoiceMeetsTargetWhereItCan() throws {
        // n = 100, p = 0.1: k = 31, t = 16.
        let p100 = try SecAggParameters.choose(clientCount: 100, dropoutRate: 0.1)
        XCTAssertEqual(p100.degree, 31)
        XCTAssertEqual(p100.threshold, 16)
        XCTAssertTrue(p100.meetsTarget)
        XCTAssertLessThanOrEqual(p100.failureProbability, 1e-6)
        // A smaller k would not do.
        let k29 = try SecAggParameters.fixed(clientCount: 100, degree: 30, threshold: 16, dropoutRate: 0.1)
        XCTAssertGreaterThan(k29.failureProbability, 1e-6)

        // Large n: k grows like log n, far below n.
        for (n, p) in [(1000, 0.1), (1000, 0.2), (10_000, 0.05), (10_000, 0.1), (500, 0.3)] {
            let c = try SecAggParameters.choose(clientCount: n, dropoutRate: p)
            print("default choice: \(c)")
            XCTAssertTrue(c.meetsTarget, "\(c)")
            XCTAssertGreaterThan(2 * c.threshold, c.degree)
            XCTAssertLessThan(c.degree, n / 2, "\(c)")
        }
        XCTAssertLessThan(try SecAggParameters.choose(clientCount: 10_000, dropoutRate: 0.1).degree, 60)
        // More dropout needs more neighbours.
        let low = try SecAggParameters.choose(clientCount: 1000, dropoutRate: 0.05)
        let high = try SecAggParameters.choose(clientCount: 1000, dropoutRate: 0.3)
        XCTAssertLessThan(low.degree, high.degree)

        // n = 50 at 20% dropout cannot reach 1e-6 with t > k/2: the complete graph, reported as such.
        let p50 = try SecAggParameters.choose(clientCount: 50, dropoutRate: 0.2)
        XCTAssertEqual(p50.degree, 49)
        XCTAssertEqual(p50.threshold, 25)
        XCTAssertFalse(p50.meetsTarget)
        XCTAssertEqual(p50.recoveryFailureProbability, 2.09e-6, accuracy: 0.01e-6)

        // Colluding clients push t up.
        let honest = try SecAggParameters.choose(clientCount: 1000, dropoutRate: 0.1)
        let colluding = try SecAggParameters.choose(clientCount: 1000, dropoutRate: 0.1, corruptFraction: 0.1)
        XCTAssertTrue(colluding.meetsTarget)
        XCTAssertGreaterThan(Double(colluding.threshold) / Double(colluding.degree), Double(honest.threshold) / Double(honest.degree) - 0.01)
        XCTAssertGreaterThan(colluding.degree, honest.degree)
    }

    func testOverridesAreValidated() throws {
        XCTAssertThrowsError(try SecAggParameters.fixed(clientCount: 20, degree: 8, threshold: 4, dropoutRate: 0.1)) { e in
            XCTAssertTrue("\(e)".contains("must exceed half"), "\(e)")
        }
        XCTAssertThrowsError(try SecAggParameters.fixed(clientCount: 20, degree: 8, threshold: 9, dropoutRate: 0.1))
        XCTAssertThrowsError(try SecAggParameters.fixed(clientCount: 21, degree: 7, threshold: 4, dropoutRate: 0.1), "odd k, odd n: one client has 8 neighbours")
        XCTAssertNoThrow(try SecAggParameters.fixed(clientCount: 21, degree: 7, threshold: 5, dropoutRate: 0.1))
        XCTAssertThrowsError(try SecAggParameters.choose(clientCount: 10, dropoutRate: 1))
        XCTAssertThrowsError(try SecAggConfig(round: 0, clientCount: 10, dimension: 4, degree: 4, threshold: 2, graphSeed: 0, clipBound: 1))
        XCTAssertThrowsError(try SecAggConfig(round: 0, clientCount: 10, dimension: 0, degree: 4, threshold: 3, graphSeed: 0, clipBound: 1))
    }

    // MARK: quantization

    func testQuantizationHeadroomAndExtremes() throws {
        for n in [1, 2, 3, 50, 100, 1000] {
            let s = try QuantizationScheme(clipBound: 0.5, clientCount: n)
            XCTAssertLessThanOrEqual(Int64(n) * s.maximumMagnitude, Int64(Int32.max))
            XCTAssertEqual(s.step, 1 / s.scale)
            for extreme: Float in [0.5, -0.5, 10, -.infinity] {
                let q = try PlainUpdate([Float](repeating: extreme, count: 4)).quantized(with: s, roundingSeed: 1)
                XCTAssertLessThanOrEqual(abs(Int64(Int32(bitPattern: q.words[0]))), s.maximumMagnitude)
                var sum = [UInt32](repeating: 0, count: 4)
                for _ in 0..<n { MaskExpander.add(q.words, into: &sum) }
                let clipped = Double(max(min(extreme, 0.5), -0.5))
                XCTAssertEqual(s.decodeDouble(sum)[0], Double(n) * clipped, accuracy: Double(n) * s.step, "n=\(n) x=\(extreme): no wrap-around")
            }
        }
        XCTAssertThrowsError(try PlainUpdate([0, .nan]).quantized(with: try QuantizationScheme(clipBound: 1, clientCount: 2), roundingSeed: 0)) {
            XCTAssertEqual($0 as? SecAggError, .nonFiniteInput(index: 1))
        }
    }

    func testStochasticRoundingIsUnbiasedAndSeeded() throws {
        let s = try QuantizationScheme(clipBound: 1, clientCount: 10)
        let x = Float(10.3 * s.step)
        let values = [Float](repeating: x, count: 100_000)
        let q = try PlainUpdate(values).quantized(with: s, roundingSeed: 5)
        let ints = q.words.map { Int64(Int32(bitPattern: $0)) }
        XCTAssertEqual(Set(ints), [10, 11])
        let mean = Double(ints.reduce(0, +)) / Double(ints.count)
        XCTAssertEqual(mean, Double(x) * s.scale, accuracy: 0.006) // σ of the mean ≈ 0.0015
        XCTAssertEqual(try PlainUpdate(values).quantized(with: s, roundingSeed: 5), q)
        XCTAssertNotEqual(try PlainUpdate(values).quantized(with: s, roundingSeed: 6), q)
    }

    /// The decoded sum is within n quantization steps of the exact float sum.
    func testDecodedSumErrorIsBoundedByNSteps() throws {
        let n = 30, d = 2000
        let s = try QuantizationScheme(clipBound: 0.1, clientCount: n)
        let updates = SecAggTestSupport.updates(n: n, d: d, range: 0.1, seed: 3)
        var sum = [UInt32](repeating: 0, count: d)
        for (i, u) in updates.enumerated() { MaskExpander.add(try u.quantized(with: s, roundingSeed: UInt64(i)).words, into: &sum) }
        let decoded = s.decodeDouble(sum)
        var worst = 0.0
        for j in 0..<d {
            let plain = updates.reduce(0.0) { $0 + Double($1.values[j]) }
            worst = max(worst, abs(decoded[j] - plain))
        }
        XCTAssertLessThanOrEqual(worst, Double(n) * s.step)
        XCTAssertGreaterThan(worst, 0)
    }
}
