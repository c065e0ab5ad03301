/// How a Hugging Face tokenizer.json for a SentencePiece-style BPE model (Llama 2, TinyLlama,
/// Mistral, Gemma 3) turns text into characters and back: the normalizer / Metaspace pre-tokenizer
/// that writes spaces as ▁, the BPE model's unknown token, and the decoder's leading-space strip.
/// Merges then run by rank, as Hugging Face's `BPE` model does (not by score, as llama.cpp does for
/// GGUF `tokenizer.ggml.model = llama`).
struct SentencePieceRules: Sendable, Equatable {
    /// Where a ▁ is put before a section of text (the input between literal tokens).
    enum Prefix: Sendable, Equatable {
        /// Never (Gemma 3's `Replace` normalizer; Metaspace `prepend_scheme: never`).
        case never
        /// Before every non-empty section (`Prepend("▁")` normalizer; Metaspace `always`).
        case always
        /// Only before the section that starts the input (Metaspace `first`).
        case first
    }

    var prefix: Prefix
    /// Metaspace adds no ▁ to a section that already starts with a space; `Prepend` always does.
    var prefixUnlessSpace: Bool
    /// Metaspace `split: true`: each ▁ starts a new word, so merges never cross it.
    var splitWords: Bool
    /// `model.unk_token` id for characters that are neither tokens nor byte-fallback bytes.
    var unknownID: Int32?
    /// `model.fuse_unk`: consecutive unknown characters give one unknown token.
    var fuseUnknown: Bool
    /// Spaces the decoder's `Strip` removes from the start of the decoded text.
    var stripLeadingSpaces: Int
}

extension BPETokenizer {
    /// Encodes one section with `rules`: writes spaces as ▁ (plus the prefix), splits words if asked,
    /// then maps each Unicode scalar to its token, or else to its `<0xXX>` byte tokens (all of them or
    /// none), or else to the unknown token (dropped without one), and merges the symbols by rank.
    func encodeRankedSentencePiece(
        _ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, rules: SentencePieceRules,
        text: inout [UInt8], symbols: inout [Int32], merger: inout BPEMerger, into out: inout [Int]
    ) {
        text.removeAll(keepingCapacity: true)
        let startsWithSpace = bytes[range.lowerBound] == 0x20
        let prefixed: Bool
        switch rules.prefix {
        case .never: prefixed = false
        case .always: prefixed = true
        case .first: prefixed = range.lowerBound == 0
        }
        if prefixed && !(rules.prefixUnlessSpace && startsWithSpace) {
            text.append(contentsOf: SentencePiece.spaceMarker)
        }
        for b in bytes[range] {
            if b == 0x20 { text.append(contentsOf: SentencePiece.spaceMarker) } else { text.append(b) }
        }
        text.withUnsafeBufferPointer { text in
            byteTokens.withUnsafeBufferPointer { byteTokens in
                var wordStart = 0
                var offset = 0
                var lastWasUnknown = false
                symbols.removeAll(keepingCapacity: true)
                while offset < text.count {
                    let lead = text[offset]
                    let width = min(lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4, text.count - offset)
                    if rules.splitWords, offset > wordStart, width == 3, text[offset] == 0xE2,
                       text[offset + 1] == 0x96, text[offset + 2] == 0x81 {
                        merger.merge(symbols, merges: merges, into: &out)
                        symbols.removeAll(keepingCapacity: true)
                        lastWasUnknown = false
                        wordStart = offset
                    }
                    let char = UnsafeBufferPointer(rebasing: text[offset..<(offset + width)])
                    offset += width
                    if let id = tokenIDs.id(of: char) {
                        symbols.append(Int32(id))
                        lastWasUnknown = false
                    } else if char.allSatisfy({ byteTokens[Int($0)] >= 0 }) {
                        for b in char { symbols.append(byteTokens[Int(b)]) }
                        lastWasUnknown = false
                    } else if let unk = rules.unknownID {
                        if !(rules.fuseUnknown && lastWasUnknown) { symbols.append(unk) }
                        lastWasUnknown = true
                    }
                }
                merger.merge(symbols, merges: merges, into: &out)
            }
        }
    }
}
