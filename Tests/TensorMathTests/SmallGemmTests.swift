import CKernels
import XCTest
@testable import TensorMath

/// `ck_sgemm` (`Sources/CKernels/small_gemm.c`, behind `Matmul.gemm`) against the naive
/// double-precision reference: every transpose, odd shapes around the 6 x 16 / 6 x 8 tiles and
/// the packed kernel's 576-deep K blocks, leading dimensions wider than the rows, and each beta
/// case; B read in place (not transposed, k * n <= 2^18) and packed (transposed, or larger).
final class SmallGemmTests: XCTestCase {
    var rng = SeededRandom(seed: 17)

    func random(_ n: Int) -> [Float] { (0..<n).map { _ in rng.normal() } }

    /// Worst |fast - reference| relative to the scale of the result (|alpha| sqrt(k) for unit
    /// normals), against F32 rounding over k terms (~1e-7 each).
    @discardableResult
    func check(ta: Bool, tb: Bool, m: Int, n: Int, k: Int, alpha: Float, beta: Float, pad: Int,
               file: StaticString = #filePath, line: UInt = #line) -> [Float] {
        let lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad
        let a = random((ta ? k : m) * lda), b = random((tb ? n : k) * ldb)
        var c = random(m * ldc)
        if beta == 0 { c[0] = .nan }   // beta 0 overwrites: a NaN in C must not survive
        var expected = c
        if beta == 0 { expected[0] = 0 }
        Matmul.referenceGemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                             b: b, ldb: ldb, beta: beta, c: &expected, ldc: ldc)
        let status = a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in c.withUnsafeMutableBufferPointer { cp in
            ck_sgemm(ta ? 1 : 0, tb ? 1 : 0, Int32(m), Int32(n), Int32(k), alpha, ap.baseAddress!, lda,
                     bp.baseAddress!, ldb, beta, cp.baseAddress!, ldc)
        } } }
        XCTAssertEqual(status, 0, file: file, line: line)
        let scale = max(1, abs(alpha)) * Float(max(1, k)).squareRoot()
        var worst: Float = 0
        for i in 0..<m {
            for j in 0..<ldc {
                let got = c[i * ldc + j], want = expected[i * ldc + j]
                // Columns past n (the padding) must be left as they were.
                worst = max(worst, j < n ? abs(got - want) / scale : (got == want ? 0 : .infinity))
            }
        }
        XCTAssertLessThanOrEqual(worst, 5e-6, "ta=\(ta) tb=\(tb) m=\(m) n=\(n) k=\(k) alpha=\(alpha) beta=\(beta) pad=\(pad)",
                                 file: file, line: line)
        return c
    }

    /// The 512-bit kernels (AVX-512F: the in-place 8 x 32 / 8 x 16 tiles and the packed 6 x 16
    /// micro-kernel) give the same bits as the 256-bit ones, each within the reference's bound,
    /// on the shapes above (both paths, row and column tails, every beta case).
    func testThe512BitKernelsGiveTheSameBitsAsThe256BitOnes() throws {
        try XCTSkipUnless(ck_f32_isa_available() >= 2, "this CPU has no AVX-512F")
        defer { ck_f32_set_isa(-1) }
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            for (m, n, k) in [(1, 1, 1), (5, 17, 3), (9, 33, 64), (13, 40, 9), (32, 128, 64), (6, 8, 577), (31, 50, 1200), (8, 600, 500),
                              (37, 8, 577), (21, 5, 40), (9, 1, 31), (64, 8, 16), (19, 3, 1536)] {
                for (alpha, beta) in [(Float(1), Float(0)), (2, 0.5)] {
                    var results: [[Float]] = []
                    for isa: Int32 in [1, 2] {
                        XCTAssertEqual(ck_f32_set_isa(isa), isa)
                        rng = SeededRandom(seed: UInt64(m * 1000 + n))
                        results.append(check(ta: ta, tb: tb, m: m, n: n, k: k, alpha: alpha, beta: beta, pad: (m + n + k) % 3))
                    }
                    let differing = zip(results[0], results[1]).filter { $0.0.bitPattern != $0.1.bitPattern }.count
                    XCTAssertEqual(differing, 0, "entries that differ: ta=\(ta) tb=\(tb) m=\(m) n=\(n) k=\(k) beta=\(beta)")
                }
            }
        }
    }

    func testOddShapesEveryTransposeAndBeta() {
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            for (m, n, k) in [(1, 1, 1), (5, 17, 3), (7, 16, 64), (13, 33, 9), (32, 128, 64), (6, 8, 577), (31, 50, 1200), (8, 600, 500),
                              (37, 8, 577), (21, 5, 40), (9, 1, 31), (64, 8, 16), (19, 3, 1536), (5, 700, 600)] {
                for (alpha, beta) in [(Float(1), Float(0)), (0.125, 1), (2, 0.5)] {
                    check(ta: ta, tb: tb, m: m, n: n, k: k, alpha: alpha, beta: beta, pad: (m + n + k) % 3)
                }
            }
        }
    }

    /// The skinny products (n <= 8 < m: the adapter's x·Aᵀ, dY·B and dYᵀ·u) give each row of C the
    /// same bits whether it is computed with all rows or in two parts, as the adapter's products
    /// are split between the compute threads.
    func testSkinnyRowsDoNotDependOnTheSplit() {
        for (ta, tb) in [(false, false), (false, true), (true, false)] {
            let (m, n, k) = (45, 8, 203)
            let lda = ta ? m : k, ldb = tb ? k : n
            let a = random((ta ? k : m) * lda), b = random((tb ? n : k) * ldb), c0 = random(m * n)
            var whole = c0, parts = c0
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in
                whole.withUnsafeMutableBufferPointer { cp in
                    _ = ck_sgemm(ta ? 1 : 0, tb ? 1 : 0, Int32(m), Int32(n), Int32(k), 0.5, ap.baseAddress!, lda,
                                 bp.baseAddress!, ldb, 1, cp.baseAddress!, n)
                }
                parts.withUnsafeMutableBufferPointer { cp in
                    for (r0, r1) in [(0, 19), (19, m)] {
                        let aRows = ta ? ap.baseAddress! + r0 : ap.baseAddress! + r0 * lda
                        _ = ck_sgemm(ta ? 1 : 0, tb ? 1 : 0, Int32(r1 - r0), Int32(n), Int32(k), 0.5, aRows, lda,
                                     bp.baseAddress!, ldb, 1, cp.baseAddress! + r0 * n, n)
                    }
                }
            } }
            XCTAssertEqual(whole.map(\.bitPattern), parts.map(\.bitPattern), "ta=\(ta) tb=\(tb)")
        }
    }

    func testEmptyDepthOrZeroAlphaOnlyScalesC() {
        check(ta: false, tb: true, m: 4, n: 20, k: 0, alpha: 1, beta: 0.5, pad: 1)
        check(ta: true, tb: false, m: 4, n: 20, k: 0, alpha: 1, beta: 0, pad: 0)
        check(ta: false, tb: false, m: 3, n: 5, k: 7, alpha: 0, beta: 1, pad: 2)
    }

    /// The per-thread scratch grows from a small product to a large one and back.
    func testScratchGrowsAndIsReused() {
        check(ta: true, tb: false, m: 3, n: 4, k: 5, alpha: 1, beta: 0, pad: 0)
        check(ta: true, tb: false, m: 300, n: 400, k: 260, alpha: 1, beta: 1, pad: 0)
        check(ta: true, tb: true, m: 3, n: 4, k: 5, alpha: 1, beta: 0, pad: 0)
    }
}
