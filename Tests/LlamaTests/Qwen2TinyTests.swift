import Foundation
import TensorMath
import XCTest
@testable import Llama

/// Qwen2 (q/k/v biases, untied head) on a tiny random checkpoint that `scripts/make_golden.py
/// --qwen2-tiny` wrote with transformers: as safetensors (`save_pretrained`) and as GGUF under
/// llama.cpp's qwen2 names (the `gguf` package), with transformers' logits for two sequences.
final class Qwen2TinyTests: XCTestCase {
    static var directory: String {
        Bundle.module.url(forResource: "qwen2_tiny", withExtension: nil, subdirectory: "Fixtures")!.path
    }

    static func golden() throws -> [[String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/golden.json"))
        return (try JSONSerialization.jsonObject(with: data) as! [String: Any])["sequences"] as! [[String: Any]]
    }

    /// Every logit of both sequences within 1e-4 of transformers'.
    func assertMatchesTransformers(_ model: LlamaModel, _ label: String) throws {
        var worst: Float = 0
        for record in try Self.golden() {
            let ids = record["token_ids"] as! [Int]
            let expected = (record["logits"] as! [[Double]]).flatMap { $0.map(Float.init) }
            let logits = model.logits([ids])
            XCTAssertEqual(logits.data.count, expected.count)
            worst = max(worst, zip(logits.data, expected).map { abs($0 - $1) }.max()!)
        }
        XCTAssertLessThan(worst, 1e-4, "\(label): worst logit difference \(worst)")
        print("qwen2 tiny (\(label)) vs transformers: worst logit difference \(worst)")
    }

    func testGGUFMatchesTransformers() throws {
        let file = try GGUFFile(path: Self.directory + "/qwen2_tiny.gguf")
        let config = try LlamaGGUFLoader.config(file)
        XCTAssertEqual(config.architecture, "qwen2")
        XCTAssertTrue(config.variant.attentionBias)
        XCTAssertFalse(config.tieWordEmbeddings, "the file has output.weight")
        let model = try LlamaGGUFLoader.load(file)
        XCTAssertNotNil(model.weights.lmHead)
        try assertMatchesTransformers(model, "GGUF")
    }

    func testSafetensorsMatchesTransformers() throws {
        let model = try LlamaSafetensorsLoader.load(directory: Self.directory)
        XCTAssertEqual(model.config.architecture, "qwen2")
        XCTAssertEqual(model.config.variant, ModelArchitecture.qwen2Variant)
        try assertMatchesTransformers(model, "safetensors")
    }

    /// `save` writes a qwen2 checkpoint (model_type, class, biases) that loads back to the same
    /// logits; a block its family's config.json cannot describe is refused in one line.
    func testSafetensorsSaveRoundTrip() throws {
        let model = try LlamaGGUFLoader.load(try GGUFFile(path: Self.directory + "/qwen2_tiny.gguf"))
        let dir = NSTemporaryDirectory() + "qwen2-save-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try LlamaSafetensorsLoader.save(model, directory: dir)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/config.json"))) as! [String: Any]
        XCTAssertEqual(json["model_type"] as? String, "qwen2")
        XCTAssertEqual(json["architectures"] as? [String], ["Qwen2ForCausalLM"])
        let reloaded = try LlamaSafetensorsLoader.load(directory: dir)
        XCTAssertEqual(reloaded.config.architecture, "qwen2")
        XCTAssertEqual(reloaded.config.variant, ModelArchitecture.qwen2Variant)
        let ids = [[1, 5, 9, 13, 17]]
        XCTAssertEqual(reloaded.logits(ids).data, model.logits(ids).data)

        var gemma = model.config
        gemma.architecture = "gemma3"
        gemma.variant.postNorms = true
        let other = try LlamaModel(config: gemma, weights: .random(gemma, seed: 3))
        XCTAssertThrowsError(try LlamaSafetensorsLoader.save(other, directory: dir + "-gemma")) {
            let message = "\($0)"
            XCTAssertTrue(message.contains("cannot be written as a gemma3_text config.json"), message)
            XCTAssertFalse(message.contains("\n"))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "-gemma"), "nothing is written when refused")
    }

    func testBiasesMatter() throws {
        let file = try GGUFFile(path: Self.directory + "/qwen2_tiny.gguf")
        let model = try LlamaGGUFLoader.load(file)
        var weights = model.weights
        for i in weights.layers.indices {
            weights.layers[i].queryBias = weights.layers[i].queryBias.map { _ in 0 }
            weights.layers[i].valueBias = weights.layers[i].valueBias.map { _ in 0 }
        }
        let without = try LlamaModel(config: model.config, weights: weights)
        let ids = [[1, 5, 9, 13, 17]]
        XCTAssertGreaterThan(without.logits(ids).maxAbsDifference(model.logits(ids)), 1e-2)
    }

    func testLoRAGradientMatchesFiniteDifferences() throws {
        let model = try LlamaGGUFLoader.load(GGUFFile(path: Self.directory + "/qwen2_tiny.gguf"))
        let lora = LoRAConfig(rank: 2, alpha: 4, targets: [.q, .k, .v, .down])
        let trainer = try LoRATrainingModel(base: model, config: lora)
        var adapter = try LoRAAdapter(zerosFor: model.config, config: lora)
        var rng = SeededRandom(seed: 8)
        for i in adapter.values.indices { adapter.values[i] = rng.normal() * 0.2 }
        let batch = TrainingBatch(tokens: [[1, 5, 9, 2, 33, 7]], targets: [[5, 9, 2, 33, 7, -1]])
        let (loss, grad) = trainer.lossAndGradient(adapter, batch: batch)
        XCTAssertEqual(loss, try trainer.loss(adapter, batch: batch), accuracy: 1e-4)
        checkLoRAFiniteDifferences(trainer, adapter, gradient: grad, batch: batch, samples: 30, rng: &rng)
    }

    func testOtherSafetensorsModelTypesAreRefusedInOneLine() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedpilot-gemma-config-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(#"{"model_type": "phi3", "vocab_size": 8}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        XCTAssertThrowsError(try LlamaSafetensorsLoader.config(directory: dir)) {
            let message = "\($0)"
            XCTAssertTrue(message.contains("\"phi3\" is not supported") && message.contains("llama, mistral, qwen2, gemma3_text"), message)
            XCTAssertFalse(message.contains("\n"))
        }
    }
}
