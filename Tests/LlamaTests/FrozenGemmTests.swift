import Foundation
import TensorMath
import XCTest
@testable import Llama

/// The packed-weight kernel and the OpenBLAS path give the same losses, gradients and
/// logits; the logits-only-where-needed and unmerged-evaluation paths give the same numbers
/// as the full logits of the merged model.
final class FrozenGemmTests: XCTestCase {
    func randomAdapter(_ model: LlamaConfig, _ lora: LoRAConfig, seed: UInt64) throws -> LoRAAdapter {
        var a = try LoRAAdapter(zerosFor: model, config: lora)
        var rng = SeededRandom(seed: seed)
        for i in a.values.indices { a.values[i] = rng.normal() * 0.2 }
        return a
    }

    /// Worst |a - b| / max(1e-3, max |b|) over the gradient vector.
    func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
        let scale = max(1e-3, b.map(abs).max() ?? 0)
        return zip(a, b).map { abs($0 - $1) }.max()! / scale
    }

    /// Both kernels on the tiny model (batch 2 x 12, so the packed kernel is used), every
    /// target and q,v, with and without masked positions.
    func testPackedAndBLASGiveTheSameLossAndGradients() throws {
        let config = LlamaConfig.tiny
        let weights = LlamaWeights.random(config, seed: 41)
        let packed = try LlamaModel(config: config, weights: weights, gemm: .packed)
        let blas = try LlamaModel(config: config, weights: weights, gemm: .blas)
        var rng = SeededRandom(seed: 9)
        let tokens = (0..<2).map { _ in (0..<12).map { _ in Int(rng.next() % 64) } }
        let full = TrainingBatch(sequences: tokens)
        var maskedTargets = full.targets
        for i in [0, 1, 2, 13, 20] { maskedTargets[i] = -1 }
        let masked = TrainingBatch(tokens: tokens, targets: stride(from: 0, to: 24, by: 12).map { Array(maskedTargets[$0..<($0 + 12)]) })
        for targets in [LoRATarget.allCases, [.q, .v]] {
            let lora = LoRAConfig(rank: 4, alpha: 8, targets: targets)
            let adapter = try randomAdapter(config, lora, seed: 5)
            for batch in [full, masked] {
                let p = try LoRATrainingModel(base: packed, config: lora).lossAndGradient(adapter, batch: batch)
                let b = try LoRATrainingModel(base: blas, config: lora).lossAndGradient(adapter, batch: batch)
                XCTAssertEqual(p.loss, b.loss, accuracy: 1e-5 * max(1, abs(b.loss)))
                let worst = relativeDifference(p.gradient.values, b.gradient.values)
                XCTAssertLessThan(worst, 1e-4, "gradients, targets \(targets.map(\.rawValue))")
                print("packed vs BLAS (\(targets.map(\.rawValue).joined())): loss \(p.loss) vs \(b.loss), worst gradient difference \(worst)")
            }
        }
        XCTAssertGreaterThan(packed.packedWeightBytes, 0, "the packed path was used")
        XCTAssertEqual(blas.packedWeightBytes, 0)
    }

    /// Training loss (logits only for targeted rows), `meanLoss` and the unmerged adapter path
    /// equal the mean cross-entropy of the merged model's full logits.
    func testLogitsOnlyForTargetsAndUnmergedEvaluationMatchMergedModel() throws {
        let config = LlamaConfig.tiny
        for gemm in [FrozenGemm.packed, .blas] {   // the F32 kernels; int8 has its own tests (Int8ModelTests)
            let model = try LlamaModel(config: config, weights: .random(config, seed: 43), gemm: gemm)
            let lora = LoRAConfig(rank: 4, alpha: 8, targets: [.q, .v, .down])
            let adapter = try randomAdapter(config, lora, seed: 6)
            let tokens = [[1, 5, 9, 2, 33, 7, 4, 8], [60, 2, 2, 41, 3, 8, 12, 13]]
            let targets = [[-1, -1, 2, 33, 7, 4, 8, -1], [-1, 2, 41, -1, 8, 12, -1, -1]]
            let batch = TrainingBatch(tokens: tokens, targets: targets)
            let merged = try model.merged(with: adapter)
            let fullLogits = merged.logits(tokens)
            let reference = fullLogits.data.withUnsafeBufferPointer {
                CrossEntropy.mean(logits: $0.baseAddress!, vocab: config.vocabSize, targets: batch.targets)
            }!
            let unmergedLogits = try model.logits(tokens, adapter: adapter)
            XCTAssertLessThan(unmergedLogits.maxAbsDifference(fullLogits), 1e-4, "\(gemm)")
            let meanLoss = try XCTUnwrap(try model.meanLoss(tokens, targets: batch.targets, adapter: adapter))
            XCTAssertEqual(meanLoss, reference, accuracy: 1e-5, "\(gemm)")
            let trainer = try LoRATrainingModel(base: model, config: lora)
            XCTAssertEqual(trainer.lossAndGradient(adapter, batch: batch).loss, reference, accuracy: 1e-5, "\(gemm)")
            XCTAssertEqual(try trainer.loss(adapter, batch: batch), reference, accuracy: 1e-5, "\(gemm)")
            // Without an adapter, meanLoss is the base model's loss.
            let base = model.logits(tokens).data.withUnsafeBufferPointer {
                CrossEntropy.mean(logits: $0.baseAddress!, vocab: config.vocabSize, targets: batch.targets)
            }!
            XCTAssertEqual(try XCTUnwrap(try model.meanLoss(tokens, targets: batch.targets)), base, accuracy: 1e-5)
            XCTAssertNil(try model.meanLoss(tokens, targets: [Int](repeating: -1, count: 16)))
        }
    }

    /// The real model (when present): one training step's loss and gradients and the
    /// evaluation logits agree between the packed kernel and OpenBLAS within fp32 rounding.
    func testRealModelPackedMatchesBLAS() throws {
        let loaded = try RealModel.model()
        let packed = try LlamaModel(config: loaded.config, weights: loaded.weights, gemm: .packed)
        let blas = try LlamaModel(config: loaded.config, weights: loaded.weights, gemm: .blas)
        var rng = SeededRandom(seed: 17)
        let tokens = (0..<2).map { _ in (0..<32).map { _ in Int(rng.next() % UInt64(loaded.config.vocabSize)) } }
        let batch = TrainingBatch(sequences: tokens)
        for targets in [LoRATarget.allCases, [.q, .v]] {
            let lora = LoRAConfig(rank: 8, alpha: 16, targets: targets)
            let adapter = try randomAdapter(loaded.config, lora, seed: 8)
            let p = try LoRATrainingModel(base: packed, config: lora).lossAndGradient(adapter, batch: batch)
            let b = try LoRATrainingModel(base: blas, config: lora).lossAndGradient(adapter, batch: batch)
            XCTAssertEqual(p.loss, b.loss, accuracy: 1e-5 * max(1, abs(b.loss)))
            let worst = relativeDifference(p.gradient.values, b.gradient.values)
            XCTAssertLessThan(worst, 2e-3, "gradients, targets \(targets.map(\.rawValue))")
            print("real model, packed vs BLAS (\(targets.map(\.rawValue).joined())): loss \(p.loss) vs \(b.loss), worst gradient difference \(worst)")
        }
        let lp = packed.logits(tokens), lb = blas.logits(tokens)
        XCTAssertLessThan(lp.maxAbsDifference(lb), 1e-3)
        print("real model, packed vs BLAS logits: worst difference \(lp.maxAbsDifference(lb))")
    }
}
