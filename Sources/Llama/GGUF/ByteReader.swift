import Foundation

/// A bounds-checked little-endian cursor over file bytes. Every read that
/// would run past the end throws an error naming the offset and what was being read.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let file: String
    var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    mutating func need(_ count: Int, _ what: @autoclosure () -> String) throws {
        guard count >= 0, offset <= bytes.count, count <= bytes.count - offset else {
            throw ModelFileError.truncated(file: file, offset: offset, needed: count, what: what())
        }
    }

    mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func readFloat(_ what: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    mutating func readDouble(_ what: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// A GGUF string: u64 length then UTF-8 bytes (invalid UTF-8 is repaired, not fatal).
    mutating func readString(_ what: @autoclosure () -> String, maxLength: Int = 1 << 26) throws -> String {
        let start = offset
        let length = try read(UInt64.self, "length of \(what())")
        guard length <= UInt64(maxLength) else {
            throw ModelFileError.malformed(file: file, offset: start,
                                           reason: "\(what()) claims a length of \(length) bytes")
        }
        try need(Int(length), what())
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + Int(length))]),
                       as: UTF8.self)
        offset += Int(length)
        return s
    }
}
