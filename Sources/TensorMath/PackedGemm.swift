import CKernels

/// A frozen weight matrix `W[out, in]` (row-major) packed once into the panel
/// layout of `PackedGemm`'s micro-kernel, for one or both product forms of a
/// linear layer (`Forms`):
///
/// - forward  `Y[M, out] (+)= X[M, in] · Wᵀ`  uses panels of `Wᵀ` (`in` × `out`),
/// - backward `dX[M, in] (+)= dY[M, out] · W` uses panels of `W`  (`out` × `in`).
///
/// Memory: each packing is `out × in` floats with the panel dimension rounded up
/// to a multiple of 16 (for the SmolLM2 shapes, no padding), so a `PackedMatrix`
/// with both forms holds about **2× the weight's own memory** (`packedBytes`);
/// the original `W` is not retained. The weight must not change after packing
/// (pack again after an update). Immutable after `init`, so it can be shared
/// freely between threads.
public final class PackedMatrix: @unchecked Sendable {
    /// Which product forms a `PackedMatrix` holds.
    public struct Forms: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// `X · Wᵀ` (`PackedGemm.forward`).
        public static let forward = Forms(rawValue: 1)
        /// `dY · W` (`PackedGemm.backward`).
        public static let backward = Forms(rawValue: 2)
        public static let both: Forms = [.forward, .backward]
    }

    /// `out`: rows of `W`.
    public let rows: Int
    /// `in`: columns of `W`.
    public let cols: Int
    /// The forms packed.
    public let forms: Forms
    /// Panels of `Wᵀ` (K = in, N = out) for `PackedGemm.forward`.
    let forwardPanels: UnsafeMutablePointer<Float>?
    /// Panels of `W` (K = out, N = in) for `PackedGemm.backward`.
    let backwardPanels: UnsafeMutablePointer<Float>?
    /// Bytes held by the packings together.
    public let packedBytes: Int

    /// Packs the 2-D tensor `w` of shape `[out, in]` in the given forms (default both).
    public convenience init(_ w: Tensor, forms: Forms = .both) {
        precondition(w.shape.count == 2, "PackedMatrix needs a 2-D weight, got \(w.shape)")
        let out = w.shape[0], inF = w.shape[1]
        self.init(rows: out, cols: inF, forms: forms) { dst in
            w.data.withUnsafeBufferPointer { dst($0.baseAddress!) }
        }
    }

    /// Packs `rows × cols` row-major floats starting at `weights`.
    public convenience init(rows: Int, cols: Int, weights: UnsafePointer<Float>, forms: Forms = .both) {
        self.init(rows: rows, cols: cols, forms: forms) { dst in dst(weights) }
    }

    private init(rows: Int, cols: Int, forms: Forms, source: ((UnsafePointer<Float>) -> Void) -> Void) {
        precondition(rows > 0 && cols > 0, "PackedMatrix needs a non-empty weight, got [\(rows), \(cols)]")
        precondition(rows <= Int(Int32.max) && cols <= Int(Int32.max))
        precondition(!forms.isEmpty, "PackedMatrix needs at least one form")
        self.rows = rows
        self.cols = cols
        self.forms = forms
        func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
            guard let raw = ck_alloc(count * MemoryLayout<Float>.stride) else {
                fatalError("PackedMatrix: out of memory packing [\(rows), \(cols)]")
            }
            return raw.bindMemory(to: Float.self, capacity: count)
        }
        let fCount = forms.contains(.forward) ? ck_packed_count(Int32(cols), Int32(rows)) : 0   // K = in,  N = out
        let bCount = forms.contains(.backward) ? ck_packed_count(Int32(rows), Int32(cols)) : 0  // K = out, N = in
        forwardPanels = fCount > 0 ? allocate(fCount) : nil
        backwardPanels = bCount > 0 ? allocate(bCount) : nil
        packedBytes = (fCount + bCount) * MemoryLayout<Float>.stride
        let f = forwardPanels, b = backwardPanels
        source { w in
            if let f { ck_pack_b_nt(w, Int32(rows), Int32(cols), f) }
            if let b { ck_pack_b_nn(w, Int32(rows), Int32(cols), b) }
        }
    }

    /// The row-major weight `[rows, cols]` rebuilt from a packed form (bit-exact), for callers
    /// that keep only the packed copy.
    public func unpacked() -> Tensor {
        var w = Tensor(zeros: [rows, cols])
        let nr = Int(CK_NR)
        w.data.withUnsafeMutableBufferPointer { wb in
            let dst = wb.baseAddress!
            if let b = backwardPanels {
                // Panel p holds columns [p*NR, p*NR + NR) of W, one NR-wide row slice per W row.
                for p in 0..<((cols + nr - 1) / nr) {
                    let j0 = p * nr, width = min(nr, cols - j0)
                    let panel = b + p * rows * nr
                    for r in 0..<rows { (dst + r * cols + j0).update(from: panel + r * nr, count: width) }
                }
            } else if let f = forwardPanels {
                // Panel p holds rows [p*NR, p*NR + NR) of W, transposed (one NR-wide slice per column).
                for p in 0..<((rows + nr - 1) / nr) {
                    let i0 = p * nr, height = min(nr, rows - i0)
                    let panel = f + p * cols * nr
                    for k in 0..<cols {
                        for i in 0..<height { dst[(i0 + i) * cols + k] = panel[k * nr + i] }
                    }
                }
            }
        }
        return w
    }

    deinit {
        if let forwardPanels { ck_free(forwardPanels) }
        if let backwardPanels { ck_free(backwardPanels) }
    }
}

/// Single-precision products with a pre-packed frozen weight (AVX2/FMA
/// micro-kernel in `CKernels`). Only the activation side is touched per call;
/// it is read in place, not packed.
///
/// All buffers are dense row-major. `threads` is 1 or 2 (default: follow the
/// project's thread policy, `min(2, ComputeThreads.numeric)`, so client-level
/// parallelism with BLAS at one thread stays one thread here too). With 2, the
/// calling thread and one persistent worker thread share the output columns;
/// if the worker is busy with a concurrent call, the call runs on the calling
/// thread alone, so calling from several threads at once is safe (and so is
/// calling while OpenBLAS is used elsewhere). Small products always run on
/// one thread.
public enum PackedGemm {
    @inline(__always) static func threadCount(_ requested: Int?) -> Int32 {
        Int32(ComputeThreads.clamped(requested))
    }

    /// `out[M, W.rows] (+)= x[M, W.cols] · Wᵀ` — a linear layer's forward product.
    ///
    /// `accumulate: false` overwrites `out`; `true` adds to it.
    public static func forward(
        x: UnsafePointer<Float>, rows m: Int, weight: PackedMatrix,
        out: UnsafeMutablePointer<Float>, accumulate: Bool, threads: Int? = nil
    ) {
        precondition(m >= 0 && m <= Int(Int32.max))
        guard m > 0 else { return }
        guard let panels = weight.forwardPanels else { preconditionFailure("PackedGemm.forward: the forward form was not packed") }
        ck_gemm_packed(Int32(m), Int32(weight.rows), Int32(weight.cols),
                       x, weight.cols, panels,
                       out, weight.rows, accumulate ? 1 : 0, threadCount(threads))
    }

    /// `dInput[M, W.cols] (+)= dOut[M, W.rows] · W` — the input gradient of a linear layer.
    ///
    /// `accumulate: false` overwrites `dInput`; `true` adds to it.
    public static func backward(
        dOut: UnsafePointer<Float>, rows m: Int, weight: PackedMatrix,
        dInput: UnsafeMutablePointer<Float>, accumulate: Bool, threads: Int? = nil
    ) {
        precondition(m >= 0 && m <= Int(Int32.max))
        guard m > 0 else { return }
        guard let panels = weight.backwardPanels else { preconditionFailure("PackedGemm.backward: the backward form was not packed") }
        ck_gemm_packed(Int32(m), Int32(weight.cols), Int32(weight.rows),
                       dOut, weight.rows, panels,
                       dInput, weight.cols, accumulate ? 1 : 0, threadCount(threads))
    }

    /// Tensor convenience: `x[..., in] · Wᵀ -> [..., out]` (like `Matmul.linear`).
    public static func linear(_ x: Tensor, _ weight: PackedMatrix) -> Tensor {
        precondition(x.columns == weight.cols,
                     "PackedGemm.linear: input has \(x.columns) features, weight is [\(weight.rows), \(weight.cols)]")
        var y = Tensor(zeros: Array(x.shape.dropLast()) + [weight.rows])
        let m = x.rows
        guard m > 0 else { return y }
        x.data.withUnsafeBufferPointer { xp in
            y.data.withUnsafeMutableBufferPointer { yp in
                forward(x: xp.baseAddress!, rows: m, weight: weight, out: yp.baseAddress!, accumulate: false)
            }
        }
        return y
    }

    /// Whether the AVX2/FMA kernel was compiled in (false means the portable scalar fallback).
    public static var usesAVX2: Bool { ck_uses_avx2() != 0 }

    /// The instruction set of the F32 kernels now used (this micro-kernel and `ck_sgemm`'s
    /// in-place tiles): AVX-512F when the CPU has it (`FEDPILOT_F32_ISA=avx2` keeps the 256-bit
    /// kernels; both give the same bits), else AVX2/FMA.
    public static var isaName: String {
        switch ck_f32_isa() {
        case 2: return "AVX-512F"
        case 1: return "AVX2/FMA"
        default: return "portable C"
        }
    }
}
