import Foundation
import TensorMath
import XCTest
@testable import Llama

/// Gemma 3's block parts against transformers and PEFT on a tiny random checkpoint that
/// `scripts/make_golden.py --gemma3-tiny` wrote (GGUF under llama.cpp's gemma3 names): a window
/// of 3 shorter than the sequences, local and global layers with their own RoPE bases, a query
/// scale that is not 1/√head_dim, q/k norms, post-norms, GeGLU, the scaled embedding and the tied head.
final class Gemma3TinyTests: XCTestCase {
    static var directory: String {
        Bundle.module.url(forResource: "gemma3_tiny", withExtension: nil, subdirectory: "Fixtures")!.path
    }

    static func golden() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/golden.json"))
        return try JSONSerialization.jsonObject(with: data) as! [String: Any]
    }

    static func model() throws -> LlamaModel {
        try LlamaGGUFLoader.load(try GGUFFile(path: directory + "/gemma3_tiny.gguf"))
    }

    func testMetadataGivesTheVariant() throws {
        let m = try Self.model()
        let v = m.config.variant
        XCTAssertEqual(m.config.architecture, "gemma3")
        XCTAssertEqual(v.slidingWindow, 3)
        XCTAssertEqual((0..<3).map { v.isLocal(layer: $0) }, [true, false, true])
        XCTAssertEqual(v.localRoPETheta, 10_000)
        XCTAssertEqual(m.config.ropeTheta, 1_000_000)
        XCTAssertEqual(v.attentionScale!, 1 / Float(12).squareRoot(), accuracy: 1e-7)
    }

    /// Every logit of both sequences (longer than the window) within 1e-4 of transformers'.
    func testLogitsMatchTransformers() throws {
        let m = try Self.model()
        var worst: Float = 0
        for record in try Self.golden()["sequences"] as! [[String: Any]] {
            let ids = record["token_ids"] as! [Int]
            let expected = (record["logits"] as! [[Double]]).flatMap { $0.map(Float.init) }
            let logits = m.logits([ids])
            XCTAssertEqual(logits.data.count, expected.count)
            worst = max(worst, zip(logits.data, expected).map { abs($0 - $1) }.max()!)
        }
        XCTAssertLessThan(worst, 1e-4)
        print("gemma3 tiny vs transformers: worst logit difference \(worst)")
    }

    /// The LoRA loss and every lora_A / lora_B gradient (all seven targets, every layer) against
    /// PEFT's for the same adapter values: loss within 1e-5, each tensor within 1e-3 relative
    /// error (‖g − g_ref‖ / ‖g_ref‖).
    func testLoRAGradientsMatchPEFT() throws {
        let m = try Self.model()
        let golden = try Self.golden()
        let peft = golden["lora"] as! [String: Any]
        let reference = try SafetensorsFile(path: Self.directory + "/lora_gradients.safetensors")
        let lora = LoRAConfig(rank: peft["r"] as! Int, alpha: Float(peft["lora_alpha"] as! Double), targets: LoRATarget.allCases)
        let adapter = try goldenLoRAAdapter(for: m.config, config: lora)
        let ids = (golden["sequences"] as! [[String: Any]]).map { $0["token_ids"] as! [Int] }
        let trainer = try LoRATrainingModel(base: m, config: lora)
        let (loss, grad) = trainer.lossAndGradient(adapter, batch: TrainingBatch(sequences: ids))
        XCTAssertEqual(loss, peft["loss"] as! Double, accuracy: 1e-5)
        var worst = 0.0, worstName = "", checked = 0
        for s in grad.slots {
            for (matrix, offset, count) in [("A", s.aOffset, s.aCount), ("B", s.bOffset, s.bCount)] {
                let name = s.peftName(matrix)
                let ref = try reference.tensor(name).data
                XCTAssertEqual(ref.count, count, name)
                let rel = relativeL2Error(grad.values[offset..<(offset + count)], ref)
                if rel > worst { worst = rel; worstName = name }
                XCTAssertLessThanOrEqual(rel, 1e-3, name)
                checked += 1
            }
        }
        XCTAssertEqual(checked, 2 * 7 * 3)
        print("gemma3 tiny LoRA vs PEFT: loss \(loss) vs \(peft["loss"] as! Double); \(checked) tensors, worst gradient relative error \(worst) (\(worstName))")
    }
}
