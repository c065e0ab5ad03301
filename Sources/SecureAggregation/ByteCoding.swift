import Foundation

/// Little-endian byte writer for the wire encodings of SecAgg messages.
struct ByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func raw<C: Collection>(_ v: C) where C.Element == UInt8 { bytes.append(contentsOf: v) }
    /// A length-prefixed (u32) byte string.
    mutating func blob<C: Collection>(_ v: C) where C.Element == UInt8 {
        u32(UInt32(v.count))
        bytes.append(contentsOf: v)
    }
    mutating func ids(_ v: [SecAggClientID]) {
        u32(UInt32(v.count))
        for id in v { u32(id) }
    }
    /// Message header: magic "SA+" and a one-byte message type.
    mutating func header(_ type: SecAggMessageType) {
        raw([0x53, 0x41, 0x2B, 0x01])
        u8(type.rawValue)
    }
}

/// Reader matching ``ByteWriter``; every failure is a `SecAggError.malformedMessage`.
struct ByteReader {
    private let bytes: [UInt8]
    private var offset = 0
    let context: String

    init(_ bytes: [UInt8], context: String) {
        self.bytes = bytes
        self.context = context
    }

    var remaining: Int { bytes.count - offset }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else {
            throw SecAggError.malformedMessage("\(context): truncated (needed \(n) more bytes at offset \(offset), have \(remaining))")
        }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }

    mutating func u8() throws -> UInt8 { try take(1).first! }
    mutating func u32() throws -> UInt32 {
        let s = try take(4)
        return s.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
    mutating func u64() throws -> UInt64 {
        let s = try take(8)
        return s.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
    mutating func raw(_ n: Int) throws -> [UInt8] { Array(try take(n)) }
    mutating func blob(maximum: Int = 1 << 20) throws -> [UInt8] {
        let n = Int(try u32())
        guard n <= maximum else { throw SecAggError.malformedMessage("\(context): field of \(n) bytes exceeds \(maximum)") }
        return try raw(n)
    }
    mutating func ids(maximum: Int = 1 << 24) throws -> [SecAggClientID] {
        let at = offset
        let n = Int(try u32())
        let (bytes, overflow) = n.multipliedReportingOverflow(by: 4)
        guard n <= maximum, !overflow, bytes <= remaining else {
            throw SecAggError.malformedMessage("\(context): list of \(n) client ids at offset \(at) does not fit in \(remaining) bytes")
        }
        return try (0..<n).map { _ in try u32() }
    }
    /// Counts of elements that follow, checked against the bytes left so a hostile count cannot
    /// make the decoder allocate.
    mutating func count(elementSize: Int) throws -> Int {
        let at = offset
        let n = Int(try u32())
        let (bytes, overflow) = n.multipliedReportingOverflow(by: elementSize)
        guard !overflow, bytes <= remaining else {
            throw SecAggError.malformedMessage("\(context): \(n) elements of \(elementSize) bytes at offset \(at) do not fit in \(remaining) bytes")
        }
        return n
    }
    /// A u64 that must fit an `Int` and lie in `range`; `field` names it in the error.
    mutating func int64(_ field: String, in range: ClosedRange<Int>) throws -> Int {
        let at = offset
        let raw = try u64()
        guard let v = Int(exactly: raw), range.contains(v) else {
            throw SecAggError.malformedMessage("\(context): \(field) \(raw) at offset \(at) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }
    /// A u32 that must lie in `range`; `field` names it in the error.
    mutating func int32(_ field: String, in range: ClosedRange<Int>) throws -> Int {
        let at = offset
        let v = Int(try u32())
        guard range.contains(v) else {
            throw SecAggError.malformedMessage("\(context): \(field) \(v) at offset \(at) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }
    mutating func header(_ type: SecAggMessageType) throws {
        let magic = try raw(4)
        guard magic == [0x53, 0x41, 0x2B, 0x01] else {
            throw SecAggError.malformedMessage("\(context): not a SecAgg v1 message")
        }
        let t = try u8()
        guard t == type.rawValue else {
            throw SecAggError.malformedMessage("\(context): message type \(t), expected \(type.rawValue) (\(type))")
        }
    }
    func finish() throws {
        guard remaining == 0 else { throw SecAggError.malformedMessage("\(context): \(remaining) trailing bytes") }
    }
}

enum SecAggMessageType: UInt8, CustomStringConvertible {
    case config = 1, advertiseKeys, keyDirectory, shareKeys, shareRelay, maskedInput, unmaskRequest, unmaskResponse

    var description: String {
        switch self {
        case .config: "config"
        case .advertiseKeys: "advertise-keys"
        case .keyDirectory: "key-directory"
        case .shareKeys: "share-keys"
        case .shareRelay: "share-relay"
        case .maskedInput: "masked-input"
        case .unmaskRequest: "unmask-request"
        case .unmaskResponse: "unmask-response"
        }
    }
}

extension Array where Element == UInt8 {
    var hexString: String { map { String(format: "%02x", $0) }.joined() }
}
