import XCTest
@testable import TensorMath

/// Each fast kernel against its naive double-precision reference.
final class KernelTests: XCTestCase {
    var rng = SeededRandom(seed: 42)

    func randomArray(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in rng.normal() * scale } }

    func assertClose(_ a: [Float], _ b: [Float], tolerance: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tolerance, "\(what): worst difference \(worst)", file: file, line: line)
    }

    func testGemmAllTransposesMatchReference() {
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let m = 7, n = 5, k = 9
            let a = randomArray(m * k), b = randomArray(k * n)
            let lda = ta ? m : k, ldb = tb ? k : n
            var expected = randomArray(m * n)
            var fast = expected
            Matmul.referenceGemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda,
                                 b: b, ldb: ldb, beta: 1, c: &expected, ldc: n)
            a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in fast.withUnsafeMutableBufferPointer { cp in
                Matmul.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: ap.baseAddress!, lda: lda,
                            b: bp.baseAddress!, ldb: ldb, beta: 1, c: cp.baseAddress!, ldc: n)
            } } }
            assertClose(fast, expected, tolerance: 1e-5, "gemm transA=\(ta) transB=\(tb)")
        }
    }

    func testLinearMatchesReference() {
        let x = Tensor(shape: [3, 4, 6], data: randomArray(72))
        let w = Tensor(shape: [5, 6], data: randomArray(30))
        let y = Matmul.linear(x, w)
        XCTAssertEqual(y.shape, [3, 4, 5])
        var expected = [Float](repeating: 0, count: 60)
        Matmul.referenceGemm(transA: false, transB: true, m: 12, n: 5, k: 6, a: x.data, lda: 6, b: w.data, ldb: 6, c: &expected, ldc: 5)
        assertClose(y.data, expected, tolerance: 1e-5, "linear")
    }

    func testRMSNormMatchesReference() {
        let x = randomArray(5 * 33, scale: 3), w = randomArray(33)
        let fast = RMSNorm.forward(Tensor(shape: [5, 33], data: x), weight: w, eps: 1e-5)
        assertClose(fast.data, RMSNorm.reference(x, weight: w, rows: 5, dim: 33, eps: 1e-5), tolerance: 1e-5, "rmsnorm")
    }

    /// The int8 products' work items: they cover the range once, in order, none empty, each
    /// round no larger than the one before, and the last item small.
    func testTaperedBoundsCoverTheRangeWithShrinkingItems() {
        XCTAssertEqual(ComputeThreads.taperedBounds(62, threads: 2), [0, 16, 32, 40, 48, 52, 56, 58, 60, 61, 62])
        for count in [1, 2, 5, 12, 36, 96, 3072] {
            for threads in [1, 2, 3] {
                let b = ComputeThreads.taperedBounds(count, threads: threads)
                XCTAssertEqual(b.first, 0)
                XCTAssertEqual(b.last, count, "\(count) over \(threads)")
                let sizes = zip(b.dropFirst(), b).map { $0 - $1 }
                XCTAssertTrue(sizes.allSatisfy { $0 > 0 }, "\(count): \(b)")
                if count >= 62 { XCTAssertLessThanOrEqual(sizes.last!, count / 31 + 1, "\(count): \(b)") }
            }
        }
    }

    /// A training batch's rows are shared between the threads (RMSNorm forward and backward,
    /// RoPE): the same bits as each row on its own, and within the reference's tolerance.
    func testRowsSharedBetweenThreadsGiveTheBitsOfOneRowAtATime() {
        let (rows, dim) = (301, 160)   // 48160 elements: two parts
        let x = randomArray(rows * dim, scale: 3), w = randomArray(dim), dy = randomArray(rows * dim)
        var whole = [Float](repeating: .nan, count: rows * dim), single = whole
        var invWhole = [Float](repeating: .nan, count: rows), invSingle = invWhole
        var dxWhole = randomArray(rows * dim), dxSingle = dxWhole
        let rope = RoPE(headDim: 32, theta: 10000, maxPositions: 512)
        let positions = (0..<rows).map { Int32(($0 * 7) % 512) }
        var qWhole = x, qSingle = x
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                whole.withUnsafeMutableBufferPointer { o in
                    invWhole.withUnsafeMutableBufferPointer {
                        RMSNorm.forward(xp.baseAddress!, weight: wp.baseAddress!, out: o.baseAddress!, rows: rows, dim: dim, eps: 1e-5,
                                        inverseRMS: $0.baseAddress!)
                    }
                }
                single.withUnsafeMutableBufferPointer { o in
                    invSingle.withUnsafeMutableBufferPointer { inv in
                        for r in 0..<rows {
                            RMSNorm.forward(xp.baseAddress! + r * dim, weight: wp.baseAddress!, out: o.baseAddress! + r * dim, rows: 1,
                                            dim: dim, eps: 1e-5, inverseRMS: inv.baseAddress! + r)
                        }
                    }
                }
                dy.withUnsafeBufferPointer { gp in
                    invWhole.withUnsafeBufferPointer { inv in
                        dxWhole.withUnsafeMutableBufferPointer {
                            RMSNorm.backward(x: xp.baseAddress!, weight: wp.baseAddress!, inverseRMS: inv.baseAddress!, dy: gp.baseAddress!,
                                             dx: $0.baseAddress!, rows: rows, dim: dim)
                        }
                        dxSingle.withUnsafeMutableBufferPointer { dx in
                            for r in 0..<rows {
                                RMSNorm.backward(x: xp.baseAddress! + r * dim, weight: wp.baseAddress!, inverseRMS: inv.baseAddress! + r,
                                                 dy: gp.baseAddress! + r * dim, dx: dx.baseAddress! + r * dim, rows: 1, dim: dim)
                            }
                        }
                    }
                }
            }
        }
        positions.withUnsafeBufferPointer { pos in
            qWhole.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress!, rows: rows, heads: dim / 32, positions: pos.baseAddress!) }
            qSingle.withUnsafeMutableBufferPointer { q in
                for r in 0..<rows { rope.apply(q.baseAddress! + r * dim, rows: 1, heads: dim / 32, positions: pos.baseAddress! + r) }
            }
        }
        XCTAssertEqual(whole, single, "RMSNorm forward")
        XCTAssertEqual(invWhole, invSingle, "RMSNorm inverse RMS")
        XCTAssertEqual(dxWhole, dxSingle, "RMSNorm backward")
        XCTAssertEqual(qWhole, qSingle, "RoPE")
        assertClose(whole, RMSNorm.reference(x, weight: w, rows: rows, dim: dim, eps: 1e-5), tolerance: 1e-4, "rmsnorm, 301 rows")
    }

    func testSoftmaxMatchesReferenceAndIsStable() {
        var x = randomArray(4 * 17, scale: 5)
        x[3] = 1000  // would overflow a naive exp
        let fast = Softmax.forward(Tensor(shape: [4, 17], data: x))
        assertClose(fast.data, Softmax.reference(x, rows: 4, cols: 17), tolerance: 1e-6, "softmax")
        for r in 0..<4 { XCTAssertEqual(fast.data[(r * 17)..<((r + 1) * 17)].reduce(0, +), 1, accuracy: 1e-5) }
    }

    func testSwiGLUMatchesReference() {
        let g = randomArray(100, scale: 4), u = randomArray(100)
        let fast = Activation.swiGLU(gate: Tensor(shape: [100], data: g), up: Tensor(shape: [100], data: u))
        assertClose(fast.data, Activation.referenceSwiGLU(gate: g, up: u), tolerance: 1e-5, "swiglu")
        XCTAssertEqual(Activation.referenceSiLU(0), 0)
    }

    func testRoPEMatchesReferenceAndInverts() {
        let rows = 6, heads = 3, hd = 8
        let x = randomArray(rows * heads * hd)
        let positions: [Int32] = [0, 1, 2, 7, 30, 100]
        let rope = RoPE(headDim: hd, theta: 10_000, maxPositions: 128)
        var fast = x
        fast.withUnsafeMutableBufferPointer { p in
            positions.withUnsafeBufferPointer { rope.apply(p.baseAddress!, rows: rows, heads: heads, positions: $0.baseAddress!) }
        }
        let expected = RoPE.reference(x, rows: rows, heads: heads, headDim: hd, positions: positions.map(Int.init), theta: 10_000)
        assertClose(fast, expected, tolerance: 1e-4, "rope")
        fast.withUnsafeMutableBufferPointer { p in
            positions.withUnsafeBufferPointer { rope.apply(p.baseAddress!, rows: rows, heads: heads, positions: $0.baseAddress!, inverse: true) }
        }
        assertClose(fast, x, tolerance: 1e-5, "rope inverse")
    }

    func testAttentionMatchesReferenceForTrainingAndCachedShapes() {
        for s in [AttentionShape(batch: 2, queries: 5, keys: 5, heads: 4, kvHeads: 2, headDim: 8),
                  AttentionShape(batch: 1, queries: 3, keys: 7, heads: 6, kvHeads: 2, headDim: 4),
                  AttentionShape(batch: 1, queries: 1, keys: 9, heads: 2, kvHeads: 2, headDim: 16)] {
            let q = randomArray(s.batch * s.queries * s.heads * s.headDim)
            let k = randomArray(s.batch * s.keys * s.kvHeads * s.headDim)
            let v = randomArray(s.batch * s.keys * s.kvHeads * s.headDim)
            var out = [Float](repeating: 0, count: q.count)
            var probs = [Float](repeating: 0, count: s.batch * s.heads * s.queries * s.keys)
            q.withUnsafeBufferPointer { qp in k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in
                out.withUnsafeMutableBufferPointer { op in probs.withUnsafeMutableBufferPointer { pp in
                    Attention.forward(q: qp.baseAddress!, k: kp.baseAddress!, v: vp.baseAddress!, out: op.baseAddress!,
                                      shape: s, probabilities: pp.baseAddress!)
                } }
            } } }
            assertClose(out, Attention.reference(q: q, k: k, v: v, shape: s), tolerance: 1e-5, "attention \(s)")
            // Causality: probabilities past each query's position are exactly zero.
            for i in 0..<s.queries {
                for j in (s.offset + i + 1)..<s.keys { XCTAssertEqual(probs[i * s.keys + j], 0) }
            }
        }
    }

    func testCrossEntropyMatchesDirectFormula() {
        let logits = randomArray(3 * 10, scale: 2)
        let targets = [4, -1, 9]
        let got = logits.withUnsafeBufferPointer { CrossEntropy.mean(logits: $0.baseAddress!, vocab: 10, targets: targets) }!
        var expected: Double = 0
        for (r, t) in [(0, 4), (2, 9)] {
            let row = logits[(r * 10)..<((r + 1) * 10)].map(Double.init)
            expected += -log(exp(row[t]) / row.map { exp($0) }.reduce(0, +))
        }
        XCTAssertEqual(got, expected / 2, accuracy: 1e-9)
    }

    func testSeededRandomIsReproducible() {
        var a = SeededRandom(seed: 7), b = SeededRandom(seed: 7)
        XCTAssertEqual((0..<5).map { _ in a.next() }, (0..<5).map { _ in b.next() })
        var c = SeededRandom(seed: 1)
        let samples = (0..<20_000).map { _ in c.normal() }
        let mean = samples.reduce(0, +) / Float(samples.count)
        let variance = samples.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(samples.count)
        XCTAssertEqual(mean, 0, accuracy: 0.03)
        XCTAssertEqual(variance, 1, accuracy: 0.05)
    }
}
