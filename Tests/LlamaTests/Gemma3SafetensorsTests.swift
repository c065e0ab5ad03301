import Foundation
import TensorMath
import XCTest
@testable import Llama

/// Gemma 3 from Hugging Face safetensors: the tiny random `Gemma3ForCausalLM` that
/// `scripts/make_golden.py --gemma3-tiny` saved with `save_pretrained` (config.json with
/// `model_type` gemma3_text, norms stored as `w`) beside the GGUF of the same weights.
final class Gemma3SafetensorsTests: XCTestCase {
    static var directory: String { Gemma3TinyTests.directory }

    func ggufModel() throws -> LlamaModel {
        try LlamaGGUFLoader.load(try GGUFFile(path: Self.directory + "/gemma3_tiny.gguf"))
    }

    /// config.json gives the same block as the GGUF's metadata.
    func testConfigGivesTheGGUFVariant() throws {
        let fromJSON = try LlamaSafetensorsLoader.config(directory: Self.directory)
        let fromGGUF = try ggufModel().config
        XCTAssertEqual(fromJSON.architecture, "gemma3")
        XCTAssertEqual(fromJSON.variant, fromGGUF.variant)
        XCTAssertEqual(fromJSON.variant.slidingWindow, 3)
        XCTAssertEqual(fromJSON.variant.globalLayerPeriod, 2)
        XCTAssertEqual(fromJSON.variant.localRoPETheta, 10_000)
        XCTAssertEqual(fromJSON.ropeTheta, 1_000_000)
        XCTAssertTrue(fromJSON.tieWordEmbeddings)
        for (a, b) in [(fromJSON.headDim, fromGGUF.headDim), (fromJSON.vocabSize, fromGGUF.vocabSize),
                       (fromJSON.kvHeadCount, fromGGUF.kvHeadCount), (fromJSON.intermediateSize, fromGGUF.intermediateSize)] {
            XCTAssertEqual(a, b)
        }
        XCTAssertEqual(fromJSON.rmsNormEps, fromGGUF.rmsNormEps)
    }

    /// Every logit of both sequences within 1e-4 of transformers' (the GGUF test's bound), and
    /// equal to the GGUF load's: the loader adds Gemma's 1 to each stored norm once, in float32,
    /// as llama.cpp's converter (here the generator) did for the GGUF.
    func testLogitsMatchTransformersAndTheGGUF() throws {
        let model = try LlamaSafetensorsLoader.load(directory: Self.directory)
        let gguf = try ggufModel()
        var worst: Float = 0, fromGGUF: Float = 0
        for record in try Gemma3TinyTests.golden()["sequences"] as! [[String: Any]] {
            let ids = record["token_ids"] as! [Int]
            let expected = (record["logits"] as! [[Double]]).flatMap { $0.map(Float.init) }
            let logits = model.logits([ids])
            XCTAssertEqual(logits.data.count, expected.count)
            worst = max(worst, zip(logits.data, expected).map { abs($0 - $1) }.max()!)
            fromGGUF = max(fromGGUF, logits.maxAbsDifference(gguf.logits([ids])))
        }
        XCTAssertLessThan(worst, 1e-4)
        XCTAssertEqual(fromGGUF, 0)
        print("gemma3 tiny (safetensors) vs transformers: worst logit difference \(worst); vs the GGUF load: \(fromGGUF)")
    }

    /// The norms really are stored as `w`: adding nothing (or adding 1 twice) changes the logits.
    func testNormOffsetIsAppliedOnce() throws {
        let model = try LlamaSafetensorsLoader.load(directory: Self.directory)
        let stored = try SafetensorsFile(path: Self.directory + "/model.safetensors")
        let w = try stored.tensor("model.layers.1.pre_feedforward_layernorm.weight").data
        XCTAssertEqual(model.weights.layers[1].mlpNorm, w.map { $0 + 1 })
        XCTAssertEqual(model.weights.layers[0].queryNorm, try stored.tensor("model.layers.0.self_attn.q_norm.weight").data.map { $0 + 1 })
        XCTAssertEqual(model.weights.layers[2].postAttentionNorm,
                       try stored.tensor("model.layers.2.post_attention_layernorm.weight").data.map { $0 + 1 })
        XCTAssertEqual(model.weights.finalNorm, try stored.tensor("model.norm.weight").data.map { $0 + 1 })
    }

    /// `save` writes a gemma3_text checkpoint (norms back to `w`, the transformers keys) that
    /// loads back to identical logits. With `FEDPILOT_KEEP_GEMMA3_SAVE=DIR` the checkpoint is
    /// written there and kept, to load it in transformers by hand.
    func testSaveRoundTrip() throws {
        let model = try ggufModel()
        let kept = ProcessInfo.processInfo.environment["FEDPILOT_KEEP_GEMMA3_SAVE"]
        let dir = kept ?? NSTemporaryDirectory() + "gemma3-save-\(UUID().uuidString)"
        defer { if kept == nil { try? FileManager.default.removeItem(atPath: dir) } }
        try LlamaSafetensorsLoader.save(model, directory: dir)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
        XCTAssertEqual(json["model_type"] as? String, "gemma3_text")
        XCTAssertEqual(json["architectures"] as? [String], ["Gemma3ForCausalLM"])
        XCTAssertEqual(json["query_pre_attn_scalar"] as? Int, 12)
        XCTAssertEqual(json["sliding_window"] as? Int, 3)
        XCTAssertEqual(json["layer_types"] as? [String], ["sliding_attention", "full_attention", "sliding_attention"])
        XCTAssertEqual(json["hidden_activation"] as? String, "gelu_pytorch_tanh")
        let saved = try SafetensorsFile(path: dir + "/model.safetensors")
        let original = try SafetensorsFile(path: Self.directory + "/model.safetensors")
        XCTAssertEqual(Set(saved.tensors.keys), Set(original.tensors.keys), "the same tensor names as save_pretrained")
        for name in original.tensors.keys where name.hasSuffix("norm.weight") {
            // (1 + w) - 1 in float32 loses w's bits below 2^-24.
            let a = try saved.tensor(name).data, b = try original.tensor(name).data
            XCTAssertLessThanOrEqual(zip(a, b).map { abs($0 - $1) }.max()!, 1e-7, name)
        }
        let reloaded = try LlamaSafetensorsLoader.load(directory: dir)
        XCTAssertEqual(reloaded.config.variant, model.config.variant)
        let ids = [[2, 5, 9, 13, 17, 21, 25]]
        XCTAssertEqual(reloaded.logits(ids).data, model.logits(ids).data)
    }

    func config(_ json: String) throws -> LlamaConfig {
        try LlamaSafetensorsLoader.config(data: Data(json.utf8), path: "config.json")
    }

    static let sizes = #""model_type": "gemma3_text", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 6, "num_attention_heads": 4, "num_key_value_heads": 1"#

    /// A transformers 4 config (no layer_types, no rope_parameters) takes Gemma3TextConfig's
    /// defaults: pattern 6, window 4096, bases 1e6 / 1e4, query_pre_attn_scalar 256, head_dim 256,
    /// a tied head.
    func testTransformers4ConfigDefaults() throws {
        let c = try config("{\(Self.sizes)}")
        XCTAssertEqual(c.headDim, 256)
        XCTAssertTrue(c.tieWordEmbeddings)
        XCTAssertEqual(c.ropeTheta, 1_000_000)
        XCTAssertEqual(c.variant.localRoPETheta, 10_000)
        XCTAssertEqual(c.variant.slidingWindow, 4096)
        XCTAssertEqual(c.variant.attentionScale, Float(1 / 256.0.squareRoot()))
        XCTAssertEqual((0..<6).map { c.variant.isLocal(layer: $0) }, [true, true, true, true, true, false])
        let old = try config(#"{\#(Self.sizes), "head_dim": 8, "sliding_window_pattern": 3, "sliding_window": 7, "rope_theta": 5e5, "rope_local_base_freq": 2e3, "query_pre_attn_scalar": 16}"#)
        XCTAssertEqual((0..<6).map { old.variant.isLocal(layer: $0) }, [true, true, false, true, true, false])
        XCTAssertEqual(old.ropeTheta, 500_000)
        XCTAssertEqual(old.variant.localRoPETheta, 2_000)
        XCTAssertEqual(old.variant.slidingWindow, 7)
        XCTAssertEqual(old.variant.attentionScale, 0.25)
    }

    /// What the block cannot run is refused in one line that names the key.
    func testUnsupportedSettingsAreRefusedByName() throws {
        let cases: [(String, String)] = [
            (#""hidden_activation": "gelu""#, "hidden_activation"),
            (#""rope_scaling": {"rope_type": "linear", "factor": 8.0}"#, "rope_scaling"),
            (#""rope_parameters": {"full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1e6}}"#, "rope_parameters.full_attention.rope_type"),
            (#""final_logit_softcapping": 30.0"#, "final_logit_softcapping"),
            (#""attention_bias": true"#, "attention_bias"),
            (#""sliding_window": null"#, "sliding_window"),
            (#""layer_types": ["sliding_attention", "full_attention", "full_attention", "sliding_attention", "sliding_attention", "full_attention"]"#, "layer_types"),
            (#""layer_types": ["sliding_attention"]"#, "layer_types"),
        ]
        for (extra, key) in cases {
            XCTAssertThrowsError(try config("{\(Self.sizes), \(extra)}"), extra) {
                let message = "\($0)"
                XCTAssertTrue(message.contains(key), "\(extra): \(message)")
                XCTAssertFalse(message.contains("\n"), message)
            }
        }
        XCTAssertThrowsError(try config(#"{"model_type": "gemma3", "text_config": {}}"#)) {
            XCTAssertTrue("\($0)".contains("multimodal") && "\($0)".contains("gemma3_text"), "\($0)")
        }
    }
}
