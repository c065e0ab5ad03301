import Foundation
import XCTest
@testable import Llama

/// SentencePiece-style BPE tokenizer.json files (byte fallback, ▁ normalizers, Metaspace) against
/// Hugging Face `tokenizers`: `Fixtures/spm_bpe_*.json` hold a tiny tokenizer trained by that library
/// and the ids and decodes it gives 43 inputs (scripts/make_spm_bpe_fixture.py).
final class HuggingFaceSentencePieceTests: XCTestCase {
    private struct Fixture: Decodable {
        struct Case: Decodable { var text: String; var ids: [Int]; var decoded: String }
        var cases: [Case]
    }

    /// The fixture's tokenizer (as tokenizer.json bytes) and cases.
    private func load(_ variant: String) throws -> (BPETokenizer, [Fixture.Case]) {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "spm_bpe_\(variant)", withExtension: "json", subdirectory: "Fixtures"))
        let data = try Data(contentsOf: url)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let json = try JSONSerialization.data(withJSONObject: try XCTUnwrap(object["tokenizer"]))
        let tokenizer = try BPETokenizer(huggingFaceJSON: json, configJSON: nil)
        return (tokenizer, try JSONDecoder().decode(Fixture.self, from: data).cases)
    }

    private func check(_ variant: String) throws {
        let (tokenizer, cases) = try load(variant)
        XCTAssertTrue(tokenizer.isSentencePiece)
        XCTAssertEqual(cases.count, 43)
        for c in cases {
            XCTAssertEqual(tokenizer.encode(c.text, addSpecial: false), c.ids, "\(variant) encode \(c.text.debugDescription)")
            XCTAssertEqual(tokenizer.decode(c.ids), c.decoded, "\(variant) decode \(c.text.debugDescription)")
        }
    }

    /// Sequence[Prepend("▁"), Replace(" " → "▁")], decoder with Strip (Llama 2, TinyLlama, Mistral).
    func testLlamaStyleMatchesTokenizers() throws { try check("llama") }
    /// Replace(" " → "▁") only, no Strip (Gemma 3).
    func testGemmaStyleMatchesTokenizers() throws { try check("gemma") }
    /// No normalizer, Metaspace(prepend_scheme: first, split: false) (newer transformers exports).
    func testMetaspaceMatchesTokenizers() throws { try check("metaspace") }

    /// A minimal SentencePiece-style tokenizer.json with the given normalizer / pre-tokenizer.
    private func tinyJSON(normalizer: Any?, preTokenizer: Any?, unk: Bool = true) throws -> Data {
        var vocab: [String: Int] = ["<unk>": 0, "▁": 1, "a": 2, "b": 3, "▁a": 4, "ab": 5, "a▁": 262]
        for b in 0..<256 { vocab[String(format: "<0x%02X>", b)] = 6 + b }
        var model: [String: Any] = ["type": "BPE", "vocab": vocab, "merges": ["a ▁", "▁ a", "a b"], "byte_fallback": true,
                                    "fuse_unk": true]
        if unk { model["unk_token"] = "<unk>" }
        return try JSONSerialization.data(withJSONObject: [
            "model": model, "normalizer": normalizer ?? NSNull(), "pre_tokenizer": preTokenizer ?? NSNull(),
            "added_tokens": [["id": 0, "content": "<unk>", "special": true]],
        ])
    }

    private static var replace: [String: Any] { ["type": "Replace", "pattern": ["String": " "], "content": "▁"] }

    func testMetaspaceSplitKeepsMergesInsideWords() throws {
        let split = try BPETokenizer(huggingFaceJSON: tinyJSON(normalizer: nil, preTokenizer: [
            "type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true]), configJSON: nil)
        let joined = try BPETokenizer(huggingFaceJSON: tinyJSON(normalizer: nil, preTokenizer: [
            "type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": false]), configJSON: nil)
        // "a a" -> "▁a▁a": split, the words "▁a" "▁a" merge alone; unsplit, "a ▁" (rank 0) merges across.
        XCTAssertEqual(split.encode("a a", addSpecial: false), [4, 4])
        XCTAssertEqual(joined.encode("a a", addSpecial: false), [1, 262, 2])
        // Inside a word ranks decide: "▁ab" -> "▁a" (rank 1) before "ab" (rank 2), then "b".
        XCTAssertEqual(split.encode("a ab", addSpecial: false), [4, 4, 3])
        // A section that starts with a space gets no extra ▁ from Metaspace.
        XCTAssertEqual(split.encode(" a", addSpecial: false), [4])
        // "é" is no token: its two UTF-8 bytes fall back to <0xC3> <0xA9>.
        XCTAssertEqual(split.encode("é", addSpecial: false), [1, 6 + 0xC3, 6 + 0xA9])
        XCTAssertEqual(split.decode([1, 6 + 0xC3, 6 + 0xA9]), " é")
    }

    func testUnknownCharactersWithoutByteTokensFuseIntoOneUnknown() throws {
        // Without <0xXX> tokens for "é", the character is unknown; two in a row give one <unk>.
        var object = try XCTUnwrap(JSONSerialization.jsonObject(with: tinyJSON(normalizer: Self.replace, preTokenizer: nil)) as? [String: Any])
        var model = try XCTUnwrap(object["model"] as? [String: Any])
        var vocab = try XCTUnwrap(model["vocab"] as? [String: Int])
        vocab["<0xC3>"] = nil
        vocab["zz"] = 6 + 0xC3
        model["vocab"] = vocab
        object["model"] = model
        let t = try BPETokenizer(huggingFaceJSON: JSONSerialization.data(withJSONObject: object), configJSON: nil)
        XCTAssertEqual(t.encode("aééb", addSpecial: false), [2, 0, 3])
    }

    /// "ί" U+1F77 and "ί" U+03AF are canonically equivalent (equal as Swift Strings) but distinct
    /// tokens in Llama 2's vocabulary; both must keep their ids (JSONVocabularyScanner).
    func testCanonicallyEquivalentTokensKeepTheirOwnIds() throws {
        var vocab = #""<unk>": 0, "\u1f77": 1, "\#u{03AF}": 2, "\"q\\": 3"#
        for b in 0..<256 { vocab += String(format: ", \"<0x%02X>\": %d", b, 4 + b) }
        let json = #"{"model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>", "vocab": {"#
            + vocab + #"}, "merges": [], "extra": [1, {"a": null}, -2.5e3, true]},"#
            + #" "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\#u{2581}"}}"#
        let t = try BPETokenizer(huggingFaceJSON: Data(json.utf8), configJSON: nil)
        XCTAssertEqual(t.vocabularySize, 260)
        XCTAssertEqual(t.encode("\u{1F77}\u{03AF}", addSpecial: false), [1, 2])
        XCTAssertEqual(t.id(of: "\"q\\"), 3)
        XCTAssertEqual(Array(t.token(1).unicodeScalars), ["\u{1F77}"])
        XCTAssertEqual(Array(t.token(2).unicodeScalars), ["\u{03AF}"])
    }

    func testUnsupportedShapesAreNamed() throws {
        func message(_ normalizer: Any?, _ pre: Any?) -> String {
            do {
                _ = try BPETokenizer(huggingFaceJSON: tinyJSON(normalizer: normalizer, preTokenizer: pre), configJSON: nil)
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(message(["type": "NFKC"], nil).contains("normalizer"), message(["type": "NFKC"], nil))
        XCTAssertTrue(message(["type": "NFKC"], nil).contains("NFKC"))
        let lowercase = message(["type": "Sequence", "normalizers": [Self.replace, ["type": "Lowercase"]]], nil)
        XCTAssertTrue(lowercase.contains("Lowercase"), lowercase)
        let both = message(Self.replace, ["type": "Metaspace"])
        XCTAssertTrue(both.contains("pre_tokenizer"), both)
        let noNormalizer = message(nil, nil)
        XCTAssertTrue(noNormalizer.contains("pre_tokenizer"), noNormalizer)
        let scheme = message(nil, ["type": "Metaspace", "prepend_scheme": "sometimes"])
        XCTAssertTrue(scheme.contains("prepend_scheme") && scheme.contains("sometimes"), scheme)
    }

    /// By hand, not in CI: a tokenizer.json that transformers wrote from a GGUF vocabulary
    /// (`AutoTokenizer.from_pretrained(dir, gguf_file:)` then `save_pretrained`) against our GGUF
    /// tokenizer of that file on llama.cpp's tokenizer test inputs. If the directory also holds
    /// `expected.json` (`{"cases": [{"text", "ids", "decoded"}]}` from Hugging Face `tokenizers` on that
    /// tokenizer.json), every case must match it, and agreement with the GGUF is only counted (a
    /// converted file may differ from SentencePiece by design: transformers writes Llama vocabularies
    /// with Metaspace `prepend_scheme: first`); without it, every input must match the GGUF. Skips
    /// unless `$FEDPILOT_HF_TOKENIZER_DIR` (the saved directory) and `$FEDPILOT_HF_TOKENIZER_GGUF` are set.
    func testConvertedTokenizerJSONMatchesGGUF() throws {
        let env = ProcessInfo.processInfo.environment
        guard let dir = env["FEDPILOT_HF_TOKENIZER_DIR"], let gguf = env["FEDPILOT_HF_TOKENIZER_GGUF"] else {
            throw XCTSkip("set FEDPILOT_HF_TOKENIZER_DIR and FEDPILOT_HF_TOKENIZER_GGUF")
        }
        let base = URL(fileURLWithPath: dir)
        let json = try Data(contentsOf: base.appendingPathComponent("tokenizer.json"))
        let config = try? Data(contentsOf: base.appendingPathComponent("tokenizer_config.json"))
        let fromJSON = try BPETokenizer(huggingFaceJSON: json, configJSON: config)
        let fromGGUF = try BPETokenizer(gguf: GGUFFile(path: gguf))
        let inp = env["FEDPILOT_HF_TOKENIZER_INP"] ?? (TokenizerVectorTests.directory as NSString).appendingPathComponent("ggml-vocab-llama-spm.gguf.inp")
        let inputs = try String(contentsOfFile: inp, encoding: .utf8).components(separatedBy: "\n__ggml_vocab_test__\n").dropLast()
        XCTAssertFalse(inputs.isEmpty)
        let expected = try? JSONDecoder().decode(Fixture.self, from: Data(contentsOf: base.appendingPathComponent("expected.json")))
        if let expected {
            var same = 0
            for c in expected.cases {
                let ids = fromJSON.encode(c.text, addSpecial: false)
                XCTAssertEqual(ids, c.ids, "encode \(c.text.debugDescription)")
                XCTAssertEqual(fromJSON.decode(c.ids), c.decoded, "decode \(c.text.debugDescription)")
                if ids == c.ids && fromJSON.decode(c.ids) == c.decoded { same += 1 }
            }
            print("tokenizer.json reader vs tokenizers: \(same)/\(expected.cases.count) cases identical (ids and decode)")
        }
        var same = 0
        for text in inputs {
            let ids = fromJSON.encode(text, addSpecial: false)
            if expected == nil { XCTAssertEqual(ids, fromGGUF.encode(text, addSpecial: false), "encode \(text.debugDescription)") }
            if ids == fromGGUF.encode(text, addSpecial: false) { same += 1 }
        }
        print("tokenizer.json reader vs GGUF tokenizer: \(same)/\(inputs.count) inputs give identical ids")
    }
}
