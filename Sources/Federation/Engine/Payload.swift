import Foundation

/// Errors decoding wire payloads; each names the offset and the field.
public struct PayloadError: Error, CustomStringConvertible, Equatable {
    public var offset: Int
    public var reason: String
    public var description: String { "malformed payload at offset \(offset): \(reason)" }
}

/// Encodes a flat parameter vector, cut into tensors, as fp32, fp16 or int8 with one
/// scale per tensor. This is what travels between coordinator and clients, so byte
/// counts in the metrics are the real encoded sizes.
public enum TensorCodec {
    /// Appends `values` (cut at `boundaries`, the tensor sizes in order) to `out`.
    public static func encode(_ values: [Float], tensorSizes: [Int], as encoding: PayloadEncoding, into out: inout Data) {
        precondition(tensorSizes.reduce(0, +) == values.count, "tensor sizes do not cover the vector")
        out.append(encodingCode(encoding))
        appendInteger(UInt32(tensorSizes.count), to: &out)
        var start = 0
        for size in tensorSizes {
            appendInteger(UInt32(size), to: &out)
            let slice = values[start..<(start + size)]
            switch encoding {
            case .fp32:
                for v in slice { appendInteger(v.bitPattern, to: &out) }
            case .fp16:
                for v in slice { appendInteger(Float16(v).bitPattern, to: &out) }
            case .int8:
                let maxAbs = slice.reduce(Float(0)) { max($0, abs($1)) }
                let scale = maxAbs > 0 ? maxAbs / 127 : 1
                appendInteger(scale.bitPattern, to: &out)
                let inv = 1 / scale
                out.append(contentsOf: slice.map { UInt8(bitPattern: Int8(max(-127, min(127, ($0 * inv).rounded())))) })
            }
            start += size
        }
    }

    /// Reads a vector written by `encode`.
    public static func decode(_ reader: inout PayloadReader) throws -> [Float] {
        let codeOffset = reader.offset
        let code = try reader.read(UInt8.self, "encoding")
        guard let encoding = encodingFromCode(code) else {
            throw PayloadError(offset: codeOffset, reason: "unknown tensor encoding \(code)")
        }
        let count = Int(try reader.read(UInt32.self, "tensor count"))
        // Each tensor starts with its 4-byte size: a count the bytes left cannot hold is refused
        // before the loop (four billion empty tensors would take minutes to read).
        try reader.need(count * 4, "the sizes of \(count) tensors")
        var values: [Float] = []
        for t in 0..<count {
            let size = Int(try reader.read(UInt32.self, "size of tensor \(t)"))
            let bytesPerValue = encoding == .fp32 ? 4 : encoding == .fp16 ? 2 : 1
            try reader.need(size * bytesPerValue + (encoding == .int8 ? 4 : 0), "tensor \(t) (\(size) values)")
            values.reserveCapacity(values.count + size)
            switch encoding {
            case .fp32:
                for _ in 0..<size { values.append(Float(bitPattern: try reader.read(UInt32.self, "value"))) }
            case .fp16:
                for _ in 0..<size { values.append(Float(Float16(bitPattern: try reader.read(UInt16.self, "value")))) }
            case .int8:
                let scale = Float(bitPattern: try reader.read(UInt32.self, "scale of tensor \(t)"))
                guard scale.isFinite, scale > 0 else {
                    throw PayloadError(offset: reader.offset - 4, reason: "tensor \(t) has scale \(scale)")
                }
                for _ in 0..<size { values.append(Float(Int8(bitPattern: try reader.read(UInt8.self, "value"))) * scale) }
            }
        }
        return values
    }

    static func encodingCode(_ e: PayloadEncoding) -> UInt8 { e == .fp32 ? 0 : e == .fp16 ? 1 : 2 }
    static func encodingFromCode(_ c: UInt8) -> PayloadEncoding? { c == 0 ? .fp32 : c == 1 ? .fp16 : c == 2 ? .int8 : nil }
}

func appendInteger<T: FixedWidthInteger>(_ v: T, to out: inout Data) {
    withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
}

/// A bounds-checked little-endian reader over a payload.
public struct PayloadReader {
    public let data: Data
    public private(set) var offset = 0

    public init(_ data: Data) { self.data = data }

    mutating func need(_ count: Int, _ what: String) throws {
        guard count >= 0, count <= data.count - offset else {
            throw PayloadError(offset: offset, reason: "truncated: \(what) needs \(count) bytes, \(data.count - offset) remain")
        }
    }

    public mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: String) throws -> T {
        try need(MemoryLayout<T>.size, what)
        let v = data.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
        offset += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    public mutating func readString(_ what: String) throws -> String {
        let length = Int(try read(UInt16.self, "length of \(what)"))
        try need(length, what)
        let s = String(decoding: data[data.startIndex + offset..<data.startIndex + offset + length], as: UTF8.self)
        offset += length
        return s
    }

    mutating func skip(_ count: Int) { offset += count }

    public var isAtEnd: Bool { offset == data.count }
}

func appendString(_ s: String, to out: inout Data) {
    let bytes = Array(s.utf8.prefix(Int(UInt16.max)))
    appendInteger(UInt16(bytes.count), to: &out)
    out.append(contentsOf: bytes)
}
