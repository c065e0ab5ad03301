import Foundation
import XCTest
@testable import Llama

/// Checks the tokenizer built from the real SmolLM2 GGUF vocabulary against the reference ids in
/// `Fixtures/golden.json` (produced by scripts/make_golden.py). Skipped when the model file is absent.
final class TokenizerRealVocabTests: XCTestCase {
    /// The parts of golden.json used here.
    private struct Golden: Decodable {
        struct Case: Decodable {
            var text: String
            var ids: [Int]
            var decoded: String?
        }
        struct Prompt: Decodable {
            var name: String?
            var text: String
            var token_ids: [Int]
        }
        var adds_bos: Bool?
        var tokenizer_cases: [Case]
        var prompts: [Prompt]
    }

    private func loadGolden() throws -> Golden {
        guard let url = Bundle.module.url(forResource: "golden", withExtension: "json", subdirectory: "Fixtures") else {
            throw XCTSkip("Fixtures/golden.json is not present")
        }
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }

    func testTokenizerCasesMatchReference() throws {
        let tokenizer = try RealModel.tokenizer()
        let golden = try loadGolden()
        XCTAssertFalse(golden.tokenizer_cases.isEmpty)
        var mismatches = 0
        for c in golden.tokenizer_cases {
            let ids = tokenizer.encode(c.text, addSpecial: false)
            if ids != c.ids { mismatches += 1 }
            XCTAssertEqual(ids, c.ids, "encode(\(c.text.debugDescription))")
            // Byte-level BPE round-trips, except for bytes the vocabulary lacks (HF drops those too),
            // which is why the reference decode is the expectation when the fixture has one.
            let expected = c.decoded ?? c.text
            XCTAssertEqual(tokenizer.decode(c.ids), expected, "decode of \(c.text.debugDescription)")
            var stream = StreamingDecoder(tokenizer: tokenizer)
            let streamed = c.ids.map { stream.append($0) }.joined() + stream.flush()
            XCTAssertEqual(streamed, expected, "streamed decode of \(c.text.debugDescription)")
        }
        XCTAssertEqual(mismatches, 0, "\(mismatches) of \(golden.tokenizer_cases.count) tokenizer cases differ")
    }

    func testPromptsMatchReference() throws {
        let tokenizer = try RealModel.tokenizer()
        let golden = try loadGolden()
        if let addsBOS = golden.adds_bos { XCTAssertEqual(tokenizer.addsBOS, addsBOS) }
        for p in golden.prompts {
            XCTAssertEqual(tokenizer.encode(p.text), p.token_ids, "prompt \(p.name ?? p.text.debugDescription)")
            XCTAssertEqual(tokenizer.decode(p.token_ids), p.text, "decode of prompt \(p.name ?? "")")
        }
    }

    func testChatPromptEncodesMarkersAsSingleTokens() throws {
        let tokenizer = try RealModel.tokenizer()
        let start = try XCTUnwrap(tokenizer.id(of: "<|im_start|>"))
        let end = try XCTUnwrap(tokenizer.id(of: "<|im_end|>"))
        let prompt = tokenizer.chatPrompt([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
        let ids = tokenizer.encode(prompt)
        XCTAssertEqual(ids.filter { $0 == start }.count, 3)  // default system, user, assistant
        XCTAssertEqual(ids.filter { $0 == end }.count, 2)
        XCTAssertEqual(tokenizer.decode(ids), prompt)
    }
}
