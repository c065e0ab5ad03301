import Foundation
import TensorMath
import XCTest
@testable import Llama

/// `ComputeMode.int8`: the frozen matrices stay in quantized blocks, forward products run in
/// int8, input gradients go through small F32 panels dequantized per chunk. Compared with the F32
/// path on the same (quantized) weights.
final class Int8ModelTests: XCTestCase {
    /// Widths that are multiples of 32 (Q8_0 blocks), an odd vocabulary (rows not a multiple of 4).
    static let config = LlamaConfig(vocabSize: 67, hiddenSize: 64, intermediateSize: 96, layerCount: 2, headCount: 4,
                                    kvHeadCount: 2, rmsNormEps: 1e-5, ropeTheta: 10_000, maxPositions: 64)

    /// The F32 model and its int8 twin built from the same Q8_0 blocks (the F32 one holds the
    /// dequantized blocks, so the two differ only by the int8 arithmetic on activations).
    func models() throws -> (f32: LlamaModel, int8: LlamaModel) {
        let c = Self.config
        let int8 = try LlamaModel(config: c, weights: .random(c, seed: 3)).quantizedToQ8_0()
        let f32 = try LlamaModel(config: c, weights: int8.weights, gemm: .packed)
        return (f32, int8)
    }

    func testInt8ModelKeepsNoF32MatricesAndMatchesTheF32Logits() throws {
        let (f32, int8) = try models()
        XCTAssertEqual(int8.frozenGemm, .int8)
        XCTAssertEqual(int8.packedWeightBytes, 0)
        XCTAssertTrue(int8.stored.embedding.data.isEmpty, "no F32 embedding")
        XCTAssertTrue(int8.stored.layers.allSatisfy { $0.wq.data.isEmpty && $0.down.data.isEmpty }, "no F32 projections")
        let c = Self.config
        // Rows in groups of 8 (the vocabulary of 67 is padded to 72); a Q8_0 block is 34 bytes.
        func bytes(_ rows: Int, _ cols: Int) -> Int { (rows + 7) / 8 * 8 * cols / 32 * 34 }
        let d = c.hiddenSize
        let perLayer = bytes(c.queryWidth, d) + 2 * bytes(c.kvWidth, d) + bytes(d, c.queryWidth)
            + 2 * bytes(c.intermediateSize, d) + bytes(d, c.intermediateSize)
        XCTAssertEqual(int8.quantizedWeightBytes, c.layerCount * perLayer + bytes(c.vocabSize, d))
        var rng = SeededRandom(seed: 5)
        let tokens = (0..<3).map { _ in (0..<11).map { _ in Int(rng.next() % 67) } }
        let a = f32.logits(tokens), b = int8.logits(tokens)
        let scale = a.data.map(abs).max()!
        let worst = a.maxAbsDifference(b)
        print("int8 vs F32 logits (same Q8_0 weights): worst difference \(worst), largest logit \(scale)")
        XCTAssertLessThan(worst, 0.02 * scale, "int8 logits stay within 2% of the largest logit")
        XCTAssertGreaterThan(worst, 0, "the int8 path was actually used")
        // Decoding with a KV cache (1-row products) gives the last row of the batch logits.
        let cache = KVCache(config: c, capacity: 16)
        let next = int8.next(tokens[0], cache: cache)
        let row = Array(b.data[(10 * c.vocabSize)..<(11 * c.vocabSize)])
        for (x, y) in zip(next, row) { XCTAssertEqual(x, y, accuracy: 1e-4 * (1 + abs(y))) }
    }

    /// With and without LoRA dropout (whose mask also gates the adapter's share of the input
    /// gradient): the int8 gradient within 5% of the F32 one.
    func testInt8TrainingGradientsFollowTheF32Ones() throws {
        let (f32, int8) = try models()
        for dropout: Float in [0, 0.25] {
            let lora = LoRAConfig(rank: 4, alpha: 8, dropout: dropout, targets: LoRATarget.allCases)
            var adapter = try LoRAAdapter(zerosFor: Self.config, config: lora)
            var rng = SeededRandom(seed: 8)
            for i in adapter.values.indices { adapter.values[i] = rng.normal() * 0.2 }
            let tokens = (0..<2).map { _ in (0..<13).map { _ in Int(rng.next() % 67) } }
            let batch = TrainingBatch(sequences: tokens)
            let p = try LoRATrainingModel(base: f32, config: lora).lossAndGradient(adapter, batch: batch, dropoutSeed: 5)
            let q = try LoRATrainingModel(base: int8, config: lora).lossAndGradient(adapter, batch: batch, dropoutSeed: 5)
            XCTAssertEqual(q.loss, p.loss, accuracy: 0.01 * p.loss)
            let dot = zip(p.gradient.values, q.gradient.values).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let np = sqrt(p.gradient.values.reduce(0.0) { $0 + Double($1) * Double($1) })
            let nq = sqrt(q.gradient.values.reduce(0.0) { $0 + Double($1) * Double($1) })
            let diff = sqrt(zip(p.gradient.values, q.gradient.values).reduce(0.0) { $0 + pow(Double($1.0) - Double($1.1), 2) })
            print("int8 vs F32 training, dropout \(dropout): loss \(q.loss) vs \(p.loss), gradient cosine \(dot / (np * nq)), relative difference \(diff / np)")
            XCTAssertGreaterThan(dot / (np * nq), 0.99)
            XCTAssertLessThan(diff / np, 0.05, "dropout \(dropout)")
        }
    }

    func testQuantizingRejectsWidthsThatAreNotWholeBlocks() throws {
        let model = try LlamaModel(config: .tiny, weights: .random(.tiny, seed: 1))   // intermediate size 48
        XCTAssertThrowsError(try model.quantizedToQ8_0()) { XCTAssertTrue("\($0)".contains("intermediate size"), "\($0)") }
    }

    /// Quantized blocks of the file match the Swift dequantizer (an independent implementation),
    /// and the query/key rows are moved to Hugging Face order as whole rows.
    func testRealModelBlocksMatchTheF32LoaderAndLogitsAgree() throws {
        let file = try RealModel.file()
        let f32 = try RealModel.model()
        let int8 = try LlamaGGUFLoader.load(file, compute: .int8)
        XCTAssertEqual(int8.quantized?.layers[0][0].type, .q4_1)
        XCTAssertEqual(int8.quantized?.embedding.type, .q8_0)
        print("int8 model: \(int8.quantizedWeightBytes) bytes of quantized weights")
        XCTAssertLessThan(int8.quantizedWeightBytes, 100_000_000, "about the file size")
        let reference = f32.weights
        for (li, t) in [(0, 0), (0, 1), (17, 6), (29, 4)] {
            let got = int8.quantized!.layers[li][t].dequantized()
            let want: Tensor
            switch t {
            case 0: want = reference.layers[li].wq
            case 1: want = reference.layers[li].wk
            case 4: want = reference.layers[li].gate
            default: want = reference.layers[li].down
            }
            XCTAssertEqual(got.shape, want.shape)
            XCTAssertLessThan(got.maxAbsDifference(want), 1e-6, "layer \(li) target \(t)")
        }
        let tokenizer = try RealModel.tokenizer()
        let ids = tokenizer.encode("The capital of France is")
        let a = f32.logits([ids]), b = int8.logits([ids])
        let v = f32.config.vocabSize, last = (ids.count - 1) * v
        let worst = a.maxAbsDifference(b)
        let topA = Array(a.data[last..<(last + v)].enumerated().sorted { $0.element > $1.element }.prefix(5).map(\.offset))
        let topB = Array(b.data[last..<(last + v)].enumerated().sorted { $0.element > $1.element }.prefix(5).map(\.offset))
        print("real model int8 vs F32: worst logit difference \(worst); top-5 \(topB) vs \(topA)")
        XCTAssertLessThan(worst, 1.5)
        XCTAssertEqual(topA[0], topB[0], "the top token is unchanged")
    }
}
