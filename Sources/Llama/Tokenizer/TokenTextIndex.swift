/// Hash index from a token's UTF-8 text to its id, keyed on bytes (like Hugging Face's Rust maps) rather
/// than on `String`, whose hashing and equality go through Unicode normalization and are slow to build.
struct TokenTextIndex: Sendable {
    /// All token texts, concatenated; token `i` is `text[offsets[i]..<offsets[i + 1]]`.
    private let text: [UInt8]
    private let offsets: [Int]
    /// Open-addressing slots holding token ids, -1 when empty.
    private let slots: [Int32]
    private let mask: Int

    /// Indexes `tokens`; a text listed more than once resolves to its first id.
    init(_ tokens: [String]) {
        var text: [UInt8] = []
        text.reserveCapacity(tokens.count * 8)
        var offsets = [Int](repeating: 0, count: tokens.count + 1)
        for (i, t) in tokens.enumerated() {
            text.append(contentsOf: t.utf8)
            offsets[i + 1] = text.count
        }
        var size = 16
        while size < tokens.count * 2 { size <<= 1 }
        var slots = [Int32](repeating: -1, count: size)
        let mask = size - 1
        text.withUnsafeBufferPointer { all in
            for id in tokens.indices {
                let key = UnsafeBufferPointer(rebasing: all[offsets[id]..<offsets[id + 1]])
                var i = Int(truncatingIfNeeded: Self.hash(key)) & mask
                while true {
                    let other = Int(slots[i])
                    if other < 0 { slots[i] = Int32(id); break }
                    if Self.equal(key, UnsafeBufferPointer(rebasing: all[offsets[other]..<offsets[other + 1]])) { break }
                    i = (i + 1) & mask
                }
            }
        }
        self.text = text
        self.offsets = offsets
        self.slots = slots
        self.mask = mask
    }

    /// The id of the token whose UTF-8 text is `key`, or nil.
    func id(of key: UnsafeBufferPointer<UInt8>) -> Int? {
        text.withUnsafeBufferPointer { all in
            var i = Int(truncatingIfNeeded: Self.hash(key)) & mask
            while true {
                let id = Int(slots[i])
                if id < 0 { return nil }
                if Self.equal(key, UnsafeBufferPointer(rebasing: all[offsets[id]..<offsets[id + 1]])) { return id }
                i = (i + 1) & mask
            }
        }
    }

    /// The id of the token `token`, or nil.
    func id(of token: String) -> Int? {
        var token = token
        return token.withUTF8 { id(of: $0) }
    }

    /// FNV-1a over the bytes, then a final avalanche so the low bits used for the slot are well mixed.
    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 32)
    }

    @inline(__always)
    private static func equal(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        for i in 0..<a.count where a[i] != b[i] { return false }
        return true
    }
}
