import Foundation
import TensorMath
import XCTest
@testable import Llama

/// The safetensors reader and the Hugging Face checkpoint loader.
final class SafetensorsTests: XCTestCase {
    func temporaryDirectory() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedpilot-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        return dir
    }

    /// The same tiny model through a Hugging Face checkpoint and through a GGUF file
    /// (with llama.cpp's q/k permutation) gives the same in-memory model.
    func testCheckpointAndGGUFYieldTheSameModel() throws {
        let config = LlamaConfig.tiny
        let original = try LlamaModel(config: config, weights: .random(config, seed: 11))
        let dir = try temporaryDirectory()
        try LlamaSafetensorsLoader.save(original, directory: dir)
        let fromCheckpoint = try LlamaSafetensorsLoader.load(directory: dir)
        let fromGGUF = try LlamaGGUFLoader.load(GGUFFile(data: TinyGGUF.write(config: config, weights: original.weights, quantizeF16: false), path: "t.gguf"))
        XCTAssertEqual(fromCheckpoint.config, config)
        let tokens = [[7, 1, 30, 2, 9, 63]]
        let expected = original.logits(tokens)
        XCTAssertEqual(fromCheckpoint.logits(tokens).maxAbsDifference(expected), 0)
        XCTAssertEqual(fromGGUF.logits(tokens).maxAbsDifference(expected), 0)
    }

    func testDtypesAndCorruptHeaders() throws {
        var w = SafetensorsWriter()
        w.add("b", shape: [2, 2], [1, -2, 3.5, 4])
        w.add("a", shape: [3], [0, 1, 2])
        let data = try w.data()
        let f = try SafetensorsFile(data: data, path: "t.safetensors")
        XCTAssertEqual(try f.tensor("b"), Tensor(shape: [2, 2], data: [1, -2, 3.5, 4]))
        XCTAssertEqual(try f.tensor("a").data, [0, 1, 2])
        func message(_ d: Data) -> String {
            do { _ = try SafetensorsFile(data: d, path: "bad.safetensors"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message(data.prefix(5)).contains("offset 0"))
        XCTAssertTrue(message(data.prefix(20)).contains("JSON header"), message(data.prefix(20)))
        XCTAssertTrue(message(data.prefix(data.count - 4)).contains("'b'"), message(data.prefix(data.count - 4)))
        var garbage = data
        garbage[9] = UInt8(ascii: "]")
        XCTAssertTrue(message(garbage).contains("not valid JSON"), message(garbage))
        XCTAssertThrowsError(try f.tensor("c")) { XCTAssertTrue("\($0)".contains("'c' is missing")) }
    }

    func testMissingConfigKeysAreNamed() throws {
        let dir = try temporaryDirectory()
        try Data(#"{"hidden_size": 8}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        XCTAssertThrowsError(try LlamaSafetensorsLoader.load(directory: dir)) {
            XCTAssertTrue("\($0)".contains("config.json") && "\($0)".contains("num_attention_heads") || "\($0)".contains("vocab_size"), "\($0)")
        }
        XCTAssertThrowsError(try LlamaSafetensorsLoader.load(directory: dir + "/nope")) {
            XCTAssertTrue("\($0)".contains("no such file"), "\($0)")
        }
    }

    /// With a Hugging Face export of the default model present (scripts/export_hf_checkpoint.py),
    /// both loaders give the same logits. Skipped where the export is absent (it is not in CI).
    func testRealCheckpointMatchesGGUFWhenExported() throws {
        let dir = URL(fileURLWithPath: RealModel.path).deletingLastPathComponent().appendingPathComponent("hf-smollm2-135m").path
        guard FileManager.default.fileExists(atPath: dir + "/config.json") else { throw XCTSkip("no Hugging Face export at \(dir)") }
        let hf = try LlamaSafetensorsLoader.load(directory: dir)
        let gguf = try RealModel.model()
        let tokens = [[504, 3575, 282, 4649, 314, 7042]]
        let diff = hf.logits(tokens).maxAbsDifference(gguf.logits(tokens))
        XCTAssertLessThan(diff, 1e-3, "worst logit difference \(diff)")
    }
}
