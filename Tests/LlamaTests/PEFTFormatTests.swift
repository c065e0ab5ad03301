import Foundation
import TensorMath
import XCTest
@testable import Llama

/// The adapter export follows PEFT's conventions: names, shapes, config keys.
final class PEFTFormatTests: XCTestCase {
    func testExportHasPEFTNamesShapesAndConfigAndReadsBack() throws {
        let model = LlamaConfig.tiny
        var adapter = try LoRAAdapter(model: model, config: LoRAConfig(rank: 4, alpha: 8, targets: [.q, .v, .down]), seed: 3)
        for i in adapter.values.indices { adapter.values[i] += Float(i % 7) * 0.001 }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("peft-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        try PEFTFormat.write(adapter, to: dir, baseModel: "HuggingFaceTB/SmolLM2-135M-Instruct")

        let file = try SafetensorsFile(path: dir + "/adapter_model.safetensors")
        XCTAssertEqual(file.tensors.count, model.layerCount * 3 * 2)
        let q = try XCTUnwrap(file.tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"])
        XCTAssertEqual(q.shape, [4, model.hiddenSize])
        XCTAssertEqual(q.dtype, "F32")
        let v = try XCTUnwrap(file.tensors["base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"])
        XCTAssertEqual(v.shape, [model.kvWidth, 4])
        let down = try XCTUnwrap(file.tensors["base_model.model.model.layers.1.mlp.down_proj.lora_A.weight"])
        XCTAssertEqual(down.shape, [4, model.intermediateSize])
        XCTAssertEqual(file.metadata["format"], "pt")

        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/adapter_config.json"))) as! [String: Any]
        XCTAssertEqual(config["peft_type"] as? String, "LORA")
        XCTAssertEqual(config["task_type"] as? String, "CAUSAL_LM")
        XCTAssertEqual(config["r"] as? Int, 4)
        XCTAssertEqual(config["lora_alpha"] as? Double, 8)
        XCTAssertEqual(config["target_modules"] as? [String], ["q_proj", "v_proj", "down_proj"])
        XCTAssertEqual(config["base_model_name_or_path"] as? String, "HuggingFaceTB/SmolLM2-135M-Instruct")

        let back = try PEFTFormat.read(directory: dir, model: model)
        XCTAssertEqual(back.values, adapter.values)
        XCTAssertEqual(back.config, adapter.config)
    }

    func testBadAdapterDirectoriesAreNamed() throws {
        XCTAssertThrowsError(try PEFTFormat.read(directory: "/nonexistent", model: .tiny)) {
            XCTAssertTrue("\($0)".contains("adapter_config.json"), "\($0)")
        }
    }
}
