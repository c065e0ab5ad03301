/// GGUF token type codes (`tokenizer.ggml.token_type`).
enum BPETokenType {
    static let undefined: UInt8 = 0
    static let normal: UInt8 = 1
    static let unknown: UInt8 = 2
    static let control: UInt8 = 3
    static let userDefined: UInt8 = 4
    static let unused: UInt8 = 5
    static let byte: UInt8 = 6

    /// Tokens matched literally in text before pre-tokenization.
    static func isLiteral(_ type: UInt8) -> Bool { type == unknown || type == control || type == userDefined }
    /// Tokens only matched when special parsing is on, and dropped by `decode(skipSpecial: true)`.
    static func isSpecial(_ type: UInt8) -> Bool { type == unknown || type == control }
}

/// Finds special and user-defined tokens written literally in text: the leftmost match wins, and among
/// matches starting there the longest (Hugging Face's added-vocabulary rule).
struct SpecialTokenMatcher: Sendable {
    /// One literal token.
    struct Entry: Sendable {
        let bytes: [UInt8]
        let id: Int
        /// Control/unknown tokens are only matched when `parseSpecial` is true; user-defined always.
        let isSpecial: Bool
    }

    private let entries: [Entry]
    /// Entry indices per first byte, longest first.
    private let buckets: [[Int]]

    /// Whether no literal tokens exist (encoding then skips the scan).
    var isEmpty: Bool { entries.isEmpty }

    /// A matcher over the non-empty `entries`.
    init(_ entries: [Entry]) {
        let kept = entries.filter { !$0.bytes.isEmpty }
        var buckets = [[Int]](repeating: [], count: 256)
        for (i, e) in kept.enumerated() { buckets[Int(e.bytes[0])].append(i) }
        for b in 0..<256 {
            buckets[b].sort { (kept[$0].bytes.count, kept[$1].id) > (kept[$1].bytes.count, kept[$0].id) }
        }
        self.entries = kept
        self.buckets = buckets
    }

    /// The first literal token in `bytes[from...]`: its byte range and id, or nil.
    func nextMatch(
        in bytes: UnsafeBufferPointer<UInt8>, from: Int, parseSpecial: Bool
    ) -> (start: Int, end: Int, id: Int)? {
        guard !entries.isEmpty else { return nil }
        var p = from
        let n = bytes.count
        while p < n {
            let bucket = buckets[Int(bytes[p])]
            if !bucket.isEmpty {
                for index in bucket {
                    let e = entries[index]
                    if e.isSpecial && !parseSpecial { continue }
                    let len = e.bytes.count
                    guard p + len <= n else { continue }
                    var same = true
                    e.bytes.withUnsafeBufferPointer { tb in
                        for k in 1..<len where bytes[p + k] != tb[k] {
                            same = false
                            break
                        }
                    }
                    if same { return (p, p + len, e.id) }
                }
            }
            p += 1
        }
        return nil
    }
}
