import Foundation

/// Writes GGUF v3 files: metadata of any value type and tensors as F32, F16 or
/// raw pre-quantized blocks. Used for test fixtures and for exporting models.
public struct GGUFWriter {
    private var metadata: [(String, GGUFValue)] = []
    private var tensors: [(name: String, dims: [Int], type: GGMLType, bytes: Data)] = []
    public var alignment = 32

    public init() {}

    public mutating func set(_ key: String, _ value: GGUFValue) { metadata.append((key, value)) }

    /// Adds an F32 tensor with a row-major `shape` (written in ggml's reversed order).
    public mutating func addF32(_ name: String, shape: [Int], _ values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "tensor \(name): \(values.count) values for shape \(shape)")
        var d = Data(capacity: values.count * 4)
        for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        tensors.append((name, shape.reversed(), .f32, d))
    }

    /// Adds an F16 tensor.
    public mutating func addF16(_ name: String, shape: [Int], _ values: [Float]) {
        var d = Data(capacity: values.count * 2)
        for v in values { withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        tensors.append((name, shape.reversed(), .f16, d))
    }

    /// Adds a tensor whose bytes are already encoded in `type`.
    public mutating func addRaw(_ name: String, shape: [Int], type: GGMLType, bytes: Data) {
        tensors.append((name, shape.reversed(), type, bytes))
    }

    /// The complete file.
    public func data() -> Data {
        var out = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out.append(contentsOf: Array(s.utf8)) }
        func typeCode(_ v: GGUFValue) -> UInt32 {
            switch v {
            case .uint8: return 0
            case .int8: return 1
            case .uint16: return 2
            case .int16: return 3
            case .uint32: return 4
            case .int32: return 5
            case .float32: return 6
            case .bool: return 7
            case .string: return 8
            case .array: return 9
            case .uint64: return 10
            case .int64: return 11
            case .float64: return 12
            }
        }
        func value(_ v: GGUFValue) {
            switch v {
            case .uint8(let x): out.append(x)
            case .int8(let x): out.append(UInt8(bitPattern: x))
            case .uint16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .int16(let x): withUnsafeBytes(of: x.littleEndian) { out.append(contentsOf: $0) }
            case .uint32(let x): u32(x)
            case .int32(let x): u32(UInt32(bitPattern: x))
            case .uint64(let x): u64(x)
            case .int64(let x): u64(UInt64(bitPattern: x))
            case .float32(let x): u32(x.bitPattern)
            case .float64(let x): u64(x.bitPattern)
            case .bool(let x): out.append(x ? 1 : 0)
            case .string(let s): string(s)
            case .array(let items):
                u32(items.first.map(typeCode) ?? 0)
                u64(UInt64(items.count))
                items.forEach(value)
            }
        }
        out.append(contentsOf: Array("GGUF".utf8))
        u32(3)
        u64(UInt64(tensors.count))
        var meta = metadata
        if alignment != 32 { meta.append(("general.alignment", .uint32(UInt32(alignment)))) }
        u64(UInt64(meta.count))
        for (k, v) in meta { string(k); u32(typeCode(v)); value(v) }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset += (t.bytes.count + alignment - 1) / alignment * alignment
        }
        for (t, off) in zip(tensors, offsets) {
            string(t.name)
            u32(UInt32(t.dims.count))
            t.dims.forEach { u64(UInt64($0)) }
            u32(t.type.rawValue)
            u64(UInt64(off))
        }
        while out.count % alignment != 0 { out.append(0) }
        for t in tensors {
            out.append(t.bytes)
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }
}
