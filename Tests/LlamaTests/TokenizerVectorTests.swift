import Foundation
import XCTest
@testable import Llama

/// Checks every tokenizer test vector that llama.cpp ships with its vocabulary-only GGUF files
/// (`ggml-vocab-NAME.gguf` with `.inp` and `.out`), fetched into `models/vocab/` by
/// `scripts/fetch-vocab-vectors.sh` (or taken from `$FEDPILOT_VOCAB_DIR`).
///
/// `.inp` holds the inputs, each followed by the line `__ggml_vocab_test__`; `.out` holds one line
/// per input with the expected ids separated by spaces. They are encoded with no BOS and no special
/// parsing, as llama.cpp's `test-tokenizer-0` does. Missing files skip, or fail with
/// `FEDPILOT_REQUIRE_MODEL=1`.
final class TokenizerVectorTests: XCTestCase {
    static let directory: String = {
        if let env = ProcessInfo.processInfo.environment["FEDPILOT_VOCAB_DIR"] { return env }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("models/vocab").path
    }()

    /// The inputs and expected ids of one vocabulary.
    struct Vectors {
        var inputs: [String]
        var expected: [[Int]]
    }

    /// Parses a `.inp`/`.out` pair; throws on a malformed or mismatched pair.
    static func parse(inp: String, out: String, name: String) throws -> Vectors {
        let marker = "\n__ggml_vocab_test__\n"
        var inputs = inp.components(separatedBy: marker)
        guard inputs.last == "" else { throw VectorError("\(name).inp does not end with the __ggml_vocab_test__ line") }
        inputs.removeLast()
        var lines = out.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        let expected = try lines.enumerated().map { n, line in
            try line.split(separator: " ").map { field -> Int in
                guard let id = Int(field) else { throw VectorError("\(name).out line \(n + 1): \"\(field)\" is not a token id") }
                return id
            }
        }
        guard inputs.count == expected.count else {
            throw VectorError("\(name): \(inputs.count) inputs but \(expected.count) output lines")
        }
        return Vectors(inputs: inputs, expected: expected)
    }

    struct VectorError: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// Loads the vocabulary and vectors of `ggml-vocab-NAME.gguf`.
    private func load(_ name: String) throws -> (BPETokenizer, Vectors) {
        let base = (Self.directory as NSString).appendingPathComponent("ggml-vocab-\(name).gguf")
        for path in [base, base + ".inp", base + ".out"] where !FileManager.default.fileExists(atPath: path) {
            if ProcessInfo.processInfo.environment["FEDPILOT_REQUIRE_MODEL"] == "1" {
                XCTFail("\(path) is missing; run scripts/fetch-vocab-vectors.sh")
            }
            throw XCTSkip("\(path) is missing; run scripts/fetch-vocab-vectors.sh")
        }
        let tokenizer = try BPETokenizer(gguf: GGUFFile(path: base))
        let vectors = try Self.parse(inp: String(contentsOfFile: base + ".inp", encoding: .utf8),
                                     out: String(contentsOfFile: base + ".out", encoding: .utf8), name: name)
        return (tokenizer, vectors)
    }

    /// Encodes every input and fails with the first few differences; returns the number checked.
    @discardableResult
    private func check(_ name: String, sentencePiece: Bool) throws -> Int {
        let (tokenizer, vectors) = try load(name)
        XCTAssertEqual(tokenizer.isSentencePiece, sentencePiece, name)
        var failures: [String] = []
        for (text, expected) in zip(vectors.inputs, vectors.expected) {
            let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            if ids != expected {
                failures.append("\(text.debugDescription): got \(ids), expected \(expected)")
            }
        }
        XCTAssertTrue(vectors.inputs.count >= 40, "\(name): only \(vectors.inputs.count) vectors")
        XCTAssertEqual(failures.count, 0,
                       "\(name): \(failures.count) of \(vectors.inputs.count) vectors differ:\n" + failures.prefix(5).joined(separator: "\n"))
        print("TokenizerVectorTests: \(name): \(vectors.inputs.count - failures.count) of \(vectors.inputs.count) vectors match")
        return vectors.inputs.count
    }

    func testLlamaSPM() throws { try check("llama-spm", sentencePiece: true) }
    func testPhi3() throws { try check("phi-3", sentencePiece: true) }
    func testLlamaBPE() throws { try check("llama-bpe", sentencePiece: false) }
    func testQwen2() throws { try check("qwen2", sentencePiece: false) }
    func testStarcoder() throws { try check("starcoder", sentencePiece: false) }
    func testGPT2() throws { try check("gpt-2", sentencePiece: false) }
    func testRefact() throws { try check("refact", sentencePiece: false) }
    func testMPT() throws { try check("mpt", sentencePiece: false) }
    func testCommandR() throws { try check("command-r", sentencePiece: false) }

    /// `fedpilot model tokenize --json` on vocabulary-only files prints the vectors' ids, with no BOS.
    func testTokenizeCommandOnVocabularyOnlyFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary = root.appendingPathComponent(".build/debug/fedpilot").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw XCTSkip("no debug binary at \(binary)") }
        for name in ["llama-spm", "llama-bpe"] {
            let (tokenizer, vectors) = try load(name)
            let index = try XCTUnwrap(vectors.inputs.firstIndex(of: " Hello World!"))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = ["model", "tokenize", (Self.directory as NSString).appendingPathComponent("ggml-vocab-\(name).gguf"),
                           "--text", vectors.inputs[index], "--json"]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, name)
            let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any], name)
            XCTAssertEqual(json["token_ids"] as? [Int], vectors.expected[index], name)
            XCTAssertEqual(json["tokens"] as? [String], vectors.expected[index].map { tokenizer.token($0) }, name)
        }
    }

    /// Gemma 3 (a SentencePiece file without the space prefix, with user-defined whitespace tokens)
    /// against transformers' GemmaTokenizer on the same inputs (`Fixtures/gemma3_tokenizer.json`,
    /// scripts/make_gemma_tokenizer_fixture.py). Needs `models/gemma-3-270m-q4_k_m.gguf` or
    /// `$FEDPILOT_GEMMA`; nothing fetches that 253 MB file in CI yet, so this skips when it is absent.
    func testGemma3AgainstTransformers() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = ProcessInfo.processInfo.environment["FEDPILOT_GEMMA"]
            ?? root.appendingPathComponent("models/gemma-3-270m-q4_k_m.gguf").path
        guard FileManager.default.fileExists(atPath: path) else { throw XCTSkip("no Gemma 3 GGUF at \(path)") }
        struct Fixture: Decodable {
            struct Case: Decodable { var text: String; var ids: [Int] }
            var cases: [Case]
        }
        let url = try XCTUnwrap(Bundle.module.url(forResource: "gemma3_tokenizer", withExtension: "json", subdirectory: "Fixtures"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        let tokenizer = try BPETokenizer(gguf: GGUFFile(path: path))
        XCTAssertTrue(tokenizer.isSentencePiece)
        let failures = fixture.cases.filter { tokenizer.encode($0.text, addSpecial: false, parseSpecial: false) != $0.ids }
        XCTAssertEqual(failures.map(\.text), [], "gemma3: \(failures.count) of \(fixture.cases.count) differ")
        print("TokenizerVectorTests: gemma3: \(fixture.cases.count - failures.count) of \(fixture.cases.count) cases match")
    }

    func testVectorFileParsing() throws {
        let v = try Self.parse(inp: "a\n__ggml_vocab_test__\n\n__ggml_vocab_test__\nb\nc\n__ggml_vocab_test__\n",
                               out: " 1 2\n\n3\n", name: "t")
        XCTAssertEqual(v.inputs, ["a", "", "b\nc"])
        XCTAssertEqual(v.expected, [[1, 2], [], [3]])
        XCTAssertThrowsError(try Self.parse(inp: "a\n__ggml_vocab_test__\n", out: "1\n2\n", name: "t"))
        XCTAssertThrowsError(try Self.parse(inp: "a", out: "1\n", name: "t"))
    }
}
