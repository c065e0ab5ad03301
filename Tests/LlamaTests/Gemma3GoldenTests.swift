import Foundation
import TensorMath
import XCTest
@testable import Llama

/// Gemma 3 270M (Q4_K_M GGUF, `scripts/fetch-gemma.sh`) for the tests that need it.
///
/// It lives at `models/gemma-3-270m-q4_k_m.gguf` or `$FEDPILOT_GEMMA`. Tests skip without
/// it; `FEDPILOT_REQUIRE_GEMMA=1` makes a missing file a failure.
enum GemmaModel {
    static let path: String = {
        if let env = ProcessInfo.processInfo.environment["FEDPILOT_GEMMA"] { return env }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("models/gemma-3-270m-q4_k_m.gguf").path
    }()

    nonisolated(unsafe) private static var cached: LlamaModel?
    private static let lock = NSLock()

    static func file() throws -> GGUFFile {
        guard FileManager.default.fileExists(atPath: path) else {
            if ProcessInfo.processInfo.environment["FEDPILOT_REQUIRE_GEMMA"] == "1" {
                XCTFail("Gemma 3 270M is missing at \(path); run scripts/fetch-gemma.sh")
            }
            throw XCTSkip("Gemma 3 270M not found at \(path); run scripts/fetch-gemma.sh")
        }
        return try GGUFFile(path: path)
    }

    /// The dequantized model, loaded once per test process.
    static func model() throws -> LlamaModel {
        let f = try file()
        lock.lock(); defer { lock.unlock() }
        if let m = cached { return m }
        let m = try LlamaGGUFLoader.load(f)
        cached = m
        return m
    }

    /// `Fixtures/gemma3_golden.json`, written by `scripts/make_golden.py --gemma3`.
    static func golden() throws -> [String: Any] {
        let url = Bundle.module.url(forResource: "gemma3_golden", withExtension: "json", subdirectory: "Fixtures")!
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }
}

/// Gemma 3 270M against transformers (`Gemma3ForCausalLM` from the same GGUF, float32, eager):
/// at two positions of every fixture prompt, the top-5 ids identical and the top-5 and probe
/// logits within 2e-2; the loss within 2e-3.
final class Gemma3GoldenTests: XCTestCase {
    func testConfigMatchesTransformers() throws {
        let c = try LlamaGGUFLoader.config(GemmaModel.file())
        let r = try GemmaModel.golden()["config"] as! [String: Any]
        XCTAssertEqual(c.architecture, "gemma3")
        XCTAssertEqual(c.hiddenSize, r["hidden_size"] as? Int)
        XCTAssertEqual(c.layerCount, r["num_hidden_layers"] as? Int)
        XCTAssertEqual(c.headCount, r["num_attention_heads"] as? Int)
        XCTAssertEqual(c.kvHeadCount, r["num_key_value_heads"] as? Int)
        XCTAssertEqual(c.headDim, r["head_dim"] as? Int)
        XCTAssertEqual(c.intermediateSize, r["intermediate_size"] as? Int)
        XCTAssertEqual(c.vocabSize, r["vocab_size"] as? Int)
        XCTAssertEqual(Double(c.rmsNormEps), r["rms_norm_eps"] as! Double, accuracy: 1e-12)
        XCTAssertEqual(c.variant.slidingWindow, r["sliding_window"] as? Int)
        let types = (0..<c.layerCount).map { c.variant.isLocal(layer: $0) ? "sliding_attention" : "full_attention" }
        XCTAssertEqual(types, r["layer_types"] as? [String])
        let rope = r["rope_parameters"] as! [String: [String: Any]]
        XCTAssertEqual(Double(c.ropeTheta), rope["full_attention"]!["rope_theta"] as! Double)
        XCTAssertEqual(Double(c.variant.localRoPETheta!), rope["sliding_attention"]!["rope_theta"] as! Double)
        XCTAssertEqual(c.variant.attentionScale!, 1 / Float(r["query_pre_attn_scalar"] as! Double).squareRoot())
        XCTAssertEqual(r["hidden_activation"] as? String, "gelu_pytorch_tanh")
        XCTAssertEqual(c.variant.activation, .geluTanh)
        XCTAssertTrue(r["final_logit_softcapping"] is NSNull && r["attn_logit_softcapping"] is NSNull)
        XCTAssertEqual(c.tieWordEmbeddings, r["tie_word_embeddings"] as? Bool)
    }

    func testLogitsAndLossMatchTransformers() throws {
        let model = try GemmaModel.model()
        let prompts = try GemmaModel.golden()["prompts"] as! [[String: Any]]
        XCTAssertGreaterThanOrEqual(prompts.count, 3)
        let v = model.config.vocabSize
        var worstLogit = 0.0, worstLoss = 0.0
        for p in prompts {
            let name = p["name"] as! String
            let ids = p["token_ids"] as! [Int]
            let expected = p["positions"] as! [[String: Any]]
            let positions = expected.map { $0["position"] as! Int }
            let logits = model.logits(ids, at: positions)
            for (j, e) in expected.enumerated() {
                let row = Array(logits.data[(j * v)..<((j + 1) * v)])
                let top = e["top"] as! [[String: Any]]
                var order = Array(row.indices)
                order.sort { row[$0] > row[$1] }
                XCTAssertEqual(Array(order.prefix(top.count)), top.map { $0["id"] as! Int }, "\(name) @\(positions[j]): top-5 ids")
                var pairs = top.map { ($0["id"] as! Int, $0["logit"] as! Double) }
                pairs += (e["probe_logits"] as! [String: Double]).map { (Int($0.key)!, $0.value) }
                for (id, reference) in pairs {
                    let diff = abs(Double(row[id]) - reference)
                    worstLogit = max(worstLogit, diff)
                    XCTAssertLessThanOrEqual(diff, 2e-2, "\(name) @\(positions[j]): logit of \(id)")
                }
            }
            let targets = Array(ids.dropFirst()) + [-1]
            let loss = try XCTUnwrap(model.meanLoss([ids], targets: targets))
            worstLoss = max(worstLoss, abs(loss - (p["loss"] as! Double)))
            XCTAssertEqual(loss, p["loss"] as! Double, accuracy: 2e-3, "\(name): loss")
        }
        print("gemma3 golden: \(prompts.count) prompts, worst logit difference \(worstLogit), worst loss difference \(worstLoss)")
    }
}
