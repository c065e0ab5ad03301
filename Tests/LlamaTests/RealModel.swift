import Foundation
import XCTest
@testable import Llama

/// The default model (SmolLM2-135M-Instruct, Q4_1 GGUF) for tests that need it.
///
/// It lives in `models/` (fetched by `scripts/fetch-model.sh`) or at `$FEDPILOT_MODEL`.
/// Tests skip when it is absent locally; CI fetches it, and sets
/// `FEDPILOT_REQUIRE_MODEL=1` so that a missing model fails instead of skipping.
enum RealModel {
    static let path: String = {
        if let env = ProcessInfo.processInfo.environment["FEDPILOT_MODEL"] { return env }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    }()

    private static let shared: Result<(GGUFFile, LlamaModel?), Error> = Result {
        (try GGUFFile(path: path), nil)
    }
    nonisolated(unsafe) private static var cachedModel: LlamaModel?
    private static let lock = NSLock()

    static func file() throws -> GGUFFile {
        guard FileManager.default.fileExists(atPath: path) else {
            if ProcessInfo.processInfo.environment["FEDPILOT_REQUIRE_MODEL"] == "1" {
                XCTFail("the default model is missing at \(path); run scripts/fetch-model.sh")
            }
            throw XCTSkip("default model not found at \(path); run scripts/fetch-model.sh")
        }
        return try shared.get().0
    }

    /// The dequantized model, loaded once per test process.
    static func model() throws -> LlamaModel {
        let f = try file()
        lock.lock(); defer { lock.unlock() }
        if let m = cachedModel { return m }
        let m = try LlamaGGUFLoader.load(f)
        cachedModel = m
        return m
    }

    static func tokenizer() throws -> BPETokenizer { try BPETokenizer(gguf: file()) }

    /// The committed fixture written by `scripts/make_golden.py`.
    static func golden() throws -> [String: Any] {
        let url = Bundle.module.url(forResource: "golden", withExtension: "json", subdirectory: "Fixtures")!
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }
}
