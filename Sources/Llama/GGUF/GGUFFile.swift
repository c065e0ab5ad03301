import Foundation
import TensorMath

/// One tensor's entry in a GGUF file's header.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Dimensions in ggml order: `dims[0]` varies fastest.
    public let dims: [Int]
    public let type: GGMLType
    /// Absolute byte offset of the tensor's data in the file.
    public let fileOffset: Int
    public let byteCount: Int

    /// Row-major shape, outermost first (the reverse of `dims`), as Hugging Face writes it.
    public var shape: [Int] { dims.reversed() }
    public var elementCount: Int { dims.reduce(1, *) }
}

/// A parsed GGUF (v2 or v3) file: metadata, tensor directory, and memory-mapped data.
///
/// Parsing checks every length and offset against the file size, so a truncated
/// or corrupt file gives a `ModelFileError` naming the offset or tensor, never a crash.
public final class GGUFFile: Sendable {
    public let path: String
    public let version: UInt32
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    public let metadata: [String: GGUFValue]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    private let tensorIndex: [String: Int]
    private let bytes: Data

    /// Opens and parses a GGUF file (the data is memory-mapped, not read).
    public convenience init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw ModelFileError.notFound(file: path) }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
            throw ModelFileError.malformed(file: path, offset: 0, reason: "cannot read: \(error.localizedDescription)")
        }
        try self.init(data: data, path: path)
    }

    /// Parses GGUF bytes held in memory; `path` is used in error messages.
    public init(data: Data, path: String) throws {
        self.path = path
        self.bytes = data
        var keys: [String] = []
        var meta: [String: GGUFValue] = [:]
        var infos: [GGUFTensorInfo] = []
        var align = 32
        var ver: UInt32 = 0
        try data.withUnsafeBytes { raw in
            var r = ByteReader(raw, file: path)
            guard raw.count >= 4 else {
                throw ModelFileError.truncated(file: path, offset: 0, needed: 4, what: "the magic number")
            }
            let magic = try r.read(UInt32.self, "the magic number")
            guard magic == 0x4655_4747 else {
                let shown = String(decoding: [UInt8](raw.prefix(4)).map { (32...126).contains($0) ? $0 : 63 }, as: UTF8.self)
                throw ModelFileError.badMagic(file: path, found: "\"\(shown)\"")
            }
            ver = try r.read(UInt32.self, "the version")
            guard ver == 2 || ver == 3 else { throw ModelFileError.unsupportedVersion(file: path, version: ver) }
            let tensorCount = try r.read(UInt64.self, "the tensor count")
            let kvCount = try r.read(UInt64.self, "the metadata count")
            // A metadata entry takes at least 13 bytes and a tensor entry 32, which
            // bounds absurd counts before anything is allocated for them.
            let kvBytes = kvCount.multipliedReportingOverflow(by: 13)
            let tensorBytes = tensorCount.multipliedReportingOverflow(by: 32)
            let minimum = kvBytes.partialValue.addingReportingOverflow(tensorBytes.partialValue)
            guard !kvBytes.overflow, !tensorBytes.overflow, !minimum.overflow,
                  minimum.partialValue <= UInt64(raw.count - r.offset) else {
                throw ModelFileError.truncated(file: path, offset: r.offset,
                    needed: Int(min(minimum.overflow ? UInt64.max : minimum.partialValue, UInt64(Int32.max))),
                    what: "the \(kvCount) metadata entries and \(tensorCount) tensor entries announced at offset 8")
            }
            for _ in 0..<kvCount {
                let keyOffset = r.offset
                let key = try r.readString("a metadata key at offset \(keyOffset)")
                let value = try Self.readValue(&r, key: key, depth: 0)
                if meta.updateValue(value, forKey: key) == nil { keys.append(key) }
            }
            if let a = meta["general.alignment"] {
                guard let v = a.int, v > 0, v & (v - 1) == 0, v <= Self.maximumAlignment else {
                    throw ModelFileError.invalidMetadata(file: path, key: "general.alignment",
                        reason: "\(a.summary) is not a power of two in 1...\(Self.maximumAlignment)")
                }
                align = v
            }
            var pending: [(name: String, dims: [Int], type: GGMLType, offset: UInt64, at: Int)] = []
            for i in 0..<Int(tensorCount) {
                let entryOffset = r.offset
                let name = try r.readString("the name of tensor #\(i)")
                let nDims = try r.read(UInt32.self, "the rank of tensor '\(name)'")
                guard nDims >= 1 && nDims <= 4 else {
                    throw ModelFileError.malformed(file: path, offset: r.offset - 4,
                                                   reason: "tensor '\(name)' has rank \(nDims); ranks 1 to 4 are valid")
                }
                var dims: [Int] = []
                for d in 0..<Int(nDims) {
                    let v = try r.read(UInt64.self, "dimension \(d) of tensor '\(name)'")
                    guard v <= UInt64(Int32.max) else {
                        throw ModelFileError.malformed(file: path, offset: r.offset - 8,
                                                       reason: "tensor '\(name)' dimension \(d) is \(v)")
                    }
                    dims.append(Int(v))
                }
                let typeCode = try r.read(UInt32.self, "the type of tensor '\(name)'")
                guard let type = GGMLType(rawValue: typeCode) else {
                    throw ModelFileError.unknownTensorType(file: path, tensor: name, type: typeCode)
                }
                let off = try r.read(UInt64.self, "the data offset of tensor '\(name)'")
                pending.append((name, dims, type, off, entryOffset))
            }
            // r.offset is within the file and align at most 2^30, so this cannot overflow.
            let dataStart = (r.offset + align - 1) / align * align
            for (name, dims, type, off, at) in pending {
                // Every size from the file is computed with overflow checks: three dimensions of
                // 2^31 - 1 multiply past Int.max.
                var count = 1
                for d in dims {
                    let (product, overflow) = count.multipliedReportingOverflow(by: d)
                    guard !overflow else {
                        throw ModelFileError.malformed(file: path, offset: at,
                            reason: "tensor '\(name)' has dimensions \(dims), whose product overflows")
                    }
                    count = product
                }
                guard let size = type.byteCount(elements: count) else {
                    throw ModelFileError.malformed(file: path, offset: at,
                        reason: "tensor '\(name)' has \(count) elements, not a whole number of \(type.name) blocks, or too many bytes")
                }
                guard off % UInt64(align) == 0 else {
                    throw ModelFileError.malformed(file: path, offset: at,
                        reason: "tensor '\(name)' data offset \(off) is not aligned to \(align)")
                }
                let begin = dataStart.addingReportingOverflow(Int(clamping: off))
                let end = begin.partialValue.addingReportingOverflow(size)
                guard off <= UInt64(raw.count), !begin.overflow, !end.overflow, end.partialValue <= raw.count else {
                    throw ModelFileError.tensorOutOfRange(file: path, tensor: name,
                        offset: begin.overflow ? Int.max : begin.partialValue, size: size, fileSize: raw.count)
                }
                infos.append(GGUFTensorInfo(name: name, dims: dims, type: type,
                                            fileOffset: begin.partialValue, byteCount: size))
            }
        }
        self.version = ver
        self.metadataKeys = keys
        self.metadata = meta
        self.tensors = infos
        self.alignment = align
        var index: [String: Int] = [:]
        for (i, t) in infos.enumerated() { index[t.name] = i }
        self.tensorIndex = index
    }

    private static func readValue(_ r: inout ByteReader, key: String, depth: Int) throws -> GGUFValue {
        let typeOffset = r.offset
        let code = try r.read(UInt32.self, "the value type of '\(key)'")
        guard let type = GGUFValueType(rawValue: code) else {
            throw ModelFileError.malformed(file: r.file, offset: typeOffset,
                                           reason: "metadata '\(key)' has unknown value type \(code)")
        }
        return try readValue(&r, type: type, key: key, depth: depth)
    }

    private static func readValue(_ r: inout ByteReader, type: GGUFValueType, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try r.read(UInt8.self, "'\(key)'"))
        case .int8: return .int8(try r.read(Int8.self, "'\(key)'"))
        case .uint16: return .uint16(try r.read(UInt16.self, "'\(key)'"))
        case .int16: return .int16(try r.read(Int16.self, "'\(key)'"))
        case .uint32: return .uint32(try r.read(UInt32.self, "'\(key)'"))
        case .int32: return .int32(try r.read(Int32.self, "'\(key)'"))
        case .uint64: return .uint64(try r.read(UInt64.self, "'\(key)'"))
        case .int64: return .int64(try r.read(Int64.self, "'\(key)'"))
        case .float32: return .float32(try r.readFloat("'\(key)'"))
        case .float64: return .float64(try r.readDouble("'\(key)'"))
        case .bool:
            let at = r.offset
            let b = try r.read(UInt8.self, "'\(key)'")
            guard b <= 1 else { throw ModelFileError.malformed(file: r.file, offset: at, reason: "metadata '\(key)' bool is \(b)") }
            return .bool(b == 1)
        case .string: return .string(try r.readString("the value of '\(key)'"))
        case .array:
            let at = r.offset
            guard depth < 4 else { throw ModelFileError.malformed(file: r.file, offset: at, reason: "metadata '\(key)' nests arrays too deeply") }
            let code = try r.read(UInt32.self, "the element type of '\(key)'")
            guard let elementType = GGUFValueType(rawValue: code) else {
                throw ModelFileError.malformed(file: r.file, offset: at, reason: "metadata '\(key)' has unknown array element type \(code)")
            }
            let count = try r.read(UInt64.self, "the length of '\(key)'")
            // Each element takes at least this many bytes, so the count is checked against the
            // bytes left before anything is reserved for it.
            let needed = count.multipliedReportingOverflow(by: UInt64(elementType.minimumEncodedSize))
            guard !needed.overflow, needed.partialValue <= UInt64(r.bytes.count - r.offset) else {
                throw ModelFileError.truncated(file: r.file, offset: r.offset,
                                               needed: Int(min(needed.overflow ? UInt64.max : needed.partialValue, UInt64(Int32.max))),
                                               what: "the \(count) elements of '\(key)'")
            }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<count {
                // Nested arrays carry their own (type, count) header and no per-element type code.
                items.append(try readValue(&r, type: elementType, key: key, depth: depth + 1))
            }
            return .array(items)
        }
    }

    /// The largest `general.alignment` accepted (llama.cpp writes 32).
    public static let maximumAlignment = 1 << 30

    /// The directory entry of a tensor, if present.
    public func tensorInfo(_ name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { tensors[$0] }
    }

    /// Dequantizes a tensor to a row-major `Float` tensor.
    public func tensor(_ name: String) throws -> Tensor {
        guard let info = tensorInfo(name) else { throw ModelFileError.missingTensor(file: path, tensor: name) }
        guard info.type.isDequantizable else {
            throw ModelFileError.unsupportedTensorType(file: path, tensor: name, type: info.type.name)
        }
        var out = Tensor(zeros: info.shape)
        bytes.withUnsafeBytes { raw in
            out.data.withUnsafeMutableBufferPointer { dst in
                Dequantize.run(info.type, src: raw.baseAddress! + info.fileOffset,
                               dst: dst.baseAddress!, count: info.elementCount)
            }
        }
        return out
    }

    /// Calls `body` with a tensor's raw bytes in the file (`info.byteCount` bytes; valid only
    /// during the call), without converting them.
    public func withRawTensor<R>(_ name: String, _ body: (GGUFTensorInfo, UnsafeRawPointer) throws -> R) throws -> R {
        guard let info = tensorInfo(name) else { throw ModelFileError.missingTensor(file: path, tensor: name) }
        return try bytes.withUnsafeBytes { raw in try body(info, raw.baseAddress! + info.fileOffset) }
    }

    /// Integer metadata, or an error naming the key.
    public func int(_ key: String) throws -> Int {
        guard let v = metadata[key] else { throw ModelFileError.missingMetadata(file: path, key: key) }
        guard let i = v.int else { throw ModelFileError.invalidMetadata(file: path, key: key, reason: "\(v.summary) is not an integer") }
        return i
    }

    /// Floating-point metadata, or an error naming the key.
    public func double(_ key: String) throws -> Double {
        guard let v = metadata[key] else { throw ModelFileError.missingMetadata(file: path, key: key) }
        guard let d = v.double else { throw ModelFileError.invalidMetadata(file: path, key: key, reason: "\(v.summary) is not a number") }
        return d
    }

    /// String metadata, or an error naming the key.
    public func string(_ key: String) throws -> String {
        guard let v = metadata[key] else { throw ModelFileError.missingMetadata(file: path, key: key) }
        guard let s = v.string else { throw ModelFileError.invalidMetadata(file: path, key: key, reason: "\(v.summary) is not a string") }
        return s
    }
}
