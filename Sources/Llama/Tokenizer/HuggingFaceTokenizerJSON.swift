import Foundation

extension BPETokenizer {
    /// From a Hugging Face tokenizer.json (model.type BPE, byte-level), plus tokenizer_config.json data if available for add_bos/bos/eos.
    ///
    /// Byte-level files — supported: no normalizer; pre-tokenizer `ByteLevel(add_prefix_space: false, use_regex: true)` (→ `.gpt2`)
    /// or `Sequence[Digits(individual_digits: true), ByteLevel(...)]` (→ `.smollm`); BPE without
    /// byte fallback, word prefixes/suffixes, dropout or `ignore_merges`. Added tokens become literal
    /// tokens: `special: true` ones as control tokens, others as user-defined. BOS/EOS/PAD come from the
    /// config's `bos_token`/`eos_token`/`pad_token`; `add_bos_token` from the config, else from a
    /// `TemplateProcessing` post-processor that starts with the BOS token.
    ///
    /// SentencePiece-style files (`model.byte_fallback: true`, or a normalizer, or a `Metaspace`
    /// pre-tokenizer; Llama 2, TinyLlama, Mistral, Gemma 3): normalizer `Replace(" " → "▁")`,
    /// `Prepend("▁")` or a `Sequence` of them, with no pre-tokenizer; or no normalizer and a `Metaspace`
    /// pre-tokenizer (replacement ▁, any `prepend_scheme`, `split` true or false). `model.unk_token` and
    /// `fuse_unk` are honoured; a decoder `Strip(" ", n, 0)` drops n leading spaces in ``decode(_:skipSpecial:)``.
    public convenience init(huggingFaceJSON: Data, configJSON: Data?) throws {
        let file: HFTokenizerFile
        do {
            file = try JSONDecoder().decode(HFTokenizerFile.self, from: huggingFaceJSON)
        } catch {
            throw TokenizerError.invalidJSON(field: "tokenizer.json", reason: Self.describe(error))
        }
        var config: HFTokenizerConfig?
        if let configJSON {
            do {
                config = try JSONDecoder().decode(HFTokenizerConfig.self, from: configJSON)
            } catch {
                throw TokenizerError.invalidJSON(field: "tokenizer_config.json", reason: Self.describe(error))
            }
        }

        let model = file.model
        if let type = model.type, type != "BPE" { throw TokenizerError.unsupported(field: "model.type", value: type) }
        if model.ignore_merges == true { throw TokenizerError.unsupported(field: "model.ignore_merges", value: "true") }
        if let d = model.dropout, d != 0 { throw TokenizerError.unsupported(field: "model.dropout", value: "\(d)") }
        if let p = model.continuing_subword_prefix, !p.isEmpty {
            throw TokenizerError.unsupported(field: "model.continuing_subword_prefix", value: p.debugDescription)
        }
        if let s = model.end_of_word_suffix, !s.isEmpty {
            throw TokenizerError.unsupported(field: "model.end_of_word_suffix", value: s.debugDescription)
        }
        let sentencePiece = model.byte_fallback == true || file.normalizer != nil || file.pre_tokenizer?.type == "Metaspace"
        var rules: SentencePieceRules?
        var kind = PreTokenizerKind.gpt2
        if sentencePiece {
            rules = try Self.sentencePieceRules(file)
        } else {
            kind = try Self.preTokenizerKind(file.pre_tokenizer)
        }

        // Dense id -> token table from model.vocab and added_tokens.
        // The exact token texts (see JSONVocabularyScanner); `model.vocab` may have merged equivalent ones.
        let vocabulary = try JSONVocabularyScanner.vocabulary(in: huggingFaceJSON) ?? model.vocab.map { ($0.key, $0.value) }
        var maxID = -1
        for (_, id) in vocabulary { maxID = max(maxID, id) }
        for t in file.added_tokens ?? [] { maxID = max(maxID, t.id) }
        guard maxID >= 0 else { throw TokenizerError.emptyVocabulary(field: "model.vocab") }
        var tokens = [String?](repeating: nil, count: maxID + 1)
        var types = [Int32](repeating: Int32(BPETokenType.normal), count: maxID + 1)
        for (token, id) in vocabulary {
            guard id >= 0 else { throw TokenizerError.invalidJSON(field: "model.vocab", reason: "negative id \(id) for \(token.debugDescription)") }
            if let existing = tokens[id], existing != token {
                throw TokenizerError.invalidJSON(field: "model.vocab", reason: "id \(id) is used by both \(existing.debugDescription) and \(token.debugDescription)")
            }
            tokens[id] = token
        }
        for t in file.added_tokens ?? [] {
            guard t.id >= 0 else { throw TokenizerError.invalidJSON(field: "added_tokens", reason: "negative id \(t.id)") }
            tokens[t.id] = t.content  // the added vocabulary takes precedence, as in Hugging Face
            types[t.id] = Int32(t.special == true ? BPETokenType.control : BPETokenType.userDefined)
        }
        if model.byte_fallback == true {
            // `<0xXX>` tokens are the byte-fallback bytes: decoded to their byte, never matched in text.
            for (id, token) in tokens.enumerated() where token.flatMap(SentencePiece.byteValue) != nil {
                types[id] = Int32(BPETokenType.byte)
            }
        }
        if let gap = tokens.firstIndex(where: { $0 == nil }) {
            throw TokenizerError.invalidJSON(field: "model.vocab", reason: "no token has id \(gap) (ids must be contiguous)")
        }
        let dense = tokens.map { $0! }

        let merges: [String]
        switch model.merges {
        case .strings(let rules): merges = rules
        case .pairs(let pairs):
            merges = try pairs.enumerated().map { index, pair in
                guard pair.count == 2 else {
                    throw TokenizerError.malformedMerge(field: "model.merges", index: index, merge: pair.joined(separator: " "))
                }
                return pair[0] + " " + pair[1]
            }
        case nil: merges = []
        }

        func lookup(_ field: String, _ token: String?) throws -> Int? {
            guard let token else { return nil }
            if let id = model.vocab[token] ?? (file.added_tokens ?? []).last(where: { $0.content == token })?.id {
                return id
            }
            throw TokenizerError.unknownToken(field: field, token: token)
        }
        let bos = try lookup("bos_token", config?.bos_token?.content)
        let eos = try lookup("eos_token", config?.eos_token?.content)
        let pad = try lookup("pad_token", config?.pad_token?.content)
        var addBOS = config?.add_bos_token ?? false
        if config?.add_bos_token == nil, let bosText = config?.bos_token?.content,
           let first = file.post_processor?.single?.first?.SpecialToken?.id, first == bosText {
            addBOS = true
        }

        if var spm = rules {
            spm.unknownID = try lookup("model.unk_token", model.unk_token).map(Int32.init)
            spm.fuseUnknown = model.fuse_unk ?? false
            do {
                try self.init(rankedSentencePieceTokens: dense, merges: merges, tokenTypes: types, bosTokenID: bos,
                              eosTokenID: eos, padTokenID: pad, addBOS: addBOS, rules: spm)
            } catch let error as TokenizerError {
                throw error.renamingFields(["tokens": "model.vocab", "merges": "model.merges", "tokenTypes": "added_tokens"])
            }
            return
        }
        do {
            try self.init(tokens: dense, merges: merges, tokenTypes: types, bosTokenID: bos, eosTokenID: eos,
                          padTokenID: pad, addBOS: addBOS, preTokenizer: kind)
        } catch let error as TokenizerError {
            throw error.renamingFields(["tokens": "model.vocab", "merges": "model.merges", "tokenTypes": "added_tokens"])
        }
    }

    /// The pre-tokenizer kind of a tokenizer.json `pre_tokenizer`, or `.unsupported`.
    private static func preTokenizerKind(_ pre: HFPreTokenizer?) throws -> PreTokenizerKind {
        func isByteLevel(_ p: HFPreTokenizer) -> Bool {
            p.type == "ByteLevel" && p.add_prefix_space != true && p.use_regex != false
        }
        guard let pre else { throw TokenizerError.unsupported(field: "pre_tokenizer", value: "null") }
        if isByteLevel(pre) { return .gpt2 }
        if pre.type == "Sequence", let parts = pre.pretokenizers, parts.count == 2,
           parts[0].type == "Digits", parts[0].individual_digits == true, isByteLevel(parts[1]) {
            return .smollm
        }
        let shape = pre.type == "Sequence"
            ? "Sequence[" + (pre.pretokenizers ?? []).map { $0.type }.joined(separator: ", ") + "]"
            : pre.type
        throw TokenizerError.unsupported(field: "pre_tokenizer", value: shape)
    }

    /// The text rules of a SentencePiece-style file: its normalizer, pre-tokenizer and decoder.
    private static func sentencePieceRules(_ file: HFTokenizerFile) throws -> SentencePieceRules {
        let marker = "\u{2581}"
        var rules = SentencePieceRules(prefix: .never, prefixUnlessSpace: false, splitWords: false, unknownID: nil,
                                       fuseUnknown: false, stripLeadingSpaces: 0)
        if let normalizer = file.normalizer {
            let steps = normalizer.type == "Sequence" ? (normalizer.normalizers ?? []) : [normalizer]
            var replaces = false
            for step in steps {
                switch step.type {
                case "Replace" where step.pattern?.String == " " && step.content == marker && !replaces:
                    replaces = true
                case "Prepend" where step.prepend == marker && rules.prefix == .never:
                    rules.prefix = .always
                default:
                    throw TokenizerError.unsupported(field: "normalizer", value: step.shape)
                }
            }
            guard replaces else { throw TokenizerError.unsupported(field: "normalizer", value: normalizer.shape) }
            // Split on " " is a no-op once the normalizer has written every space as ▁ (Gemma 3 files).
            if let pre = file.pre_tokenizer, !(pre.type == "Split" && pre.pattern?.String == " " && pre.invert != true) {
                throw TokenizerError.unsupported(field: "pre_tokenizer", value: pre.type + " (with a normalizer)")
            }
        } else if let pre = file.pre_tokenizer, pre.type == "Metaspace" {
            guard pre.replacement ?? marker == marker else {
                throw TokenizerError.unsupported(field: "pre_tokenizer.replacement", value: pre.replacement!.debugDescription)
            }
            switch pre.prepend_scheme ?? (pre.add_prefix_space == false ? "never" : "always") {
            case "always": rules.prefix = .always
            case "first": rules.prefix = .first
            case "never": rules.prefix = .never
            case let other: throw TokenizerError.unsupported(field: "pre_tokenizer.prepend_scheme", value: other)
            }
            rules.prefixUnlessSpace = true
            rules.splitWords = pre.split ?? true
        } else {
            throw TokenizerError.unsupported(field: "pre_tokenizer", value: file.pre_tokenizer?.type ?? "null (without a normalizer)")
        }
        if let decoder = file.decoder {
            let steps = decoder.type == "Sequence" ? (decoder.decoders ?? []) : [decoder]
            for step in steps where step.type == "Strip" {
                guard step.content == " ", (step.stop ?? 0) == 0 else {
                    throw TokenizerError.unsupported(field: "decoder", value: "Strip(\((step.content ?? "").debugDescription), \(step.start ?? 0), \(step.stop ?? 0))")
                }
                rules.stripLeadingSpaces += step.start ?? 0
            }
        }
        return rules
    }

    private static func describe(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case let .keyNotFound(key, ctx):
            return "missing \((ctx.codingPath.map(\.stringValue) + [key.stringValue]).joined(separator: "."))"
        case let .typeMismatch(_, ctx), let .valueNotFound(_, ctx), let .dataCorrupted(ctx):
            let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            return (path.isEmpty ? "" : path + ": ") + ctx.debugDescription
        @unknown default:
            return "\(error)"
        }
    }
}

extension TokenizerError {
    /// The same error with field names replaced by `names[old]` (e.g. "merges" -> "model.merges").
    func renamingFields(_ names: [String: String]) -> TokenizerError {
        func r(_ f: String) -> String { names[f] ?? f }
        switch self {
        case let .emptyVocabulary(f): return .emptyVocabulary(field: r(f))
        case let .countMismatch(f, c, e, ec): return .countMismatch(field: r(f), count: c, expectedField: r(e), expectedCount: ec)
        case let .invalidTokenType(f, i, v): return .invalidTokenType(field: r(f), index: i, value: v)
        case let .invalidScore(f, i, v): return .invalidScore(field: r(f), index: i, value: v)
        case let .malformedMerge(f, i, m): return .malformedMerge(field: r(f), index: i, merge: m)
        case let .unknownMergeToken(f, i, m, t): return .unknownMergeToken(field: r(f), index: i, merge: m, token: t)
        case let .mergeResultNotInVocabulary(f, i, m, t): return .mergeResultNotInVocabulary(field: r(f), index: i, merge: m, result: t)
        case let .tokenIDOutOfRange(f, id, n): return .tokenIDOutOfRange(field: r(f), id: id, vocabularySize: n)
        case let .unknownToken(f, t): return .unknownToken(field: r(f), token: t)
        case let .invalidJSON(f, reason): return .invalidJSON(field: r(f), reason: reason)
        case let .unsupported(f, v): return .unsupported(field: r(f), value: v)
        }
    }
}

// MARK: - tokenizer.json / tokenizer_config.json schema (only the fields used)

private struct HFTokenizerFile: Decodable {
    var model: HFModel
    var added_tokens: [HFAddedToken]?
    var normalizer: HFNormalizer?
    var pre_tokenizer: HFPreTokenizer?
    var post_processor: HFPostProcessor?
    var decoder: HFDecoder?
}

private final class HFNormalizer: Decodable {
    struct Pattern: Decodable { var String: String? }
    var type: String
    var normalizers: [HFNormalizer]?
    var pattern: Pattern?
    var content: String?
    var prepend: String?

    /// "Replace(\" \" → \"▁\")", "Sequence[Prepend, Replace]", "NFC" for error messages.
    var shape: String {
        switch type {
        case "Sequence": return "Sequence[" + (normalizers ?? []).map(\.shape).joined(separator: ", ") + "]"
        case "Replace": return "Replace(\((pattern?.String ?? "?").debugDescription) → \((content ?? "?").debugDescription))"
        case "Prepend": return "Prepend(\((prepend ?? "?").debugDescription))"
        default: return type
        }
    }
}

private final class HFDecoder: Decodable {
    var type: String
    var decoders: [HFDecoder]?
    var content: String?
    var start: Int?
    var stop: Int?
}

private struct HFModel: Decodable {
    var type: String?
    var vocab: [String: Int]
    var merges: HFMerges?
    var dropout: Double?
    var byte_fallback: Bool?
    var ignore_merges: Bool?
    var continuing_subword_prefix: String?
    var end_of_word_suffix: String?
    var unk_token: String?
    var fuse_unk: Bool?
}

/// Merges are stored either as `"a b"` strings (older files) or as `["a", "b"]` pairs.
private enum HFMerges: Decodable {
    case strings([String])
    case pairs([[String]])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode([String].self) {
            self = .strings(s)
        } else {
            self = .pairs(try c.decode([[String]].self))
        }
    }
}

private struct HFAddedToken: Decodable {
    var id: Int
    var content: String
    var special: Bool?
}

private final class HFPreTokenizer: Decodable {
    var type: String
    var add_prefix_space: Bool?
    var use_regex: Bool?
    var individual_digits: Bool?
    var pretokenizers: [HFPreTokenizer]?
    // Split
    var pattern: HFNormalizer.Pattern?
    var invert: Bool?
    // Metaspace
    var replacement: String?
    var prepend_scheme: String?
    var split: Bool?
}

private struct HFPostProcessor: Decodable {
    struct Piece: Decodable {
        struct Special: Decodable { var id: String }
        var SpecialToken: Special?
    }
    var type: String?
    var single: [Piece]?
}

private struct HFTokenizerConfig: Decodable {
    /// `"<s>"` or `{"content": "<s>", ...}`.
    struct TokenRef: Decodable {
        var content: String?
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() {
                content = nil
            } else if let s = try? c.decode(String.self) {
                content = s
            } else {
                struct Object: Decodable { var content: String }
                content = try c.decode(Object.self).content
            }
        }
    }
    var bos_token: TokenRef?
    var eos_token: TokenRef?
    var pad_token: TokenRef?
    var add_bos_token: Bool?
}
