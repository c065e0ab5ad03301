import CKernels
import Foundation

/// The ggml block types a `QuantizedMatrix` can hold (raw values are ggml's type ids).
public enum QuantBlockType: Int32, Sendable, CaseIterable {
    case q4_0 = 2
    case q4_1 = 3
    /// 5-bit codes: nibbles plus a 32-bit mask of fifth bits per block.
    case q5_0 = 6
    case q8_0 = 8
    /// Super-blocks of 256 weights (8 sub-blocks of 32 with 6-bit scales and minimums).
    case q4_K = 12
    /// Q4_K's super-block with a fifth bit per weight (codes 0..31).
    case q5_K = 13
    /// Super-blocks of 256 weights: 6-bit codes (nibbles plus high bit pairs) with a signed
    /// 8-bit scale per 16 weights and an f16 `d`; w = d·sc·(q - 32).
    case q6_K = 14

    /// Weights per GGUF block: 32, or 256 for the K-quant super-blocks.
    public var blockElements: Int { self == .q4_K || self == .q5_K || self == .q6_K ? 256 : 32 }

    /// Bytes per GGUF block of `blockElements` weights.
    public var blockBytes: Int {
        switch self {
        case .q4_K: return 144
        case .q5_K: return 176
        case .q6_K: return 210
        case .q5_0: return 22
        default: return Int(ck_quant_block_bytes(rawValue))
        }
    }

    /// As ggml spells it.
    public var name: String {
        switch self {
        case .q4_0: return "Q4_0"
        case .q4_1: return "Q4_1"
        case .q5_0: return "Q5_0"
        case .q8_0: return "Q8_0"
        case .q4_K: return "Q4_K"
        case .q5_K: return "Q5_K"
        case .q6_K: return "Q6_K"
        }
    }
}

/// A frozen weight `W[rows, cols]` kept in ggml's quantized blocks (32 weights per block along
/// a row, 256 for the K types), never as F32: 0.56 (Q4_0), 0.58 (Q4_K: its 6-bit sub-block scales
/// and minimums take a byte each), 0.63 (Q4_1), 0.69 (Q5_0), 0.70 (Q5_K, as Q4_K), 0.82 (Q6_K, the
/// file's size) or 1.13 (Q8_0, with a per-block sum) bytes per weight. The blocks are repacked once, in `init`, from the GGUF layout into groups of 8
/// rows whose blocks are interleaved (same bit width; `Sources/CKernels/quant_interleaved.c`),
/// the layout the int8 kernels read. Immutable after `init` apart from the transposed copy, built
/// once under a lock on the first input gradient, so it can be shared between threads.
public final class QuantizedMatrix: @unchecked Sendable {
    public let type: QuantBlockType
    /// `out`: rows of `W`.
    public let rows: Int
    /// `in`: columns of `W` (a multiple of 32; of 256 for Q4_K, Q5_K and Q6_K).
    public let cols: Int
    /// Bytes held: the interleaved blocks (rows padded to a multiple of 8).
    public let byteCount: Int
    let blocks: UnsafeMutableRawPointer

    /// Repacks `rows` rows of GGUF-layout blocks from `source` (`rows · cols/blockElements` blocks), taking
    /// source row `rowOrder[r]` as row `r` when given (a row permutation moves whole rows of
    /// blocks: nothing is dequantized).
    public init(type: QuantBlockType, rows: Int, cols: Int, source: UnsafeRawPointer, rowOrder: [Int]? = nil) {
        precondition(rows > 0 && cols > 0 && cols % type.blockElements == 0,
                     "QuantizedMatrix \(type.name) needs [rows, cols] with cols a multiple of \(type.blockElements), got [\(rows), \(cols)]")
        precondition(rows <= Int(Int32.max) && cols <= Int(Int32.max))
        precondition(rowOrder == nil || rowOrder!.count == rows)
        self.type = type
        self.rows = rows
        self.cols = cols
        byteCount = ck_qi_bytes(type.rawValue, Int32(rows), Int32(cols))
        guard let raw = ck_alloc(byteCount) else { fatalError("QuantizedMatrix: out of memory for [\(rows), \(cols)]") }
        blocks = raw
        let order = rowOrder.map { o in o.map { r -> Int32 in
            precondition(r >= 0 && r < rows, "QuantizedMatrix: row order entry \(r) outside 0..<\(rows)")
            return Int32(r)
        } }
        let status = order.withUnsafeOptionalBuffer { ck_qi_pack(type.rawValue, Int32(rows), Int32(cols), source, $0, raw) }
        precondition(status == 0, "QuantizedMatrix: cannot repack [\(rows), \(cols)] \(type.name)")
    }

    /// Quantizes an F32 weight `[rows, cols]` to Q8_0 (for models whose file holds F32/F16
    /// weights, which then exist in F32 already).
    public convenience init(quantizingToQ8_0 w: Tensor) {
        precondition(w.shape.count == 2, "QuantizedMatrix needs a 2-D weight, got \(w.shape)")
        let rows = w.shape[0], cols = w.shape[1]
        precondition(cols % 32 == 0, "Q8_0 needs a multiple of 32 columns, got \(cols)")
        let rowBytes = cols / 32 * QuantBlockType.q8_0.blockBytes
        let tmp = UnsafeMutableRawPointer.allocate(byteCount: rows * rowBytes, alignment: 64)
        defer { tmp.deallocate() }
        w.data.withUnsafeBufferPointer { wp in
            for r in 0..<rows { ck_quantize_row_q8_0(wp.baseAddress! + r * cols, Int32(cols), tmp + r * rowBytes) }
        }
        self.init(type: .q8_0, rows: rows, cols: cols, source: UnsafeRawPointer(tmp))
    }

    /// Row `r` dequantized into `dst` (`cols` floats).
    public func dequantizeRow(_ r: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(r >= 0 && r < rows)
        ck_qi_dequantize_row(type.rawValue, blocks, Int32(cols), Int32(r), dst)
    }

    /// The whole weight dequantized to a row-major F32 tensor (a full copy: for export and
    /// inspection, never on the compute path).
    public func dequantized() -> Tensor {
        var w = Tensor(zeros: [rows, cols])
        w.data.withUnsafeMutableBufferPointer { wb in
            for r in 0..<rows { dequantizeRow(r, into: wb.baseAddress! + r * cols) }
        }
        return w
    }

    // Wᵀ requantized to Q8_0 for the input gradient (`QuantGemm.BackwardPath.transposed`),
    // built on the first input gradient through this weight and kept: inference never builds it.
    private let transposeLock = NSLock()
    private var transposedStorage: UnsafeMutableRawPointer?

    /// Bytes of the transposed copy: `cols` rows of `rows` rounded up to 32, 1.125 bytes per
    /// weight; 0 until the first input gradient through this weight built it.
    public var transposedByteCount: Int {
        transposeLock.withLock { transposedStorage == nil ? 0 : ck_qt_bytes(Int32(rows), Int32(cols)) }
    }

    /// The transposed copy, built on the first call (`ck_qt_build`: 32 rows of `W` dequantized at
    /// a time, so no F32 copy of the whole weight exists during the build either).
    func transposedBlocks() -> UnsafeRawPointer {
        transposeLock.withLock {
            if let t = transposedStorage { return UnsafeRawPointer(t) }
            let bytes = ck_qt_bytes(Int32(rows), Int32(cols))
            guard let raw = ck_alloc(bytes) else { fatalError("QuantizedMatrix: out of memory for the transposed copy of [\(rows), \(cols)]") }
            let status = ck_qt_build(type.rawValue, Int32(rows), Int32(cols), blocks, raw)
            precondition(status == 0, "QuantizedMatrix: cannot build the transposed copy of [\(rows), \(cols)] \(type.name)")
            transposedStorage = raw
            return UnsafeRawPointer(raw)
        }
    }

    /// Column `t` of `W` as the transposed copy holds it (requantized to Q8_0), into `dst`
    /// (`rows` floats); builds the copy if needed. For tests and inspection.
    public func transposedColumn(_ t: Int, into dst: UnsafeMutablePointer<Float>) {
        precondition(t >= 0 && t < cols)
        let padded = (rows + 31) / 32 * 32
        let row = UnsafeMutablePointer<Float>.allocate(capacity: padded)
        defer { row.deallocate() }
        ck_qi_dequantize_row(QuantBlockType.q8_0.rawValue, transposedBlocks(), Int32(padded), Int32(t), row)
        dst.update(from: row, count: rows)
    }

    deinit {
        ck_free(blocks)
        if let t = transposedStorage { ck_free(t) }
    }
}

private extension Optional where Wrapped == [Int32] {
    func withUnsafeOptionalBuffer<R>(_ body: (UnsafePointer<Int32>?) -> R) -> R {
        switch self {
        case .none: return body(nil)
        case .some(let a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        }
    }
}
