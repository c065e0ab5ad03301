/// Open-addressing hash map from a token-id pair `(left, right)` to its merge rank and merged token id.
/// Replaces `Dictionary<String, …>` look-ups of pair strings in the BPE hot loop.
struct MergeTable: Sendable {
    /// Rank reported for pairs that have no merge rule.
    static let noMerge = Int32.max

    private static let emptyKey = UInt64.max
    private var keys: [UInt64]
    /// `rank << 32 | mergedID` for the key in the same slot.
    private var values: [UInt64]
    private let shift: UInt64
    private let mask: Int

    /// Number of distinct pairs stored.
    private(set) var count = 0

    /// An empty table sized for `capacity` pairs (load factor at most 1/2).
    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: Self.emptyKey, count: size)
        values = [UInt64](repeating: 0, count: size)
        mask = size - 1
        shift = UInt64(64 - size.trailingZeroBitCount)
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    @inline(__always)
    private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Stores (or replaces) the rule `left + right -> merged` with `rank`.
    mutating func insert(left: Int32, right: Int32, rank: Int32, merged: Int32) {
        let k = Self.key(left, right)
        var i = slot(k)
        while keys[i] != Self.emptyKey && keys[i] != k { i = (i + 1) & mask }
        if keys[i] == Self.emptyKey { count += 1 }
        keys[i] = k
        values[i] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: merged))
    }

    /// The rank and merged id of `left + right`, or `(noMerge, -1)` when there is no such rule.
    @inline(__always)
    func lookup(_ left: Int32, _ right: Int32) -> (rank: Int32, merged: Int32) {
        let k = Self.key(left, right)
        return keys.withUnsafeBufferPointer { keys in
            var i = slot(k)
            while true {
                let stored = keys[i]
                if stored == k {
                    let v = values[i]
                    return (Int32(truncatingIfNeeded: v >> 32), Int32(truncatingIfNeeded: v))
                }
                if stored == Self.emptyKey { return (Self.noMerge, -1) }
                i = (i + 1) & mask
            }
        }
    }
}
