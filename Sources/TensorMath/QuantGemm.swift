import CKernels
import Dispatch

/// Products with a `QuantizedMatrix` in integer arithmetic: the activations are quantized per
/// row to 8-bit blocks of 32 (one F32 scale per block), multiplied with the weight blocks in
/// int8/int16/int32 (AVX2 `vpmaddubsw`/`vpmaddwd`), and the block scales applied in F32.
/// The result differs from the F32 product by the activations' rounding (relative error per
/// block about 1/254 of the block's largest value) on top of the weights' own quantization.
public enum QuantGemm {
    /// `out[M, W.rows] (+)= x[M, W.cols] · Wᵀ`. `threads`: 1 or 2 (default: the project's BLAS
    /// thread policy); with 2, the weight rows are split in two halves.
    public static func forward(
        x: UnsafePointer<Float>, rows m: Int, weight: QuantizedMatrix,
        out: UnsafeMutablePointer<Float>, accumulate: Bool, threads: Int? = nil
    ) {
        precondition(m >= 0 && m <= Int(Int32.max))
        guard m > 0 else { return }
        let k = weight.cols, n = weight.rows
        let nb = k / 32
        let aq = UnsafeMutablePointer<ck_q8_block>.allocate(capacity: m * nb)
        defer { aq.deallocate() }
        ck_q8_quantize_rows(x, Int32(m), Int32(k), k, aq)
        let t = max(1, min(2, threads ?? ComputeThreads.blas))
        let parts = t > 1 && m * n * k >= 1 << 20 ? t : 1
        let blocks = UnsafeRawPointer(weight.blocks), type = weight.type.rawValue
        let acc: Int32 = accumulate ? 1 : 0
        if parts == 1 {
            ck_qgemm_cols(type, Int32(m), Int32(n), Int32(k), aq, blocks, out, n, acc, 0, Int32(n))
            return
        }
        nonisolated(unsafe) let aqc = UnsafePointer(aq), o = out, wb = blocks
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            let n0 = n * p / parts, n1 = n * (p + 1) / parts
            ck_qgemm_cols(type, Int32(m), Int32(n), Int32(k), aqc, wb, o, n, acc, Int32(n0), Int32(n1))
        }
    }

    /// `dInput[M, W.cols] (+)= dOut[M, W.rows] · W` — the input gradient through the quantized
    /// weight, its blocks dequantized in registers inside the kernel (F32 FMA; no F32 copy of
    /// `W`). With 2 threads the rows of `dOut` are split in two halves.
    public static func backward(
        dOut: UnsafePointer<Float>, rows m: Int, weight: QuantizedMatrix,
        dInput: UnsafeMutablePointer<Float>, accumulate: Bool, threads: Int? = nil
    ) {
        precondition(m >= 0 && m <= Int(Int32.max))
        guard m > 0 else { return }
        let k = weight.cols, n = weight.rows
        let t = max(1, min(2, threads ?? ComputeThreads.blas))
        let parts = t > 1 && m >= 8 && m * n * k >= 1 << 20 ? t : 1
        let blocks = UnsafeRawPointer(weight.blocks), type = weight.type.rawValue
        let acc: Int32 = accumulate ? 1 : 0
        nonisolated(unsafe) let dx = dInput, dy = dOut, wb = blocks
        DispatchQueue.concurrentPerform(iterations: parts) { p in
            let i0 = m * p / parts, i1 = m * (p + 1) / parts
            ck_qgemm_backward_rows(type, Int32(m), Int32(n), Int32(k), dy, n, wb, dx, k, acc, Int32(i0), Int32(i1))
        }
    }

    /// The naive reference of `backward`: `[M, W.cols]` in double over the dequantized weights.
    public static func backwardReference(dOut: UnsafePointer<Float>, rows m: Int, weight: QuantizedMatrix) -> [Double] {
        var c = [Double](repeating: 0, count: m * weight.cols)
        guard m > 0 else { return c }
        c.withUnsafeMutableBufferPointer { cp in
            ck_qgemm_backward_ref(weight.type.rawValue, Int32(m), Int32(weight.rows), Int32(weight.cols), dOut, weight.rows,
                                  UnsafeRawPointer(weight.blocks), cp.baseAddress!)
        }
        return c
    }

    /// The naive reference of `forward`: `[M, W.rows]` in double over the dequantized weights,
    /// with the activations either as given (`quantizeActivations: false`) or rounded to the
    /// same 8-bit blocks as the kernel's (`true`, which isolates the kernel's own arithmetic).
    public static func reference(x: UnsafePointer<Float>, rows m: Int, weight: QuantizedMatrix,
                                 quantizeActivations: Bool) -> [Double] {
        let k = weight.cols, n = weight.rows
        var c = [Double](repeating: 0, count: m * n)
        guard m > 0 else { return c }
        let aq = UnsafeMutablePointer<ck_q8_block>.allocate(capacity: m * (k / 32))
        defer { aq.deallocate() }
        if quantizeActivations { ck_q8_quantize_rows(x, Int32(m), Int32(k), k, aq) }
        c.withUnsafeMutableBufferPointer { cp in
            ck_qgemm_ref(weight.type.rawValue, Int32(m), Int32(n), Int32(k), x, k,
                         quantizeActivations ? UnsafePointer(aq) : nil, UnsafeRawPointer(weight.blocks), cp.baseAddress!)
        }
        return c
    }
}
