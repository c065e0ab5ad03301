import Foundation

/// A BPE tokenizer of one of three kinds, matching Hugging Face `tokenizers` and llama.cpp output exactly:
/// - byte-level BPE with ranked merges after a pre-tokenizer (GPT-2, SmolLM2, StarCoder, Llama 3, Qwen2
///   vocabularies; GGUF `tokenizer.ggml.model = gpt2`);
/// - SentencePiece BPE with token scores, the ▁ space marker and `<0xXX>` byte fallback (Llama 2,
///   TinyLlama, Mistral, Phi-3 vocabularies; GGUF `tokenizer.ggml.model = llama`);
/// - the same vocabularies from a Hugging Face tokenizer.json: ranked merges over characters with
///   `<0xXX>` byte fallback, as the `tokenizers` BPE model runs them (``SentencePieceRules``).
///
/// Immutable after construction, so one instance can be shared across tasks.
public final class BPETokenizer: Sendable {
    /// What runs on text between literal special tokens.
    enum Algorithm: Sendable {
        /// Pre-tokenizer, then ranked merges over byte-level symbols.
        case byteLevel
        /// Score-ordered merges over characters. `scores` has one entry per token; with
        /// `addSpacePrefix`, a space is put before text that starts the input or follows a literal token.
        case sentencePiece(scores: [Float], addSpacePrefix: Bool)
        /// Rank-ordered merges over characters with `<0xXX>` byte fallback, as Hugging Face's `BPE`
        /// model runs a SentencePiece-style tokenizer.json (see ``SentencePieceRules``).
        case rankedSentencePiece(SentencePieceRules)
    }

    /// Token strings by id, in vocabulary form ("Ġthe", "▁the", "<0x0A>"); literal special tokens as written.
    let tokens: [String]
    /// GGUF token type code of every token.
    let tokenTypes: [UInt8]
    let tokenIDs: TokenTextIndex
    let merges: MergeTable
    /// Token id of each single byte (its byte-level character), -1 when missing.
    let byteTokens: [Int32]
    /// Decoded bytes of all tokens, concatenated; token `i` is `decodedBytes[decodedOffsets[i]..<decodedOffsets[i+1]]`.
    private let decodedBytes: [UInt8]
    private let decodedOffsets: [Int]
    let specialTokens: SpecialTokenMatcher
    /// Unused by SentencePiece vocabularies.
    let preTokenizer: PreTokenizer
    let algorithm: Algorithm

    /// Beginning-of-sequence token id, if the vocabulary defines one.
    public let bosTokenID: Int?
    /// End-of-sequence token id, if the vocabulary defines one.
    public let eosTokenID: Int?
    /// Padding token id, if the vocabulary defines one.
    public let padTokenID: Int?
    /// Whether `encode(_:addSpecial: true)` prepends the BOS token.
    public let addsBOS: Bool
    /// The pre-tokenizer this tokenizer splits text with; nil for SentencePiece vocabularies, which have none.
    public var preTokenizerKind: PreTokenizerKind? {
        if case .byteLevel = algorithm { return preTokenizer.kind }
        return nil
    }
    /// Whether this is a SentencePiece (▁ and byte-fallback) vocabulary.
    public var isSentencePiece: Bool {
        if case .byteLevel = algorithm { return false }
        return true
    }

    /// Number of tokens in the vocabulary.
    public var vocabularySize: Int { tokens.count }

    /// From GGUF-style vocabulary arrays. tokenTypes uses GGUF codes: 1 normal, 2 unknown, 3 control, 4 user_defined, 5 unused, 6 byte.
    ///
    /// - `merges` are `"left right"` rules, highest priority first; both sides and their concatenation must
    ///   be tokens. A pair listed twice keeps its last rank (as Hugging Face does).
    /// - Control (3) and unknown (2) tokens are matched literally in text when encoding with
    ///   `parseSpecial: true`; user-defined (4) tokens always. Without `tokenTypes` every token is normal.
    /// - A token string listed twice resolves to its first id in ``id(of:)`` and merges.
    public convenience init(
        tokens: [String], merges: [String], tokenTypes: [Int32]?, bosTokenID: Int?, eosTokenID: Int?,
        padTokenID: Int?, addBOS: Bool, preTokenizer: PreTokenizerKind
    ) throws {
        try self.init(tokens: tokens, merges: merges, tokenTypes: tokenTypes, bosTokenID: bosTokenID,
                      eosTokenID: eosTokenID, padTokenID: padTokenID, addBOS: addBOS, preTokenizer: preTokenizer,
                      algorithm: .byteLevel)
    }

    /// A SentencePiece BPE vocabulary (llama.cpp's "SPM"): tokens with scores (higher merges first),
    /// GGUF token types, and `<0xXX>` byte tokens for characters that are not tokens.
    ///
    /// Spaces are written as ▁ (U+2581) before merging. With `addSpacePrefix`, text that starts the
    /// input or follows a literal token gets a leading space, as llama.cpp does.
    public convenience init(
        sentencePieceTokens tokens: [String], scores: [Float], tokenTypes: [Int32]?, bosTokenID: Int?,
        eosTokenID: Int?, padTokenID: Int?, addBOS: Bool, addSpacePrefix: Bool
    ) throws {
        guard scores.count == tokens.count else {
            throw TokenizerError.countMismatch(field: "scores", count: scores.count, expectedField: "tokens", expectedCount: tokens.count)
        }
        if let bad = scores.firstIndex(where: { !$0.isFinite }) {
            throw TokenizerError.invalidScore(field: "scores", index: bad, value: scores[bad])
        }
        try self.init(tokens: tokens, merges: [], tokenTypes: tokenTypes, bosTokenID: bosTokenID,
                      eosTokenID: eosTokenID, padTokenID: padTokenID, addBOS: addBOS, preTokenizer: .gpt2,
                      algorithm: .sentencePiece(scores: scores, addSpacePrefix: addSpacePrefix))
    }

    /// A SentencePiece-style BPE vocabulary from a Hugging Face tokenizer.json: ranked `merges`,
    /// `<0xXX>` byte tokens (type 6) for byte fallback, and the text rules of `rules`.
    convenience init(
        rankedSentencePieceTokens tokens: [String], merges: [String], tokenTypes: [Int32]?, bosTokenID: Int?,
        eosTokenID: Int?, padTokenID: Int?, addBOS: Bool, rules: SentencePieceRules
    ) throws {
        try self.init(tokens: tokens, merges: merges, tokenTypes: tokenTypes, bosTokenID: bosTokenID,
                      eosTokenID: eosTokenID, padTokenID: padTokenID, addBOS: addBOS, preTokenizer: .gpt2,
                      algorithm: .rankedSentencePiece(rules))
    }

    private init(
        tokens: [String], merges: [String], tokenTypes: [Int32]?, bosTokenID: Int?, eosTokenID: Int?,
        padTokenID: Int?, addBOS: Bool, preTokenizer: PreTokenizerKind, algorithm: Algorithm
    ) throws {
        guard !tokens.isEmpty else { throw TokenizerError.emptyVocabulary(field: "tokens") }
        let n = tokens.count

        var types = [UInt8](repeating: BPETokenType.normal, count: n)
        if let tokenTypes {
            guard tokenTypes.count == n else {
                throw TokenizerError.countMismatch(
                    field: "tokenTypes", count: tokenTypes.count, expectedField: "tokens", expectedCount: n)
            }
            for (i, t) in tokenTypes.enumerated() {
                guard (0...6).contains(t) else {
                    throw TokenizerError.invalidTokenType(field: "tokenTypes", index: i, value: t)
                }
                types[i] = UInt8(t)
            }
        }
        for (field, id) in [("bosTokenID", bosTokenID), ("eosTokenID", eosTokenID), ("padTokenID", padTokenID)] {
            if let id, !(0..<n).contains(id) {
                throw TokenizerError.tokenIDOutOfRange(field: field, id: id, vocabularySize: n)
            }
        }

        let ids = TokenTextIndex(tokens)
        let table = try Self.buildMergeTable(merges, ids)

        var byteTokens = [Int32](repeating: -1, count: 256)
        var decoded: [UInt8] = []
        decoded.reserveCapacity(n * 8)
        var offsets = [Int](repeating: 0, count: n + 1)
        switch algorithm {
        case .byteLevel:
            for b in 0..<256 {
                let text = String(Character(Unicode.Scalar(ByteLevel.scalarForByte[b])!))
                if let id = ids.id(of: text) { byteTokens[b] = Int32(id) }
            }
            // Decoding follows Hugging Face's ByteLevel decoder: a token whose scalars are all in the byte
            // alphabet decodes to those bytes, any other token to its own UTF-8 text.
            for (i, t) in tokens.enumerated() {
                if !ByteLevel.decode(t, appendingTo: &decoded) { decoded.append(contentsOf: t.utf8) }
                offsets[i + 1] = decoded.count
            }
        case .sentencePiece, .rankedSentencePiece:
            // Byte b is the token "<0xBB>", or else (llama.cpp only) the one-character token of that byte.
            let charFallback: Bool
            if case .sentencePiece = algorithm { charFallback = true } else { charFallback = false }
            for b in 0..<256 {
                let hex = String(b, radix: 16, uppercase: true)
                let name = "<0x" + (b < 16 ? "0" : "") + hex + ">"
                if let id = ids.id(of: name) {
                    byteTokens[b] = Int32(id)
                } else if charFallback, b < 0x80, let id = ids.id(of: String(UnicodeScalar(UInt8(b)))) {
                    byteTokens[b] = Int32(id)
                }
            }
            // A byte token decodes to its byte, any other token to its text with ▁ as a space.
            for (i, t) in tokens.enumerated() {
                if types[i] == BPETokenType.byte, let b = SentencePiece.byteValue(t) {
                    decoded.append(b)
                } else {
                    SentencePiece.unescape(t, appendingTo: &decoded)
                }
                offsets[i + 1] = decoded.count
            }
        }

        var literals: [SpecialTokenMatcher.Entry] = []
        for (i, t) in tokens.enumerated() where BPETokenType.isLiteral(types[i]) {
            literals.append(.init(bytes: Array(t.utf8), id: i, isSpecial: BPETokenType.isSpecial(types[i])))
        }

        self.tokens = tokens
        self.tokenTypes = types
        self.tokenIDs = ids
        self.merges = table
        self.byteTokens = byteTokens
        self.decodedBytes = decoded
        self.decodedOffsets = offsets
        self.specialTokens = SpecialTokenMatcher(literals)
        self.preTokenizer = PreTokenizer(kind: preTokenizer)
        self.algorithm = algorithm
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.padTokenID = padTokenID
        self.addsBOS = addBOS
    }

    /// Resolves `"left right"` rules to `(leftID, rightID) -> (rank, mergedID)`, working on UTF-8 bytes.
    /// The separating space is searched from the second byte on, as llama.cpp does; exactly one is allowed.
    private static func buildMergeTable(_ merges: [String], _ ids: TokenTextIndex) throws -> MergeTable {
        var table = MergeTable(capacity: merges.count)
        var joined: [UInt8] = []
        for (rank, var rule) in merges.enumerated() {
            typealias Resolved = (space: Int, left: Int?, right: Int?, merged: Int?)
            let resolved: Resolved = rule.withUTF8 { bytes in
                guard bytes.count >= 3,
                      let space = bytes[1...].firstIndex(of: 0x20),
                      space + 1 < bytes.count,
                      !bytes[(space + 1)...].contains(0x20)
                else { return (-1, nil, nil, nil) }
                let left = UnsafeBufferPointer(rebasing: bytes[..<space])
                let right = UnsafeBufferPointer(rebasing: bytes[(space + 1)...])
                joined.removeAll(keepingCapacity: true)
                joined.append(contentsOf: left)
                joined.append(contentsOf: right)
                let merged = joined.withUnsafeBufferPointer { ids.id(of: $0) }
                return (space, ids.id(of: left), ids.id(of: right), merged)
            }
            let space = resolved.space
            guard space > 0 else { throw TokenizerError.malformedMerge(field: "merges", index: rank, merge: rule) }
            guard let l = resolved.left, let r = resolved.right, let m = resolved.merged else {
                let utf8 = rule.utf8
                let leftText = String(rule[..<utf8.index(utf8.startIndex, offsetBy: space)])
                let rightText = String(rule[utf8.index(utf8.startIndex, offsetBy: space + 1)...])
                if resolved.left == nil {
                    throw TokenizerError.unknownMergeToken(field: "merges", index: rank, merge: rule, token: leftText)
                }
                if resolved.right == nil {
                    throw TokenizerError.unknownMergeToken(field: "merges", index: rank, merge: rule, token: rightText)
                }
                throw TokenizerError.mergeResultNotInVocabulary(
                    field: "merges", index: rank, merge: rule, result: leftText + rightText)
            }
            table.insert(left: Int32(l), right: Int32(r), rank: Int32(rank), merged: Int32(m))
        }
        return table
    }

    /// The vocabulary form of token `id` ("Ġthe", "▁the", "<0x0A>"), or "" outside the vocabulary.
    public func token(_ id: Int) -> String { id >= 0 && id < tokens.count ? tokens[id] : "" }

    /// The id of a token given in its vocabulary form (e.g. "Ġthe", "<|im_start|>"), or nil.
    public func id(of token: String) -> Int? { tokenIDs.id(of: token) }

    /// Encodes text. Control/user-defined tokens written in the text (e.g. "<|im_start|>") become their ids when parseSpecial is true. Adds BOS only when addBOS && addSpecial.
    ///
    /// User-defined tokens are matched even when `parseSpecial` is false (as in Hugging Face and llama.cpp).
    /// A byte whose byte-level character is missing from the vocabulary is dropped, as Hugging Face's BPE
    /// does without an unknown token (SmolLM2 lacks 21 of the 256, e.g. 0x04, 0x1D and 0xF1).
    public func encode(_ text: String, addSpecial: Bool = true, parseSpecial: Bool = true) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(text.utf8.count / 3 + 2)
        if addSpecial, addsBOS, let bos = bosTokenID { out.append(bos) }
        var text = text
        text.withUTF8 { bytes in
            var state = EncodeState()
            var pos = 0
            var afterLiteral = true  // the input start counts as following a literal token (SentencePiece prefix)
            while pos < bytes.count {
                guard let match = specialTokens.nextMatch(in: bytes, from: pos, parseSpecial: parseSpecial) else {
                    encodeOrdinary(bytes, pos..<bytes.count, afterLiteral: afterLiteral, &state, &out)
                    break
                }
                encodeOrdinary(bytes, pos..<match.start, afterLiteral: afterLiteral, &state, &out)
                out.append(match.id)
                afterLiteral = true
                pos = match.end
            }
        }
        return out
    }

    /// Reusable buffers for one `encode` call (kept per call, so the tokenizer itself stays immutable).
    private struct EncodeState {
        var pre = PreTokenizerScratch()
        var merger = BPEMerger()
        var sentencePiece = SentencePieceMerger()
        /// Initial symbols of one word (``Algorithm/rankedSentencePiece``).
        var symbols: [Int32] = []
        /// Escaped text (SentencePiece) or the byte-level form of one pre-token (``PreTokenizerKind/ignoresMerges``).
        var text: [UInt8] = []
    }

    /// Encodes text that contains no literal special tokens. `afterLiteral` says whether it starts the
    /// input or follows a literal token (where SentencePiece adds its space prefix).
    private func encodeOrdinary(
        _ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, afterLiteral: Bool,
        _ state: inout EncodeState, _ out: inout [Int]
    ) {
        guard !range.isEmpty else { return }
        if case let .rankedSentencePiece(rules) = algorithm {
            encodeRankedSentencePiece(bytes, range, rules: rules, text: &state.text, symbols: &state.symbols,
                                      merger: &state.merger, into: &out)
            return
        }
        if case let .sentencePiece(scores, addSpacePrefix) = algorithm {
            state.text.removeAll(keepingCapacity: true)
            if addSpacePrefix && afterLiteral { state.text.append(contentsOf: SentencePiece.spaceMarker) }
            for b in bytes[range] {
                if b == 0x20 { state.text.append(contentsOf: SentencePiece.spaceMarker) } else { state.text.append(b) }
            }
            state.text.withUnsafeBufferPointer { text in
                scores.withUnsafeBufferPointer { scores in
                    byteTokens.withUnsafeBufferPointer { byteTokens in
                        state.sentencePiece.encode(text, ids: tokenIDs, scores: scores, byteTokens: byteTokens, into: &out)
                    }
                }
            }
            return
        }
        preTokenizer.split(bytes, range, scratch: &state.pre)
        let wholeWords = preTokenizer.kind.ignoresMerges
        byteTokens.withUnsafeBufferPointer { byteTokens in
            var start = range.lowerBound
            for end in state.pre.ends {
                defer { start = end }
                if wholeWords, end - start > 1 {
                    state.text.removeAll(keepingCapacity: true)
                    for b in bytes[start..<end] { ByteLevel.appendScalar(of: b, to: &state.text) }
                    if let id = state.text.withUnsafeBufferPointer({ tokenIDs.id(of: $0) }) {
                        out.append(id)
                        continue
                    }
                }
                state.merger.encode(bytes, start, end, byteTokens: byteTokens, merges: merges, into: &out)
            }
        }
    }

    /// Decodes ids to text (byte-level decoding, or ▁ as a space and `<0xXX>` as its byte for SentencePiece,
    /// keeping the space prefix the encoder added, as llama.cpp's pieces do; invalid UTF-8 becomes U+FFFD,
    /// one per maximal invalid subsequence as in Rust's `from_utf8_lossy`). Ids outside the vocabulary are ignored; with
    /// `skipSpecial`, control and unknown tokens are left out.
    public func decode(_ ids: [Int], skipSpecial: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids {
            guard id >= 0, id < tokens.count else { continue }
            if skipSpecial && BPETokenType.isSpecial(tokenTypes[id]) { continue }
            appendBytes(of: id, to: &bytes)
        }
        if case let .rankedSentencePiece(rules) = algorithm {
            // The decoder's Strip runs on the fused text: up to n spaces off its start.
            let n = bytes.prefix(rules.stripLeadingSpaces).prefix { $0 == 0x20 }.count
            bytes.removeFirst(n)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Text of a single token for display (byte-level decoded; may be a partial UTF-8 sequence shown with replacement char).
    public func tokenText(_ id: Int) -> String {
        guard id >= 0, id < tokens.count else { return "" }
        var bytes: [UInt8] = []
        appendBytes(of: id, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `id` is a control or unknown token (left out by `decode(skipSpecial: true)`).
    public func isSpecial(_ id: Int) -> Bool {
        id >= 0 && id < tokens.count && BPETokenType.isSpecial(tokenTypes[id])
    }

    /// Appends the decoded bytes of token `id` (which must be in range).
    func appendBytes(of id: Int, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: decodedBytes[decodedOffsets[id]..<decodedOffsets[id + 1]])
    }
}
