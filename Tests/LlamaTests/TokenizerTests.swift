import Foundation
import XCTest
@testable import Llama

/// Unit tests of the byte-level BPE tokenizer on small vocabularies built in code (no model file, no Python).
final class TokenizerTests: XCTestCase {
    // MARK: - Fixtures

    /// Literal tokens of the crafted vocabularies (ids 0...4).
    private static let literals: [(String, Int32)] = [
        ("<|endoftext|>", 3), ("<|im_start|>", 3), ("<|im_end|>", 3), ("<tool>", 4), ("<tool_call>", 4),
    ]

    /// A vocabulary of the literal tokens, the 256 byte-level characters, then one token per merge result.
    private static func vocabulary(merges: [String]) -> (tokens: [String], types: [Int32]) {
        var tokens = literals.map(\.0)
        var types = literals.map(\.1)
        for b in 0..<256 {
            tokens.append(ByteLevel.encode([UInt8(b)]))
            types.append(1)
        }
        for rule in merges {
            let joined = rule.replacingOccurrences(of: " ", with: "")
            if !tokens.contains(joined) {
                tokens.append(joined)
                types.append(1)
            }
        }
        return (tokens, types)
    }

    /// Merges that build a few English words, spaces and newlines.
    private static let englishMerges = [
        "l l", "e ll", "h ell", "hell o", "Ġ t", "h e", "i n", "Ġt he", "Ġ w", "o r", "Ġw or", "Ġwor l", "Ġworl d",
        "Ġ Ġ", "ĠĠ Ġ", "Ċ Ċ", "Ġ a", "Ġ i", "Ġi s", "' s", "u s", "e r", "us er", "Ġ ĊĊ",
    ]

    private func makeTokenizer(
        merges: [String] = englishMerges, kind: PreTokenizerKind = .smollm, addBOS: Bool = false
    ) throws -> BPETokenizer {
        let v = Self.vocabulary(merges: merges)
        return try BPETokenizer(
            tokens: v.tokens, merges: merges, tokenTypes: v.types, bosTokenID: 1, eosTokenID: 2,
            padTokenID: 2, addBOS: addBOS, preTokenizer: kind)
    }

    /// Byte-level token strings of `ids` (for readable assertions).
    private func pieces(_ t: BPETokenizer, _ ids: [Int]) -> [String] { ids.map { t.tokens[$0] } }

    /// Pre-token texts of `text`.
    private func preTokens(_ text: String, _ kind: PreTokenizerKind) -> [String] {
        var scratch = PreTokenizerScratch()
        var text = text
        return text.withUTF8 { bytes in
            PreTokenizer(kind: kind).split(bytes, 0..<bytes.count, scratch: &scratch)
            var start = 0
            return scratch.ends.map { end in
                defer { start = end }
                return String(decoding: bytes[start..<end], as: UTF8.self)
            }
        }
    }

    private static let roundTripStrings: [String] = [
        "", " ", "a", "Hello world", "Hello  world", "  leading", "trailing  ", "\n", "\n\n\n", "\t\tx",
        " \t\n mixed \r\n whitespace \u{3000}", "I'm don't we'll", "12345 and 3.14159", "x  2024 y",
        "café naïve résumé", "e\u{301}", "日本語のテキスト", "中文分词测试：你好，世界。", "한국어", "Привет, мир!",
        "🙂👍🏽", "👨‍👩‍👧‍👦 family", "🏳️‍🌈", "🇺🇸", "ℌ𝔢𝔩𝔩𝔬 𝟙𝟚𝟛", "a\u{00A0}b", "x\u{200B}y", "\u{FEFF}BOM",
        "def f(x):\n    return x * 2\n", "<|im_start|>user\nhi<|im_end|>\n", "<|im_start", "<tool_call>x</tool>",
        "\u{0}\u{1}\u{7F}", "~!@#$%^&*()_+", String(repeating: "ab", count: 200), String(repeating: " ", count: 70),
    ]

    // MARK: - Byte-level alphabet

    func testByteLevelMappingRoundTripsAllBytes() throws {
        var seen = Set<UInt32>()
        for b in 0..<256 {
            let text = ByteLevel.encode([UInt8(b)])
            XCTAssertEqual(text.unicodeScalars.count, 1)
            let scalar = text.unicodeScalars.first!
            XCTAssertTrue(seen.insert(scalar.value).inserted, "byte \(b) shares its character")
            XCTAssertFalse(scalar.properties.isWhitespace, "byte \(b) maps to whitespace")
            XCTAssertEqual(ByteLevel.decode(text), [UInt8(b)])
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                XCTAssertEqual(scalar.value, UInt32(b), "printable byte \(b) should map to itself")
            }
        }
        XCTAssertEqual(ByteLevel.encode(Array(" \n\t".utf8)), "ĠĊĉ")
        XCTAssertNil(ByteLevel.decode("a b"), "U+0020 is not in the alphabet")

        let t = try makeTokenizer()
        let all = (0..<256).map { UInt8($0) }
        let ids = all.map { Int(t.byteTokens[Int($0)]) }
        XCTAssertFalse(ids.contains(-1))
        XCTAssertEqual(t.decode(ids), String(decoding: all, as: UTF8.self))
        for b in 0..<128 { XCTAssertEqual(t.tokenText(ids[b]), String(UnicodeScalar(UInt8(b)))) }
        XCTAssertEqual(t.tokenText(ids[0xF0]), "\u{FFFD}", "a lone lead byte is shown as a replacement character")
    }

    // MARK: - Pre-tokenizer

    func testPreTokenizerContractionsAndPunctuation() {
        for kind in [PreTokenizerKind.gpt2, .smollm] {
            XCTAssertEqual(preTokens("Hello world", kind), ["Hello", " world"])
            XCTAssertEqual(
                preTokens("I'm don't we'll they're you've she'd it's", kind),
                ["I", "'m", " don", "'t", " we", "'ll", " they", "'re", " you", "'ve", " she", "'d", " it", "'s"])
            XCTAssertEqual(preTokens("I'M", kind), ["I", "'", "M"], "contractions are case-sensitive")
            XCTAssertEqual(preTokens("''s", kind), ["''", "s"])
            XCTAssertEqual(preTokens(" 's", kind), [" '", "s"])
            XCTAssertEqual(preTokens("'hello'", kind), ["'", "hello", "'"])
            XCTAssertEqual(preTokens("rock 'n' roll", kind), ["rock", " '", "n", "'", " roll"])
            XCTAssertEqual(preTokens("Hello, world!!! ...ok", kind), ["Hello", ",", " world", "!!!", " ...", "ok"])
        }
    }

    func testPreTokenizerWhitespaceLookahead() {
        for kind in [PreTokenizerKind.gpt2, .smollm] {
            XCTAssertEqual(preTokens("Hello  world", kind), ["Hello", " ", " world"])
            XCTAssertEqual(preTokens("Hello   world", kind), ["Hello", "  ", " world"])
            XCTAssertEqual(preTokens("Hello\n\nworld", kind), ["Hello", "\n", "\n", "world"])
            XCTAssertEqual(preTokens("Hello\n\n\nworld", kind), ["Hello", "\n\n", "\n", "world"])
            XCTAssertEqual(preTokens("Hello \n world", kind), ["Hello", " \n", " world"])
            XCTAssertEqual(preTokens("trailing  ", kind), ["trailing", "  "])
            XCTAssertEqual(preTokens("end \n", kind), ["end", " \n"])
            XCTAssertEqual(preTokens(" \t\nmixed", kind), [" \t", "\n", "mixed"])
            XCTAssertEqual(preTokens("x\t\ty", kind), ["x", "\t", "\t", "y"])
            XCTAssertEqual(preTokens("   ", kind), ["   "])
            XCTAssertEqual(preTokens("\u{3000}\u{3000}a", kind), ["\u{3000}", "\u{3000}", "a"])
            XCTAssertEqual(preTokens("a\u{00A0}b", kind), ["a", "\u{00A0}", "b"], "NBSP is White_Space")
            XCTAssertEqual(preTokens("!\u{200B}!", kind), ["!\u{200B}!"], "ZWSP is not White_Space")
            XCTAssertEqual(preTokens("x\u{1C}y", kind), ["x", "\u{1C}", "y"], "U+001C is not White_Space")
            XCTAssertEqual(preTokens("", kind), [])
        }
    }

    func testPreTokenizerDigits() {
        XCTAssertEqual(preTokens("12345 abc", .gpt2), ["12345", " abc"])
        XCTAssertEqual(preTokens("12345 abc", .smollm), ["1", "2", "3", "4", "5", " abc"])
        XCTAssertEqual(preTokens("x  1", .gpt2), ["x", " ", " 1"])
        XCTAssertEqual(preTokens("x  1", .smollm), ["x", "  ", "1"], "the lookahead stops at the digit piece")
        XCTAssertEqual(preTokens("a 1 b", .gpt2), ["a", " 1", " b"])
        XCTAssertEqual(preTokens("a 1 b", .smollm), ["a", " ", "1", " b"])
        XCTAssertEqual(preTokens("½²٣", .gpt2), ["½²٣"])
        XCTAssertEqual(preTokens("½²٣", .smollm), ["½", "²", "٣"], "\\p{N} covers No and non-ASCII Nd")
        XCTAssertEqual(preTokens("v1.2", .smollm), ["v", "1", ".", "2"])
    }

    func testPreTokenizerUnicodeLettersAndSymbols() {
        for kind in [PreTokenizerKind.gpt2, .smollm] {
            XCTAssertEqual(preTokens("naïve café 日本語 Привет", kind), ["naïve", " café", " 日本語", " Привет"])
            XCTAssertEqual(preTokens("Hi 👋🏽 there", kind), ["Hi", " 👋🏽", " there"])
            XCTAssertEqual(preTokens("e\u{301}", kind), ["e", "\u{301}"], "combining marks are not \\p{L}")
        }
        XCTAssertEqual(preTokens("ℌ𝔢𝔩𝔩𝔬 𝟙𝟚", .gpt2), ["ℌ𝔢𝔩𝔩𝔬", " 𝟙𝟚"])
        XCTAssertEqual(preTokens("ℌ𝔢𝔩𝔩𝔬 𝟙𝟚", .smollm), ["ℌ𝔢𝔩𝔩𝔬", " ", "𝟙", "𝟚"])
    }

    func testGGUFPreTokenizerNames() {
        XCTAssertEqual(PreTokenizerKind(ggufPre: "smollm"), .smollm)
        XCTAssertEqual(PreTokenizerKind(ggufPre: "gpt2"), .gpt2)
        XCTAssertEqual(PreTokenizerKind(rawValue: "smollm"), .smollm)
        XCTAssertEqual(PreTokenizerKind(ggufPre: "llama-bpe"), .llama3)
        XCTAssertEqual(PreTokenizerKind(ggufPre: "qwen2"), .qwen2)
        XCTAssertNil(PreTokenizerKind(ggufPre: "deepseek-coder"))
    }

    func testLlama3PreTokenizer() {
        XCTAssertEqual(preTokens("I'M don'T we'Ll", .llama3), ["I", "'M", " don", "'T", " we", "'Ll"],
                       "contractions are case-insensitive")
        XCTAssertEqual(preTokens("12345 6", .llama3), ["123", "45", " ", "6"], "digits in runs of at most three")
        XCTAssertEqual(preTokens("12345 6", .qwen2), ["1", "2", "3", "4", "5", " ", "6"])
        XCTAssertEqual(preTokens("(hello)\tworld", .llama3), ["(hello", ")", "\tworld"],
                       "one non-letter, non-newline scalar joins the letters after it")
        XCTAssertEqual(preTokens("a\nb", .llama3), ["a", "\n", "b"], "a newline never joins letters")
        XCTAssertEqual(preTokens("x!!\n\ny", .llama3), ["x", "!!\n\n", "y"], "punctuation takes trailing newlines")
        XCTAssertEqual(preTokens("x \n \n  y", .llama3), ["x", " \n \n", " ", " y"], "whitespace up to the last newline")
        XCTAssertEqual(preTokens("x   y", .llama3), ["x", "  ", " y"])
        XCTAssertEqual(preTokens(" ...", .llama3), [" ..."])
    }

    // MARK: - BPE merges

    func testMergesApplyInRankOrder() throws {
        let abFirst = try makeTokenizer(merges: ["a b", "b c"])
        XCTAssertEqual(pieces(abFirst, abFirst.encode("abc")), ["ab", "c"])
        let bcFirst = try makeTokenizer(merges: ["b c", "a b"])
        XCTAssertEqual(pieces(bcFirst, bcFirst.encode("abc")), ["a", "bc"])

        let chain = try makeTokenizer(merges: ["c d", "a b", "ab cd", "b c"])
        XCTAssertEqual(pieces(chain, chain.encode("abcd")), ["abcd"])
        XCTAssertEqual(pieces(chain, chain.encode("abc")), ["ab", "c"])

        let tie = try makeTokenizer(merges: ["a a"])
        XCTAssertEqual(pieces(tie, tie.encode("aaa")), ["aa", "a"], "equal ranks merge leftmost first")
        XCTAssertEqual(pieces(tie, tie.encode("aaaaa")), ["aa", "aa", "a"])

        let english = try makeTokenizer()
        XCTAssertEqual(pieces(english, english.encode("hello world")), ["hello", "Ġworld"])
        XCTAssertEqual(pieces(english, english.encode("the  the")), ["t", "he", "Ġ", "Ġthe"])
        XCTAssertEqual(pieces(english, english.encode("user's")), ["user", "'s"])
        XCTAssertEqual(english.id(of: "Ġthe").map { english.tokens[$0] }, "Ġthe")
        XCTAssertNil(english.id(of: "nonexistent"))
    }

    func testLinearAndHeapMergeLoopsAgree() throws {
        // Many overlapping merges over a 3-letter alphabet; compare both merge loops on random words.
        var merges: [String] = []
        var known: Set<String> = ["a", "b", "c"]
        var rng = TokenizerTestRNG(seed: 42)
        for _ in 0..<300 {
            let l = known.randomElement(using: &rng)!
            let r = known.randomElement(using: &rng)!
            let rule = "\(l) \(r)"
            guard (l + r).count <= 8, !merges.contains(rule) else { continue }
            merges.append(rule)
            known.insert(l + r)
        }
        let t = try makeTokenizer(merges: merges, kind: .gpt2)
        for _ in 0..<500 {
            let word = String((0..<Int.random(in: 2...120, using: &rng)).map { _ in "abc".randomElement(using: &rng)! })
            let bytes = Array(word.utf8)
            var linear: [Int] = []
            var heap: [Int] = []
            var m1 = BPEMerger()
            var m2 = BPEMerger()
            bytes.withUnsafeBufferPointer { b in
                t.byteTokens.withUnsafeBufferPointer { bt in
                    m1.encode(b, 0, b.count, byteTokens: bt, merges: t.merges, linearScanLimit: .max, into: &linear)
                    m2.encode(b, 0, b.count, byteTokens: bt, merges: t.merges, linearScanLimit: 0, into: &heap)
                }
            }
            XCTAssertEqual(linear, heap, word)
            XCTAssertEqual(t.decode(linear), word)
        }
    }

    func testBytesMissingFromTheVocabularyAreDropped() throws {
        // Like SmolLM2's vocabulary, which has no token for byte 0x1D: Hugging Face drops such bytes.
        var v = Self.vocabulary(merges: ["! !"])
        let missing = ByteLevel.encode([0x1D])
        v.tokens[v.tokens.firstIndex(of: missing)!] = "<unused>"
        let t = try BPETokenizer(tokens: v.tokens, merges: ["! !"], tokenTypes: v.types, bosTokenID: nil, eosTokenID: nil,
                                 padTokenID: nil, addBOS: false, preTokenizer: .gpt2)
        XCTAssertEqual(pieces(t, t.encode("a\u{1D}b")), ["a", "b"])
        // "!\u{1D}!" is one pre-token; once the byte is gone its neighbours merge (HF gives "!!" too).
        XCTAssertEqual(pieces(t, t.encode("!\u{1D}!")), ["!!"])
        XCTAssertEqual(t.decode(t.encode("x\u{1D}\u{1D}y")), "xy")
    }

    // MARK: - Special tokens

    func testSpecialTokensAreSplitOut() throws {
        let t = try makeTokenizer()
        let ids = t.encode("<|im_start|>user\nhello<|im_end|>\n")
        XCTAssertEqual(pieces(t, ids), ["<|im_start|>", "user", "Ċ", "hello", "<|im_end|>", "Ċ"])
        XCTAssertEqual(ids.first, 1)
        XCTAssertEqual(ids[4], 2)

        let literal = t.encode("<|im_start|>user", parseSpecial: false)
        XCTAssertFalse(literal.contains(1))
        XCTAssertEqual(t.decode(literal), "<|im_start|>user")

        XCTAssertEqual(pieces(t, t.encode("a<|endoftext|>b")), ["a", "<|endoftext|>", "b"])
        XCTAssertEqual(pieces(t, t.encode(" <|im_end|> ")), ["Ġ", "<|im_end|>", "Ġ"])
        XCTAssertFalse(t.encode("<|im_start").contains(1), "a partial marker is ordinary text")
        XCTAssertEqual(pieces(t, t.encode("<|im_start|><|im_end|>")), ["<|im_start|>", "<|im_end|>"])
        // User-defined tokens are always matched; the longest literal starting at a position wins.
        XCTAssertEqual(pieces(t, t.encode("<tool_call>x", parseSpecial: false)), ["<tool_call>", "x"])
        XCTAssertEqual(pieces(t, t.encode("<tool>x")), ["<tool>", "x"])
    }

    func testBOSOnlyWithAddSpecial() throws {
        let plain = try makeTokenizer()
        XCTAssertFalse(plain.addsBOS)
        XCTAssertEqual(plain.encode("hello"), plain.encode("hello", addSpecial: false))
        let withBOS = try makeTokenizer(addBOS: true)
        XCTAssertEqual(withBOS.bosTokenID, 1)
        XCTAssertEqual(withBOS.eosTokenID, 2)
        XCTAssertEqual(withBOS.encode("hello").first, 1)
        XCTAssertEqual(withBOS.encode(""), [1])
        XCTAssertEqual(withBOS.encode("hello", addSpecial: false), plain.encode("hello"))
    }

    // MARK: - Decoding

    func testDecodeOfEncodeIsIdentity() throws {
        for kind in PreTokenizerKind.allCases {
            let t = try makeTokenizer(kind: kind)
            for s in Self.roundTripStrings {
                XCTAssertEqual(t.decode(t.encode(s)), s, "\(kind): \(s.debugDescription)")
                XCTAssertEqual(t.decode(t.encode(s, parseSpecial: false)), s, "\(kind): \(s.debugDescription)")
            }
        }
    }

    func testDecodeSkipsSpecialTokensOnRequest() throws {
        let t = try makeTokenizer()
        let ids = t.encode("<|im_start|>user\nhi<|im_end|><tool>")
        XCTAssertEqual(t.decode(ids), "<|im_start|>user\nhi<|im_end|><tool>")
        XCTAssertEqual(t.decode(ids, skipSpecial: true), "user\nhi<tool>", "user-defined tokens are kept")
        XCTAssertEqual(t.decode([-1, 1_000_000] + ids.prefix(1)), "<|im_start|>", "unknown ids are ignored")
        XCTAssertEqual(t.tokenText(-5), "")
    }

    func testStreamingDecoderHoldsSplitUTF8() throws {
        let t = try makeTokenizer()
        let emoji = Array("🙂".utf8).map { Int(t.byteTokens[Int($0)]) }
        var stream = StreamingDecoder(tokenizer: t)
        XCTAssertEqual(stream.append(emoji[0]), "")
        XCTAssertEqual(stream.append(emoji[1]), "")
        XCTAssertEqual(stream.append(emoji[2]), "")
        XCTAssertEqual(stream.append(emoji[3]), "🙂")
        XCTAssertEqual(stream.append(t.id(of: "hello")!), "hello")
        XCTAssertEqual(stream.append(emoji[0]), "")
        XCTAssertEqual(stream.flush(), "\u{FFFD}")
        XCTAssertEqual(stream.flush(), "")

        var skipping = StreamingDecoder(tokenizer: t, skipSpecial: true)
        XCTAssertEqual(skipping.append(1), "")
        XCTAssertEqual(skipping.append(t.id(of: "hello")!), "hello")

        // Whatever the split, the streamed text equals a one-shot decode, including invalid sequences.
        var rng = TokenizerTestRNG(seed: 7)
        for _ in 0..<300 {
            let ids = (0..<Int.random(in: 0...12, using: &rng)).map { _ in Int.random(in: 0..<t.vocabularySize, using: &rng) }
            var s = StreamingDecoder(tokenizer: t)
            var text = ids.map { s.append($0) }.joined()
            text += s.flush()
            XCTAssertEqual(text, t.decode(ids), "\(ids)")
        }
        for str in Self.roundTripStrings {
            var s = StreamingDecoder(tokenizer: t)
            var pieces: [String] = []
            for id in t.encode(str) {
                let piece = s.append(id)
                XCTAssertFalse(piece.contains("\u{FFFD}"), str.debugDescription)
                pieces.append(piece)
            }
            XCTAssertEqual(pieces.joined() + s.flush(), str)
        }
    }

    // MARK: - Chat template

    func testChatPromptMatchesSmolLM2Template() throws {
        let t = try makeTokenizer()
        let system = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        XCTAssertEqual(
            t.chatPrompt([ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true),
            system + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(
            t.chatPrompt(
                [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi"),
                 ChatMessage(role: "assistant", content: "Hello!")],
                addGenerationPrompt: false),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n")
        XCTAssertEqual(t.chatPrompt([], addGenerationPrompt: true), "<|im_start|>assistant\n")
        XCTAssertEqual(t.chatPrompt([], addGenerationPrompt: false), "")
        // A later system message does not suppress the default one (only messages[0] is checked).
        XCTAssertTrue(
            t.chatPrompt([ChatMessage(role: "user", content: "a"), ChatMessage(role: "system", content: "b")],
                         addGenerationPrompt: false).hasPrefix(system))

        let ids = t.encode(t.chatPrompt([ChatMessage(role: "user", content: "hello")], addGenerationPrompt: true))
        XCTAssertEqual(ids.filter { $0 == 1 }.count, 3)
        XCTAssertEqual(ids.filter { $0 == 2 }.count, 2)
        XCTAssertEqual(ids.first, 1)

        let decoded = try JSONDecoder().decode(ChatMessage.self, from: Data(#"{"role":"user","content":"x"}"#.utf8))
        XCTAssertEqual(decoded, ChatMessage(role: "user", content: "x"))
    }

    // MARK: - Errors

    private func assertError(
        _ expected: TokenizerError, mentions words: [String], file: StaticString = #filePath, line: UInt = #line,
        _ body: () throws -> Void
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? TokenizerError, expected, file: file, line: line)
            let message = "\(error)"
            for w in words { XCTAssertTrue(message.contains(w), "\(message.debugDescription) lacks \(w)", file: file, line: line) }
        }
    }

    func testMalformedVocabulariesNameTheField() {
        let v = Self.vocabulary(merges: ["a b"])
        func build(tokens: [String] = v.tokens, merges: [String] = ["a b"], types: [Int32]? = v.types, bos: Int? = 1) throws {
            _ = try BPETokenizer(tokens: tokens, merges: merges, tokenTypes: types, bosTokenID: bos, eosTokenID: nil,
                                 padTokenID: nil, addBOS: false, preTokenizer: .gpt2)
        }
        assertError(.unknownMergeToken(field: "merges", index: 1, merge: "a zz", token: "zz"), mentions: ["merges[1]", "\"zz\""]) {
            try build(merges: ["a b", "a zz"])
        }
        assertError(.mergeResultNotInVocabulary(field: "merges", index: 0, merge: "b a", result: "ba"), mentions: ["merges[0]", "\"ba\""]) {
            try build(merges: ["b a"])
        }
        assertError(.malformedMerge(field: "merges", index: 0, merge: "ab"), mentions: ["merges[0]", "\"ab\""]) {
            try build(merges: ["ab"])
        }
        assertError(.countMismatch(field: "tokenTypes", count: 3, expectedField: "tokens", expectedCount: v.tokens.count),
                    mentions: ["tokenTypes", "tokens", "3"]) {
            try build(types: [1, 1, 1])
        }
        var badTypes = v.types
        badTypes[7] = 9
        assertError(.invalidTokenType(field: "tokenTypes", index: 7, value: 9), mentions: ["tokenTypes[7]", "9"]) {
            try build(types: badTypes)
        }
        assertError(.tokenIDOutOfRange(field: "bosTokenID", id: 99_999, vocabularySize: v.tokens.count),
                    mentions: ["bosTokenID", "99999"]) {
            try build(bos: 99_999)
        }
        assertError(.emptyVocabulary(field: "tokens"), mentions: ["tokens"]) { try build(tokens: [], merges: [], types: nil) }
    }

    // MARK: - Hugging Face tokenizer.json

    private func huggingFaceJSON(
        preTokenizer: Any, mergesAsPairs: Bool, normalizer: Any = NSNull(), extraMerges: [String] = []
    ) throws -> Data {
        let merges = Self.englishMerges + extraMerges
        let v = Self.vocabulary(merges: Self.englishMerges)
        var vocab: [String: Int] = [:]
        for (i, t) in v.tokens.enumerated() where i >= Self.literals.count || i == 0 { vocab[t] = i }
        let added: [[String: Any]] = Self.literals.enumerated().map { i, l in
            ["id": i, "content": l.0, "special": l.1 == 3, "normalized": false, "lstrip": false, "rstrip": false]
        }
        let json: [String: Any] = [
            "version": "1.0", "added_tokens": added, "normalizer": normalizer, "pre_tokenizer": preTokenizer,
            "post_processor": NSNull(), "decoder": ["type": "ByteLevel"],
            "model": [
                "type": "BPE", "dropout": NSNull(), "unk_token": NSNull(), "byte_fallback": false,
                "ignore_merges": false, "vocab": vocab,
                "merges": mergesAsPairs ? merges.map { $0.split(separator: " ").map(String.init) } as Any : merges as Any,
            ],
        ]
        return try JSONSerialization.data(withJSONObject: json)
    }

    private static var byteLevelJSON: [String: Any] { ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true] }

    func testHuggingFaceJSONLoads() throws {
        let smollmPre: [String: Any] = ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], Self.byteLevelJSON]]
        let config = Data(#"{"bos_token": "<|im_start|>", "eos_token": {"content": "<|im_end|>"}, "pad_token": null, "add_bos_token": true}"#.utf8)
        let reference = try makeTokenizer(kind: .smollm)
        for pairs in [false, true] {
            let t = try BPETokenizer(huggingFaceJSON: huggingFaceJSON(preTokenizer: smollmPre, mergesAsPairs: pairs), configJSON: config)
            XCTAssertEqual(t.preTokenizerKind, .smollm)
            XCTAssertEqual(t.vocabularySize, reference.vocabularySize)
            XCTAssertEqual(t.bosTokenID, 1)
            XCTAssertEqual(t.eosTokenID, 2)
            XCTAssertNil(t.padTokenID)
            XCTAssertTrue(t.addsBOS)
            for s in Self.roundTripStrings {
                XCTAssertEqual(t.encode(s, addSpecial: false), reference.encode(s), s.debugDescription)
            }
            XCTAssertEqual(t.encode("hi").first, 1)
            XCTAssertEqual(t.decode(t.encode("<|im_end|>x"), skipSpecial: true), "x")
        }
        let gpt2 = try BPETokenizer(huggingFaceJSON: huggingFaceJSON(preTokenizer: Self.byteLevelJSON, mergesAsPairs: false), configJSON: nil)
        XCTAssertEqual(gpt2.preTokenizerKind, .gpt2)
        XCTAssertNil(gpt2.bosTokenID)
        XCTAssertFalse(gpt2.addsBOS)
    }

    func testHuggingFaceJSONErrorsNameTheField() throws {
        assertError(.unsupported(field: "pre_tokenizer", value: "Whitespace"), mentions: ["pre_tokenizer", "Whitespace"]) {
            _ = try BPETokenizer(huggingFaceJSON: huggingFaceJSON(preTokenizer: ["type": "Whitespace"], mergesAsPairs: false), configJSON: nil)
        }
        assertError(.unsupported(field: "normalizer", value: "NFC"), mentions: ["normalizer"]) {
            _ = try BPETokenizer(huggingFaceJSON: huggingFaceJSON(preTokenizer: Self.byteLevelJSON, mergesAsPairs: false, normalizer: ["type": "NFC"]), configJSON: nil)
        }
        let n = Self.englishMerges.count
        assertError(.unknownMergeToken(field: "model.merges", index: n, merge: "Ġ qq", token: "qq"), mentions: ["model.merges[\(n)]"]) {
            _ = try BPETokenizer(huggingFaceJSON: huggingFaceJSON(preTokenizer: Self.byteLevelJSON, mergesAsPairs: true, extraMerges: ["Ġ qq"]), configJSON: nil)
        }
        XCTAssertThrowsError(try BPETokenizer(huggingFaceJSON: Data("{}".utf8), configJSON: nil)) { error in
            XCTAssertTrue("\(error)".contains("model"), "\(error)")
        }
        XCTAssertThrowsError(try BPETokenizer(
            huggingFaceJSON: huggingFaceJSON(preTokenizer: Self.byteLevelJSON, mergesAsPairs: false),
            configJSON: Data(#"{"bos_token": "<nope>"}"#.utf8))) { error in
            XCTAssertEqual(error as? TokenizerError, .unknownToken(field: "bos_token", token: "<nope>"))
        }
    }

    // MARK: - Concurrency

    func testSharedAcrossConcurrentTasks() async throws {
        let t = try makeTokenizer()
        let text = String(repeating: "hello world, the user's 123 🙂\n", count: 50)
        let expected = t.encode(text)
        try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<8 { group.addTask { t.encode(text) } }
            for try await ids in group { XCTAssertEqual(ids, expected) }
        }
    }
}

/// Small deterministic random generator for reproducible property tests.
private struct TokenizerTestRNG: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
