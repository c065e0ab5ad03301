import Foundation
import TensorMath
import XCTest
@testable import Llama

/// The training step's memory savers against the plain step: the LM head in chunks of rows,
/// and activations kept in bfloat16 (`SavedActivations.bf16`).
final class TrainingMemoryTests: XCTestCase {
    func randomAdapter(_ c: LlamaConfig, _ lora: LoRAConfig, seed: UInt64) throws -> LoRAAdapter {
        var a = try LoRAAdapter(zerosFor: c, config: lora)
        var rng = SeededRandom(seed: seed)
        for i in a.values.indices { a.values[i] = rng.normal() * 0.2 }
        return a
    }

    /// Two batches: every position with a target, and some masked.
    static let batches = [
        TrainingBatch(sequences: [[1, 5, 9, 2, 33, 7, 12], [60, 2, 2, 41, 3, 8, 30]]),
        TrainingBatch(tokens: [[1, 5, 9, 2, 33, 7, 12], [60, 2, 2, 41, 3, 8, 30]],
                      targets: [[5, 9, 2, 33, 7, 12, -1], [2, -1, 41, 3, 8, 30, -1]]),
    ]

    /// The head in chunks of 1, 3 and 5 rows against the head whole (each chunk's rows are
    /// projected, their softmax gradient scaled to the mean over all rows, and their input
    /// gradient scattered): the loss within 1e-7 relative and the adapter gradient within 3e-6
    /// relative L2 error, on the tiny llama and gemma3 models. Not bit-identical: the packed
    /// GEMM's rounding of a row depends on how many rows it multiplies at once, so logits differ
    /// in their last bits (measured: loss within 5e-9, gradient within 9e-7).
    func testChunkedHeadGivesTheWholeHeadGradient() throws {
        for (name, c) in [("llama", LlamaConfig.tiny), ("gemma3", Gemma3BlockTests.config)] {
            let model = try LlamaModel(config: c, weights: .random(c, seed: 21))
            let lora = LoRAConfig(rank: 4, alpha: 8, targets: LoRATarget.allCases)
            let adapter = try randomAdapter(c, lora, seed: 5)
            let whole = try LoRATrainingModel(base: model, config: lora, savedActivations: .f32)
            for batch in Self.batches {
                let reference = whole.lossAndGradient(adapter, batch: batch)
                for rows in [1, 3, 5] {
                    let chunked = try LoRATrainingModel(base: model, config: lora, headChunkFloats: rows * c.vocabSize,
                                                        savedActivations: .f32)
                    let (loss, grad) = chunked.lossAndGradient(adapter, batch: batch)
                    XCTAssertEqual(loss, reference.loss, accuracy: 1e-7 * reference.loss, "\(name), \(rows)-row chunks")
                    let error = relativeL2Error(grad.values[...], reference.gradient.values)
                    XCTAssertLessThanOrEqual(error, 3e-6, "\(name), \(rows)-row chunks")
                    print("\(name) head in \(rows)-row chunks vs whole: loss \(loss) vs \(reference.loss), gradient relative error \(error)")
                }
            }
        }
    }

    /// bfloat16 activations against F32 ones on the same model: the forward pass (and so the
    /// loss) is unchanged to the bit, and the gradient stays within 1% relative L2 error
    /// (cosine above 0.9999) on the tiny llama (with and without dropout) and gemma3 models.
    /// The error must not be zero: the compact path was taken.
    func testBFloat16ActivationsFollowTheF32Gradient() throws {
        let cases: [(String, LlamaConfig, Float)] = [("llama", .tiny, 0), ("llama, dropout", .tiny, 0.3),
                                                     ("gemma3", Gemma3BlockTests.config, 0)]
        for (name, c, dropout) in cases {
            let model = try LlamaModel(config: c, weights: .random(c, seed: 21))
            let lora = LoRAConfig(rank: 4, alpha: 8, dropout: dropout, targets: LoRATarget.allCases)
            let adapter = try randomAdapter(c, lora, seed: 5)
            let exact = try LoRATrainingModel(base: model, config: lora, savedActivations: .f32)
            let compact = try LoRATrainingModel(base: model, config: lora, savedActivations: .bf16)
            for batch in Self.batches {
                let p = exact.lossAndGradient(adapter, batch: batch, dropoutSeed: 9)
                let q = compact.lossAndGradient(adapter, batch: batch, dropoutSeed: 9)
                XCTAssertEqual(q.loss, p.loss, "\(name): the forward pass does not change")
                let error = relativeL2Error(q.gradient.values[...], p.gradient.values)
                let dot = zip(p.gradient.values, q.gradient.values).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
                let np = p.gradient.values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                let nq = q.gradient.values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                print("\(name) bf16 vs f32 activations: gradient relative error \(error), cosine \(dot / (np * nq))")
                XCTAssertLessThanOrEqual(error, 1e-2, name)
                XCTAssertGreaterThan(dot / (np * nq), 0.9999, name)
                XCTAssertGreaterThan(error, 0, "\(name): bf16 rounding shows")
            }
        }
    }

    /// The default: bfloat16 activations with int8 products, F32 ones with F32 products.
    func testDefaultFollowsTheComputeMode() throws {
        let c = Int8ModelTests.config
        let int8 = try LlamaModel(config: c, weights: .random(c, seed: 3)).quantizedToQ8_0()
        let f32 = try LlamaModel(config: c, weights: int8.weights, gemm: .packed)
        let lora = LoRAConfig(rank: 2, alpha: 4, targets: [.q, .v])
        XCTAssertEqual(try LoRATrainingModel(base: int8, config: lora).savedActivations, .bf16)
        XCTAssertEqual(try LoRATrainingModel(base: f32, config: lora).savedActivations, .f32)
        XCTAssertEqual(try LoRATrainingModel(base: int8, config: lora, savedActivations: .f32).savedActivations, .f32)
    }
}
