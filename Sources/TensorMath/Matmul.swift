import CBLAS
import CKernels

/// Matrix products on the raw buffers of the small per-call products (attention per head, the
/// rank-r adapter products): the project's packed micro-kernel (`ck_sgemm`,
/// `Sources/CKernels/small_gemm.c`) on the calling thread, or OpenBLAS's `cblas_sgemm` with
/// `FEDPILOT_GEMM=blas` (where OpenBLAS also does the frozen-weight products, for A/B runs).
/// Not OpenBLAS by default: Debian's 0.3.21 falls back to its SSE3 kernels on CPUs it does not
/// know (an Intel Xeon with AVX-512 here: 21% of an int8 training step in
/// `sgemm_kernel_PRESCOTT`), and its rounding follows the kernel it picks, so results moved
/// between machines.
///
/// Shapes use the BLAS names: `C[M, N] = alpha * op(A)[M, K] * op(B)[K, N] + beta * C`.
public enum Matmul {
    /// Row-major `C = alpha * op(A) * op(B) + beta * C` on raw buffers with explicit leading
    /// dimensions (`beta == 0` overwrites C).
    public static func gemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if !ComputeThreads.openBLASProducts {
            let status = ck_sgemm(transA ? 1 : 0, transB ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha,
                                  a, lda, b, ldb, beta, c, ldc)
            precondition(status == 0, "gemm: no memory for a \(k) x \(n) packed panel")
            return
        }
        ComputeThreads.prepare()
        cblas_sgemm(CblasRowMajor,
                    transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                    beta, c, Int32(ldc))
    }

    /// `x[N, in] · W[out, in]^T -> [N, out]`: the linear layer's product.
    public static func linear(_ x: Tensor, _ w: Tensor) -> Tensor {
        precondition(w.shape.count == 2 && x.columns == w.shape[1],
                     "linear: input has \(x.columns) features, weight is \(w.shape)")
        let n = x.rows, inF = w.shape[1], outF = w.shape[0]
        var y = Tensor(zeros: Array(x.shape.dropLast()) + [outF])
        x.data.withUnsafeBufferPointer { xp in
            w.data.withUnsafeBufferPointer { wp in
                y.data.withUnsafeMutableBufferPointer { yp in
                    gemm(transA: false, transB: true, m: n, n: outF, k: inF,
                         a: xp.baseAddress!, lda: inF, b: wp.baseAddress!, ldb: inF,
                         c: yp.baseAddress!, ldc: outF)
                }
            }
        }
        return y
    }

    /// Naive reference for `gemm`, used by tests.
    public static func referenceGemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
        a: [Float], lda: Int, b: [Float], ldb: Int, beta: Float = 0, c: inout [Float], ldc: Int
    ) {
        for i in 0..<m {
            for j in 0..<n {
                var s: Double = 0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(av) * Double(bv)
                }
                c[i * ldc + j] = alpha * Float(s) + (beta == 0 ? 0 : beta * c[i * ldc + j])
            }
        }
    }
}
