import Foundation
import TensorMath
import XCTest
@testable import Llama

/// Scoring continuations over one shared prompt cache against one full forward pass per
/// continuation (the naive reference), on a tiny random Llama.
final class ContinuationScoringTests: XCTestCase {
    let config = LlamaConfig.tiny

    /// Multi-token continuations, continuations sharing a prefix (`[7, 8]` / `[7, 8, 9]` / `[7]`),
    /// and one-token ones, with both kernels for the frozen weights.
    let prompt = [3, 17, 42, 5, 9, 63, 0, 8, 21]
    let continuations = [[7, 8], [7, 8, 9], [7], [40], [12, 30, 31, 2], [7, 8, 9, 10, 11]]

    func worstDifference(_ a: [[Double]], _ b: [[Double]]) -> Double {
        XCTAssertEqual(a.map(\.count), b.map(\.count))
        return zip(a, b).flatMap { zip($0, $1).map { abs($0 - $1) } }.max() ?? 0
    }

    func testSharedPrefixCacheMatchesOneForwardPerContinuation() throws {
        for gemm in [FrozenGemm.packed, .blas] {
            let model = try LlamaModel(config: config, weights: .random(config, seed: 4), gemm: gemm)
            let fast = try model.continuationLogProbabilities(prompt: prompt, continuations: continuations)
            let naive = try model.continuationLogProbabilitiesNaive(prompt: prompt, continuations: continuations)
            XCTAssertEqual(fast.map(\.count), continuations.map(\.count))
            let worst = worstDifference(fast, naive)
            XCTAssertLessThan(worst, 1e-4, "\(gemm): worst log-probability difference \(worst)")
            // Log-probabilities, and a shared prefix scores the same in every continuation that has it.
            XCTAssertTrue(fast.joined().allSatisfy { $0 < 0 && $0.isFinite })
            XCTAssertEqual(fast[0][1], fast[1][1], accuracy: 1e-5)
            XCTAssertEqual(fast[2][0], fast[5][0], accuracy: 1e-5)
        }
    }

    func testWithAnAdapterAppliedUnmerged() throws {
        let model = try LlamaModel(config: config, weights: .random(config, seed: 5))
        var adapter = try LoRAAdapter(model: config, config: LoRAConfig(rank: 2, alpha: 4, targets: LoRATarget.allCases), seed: 3)
        var rng = SeededRandom(seed: 9)
        for s in adapter.slots { for i in 0..<s.bCount { adapter.values[s.bOffset + i] = rng.uniform(-0.3, 0.3) } }
        let fast = try model.continuationLogProbabilities(prompt: prompt, continuations: continuations, adapter: adapter)
        let naive = try model.continuationLogProbabilitiesNaive(prompt: prompt, continuations: continuations, adapter: adapter)
        XCTAssertLessThan(worstDifference(fast, naive), 1e-4)
        // The adapter changes the scores (so the test would notice it being ignored).
        let plain = try model.continuationLogProbabilities(prompt: prompt, continuations: continuations)
        XCTAssertGreaterThan(worstDifference(fast, plain), 1e-3)
    }

    func testBadInputIsAnError() throws {
        let model = try LlamaModel(config: config, weights: .random(config, seed: 6))
        XCTAssertThrowsError(try model.continuationLogProbabilities(prompt: [], continuations: [[1]]))
        XCTAssertThrowsError(try model.continuationLogProbabilities(prompt: [1], continuations: [[2], []])) {
            XCTAssertEqual("\($0)", "continuation 1 has no tokens")
        }
        XCTAssertThrowsError(try model.continuationLogProbabilities(prompt: [1], continuations: [[64]]))
        XCTAssertThrowsError(try model.continuationLogProbabilities(prompt: Array(repeating: 1, count: 127), continuations: [[2, 3]]))
    }
}
