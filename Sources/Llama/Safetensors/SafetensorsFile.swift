import Foundation
import TensorMath

/// One tensor's entry in a safetensors header.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: String
    public let shape: [Int]
    /// Absolute byte range of the data in the file.
    public let range: Range<Int>
}

/// A parsed `.safetensors` file: an 8-byte header length, a JSON header, then raw
/// little-endian data. Offsets and sizes are checked against the file, so a corrupt
/// file gives an error naming the tensor or offset.
public final class SafetensorsFile: Sendable {
    public let path: String
    public let tensors: [String: SafetensorsTensorInfo]
    public let metadata: [String: String]
    private let bytes: Data

    static let elementSizes = ["F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1]

    public convenience init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw ModelFileError.notFound(file: path) }
        try self.init(data: try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped), path: path)
    }

    public init(data: Data, path: String) throws {
        self.path = path
        self.bytes = data
        guard data.count >= 8 else {
            throw ModelFileError.truncated(file: path, offset: 0, needed: 8 - data.count, what: "the header length")
        }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw ModelFileError.truncated(file: path, offset: 8, needed: Int(min(headerLength, UInt64(Int32.max))),
                                           what: "the JSON header")
        }
        let dataStart = 8 + Int(headerLength)
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<dataStart)) } catch {
            throw ModelFileError.malformed(file: path, offset: 8, reason: "the header is not valid JSON")
        }
        guard let header = json as? [String: Any] else {
            throw ModelFileError.malformed(file: path, offset: 8, reason: "the header is not a JSON object")
        }
        var infos: [String: SafetensorsTensorInfo] = [:]
        var meta: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                meta = (value as? [String: String]) ?? [:]
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shape = entry["shape"] as? [Int], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2 else {
                throw ModelFileError.malformed(file: path, offset: 8, reason: "header entry '\(name)' lacks dtype, shape or data_offsets")
            }
            guard let size = Self.elementSizes[dtype] else {
                throw ModelFileError.unsupportedTensorType(file: path, tensor: name, type: dtype)
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard shape.allSatisfy({ $0 >= 0 }), begin >= 0, end >= begin else {
                throw ModelFileError.malformed(file: path, offset: 8, reason: "tensor '\(name)' has shape \(shape) and offsets \(offsets)")
            }
            // Sizes from the header are computed with overflow checks: a shape of [2^32, 2^32]
            // or offsets near Int.max must be refused, not trap.
            guard let needed = Self.byteCount(shape: shape, elementSize: size) else {
                throw ModelFileError.malformed(file: path, offset: 8,
                    reason: "tensor '\(name)' has shape \(shape), whose size in bytes overflows")
            }
            let (first, firstOverflow) = dataStart.addingReportingOverflow(begin)
            let (last, lastOverflow) = dataStart.addingReportingOverflow(end)
            guard !firstOverflow, !lastOverflow, last <= data.count else {
                throw ModelFileError.tensorOutOfRange(file: path, tensor: name, offset: firstOverflow ? Int.max : first,
                                                      size: end - begin, fileSize: data.count)
            }
            guard end - begin == needed else {
                throw ModelFileError.malformed(file: path, offset: first,
                    reason: "tensor '\(name)' spans \(end - begin) bytes, but \(dtype) \(shape) needs \(needed)")
            }
            infos[name] = SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, range: (dataStart + begin)..<(dataStart + end))
        }
        self.tensors = infos
        self.metadata = meta
    }

    /// Bytes of a tensor of `shape`, or nil when the product overflows.
    static func byteCount(shape: [Int], elementSize: Int) -> Int? {
        var total = elementSize
        for d in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            total = product
        }
        return total
    }

    /// Converts a floating-point tensor to `Float`.
    public func tensor(_ name: String) throws -> Tensor {
        guard let info = tensors[name] else { throw ModelFileError.missingTensor(file: path, tensor: name) }
        let count = info.shape.reduce(1, *)
        var out = Tensor(zeros: info.shape)
        try bytes.withUnsafeBytes { raw in
            let src = raw.baseAddress! + info.range.lowerBound
            try out.data.withUnsafeMutableBufferPointer { dst in
                switch info.dtype {
                case "F32": for i in 0..<count { dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
                case "F16": for i in 0..<count { dst[i] = Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
                case "BF16": for i in 0..<count { dst[i] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
                case "F64": for i in 0..<count { dst[i] = Float(Double(bitPattern: UInt64(littleEndian: src.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
                default: throw ModelFileError.unsupportedTensorType(file: path, tensor: name, type: info.dtype)
                }
            }
        }
        return out
    }
}

/// Writes `.safetensors` files with F32 tensors (names sorted, as Hugging Face does).
public struct SafetensorsWriter {
    private var entries: [(String, [Int], [Float])] = []
    public var metadata: [String: String] = [:]

    public init() {}

    public mutating func add(_ name: String, _ t: Tensor) { entries.append((name, t.shape, t.data)) }
    public mutating func add(_ name: String, shape: [Int], _ values: [Float]) { entries.append((name, shape, values)) }

    public func data() throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let sorted = entries.sorted { $0.0 < $1.0 }
        for (name, shape, values) in sorted {
            header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [offset, offset + values.count * 4]] as [String: Any]
            offset += values.count * 4
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (json.count + 8) % 8 != 0 { json.append(0x20) }  // pad with spaces so data starts 8-aligned
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for (_, _, values) in sorted {
            values.withUnsafeBufferPointer { p in out.append(UnsafeBufferPointer(start: UnsafeRawPointer(p.baseAddress!).assumingMemoryBound(to: UInt8.self), count: p.count * 4)) }
        }
        return out
    }

    public func write(to path: String) throws {
        try data().write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
