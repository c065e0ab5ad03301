import Foundation
import TensorMath

/// The kernel that multiplies activations by a model's frozen weights.
public enum FrozenGemm: String, Sendable, CaseIterable {
    /// The AVX2/FMA kernel of `PackedGemm` on weights packed once (per weight and product
    /// form, on first use) and kept for the model's lifetime.
    case packed
    /// OpenBLAS `sgemm` on the row-major weights (which it re-packs on every call).
    case blas
    /// Integer products (`QuantGemm`) against the weights kept in their file's quantized
    /// blocks (`QuantizedWeights`); chosen by `ComputeMode.int8` at load, never by the environment.
    case int8

    /// `FEDPILOT_GEMM=blas` selects OpenBLAS, for A/B comparisons; otherwise the packed
    /// kernel, when this build has its AVX2 micro-kernel (else OpenBLAS).
    public static let fromEnvironment: FrozenGemm = {
        if ProcessInfo.processInfo.environment["FEDPILOT_GEMM"]?.lowercased() == "blas" { return .blas }
        return PackedGemm.usesAVX2 ? .packed : .blas
    }()

    /// LM-head products with fewer rows than this use OpenBLAS on the row-major head even in
    /// `.packed` mode (token-by-token decoding: the packed micro-kernel computes 6 rows at a
    /// time, and the head's forward form is then never packed).
    static let minimumPackedRows = 4
}

/// A frozen weight matrix of the model: a linear layer of a block, or the LM head.
enum FrozenWeightID: Hashable, Sendable {
    case layer(Int, LoRATarget)
    case head
}

/// Packed copies of a model's frozen LM head. It is packed for a product form (`X · Wᵀ`
/// forward, `dY · W` backward) the first time that form is used, then shared by every user
/// of the model: in-process clients share one base model, so the packing is paid once per
/// process. Generation and evaluation only ever build the forward form. (The row-major
/// embedding stays, for the token lookup.)
final class PackedWeightStore: @unchecked Sendable {
    private let lock = NSLock()
    private var forward: [FrozenWeightID: PackedMatrix] = [:]
    private var backward: [FrozenWeightID: PackedMatrix] = [:]

    /// The packed `form` (`.forward` or `.backward`) of weight `id`, packing `source()` if needed.
    func matrix(_ id: FrozenWeightID, form: PackedMatrix.Forms, source: () -> Tensor) -> PackedMatrix {
        lock.lock()
        defer { lock.unlock() }
        if form == .forward {
            if let m = forward[id] { return m }
            let m = PackedMatrix(source(), forms: .forward)
            forward[id] = m
            return m
        } else {
            if let m = backward[id] { return m }
            let m = PackedMatrix(source(), forms: .backward)
            backward[id] = m
            return m
        }
    }

    /// Bytes held by every packing built so far.
    var packedBytes: Int {
        lock.lock()
        defer { lock.unlock() }
        return forward.values.reduce(0) { $0 + $1.packedBytes } + backward.values.reduce(0) { $0 + $1.packedBytes }
    }
}

extension LlamaModel {
    /// The row-major frozen weight `[out, in]` (`.blas` only for the blocks' projections).
    func frozenWeight(_ id: FrozenWeightID) -> Tensor {
        switch id {
        case .head: return stored.outputProjection
        case .layer(let i, let target):
            precondition(packedLayers == nil && quantized == nil, "the projections of a packed or int8 model exist only in that form")
            let l = stored.layers[i]
            switch target {
            case .q: return l.wq
            case .k: return l.wk
            case .v: return l.wv
            case .o: return l.wo
            case .gate: return l.gate
            case .up: return l.up
            case .down: return l.down
            }
        }
    }

    /// Bytes of the frozen matrices kept quantized (`.int8`; 0 otherwise).
    public var quantizedWeightBytes: Int { quantized?.byteCount ?? 0 }

    /// The quantized frozen weight `id` (`.int8` only).
    func quantizedWeight(_ id: FrozenWeightID) -> QuantizedMatrix {
        switch id {
        case .head: return quantized!.outputProjection
        case .layer(let i, let target): return quantized!.layers[i][LoRATarget.allCases.firstIndex(of: target)!]
        }
    }

    /// Bytes of packed weights built so far (0 with OpenBLAS).
    public var packedWeightBytes: Int {
        packedWeights.packedBytes + (packedLayers ?? []).joined().reduce(0) { $0 + $1.packedBytes }
    }

    /// The packed matrix for weight `id` in `form` (`.packed` only).
    private func packed(_ id: FrozenWeightID, _ form: PackedMatrix.Forms) -> PackedMatrix {
        switch id {
        case .layer(let i, let target): return packedLayers![i][LoRATarget.allCases.firstIndex(of: target)!]
        case .head: return packedWeights.matrix(id, form: form) { frozenWeight(id) }
        }
    }

    /// `x[rows, cols]` quantized once for several int8 products that read it (q, k and v; gate
    /// and up), or nil on the other paths (nothing to share).
    func quantizedInput(_ x: UnsafePointer<Float>, rows: Int, cols: Int) -> QuantGemm.QuantizedRows? {
        frozenGemm == .int8 && rows > 0 ? QuantGemm.QuantizedRows(x, rows: rows, cols: cols) : nil
    }

    /// `out[rows, out] (+)= x[rows, in] · Wᵀ` for the frozen weight `id`.
    ///
    /// `columns` (int8 products only, `frozenGemm == .int8`) is called inside the product's
    /// work items over column ranges `[n0, n1)` of `out` that together cover it once, each as
    /// soon as the product is complete there (on the item's thread, while those columns are in
    /// its cache). `quantized` (int8 only): `x` already quantized by `quantizedInput`.
    func frozenForward(_ id: FrozenWeightID, _ x: UnsafePointer<Float>, rows: Int,
                       out: UnsafeMutablePointer<Float>, accumulate: Bool = false, quantized: QuantGemm.QuantizedRows? = nil,
                       columns: ((_ n0: Int, _ n1: Int) -> Void)? = nil) {
        precondition(columns == nil || frozenGemm == .int8, "a column epilogue on the \(frozenGemm) path")
        guard rows > 0 else { return }
        if frozenGemm == .int8 {
            QuantGemm.forward(x: x, rows: rows, weight: quantizedWeight(id), out: out, accumulate: accumulate,
                              quantized: quantized, columns: columns)
            return
        }
        if frozenGemm == .packed && (rows >= FrozenGemm.minimumPackedRows || id != .head) {
            PackedGemm.forward(x: x, rows: rows, weight: packed(id, .forward), out: out, accumulate: accumulate)
            return
        }
        let w = frozenWeight(id)
        let (outF, inF) = (w.shape[0], w.shape[1])
        w.data.withUnsafeBufferPointer { wp in
            Matmul.gemm(transA: false, transB: true, m: rows, n: outF, k: inF, a: x, lda: inF,
                        b: wp.baseAddress!, ldb: inF, beta: accumulate ? 1 : 0, c: out, ldc: outF)
        }
    }

    /// `dInput[rows, in] (+)= dOut[rows, out] · W` for the frozen weight `id` (its input gradient).
    func frozenBackward(_ id: FrozenWeightID, _ dOut: UnsafePointer<Float>, rows: Int,
                        dInput: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        guard rows > 0 else { return }
        if frozenGemm == .int8 {
            QuantGemm.backward(dOut: dOut, rows: rows, weight: quantizedWeight(id), dInput: dInput, accumulate: accumulate)
            return
        }
        if frozenGemm == .packed && (rows >= FrozenGemm.minimumPackedRows || id != .head) {
            PackedGemm.backward(dOut: dOut, rows: rows, weight: packed(id, .backward), dInput: dInput, accumulate: accumulate)
            return
        }
        let w = frozenWeight(id)
        let (outF, inF) = (w.shape[0], w.shape[1])
        w.data.withUnsafeBufferPointer { wp in
            Matmul.gemm(transA: false, transB: false, m: rows, n: inF, k: outF, a: dOut, lda: outF,
                        b: wp.baseAddress!, ldb: inF, beta: accumulate ? 1 : 0, c: dInput, ldc: inF)
        }
    }
}
