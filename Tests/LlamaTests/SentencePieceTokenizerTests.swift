import Foundation
import XCTest
@testable import Llama

/// The SentencePiece (GGUF `tokenizer.ggml.model = llama`) tokenizer on a small crafted vocabulary:
/// score order, the ▁ marker, the space prefix, byte fallback, literal tokens, and GGUF loading.
final class SentencePieceTokenizerTests: XCTestCase {
    /// <unk> <s> </s>, 256 byte tokens, then pieces with scores (higher merges first).
    static func vocabulary(_ pieces: [(String, Float)], extra: [(String, Int32)] = []) -> (tokens: [String], scores: [Float], types: [Int32]) {
        var tokens = ["<unk>", "<s>", "</s>"], scores: [Float] = [0, 0, 0], types: [Int32] = [2, 3, 3]
        for b in 0..<256 {
            tokens.append(String(format: "<0x%02X>", b)); scores.append(0); types.append(6)
        }
        for (p, s) in pieces { tokens.append(p); scores.append(s); types.append(1) }
        for (p, t) in extra { tokens.append(p); scores.append(0); types.append(t) }
        return (tokens, scores, types)
    }

    static let pieces: [(String, Float)] = [
        ("▁", -1), ("a", -2), ("b", -3), ("c", -4), ("ab", -5), ("bc", -1.5), ("▁a", -6), ("▁ab", -7), ("abc", -8),
    ]

    private func make(_ pieces: [(String, Float)] = SentencePieceTokenizerTests.pieces, prefix: Bool = true,
                      extra: [(String, Int32)] = []) throws -> BPETokenizer {
        let v = Self.vocabulary(pieces, extra: extra)
        return try BPETokenizer(sentencePieceTokens: v.tokens, scores: v.scores, tokenTypes: v.types, bosTokenID: 1,
                                eosTokenID: 2, padTokenID: nil, addBOS: true, addSpacePrefix: prefix)
    }

    private func pieces(_ t: BPETokenizer, _ text: String, parseSpecial: Bool = false) -> [String] {
        t.encode(text, addSpecial: false, parseSpecial: parseSpecial).map { t.token($0) }
    }

    func testHigherScoreMergesFirst() throws {
        let t = try make()
        // "bc" (-1.5) merges before "ab" (-5) and "▁a" (-6); then "▁a" (-6) beats "a"+"bc" = "abc" (-8).
        XCTAssertEqual(pieces(t, "abc", parseSpecial: false), ["▁a", "bc"])
        let abFirst = try make([("▁", -1), ("a", -2), ("b", -3), ("c", -4), ("ab", -1), ("bc", -5), ("abc", -8)])
        XCTAssertEqual(pieces(abFirst, "abc"), ["▁", "abc"])
    }

    func testSpacesBecomeMarkersAndPrefixIsAdded() throws {
        let t = try make()
        XCTAssertEqual(pieces(t, "ab ab"), ["▁ab", "▁ab"])
        XCTAssertEqual(pieces(t, " ab"), ["▁", "▁ab"])
        let noPrefix = try make(prefix: false)
        XCTAssertEqual(pieces(noPrefix, "ab ab"), ["ab", "▁ab"])
        XCTAssertEqual(t.encode("", addSpecial: false), [])
        XCTAssertEqual(t.encode("ab", addSpecial: true).first, 1, "BOS with addSpecial")
    }

    func testUnknownCharactersFallBackToBytes() throws {
        let t = try make()
        XCTAssertEqual(pieces(t, "aé"), ["▁a", "<0xC3>", "<0xA9>"])
        XCTAssertEqual(pieces(t, "a\n"), ["▁a", "<0x0A>"])
        XCTAssertEqual(t.decode(t.encode("aé\nb", addSpecial: false)), " aé\nb", "decoding keeps the prefix space")
    }

    func testLiteralTokensResetThePrefix() throws {
        let t = try make(extra: [("<x>", 4)])
        XCTAssertEqual(pieces(t, "a<x>a"), ["▁a", "<x>", "▁a"], "text after a literal token gets the prefix again")
        XCTAssertEqual(pieces(t, "a</s>", parseSpecial: true), ["▁a", "</s>"])
        XCTAssertEqual(pieces(t, "</s>", parseSpecial: false), ["▁", "<0x3C>", "<0x2F>", "<0x73>", "<0x3E>"])
    }

    func testBadScoresAreRejected() {
        let v = Self.vocabulary(Self.pieces)
        XCTAssertThrowsError(try BPETokenizer(sentencePieceTokens: v.tokens, scores: Array(v.scores.dropLast()), tokenTypes: v.types,
                                              bosTokenID: nil, eosTokenID: nil, padTokenID: nil, addBOS: false, addSpacePrefix: true)) {
            XCTAssertTrue("\($0)".contains("scores"), "\($0)")
        }
        var scores = v.scores
        scores[5] = .nan
        XCTAssertThrowsError(try BPETokenizer(sentencePieceTokens: v.tokens, scores: scores, tokenTypes: v.types,
                                              bosTokenID: nil, eosTokenID: nil, padTokenID: nil, addBOS: false, addSpacePrefix: true)) {
            XCTAssertEqual("\($0)", "tokenizer: scores[5] = nan is not a finite number")
        }
    }

    func testGGUFVocabularyOnlyFileLoadsAndNamesUnsupportedKinds() throws {
        let v = Self.vocabulary(Self.pieces)
        func file(model: String, pre: String?, prefix: Bool?) throws -> GGUFFile {
            var w = GGUFWriter()
            w.set("tokenizer.ggml.model", .string(model))
            if let pre { w.set("tokenizer.ggml.pre", .string(pre)) }
            w.set("tokenizer.ggml.tokens", .array(v.tokens.map { .string($0) }))
            w.set("tokenizer.ggml.scores", .array(v.scores.map { .float32($0) }))
            w.set("tokenizer.ggml.token_type", .array(v.types.map { .int32($0) }))
            if let prefix { w.set("tokenizer.ggml.add_space_prefix", .bool(prefix)) }
            return try GGUFFile(data: w.data(), path: "vocab.gguf")
        }
        let t = try BPETokenizer(gguf: file(model: "llama", pre: "default", prefix: nil))
        XCTAssertTrue(t.isSentencePiece)
        XCTAssertNil(t.preTokenizerKind)
        XCTAssertTrue(t.addsBOS, "llama.cpp's default for SentencePiece files")
        XCTAssertEqual(pieces(t, "ab"), ["▁ab"])
        XCTAssertEqual(pieces(try BPETokenizer(gguf: file(model: "llama", pre: nil, prefix: false)), "ab"), ["ab"])
        XCTAssertThrowsError(try BPETokenizer(gguf: file(model: "bert", pre: nil, prefix: nil))) {
            XCTAssertEqual("\($0)", "vocab.gguf: metadata 'tokenizer.ggml.model' is invalid: \"bert\" tokenizers are not supported (supported: gpt2 = byte-level BPE, llama = SentencePiece BPE)")
        }
        XCTAssertThrowsError(try BPETokenizer(gguf: file(model: "llama", pre: "llama-bpe", prefix: nil))) {
            XCTAssertTrue("\($0)".contains("\"llama-bpe\" is not supported for a \"llama\""), "\($0)")
        }
        XCTAssertThrowsError(try BPETokenizer(gguf: file(model: "gpt2", pre: "falcon", prefix: nil))) {
            XCTAssertTrue("\($0)".contains("'tokenizer.ggml.pre'") && "\($0)".contains("\"falcon\"") && "\($0)".contains("llama-bpe, "), "\($0)")
        }
    }
}
