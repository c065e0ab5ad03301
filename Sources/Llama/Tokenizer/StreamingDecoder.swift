/// Incremental decoder for generation: feeds token ids one at a time and returns only text that is
/// complete, holding back a UTF-8 sequence split across tokens until its last byte arrives.
/// The concatenation of everything returned (plus ``flush()``) equals `tokenizer.decode(allIDs)`.
public struct StreamingDecoder: Sendable {
    /// The tokenizer whose tokens are decoded.
    public let tokenizer: BPETokenizer
    /// Whether control/unknown tokens are left out of the text.
    public var skipSpecial: Bool
    private var pending: [UInt8] = []

    /// A decoder with nothing buffered.
    public init(tokenizer: BPETokenizer, skipSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecial = skipSpecial
    }

    /// Adds one token and returns the text that became complete (possibly empty).
    public mutating func append(_ id: Int) -> String {
        guard id >= 0, id < tokenizer.vocabularySize else { return "" }
        if skipSpecial && tokenizer.isSpecial(id) { return "" }
        tokenizer.appendBytes(of: id, to: &pending)
        let cut = Self.completePrefixLength(pending)
        guard cut > 0 else { return "" }
        let text = String(decoding: pending[..<cut], as: UTF8.self)
        pending.removeFirst(cut)
        return text
    }

    /// Returns whatever is still held back (an incomplete sequence decodes to U+FFFD) and clears it.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the longest prefix of `bytes` that does not end inside a UTF-8 sequence that later
    /// bytes could still complete. Cutting there never changes how the whole stream decodes, since the
    /// held-back part starts at a lead byte.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var i = n - 1
        // Find the last non-continuation byte among the final four.
        while i >= 0 && i >= n - 4 && bytes[i] & 0xC0 == 0x80 { i -= 1 }
        guard i >= 0, i >= n - 4 else { return n }
        let lead = bytes[i]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 2
        case 0xE0...0xEF: needed = 3
        case 0xF0...0xF4: needed = 4
        default: return n  // ASCII or a byte that can never start a valid sequence
        }
        return n - i < needed ? i : n
    }
}
