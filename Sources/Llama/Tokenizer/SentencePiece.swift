/// Text conventions of SentencePiece vocabularies: ▁ (U+2581) stands for a space, and `<0xXX>`
/// tokens stand for single bytes.
enum SentencePiece {
    /// UTF-8 of U+2581 LOWER ONE EIGHTH BLOCK, the space marker.
    static let spaceMarker: [UInt8] = [0xE2, 0x96, 0x81]

    /// The byte of a `<0xXX>` token (two hex digits), or nil for any other text.
    static func byteValue(_ token: String) -> UInt8? {
        let u = Array(token.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E,
              let hi = hexDigit(u[3]), let lo = hexDigit(u[4]) else { return nil }
        return hi << 4 | lo
    }

    private static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    /// Appends the UTF-8 of `token` with every ▁ replaced by a space.
    static func unescape(_ token: String, appendingTo out: inout [UInt8]) {
        let u = Array(token.utf8)
        var i = 0
        while i < u.count {
            if i + 2 < u.count, u[i] == 0xE2, u[i + 1] == 0x96, u[i + 2] == 0x81 {
                out.append(0x20); i += 3
            } else {
                out.append(u[i]); i += 1
            }
        }
    }
}
