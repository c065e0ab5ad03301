import CKernels

/// A frozen weight matrix `W[out, in]` (row-major) packed once into the panel
/// layout of `PackedGemm`'s micro-kernel, for both product forms of a linear
/// layer:
///
/// - forward  `Y[M, out] (+)= X[M, in] · Wᵀ`  uses panels of `Wᵀ` (`in` × `out`),
/// - backward `dX[M, in] (+)= dY[M, out] · W` uses panels of `W`  (`out` × `in`).
///
/// Memory: the two packings are each `out × in` floats with the panel dimension
/// rounded up to a multiple of 16 (for the SmolLM2 shapes, no padding), so a
/// `PackedMatrix` holds about **2× the weight's own memory** (`packedBytes`);
/// the original `W` is not retained. The weight must not change after packing
/// (pack again after an update). Immutable after `init`, so it can be shared
/// freely between threads.
public final class PackedMatrix: @unchecked Sendable {
    /// `out`: rows of `W`.
    public let rows: Int
    /// `in`: columns of `W`.
    public let cols: Int
    /// Panels of `Wᵀ` (K = in, N = out) for `PackedGemm.forward`.
    let forwardPanels: UnsafeMutablePointer<Float>
    /// Panels of `W` (K = out, N = in) for `PackedGemm.backward`.
    let backwardPanels: UnsafeMutablePointer<Float>
    /// Bytes held by both packings together.
    public let packedBytes: Int

    /// Packs the 2-D tensor `w` of shape `[out, in]`.
    public convenience init(_ w: Tensor) {
        precondition(w.shape.count == 2, "PackedMatrix needs a 2-D weight, got \(w.shape)")
        let out = w.shape[0], inF = w.shape[1]
        self.init(rows: out, cols: inF) { dst in
            w.data.withUnsafeBufferPointer { dst($0.baseAddress!) }
        }
    }

    /// Packs `rows × cols` row-major floats starting at `weights`.
    public convenience init(rows: Int, cols: Int, weights: UnsafePointer<Float>) {
        self.init(rows: rows, cols: cols) { dst in dst(weights) }
    }

    private init(rows: Int, cols: Int, source: ((UnsafePointer<Float>) -> Void) -> Void) {
        precondition(rows > 0 && cols > 0, "PackedMatrix needs a non-empty weight, got [\(rows), \(cols)]")
        precondition(rows <= Int(Int32.max) && cols <= Int(Int32.max))
        self.rows = rows
        self.cols = cols
        let fCount = ck_packed_count(Int32(cols), Int32(rows))   // K = in,  N = out
        let bCount = ck_packed_count(Int32(rows), Int32(cols))   // K = out, N = in
        let fRaw = ck_alloc(fCount * MemoryLayout<Float>.stride)
        let bRaw = ck_alloc(bCount * MemoryLayout<Float>.stride)
        guard let fRaw, let bRaw else { fatalError("PackedMatrix: out of memory packing [\(rows), \(cols)]") }
        forwardPanels = fRaw.bindMemory(to: Float.self, capacity: fCount)
        backwardPanels = bRaw.bindMemory(to: Float.self, capacity: bCount)
        packedBytes = (fCount + bCount) * MemoryLayout<Float>.stride
        let f = forwardPanels, b = backwardPanels
        source { w in
            ck_pack_b_nt(w, Int32(rows), Int32(cols), f)
            ck_pack_b_nn(w, Int32(rows), Int32(cols), b)
        }
    }

    deinit {
        ck_free(forwardPanels)
        ck_free(backwardPanels)
    }
}

/// Single-precision products with a pre-packed frozen weight (AVX2/FMA
/// micro-kernel in `CKernels`). Only the activation side is touched per call;
/// it is read in place, not packed.
///
/// All buffers are dense row-major. `threads` is 1 or 2 (default: follow the
/// project's BLAS thread policy, `min(2, ComputeThreads.blas)`, so client-level
/// parallelism with BLAS at one thread stays one thread here too). With 2, the
/// calling thread and one persistent worker thread share the output columns;
/// if the worker is busy with a concurrent call, the call runs on the calling
/// thread alone, so calling from several threads at once is safe (and so is
/// calling while OpenBLAS is used elsewhere). Small products always run on
/// one thread.
public enum PackedGemm {
    @inline(__always) static func threadCount(_ requested: Int?) -> Int32 {
        Int32(max(1, min(2, requested ?? ComputeThreads.blas)))
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
        ck_gemm_packed(Int32(m), Int32(weight.rows), Int32(weight.cols),
                       x, weight.cols, weight.forwardPanels,
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
        ck_gemm_packed(Int32(m), Int32(weight.cols), Int32(weight.rows),
                       dOut, weight.rows, weight.backwardPanels,
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
}
