import Foundation

/// Reads a tokenizer.json's `model.vocab` as (token, id) pairs straight from the bytes. Foundation's
/// JSON decoders key objects by `String`, whose equality is canonical equivalence, so two distinct
/// tokens such as "ί" (U+1F77) and "ί" (U+03AF) — both in Llama 2's vocabulary — would collapse into
/// one and leave a hole in the ids. Token text keeps its exact scalars here.
struct JSONVocabularyScanner {
    private let bytes: [UInt8]
    private var i = 0

    private init(_ data: Data) { bytes = [UInt8](data) }

    /// The `model.vocab` entries in file order; nil when there is no such object.
    static func vocabulary(in data: Data) throws -> [(token: String, id: Int)]? {
        var s = JSONVocabularyScanner(data)
        var result: [(token: String, id: Int)]?
        try s.object { s, key in
            guard key == "model" else { return try s.skipValue() }
            try s.object { s, key in
                guard key == "vocab" else { return try s.skipValue() }
                var entries: [(token: String, id: Int)] = []
                try s.object { s, token in entries.append((token, try s.integer())) }
                result = entries
            }
        }
        return result
    }

    private func fail(_ what: String) -> TokenizerError {
        .invalidJSON(field: "tokenizer.json", reason: "\(what) at byte offset \(i)")
    }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    private mutating func expect(_ c: UInt8) throws {
        skipSpace()
        guard i < bytes.count, bytes[i] == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))'") }
        i += 1
    }

    /// Parses an object, calling `member` with each key while positioned at its value (which it must consume).
    private mutating func object(_ member: (inout JSONVocabularyScanner, String) throws -> Void) throws {
        try expect(0x7B)
        skipSpace()
        if i < bytes.count, bytes[i] == 0x7D { i += 1; return }
        while true {
            skipSpace()
            let key = try string()
            try expect(0x3A)
            try member(&self, key)
            skipSpace()
            guard i < bytes.count else { throw fail("unterminated object") }
            if bytes[i] == 0x2C { i += 1; continue }
            if bytes[i] == 0x7D { i += 1; return }
            throw fail("expected ',' or '}'")
        }
    }

    private mutating func integer() throws -> Int {
        skipSpace()
        let start = i
        if i < bytes.count, bytes[i] == 0x2D { i += 1 }
        while i < bytes.count, (0x30...0x39).contains(bytes[i]) { i += 1 }
        guard let n = Int(String(decoding: bytes[start..<i], as: UTF8.self)) else { throw fail("expected an integer id") }
        return n
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16)
        else { throw fail("bad \\u escape") }
        i += 4
        return v
    }

    private mutating func string() throws -> String {
        try expect(0x22)
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("unterminated string") }
            let c = bytes[i]
            i += 1
            if c == 0x22 { break }
            guard c == 0x5C else { out.append(c); continue }
            guard i < bytes.count else { throw fail("unterminated string") }
            let e = bytes[i]
            i += 1
            switch e {
            case 0x22, 0x5C, 0x2F: out.append(e)
            case 0x62: out.append(0x08)
            case 0x66: out.append(0x0C)
            case 0x6E: out.append(0x0A)
            case 0x72: out.append(0x0D)
            case 0x74: out.append(0x09)
            case 0x75:
                var v = try hex4()
                if (0xD800..<0xDC00).contains(v), i + 1 < bytes.count, bytes[i] == 0x5C, bytes[i + 1] == 0x75 {
                    i += 2
                    let low = try hex4()
                    v = (0xDC00..<0xE000).contains(low) ? 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00) : 0xFFFD
                }
                out.append(contentsOf: String(Character(Unicode.Scalar(v) ?? "\u{FFFD}")).utf8)
            default: throw fail("bad escape")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func skipValue() throws {
        skipSpace()
        guard i < bytes.count else { throw fail("expected a value") }
        switch bytes[i] {
        case 0x22: _ = try string()
        case 0x7B: try object { s, _ in try s.skipValue() }
        case 0x5B:
            i += 1
            skipSpace()
            if i < bytes.count, bytes[i] == 0x5D { i += 1; return }
            while true {
                try skipValue()
                skipSpace()
                guard i < bytes.count else { throw fail("unterminated array") }
                if bytes[i] == 0x2C { i += 1; continue }
                if bytes[i] == 0x5D { i += 1; return }
                throw fail("expected ',' or ']'")
            }
        default:
            // Number or literal: up to the next delimiter.
            while i < bytes.count, ![0x2C, 0x7D, 0x5D, 0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
        }
    }
}
