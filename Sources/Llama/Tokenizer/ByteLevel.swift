/// GPT-2 byte-level alphabet: each of the 256 byte values is shown as one printable Unicode scalar,
/// so byte-level BPE vocabularies store arbitrary bytes as ordinary text (space is "Ġ", newline "Ċ").
enum ByteLevel {
    /// `scalarForByte[b]` is the Unicode scalar value that stands for byte `b`.
    static let scalarForByte: [UInt32] = {
        // Printable Latin-1 bytes stand for themselves; the other 68 bytes are moved to U+0100...
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// Inverse table indexed by scalar value (< 324); -1 where the scalar is not in the alphabet.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 324)
        for (b, s) in scalarForByte.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// The byte-level text of raw bytes (e.g. `" hi"` -> `"Ġhi"`).
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out = String.UnicodeScalarView()
        for b in bytes { out.append(Unicode.Scalar(scalarForByte[Int(b)])!) }
        return String(out)
    }

    /// Appends the UTF-8 encoding of byte `b`'s scalar (one or two bytes, all below U+0144).
    @inline(__always)
    static func appendScalar(of b: UInt8, to out: inout [UInt8]) {
        let v = scalarForByte[Int(b)]
        if v < 0x80 {
            out.append(UInt8(v))
        } else {
            out.append(UInt8(0xC0 | (v >> 6)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    /// The raw bytes of byte-level text, or nil if some scalar is not in the alphabet.
    static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        return decode(text, appendingTo: &out) ? out : nil
    }

    /// Appends the raw bytes of byte-level text to `out` and returns true; if some scalar is not in the
    /// alphabet, leaves `out` unchanged and returns false.
    static func decode(_ text: String, appendingTo out: inout [UInt8]) -> Bool {
        let start = out.count
        for s in text.unicodeScalars {
            let v = Int(s.value)
            guard v < byteForScalar.count, byteForScalar[v] >= 0 else {
                out.removeSubrange(start...)
                return false
            }
            out.append(UInt8(byteForScalar[v]))
        }
        return true
    }
}
