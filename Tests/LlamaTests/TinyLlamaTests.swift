import Foundation
import TensorMath
import XCTest
@testable import Llama

/// The forward pass on a tiny random Llama, against a naive reference written
/// from the architecture's definition, and across its three entry points.
final class TinyLlamaTests: XCTestCase {
    let config = LlamaConfig.tiny

    func makeModel(seed: UInt64 = 1) throws -> LlamaModel {
        try LlamaModel(config: config, weights: .random(config, seed: seed))
    }

    func testForwardMatchesNaiveReference() throws {
        let model = try makeModel()
        let tokens = [[3, 17, 42, 5, 9, 63, 0, 8], [1, 2, 3, 4, 5, 6, 7, 8]]
        let fast = model.logits(tokens)
        XCTAssertEqual(fast.shape, [16, config.vocabSize])
        var worst: Float = 0
        for (b, seq) in tokens.enumerated() {
            let reference = NaiveLlama.logits(seq, config: config, weights: model.weights)
            for i in 0..<(seq.count * config.vocabSize) {
                worst = max(worst, abs(fast.data[b * seq.count * config.vocabSize + i] - reference[i]))
            }
        }
        XCTAssertLessThan(worst, 1e-4, "worst logit difference \(worst)")
    }

    func testCachedDecodingMatchesFullForward() throws {
        let model = try makeModel(seed: 2)
        let tokens = [5, 9, 11, 2, 60, 33, 7]
        let full = model.logits([tokens])
        let cache = KVCache(config: config, capacity: 16)
        // Prefill three tokens, then one at a time.
        var last = model.next(Array(tokens[0..<3]), cache: cache)
        XCTAssertEqual(cache.length, 3)
        for t in 3..<tokens.count {
            let expected = Array(full.data[((t - 1) * config.vocabSize)..<(t * config.vocabSize)])
            XCTAssertLessThan(zip(last, expected).map { abs($0 - $1) }.max()!, 1e-4, "position \(t - 1)")
            last = model.next([tokens[t]], cache: cache)
        }
        let expected = Array(full.data[((tokens.count - 1) * config.vocabSize)...])
        XCTAssertLessThan(zip(last, expected).map { abs($0 - $1) }.max()!, 1e-4)
    }

    func testLossIsMeanNextTokenCrossEntropy() throws {
        let model = try makeModel(seed: 3)
        let tokens = [4, 8, 15, 16, 23, 42]
        let reference = NaiveLlama.logits(tokens, config: config, weights: model.weights)
        var total = 0.0
        for t in 0..<(tokens.count - 1) {
            let row = reference[(t * config.vocabSize)..<((t + 1) * config.vocabSize)].map(Double.init)
            total += log(row.map { exp($0) }.reduce(0, +)) - row[tokens[t + 1]]
        }
        XCTAssertEqual(model.loss(tokens)!, total / Double(tokens.count - 1), accuracy: 1e-4)
        XCTAssertNil(model.loss([1]))
    }

    /// A GGUF written the way llama.cpp's converter writes it (q/k rows permuted for
    /// adjacent-pair RoPE) loads back into the same model.
    func testGGUFRoundTripUndoesTheRoPEPermutation() throws {
        let model = try makeModel(seed: 4)
        let data = TinyGGUF.write(config: config, weights: model.weights, quantizeF16: false)
        let file = try GGUFFile(data: data, path: "tiny.gguf")
        XCTAssertEqual(try LlamaGGUFLoader.config(file), config)
        let loaded = try LlamaGGUFLoader.load(file)
        let tokens = [[1, 5, 9, 13, 17]]
        XCTAssertEqual(loaded.logits(tokens).maxAbsDifference(model.logits(tokens)), 0)
        // Permute then unpermute is the identity; the permutation itself is not.
        let wq = model.weights.layers[0].wq
        let permuted = LlamaGGUFLoader.permuteRoPERows(wq, heads: config.headCount)
        XCTAssertNotEqual(permuted, wq)
        XCTAssertEqual(LlamaGGUFLoader.unpermuteRoPERows(permuted, heads: config.headCount), wq)
    }

    func testWrongShapesAndBadConfigAreRejected() throws {
        var weights = LlamaWeights.random(config, seed: 5)
        weights.layers[1].wk = Tensor(zeros: [3, 3])
        XCTAssertThrowsError(try LlamaModel(config: config, weights: weights, source: "w")) {
            XCTAssertTrue("\($0)".contains("layer 1 k_proj"), "\($0)")
        }
        var bad = config
        bad.kvHeadCount = 3
        XCTAssertThrowsError(try LlamaModel(config: bad, weights: .random(config, seed: 5)))
        let json = #"{"vocab_size": 10, "hidden_size": 8, "intermediate_size": 4, "num_hidden_layers": 1, "num_attention_heads": 3}"#
        XCTAssertThrowsError(try JSONDecoder().decode(LlamaConfig.self, from: Data(json.utf8)))
    }

    func testGreedyGenerationIsDeterministicAndSamplingIsSeeded() {
        let logits: [Float] = [0.1, 3, 0.2, 2.9]
        var greedy = Sampler(temperature: 0)
        XCTAssertEqual(greedy.sample(logits), 1)
        var a = Sampler(temperature: 0.3, topP: 1, seed: 9), b = Sampler(temperature: 0.3, topP: 1, seed: 9)
        let sa = (0..<50).map { _ in a.sample(logits) }
        XCTAssertEqual(sa, (0..<50).map { _ in b.sample(logits) })
        XCTAssertEqual(Set(sa), [1, 3], "top tokens dominate: \(sa)")
        var nucleus = Sampler(temperature: 1, topP: 0.3, seed: 1)
        XCTAssertTrue((0..<20).allSatisfy { _ in nucleus.sample(logits) == 1 })
    }
}

/// Writes a tiny Llama (or Gemma 3, after `c.architecture`) as GGUF, with llama.cpp's tensor
/// names, and its q/k permutation for llama only.
enum TinyGGUF {
    static func write(config c: LlamaConfig, weights w: LlamaWeights, quantizeF16: Bool) -> Data {
        var g = GGUFWriter()
        let a = c.architecture, gemma = a == "gemma3"
        g.set("general.architecture", .string(a))
        g.set(a + ".vocab_size", .uint32(UInt32(c.vocabSize)))
        g.set(a + ".embedding_length", .uint32(UInt32(c.hiddenSize)))
        g.set(a + ".feed_forward_length", .uint32(UInt32(c.intermediateSize)))
        g.set(a + ".block_count", .uint32(UInt32(c.layerCount)))
        g.set(a + ".attention.head_count", .uint32(UInt32(c.headCount)))
        g.set(a + ".attention.head_count_kv", .uint32(UInt32(c.kvHeadCount)))
        g.set(a + ".attention.layer_norm_rms_epsilon", .float32(c.rmsNormEps))
        g.set(a + ".rope.freq_base", .float32(c.ropeTheta))
        g.set(a + ".rope.dimension_count", .uint32(UInt32(c.headDim)))
        g.set(a + ".context_length", .uint32(UInt32(c.maxPositions)))
        if gemma {
            g.set(a + ".attention.key_length", .uint32(UInt32(c.headDim)))
            g.set(a + ".attention.sliding_window", .uint32(UInt32(c.variant.slidingWindow!)))
            g.set(a + ".attention.sliding_window_pattern", .uint32(UInt32(c.variant.globalLayerPeriod)))
            g.set(a + ".rope.freq_base_swa", .float32(c.variant.localRoPETheta!))
            g.set(a + ".attention.query_pre_attn_scalar", .float32(1 / (c.variant.attentionScale! * c.variant.attentionScale!)))
        }
        func queryKey(_ t: Tensor, heads: Int) -> Tensor { gemma ? t : LlamaGGUFLoader.permuteRoPERows(t, heads: heads) }
        func add(_ name: String, _ t: Tensor) {
            if quantizeF16 { g.addF16(name, shape: t.shape, t.data) } else { g.addF32(name, shape: t.shape, t.data) }
        }
        g.addF32("token_embd.weight", shape: w.embedding.shape, w.embedding.data)
        for (i, l) in w.layers.enumerated() {
            let b = "blk.\(i)."
            g.addF32(b + "attn_norm.weight", shape: [c.hiddenSize], l.attentionNorm)
            add(b + "attn_q.weight", queryKey(l.wq, heads: c.headCount))
            add(b + "attn_k.weight", queryKey(l.wk, heads: c.kvHeadCount))
            if gemma {
                g.addF32(b + "attn_q_norm.weight", shape: [c.headDim], l.queryNorm)
                g.addF32(b + "attn_k_norm.weight", shape: [c.headDim], l.keyNorm)
                g.addF32(b + "post_attention_norm.weight", shape: [c.hiddenSize], l.postAttentionNorm)
                g.addF32(b + "post_ffw_norm.weight", shape: [c.hiddenSize], l.postMLPNorm)
            }
            add(b + "attn_v.weight", l.wv)
            add(b + "attn_output.weight", l.wo)
            g.addF32(b + "ffn_norm.weight", shape: [c.hiddenSize], l.mlpNorm)
            add(b + "ffn_gate.weight", l.gate)
            add(b + "ffn_up.weight", l.up)
            add(b + "ffn_down.weight", l.down)
        }
        g.addF32("output_norm.weight", shape: [c.hiddenSize], w.finalNorm)
        return g.data()
    }
}
