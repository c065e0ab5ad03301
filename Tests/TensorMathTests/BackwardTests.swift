import XCTest
@testable import TensorMath

/// Backward kernels against central finite differences of double-precision forward
/// passes, llm.c style: for a scalar loss `L = sum(W ⊙ output)` with random `W`,
/// the analytic gradient (computed in `Float` by the fast kernel, with `dOutput = W`)
/// must match `(L(x + h) - L(x - h)) / 2h` evaluated in `Double` with `h = 1e-5`.
/// The `Double` FD error (truncation ~h², rounding ~1e-16/h) is below 1e-9, so each
/// tolerance below measures the `Float` kernel alone.
///
/// Error metric ("relative error"): `max_i |a_i - e_i| / max(|a_i|, |e_i|, floor)` with
/// `floor = 1e-3 · max_i |e_i|`, i.e. elementwise relative error, except that components
/// a thousand times smaller than the largest are judged relative to that floor.
final class BackwardTests: XCTestCase {
    var rng = SeededRandom(seed: 2024)

    func randomArray(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in rng.normal() * scale } }

    static let fdStep = 1e-5

    /// Central differences of `loss` with respect to every element of `x`.
    func finiteDifferences(_ x: [Float], _ loss: ([Double]) -> Double) -> [Double] {
        var xd = x.map(Double.init)
        var grad = [Double](repeating: 0, count: x.count)
        for i in 0..<x.count {
            let saved = xd[i]
            xd[i] = saved + Self.fdStep
            let plus = loss(xd)
            xd[i] = saved - Self.fdStep
            let minus = loss(xd)
            xd[i] = saved
            grad[i] = (plus - minus) / (2 * Self.fdStep)
        }
        return grad
    }

    func worstRelativeError(_ analytic: [Double], _ expected: [Double]) -> Double {
        precondition(analytic.count == expected.count)
        let floor = 1e-3 * (expected.map { abs($0) }.max() ?? 0)
        var worst: Double = 0
        for (a, e) in zip(analytic, expected) {
            let denominator = max(abs(a), abs(e), floor)
            if denominator > 0 { worst = max(worst, abs(a - e) / denominator) }
        }
        return worst
    }

    /// Prints and asserts the worst relative error of one gradient.
    @discardableResult
    func check(_ analytic: [Double], _ expected: [Double], tolerance: Double, _ what: String,
               file: StaticString = #filePath, line: UInt = #line) -> Double {
        XCTAssertEqual(analytic.count, expected.count, what, file: file, line: line)
        let err = worstRelativeError(analytic, expected)
        print(String(format: "BackwardTests: %@ worst relative error %.3e (tolerance %.0e)", what, err, tolerance))
        XCTAssertLessThanOrEqual(err, tolerance, what, file: file, line: line)
        XCTAssertFalse(err.isNaN, "\(what): NaN", file: file, line: line)
        return err
    }

    /// `accumulated - base`, in double precision: the part a backward ADDED to a prefilled buffer.
    func added(_ accumulated: [Float], _ base: [Float]) -> [Double] {
        zip(accumulated, base).map { Double($0) - Double($1) }
    }

    // MARK: - RMSNorm

    static func rmsNormDouble(_ x: [Double], weight: [Double], rows: Int, dim: Int, eps: Double) -> [Double] {
        var y = [Double](repeating: 0, count: rows * dim)
        for r in 0..<rows {
            var ms: Double = 0
            for i in 0..<dim { ms += x[r * dim + i] * x[r * dim + i] }
            let inv = 1 / (ms / Double(dim) + eps).squareRoot()
            for i in 0..<dim { y[r * dim + i] = x[r * dim + i] * inv * weight[i] }
        }
        return y
    }

    func testRMSNormBackwardMatchesFiniteDifferences() {
        // Tolerance 1e-4: Float kernel against Double FD (observed ~1e-6).
        for (rows, dim) in [(3, 37), (2, 64), (1, 5)] {
            let eps: Float = 1e-5
            let x = randomArray(rows * dim, scale: 2)
            let weight = randomArray(dim).map { 1 + 0.3 * $0 }
            let w = randomArray(rows * dim)  // loss weights = dy
            var out = [Float](repeating: 0, count: rows * dim)
            var inverseRMS = [Float](repeating: 0, count: rows)
            RMSNorm.forward(x, weight: weight, out: &out, rows: rows, dim: dim, eps: eps, inverseRMS: &inverseRMS)

            let baseDx = randomArray(rows * dim), baseDw = randomArray(dim)
            var dx = baseDx, dWeight = baseDw
            RMSNorm.backward(x: x, weight: weight, inverseRMS: inverseRMS, dy: w, dx: &dx, rows: rows, dim: dim,
                             dWeight: &dWeight)
            var dxOnly = baseDx
            RMSNorm.backward(x: x, weight: weight, inverseRMS: inverseRMS, dy: w, dx: &dxOnly, rows: rows, dim: dim)
            XCTAssertEqual(dx, dxOnly, "frozen-weight variant must give the same dx")

            let wd = w.map(Double.init), weightD = weight.map(Double.init)
            let fdX = finiteDifferences(x) { xd in
                zip(Self.rmsNormDouble(xd, weight: weightD, rows: rows, dim: dim, eps: Double(eps)), wd).reduce(0) { $0 + $1.0 * $1.1 }
            }
            let xd = x.map(Double.init)
            let fdW = finiteDifferences(weight) { weightD in
                zip(Self.rmsNormDouble(xd, weight: weightD, rows: rows, dim: dim, eps: Double(eps)), wd).reduce(0) { $0 + $1.0 * $1.1 }
            }
            check(added(dx, baseDx), fdX, tolerance: 1e-4, "rmsnorm dx [\(rows), \(dim)]")
            check(added(dWeight, baseDw), fdW, tolerance: 1e-4, "rmsnorm dWeight [\(rows), \(dim)]")
        }
    }

    // MARK: - SwiGLU

    func testSwiGLUBackwardMatchesFiniteDifferences() {
        // Tolerance 1e-4: Float kernel against Double FD (observed ~1e-6).
        let n = 103
        var gate = randomArray(n, scale: 4)
        gate[0] = -100; gate[1] = 100; gate[2] = 0; gate[3] = -88.5; gate[4] = 30
        let up = randomArray(n), w = randomArray(n)
        var dGate = [Float](repeating: .nan, count: n), dUp = [Float](repeating: .nan, count: n)  // written, not added
        Activation.swiGLUBackward(gate: gate, up: up, dOut: w, dGate: &dGate, dUp: &dUp, count: n)

        func silu(_ g: Double) -> Double { g / (1 + exp(-g)) }
        let upD = up.map(Double.init), gateD = gate.map(Double.init), wd = w.map(Double.init)
        let fdGate = finiteDifferences(gate) { g in (0..<n).reduce(0) { $0 + wd[$1] * silu(g[$1]) * upD[$1] } }
        let fdUp = finiteDifferences(up) { u in (0..<n).reduce(0) { $0 + wd[$1] * silu(gateD[$1]) * u[$1] } }
        check(dGate.map(Double.init), fdGate, tolerance: 1e-4, "swiglu dGate")
        check(dUp.map(Double.init), fdUp, tolerance: 1e-4, "swiglu dUp")

        // Documented element-for-element aliasing: gradients written over gate and up.
        var gateInPlace = gate, upInPlace = up
        gateInPlace.withUnsafeMutableBufferPointer { g in upInPlace.withUnsafeMutableBufferPointer { u in
            Activation.swiGLUBackward(gate: g.baseAddress!, up: u.baseAddress!, dOut: w,
                                      dGate: g.baseAddress!, dUp: u.baseAddress!, count: n)
        } }
        XCTAssertEqual(gateInPlace, dGate)
        XCTAssertEqual(upInPlace, dUp)
    }

    // MARK: - Attention

    /// Double-precision causal GQA attention in the `Attention` layouts.
    static func attentionDouble(q: [Double], k: [Double], v: [Double], shape s: AttentionShape) -> [Double] {
        let hd = s.headDim, qStride = s.heads * hd, kvStride = s.kvHeads * hd
        var out = [Double](repeating: 0, count: q.count)
        let scale = 1 / Double(hd).squareRoot()
        for b in 0..<s.batch {
            for h in 0..<s.heads {
                let kvh = h / s.groupSize
                for i in 0..<s.queries {
                    let visible = s.offset + i + 1
                    var scores = [Double](repeating: 0, count: visible)
                    for j in 0..<visible {
                        var dot: Double = 0
                        for d in 0..<hd {
                            dot += q[(b * s.queries + i) * qStride + h * hd + d] * k[(b * s.keys + j) * kvStride + kvh * hd + d]
                        }
                        scores[j] = dot * scale
                    }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    for j in 0..<visible {
                        for d in 0..<hd {
                            out[(b * s.queries + i) * qStride + h * hd + d] += e[j] / z * v[(b * s.keys + j) * kvStride + kvh * hd + d]
                        }
                    }
                }
            }
        }
        return out
    }

    struct AttentionCase {
        var shape: AttentionShape
        var q: [Float], k: [Float], v: [Float], dOut: [Float]
    }

    func makeAttentionCase(_ s: AttentionShape) -> AttentionCase {
        AttentionCase(shape: s,
                      q: randomArray(s.batch * s.queries * s.heads * s.headDim),
                      k: randomArray(s.batch * s.keys * s.kvHeads * s.headDim),
                      v: randomArray(s.batch * s.keys * s.kvHeads * s.headDim),
                      dOut: randomArray(s.batch * s.queries * s.heads * s.headDim))
    }

    /// Fast forward (for the probabilities) then fast backward, adding into the given buffers.
    func fastAttentionBackward(_ c: AttentionCase, dq: inout [Float], dk: inout [Float], dv: inout [Float]) {
        let s = c.shape
        var out = [Float](repeating: 0, count: c.q.count)
        var probs = [Float](repeating: .nan, count: s.batch * s.heads * s.queries * s.keys)
        Attention.forward(q: c.q, k: c.k, v: c.v, out: &out, shape: s, probabilities: &probs)
        Attention.backward(q: c.q, k: c.k, v: c.v, probabilities: probs, dOut: c.dOut,
                           dq: &dq, dk: &dk, dv: &dv, shape: s)
    }

    static let attentionShapes = [
        // GQA (group 2), batch 2, training (offset 0).
        AttentionShape(batch: 2, queries: 5, keys: 5, heads: 4, kvHeads: 2, headDim: 8),
        // GQA, batch 2, Tq < Tk (cached offset 2).
        AttentionShape(batch: 2, queries: 4, keys: 6, heads: 4, kvHeads: 2, headDim: 8),
        // Group 3, larger offset, odd head width.
        AttentionShape(batch: 1, queries: 3, keys: 7, heads: 6, kvHeads: 2, headDim: 5),
        // Single-token decode, multi-head (no grouping).
        AttentionShape(batch: 2, queries: 1, keys: 6, heads: 2, kvHeads: 2, headDim: 16),
    ]

    func testAttentionBackwardMatchesFiniteDifferences() {
        // Tolerance 1e-3: Float kernels against Double FD (observed up to ~2e-4). The metric is
        // elementwise, and dS = P ⊙ (dP − rowsum(P ⊙ dP)) cancels when dP[j] ≈ rowsum, so a
        // few mid-sized components carry Float rounding of the larger dP terms; the
        // Double reference backward agrees with the same FD to ~1e-7, and the fast
        // kernel agrees with that reference to ~1e-7 of the largest component (next test).
        for s in Self.attentionShapes {
            let c = makeAttentionCase(s)
            let baseQ = randomArray(c.q.count), baseK = randomArray(c.k.count), baseV = randomArray(c.v.count)
            var dq = baseQ, dk = baseK, dv = baseV
            fastAttentionBackward(c, dq: &dq, dk: &dk, dv: &dv)

            let qd = c.q.map(Double.init), kd = c.k.map(Double.init), vd = c.v.map(Double.init)
            let wd = c.dOut.map(Double.init)
            func loss(_ q: [Double], _ k: [Double], _ v: [Double]) -> Double {
                zip(Self.attentionDouble(q: q, k: k, v: v, shape: s), wd).reduce(0) { $0 + $1.0 * $1.1 }
            }
            let tag = "B\(s.batch) Tq\(s.queries) Tk\(s.keys) nH\(s.heads) nKV\(s.kvHeads) hd\(s.headDim)"
            check(added(dq, baseQ), finiteDifferences(c.q) { loss($0, kd, vd) }, tolerance: 1e-3, "attention dq \(tag)")
            check(added(dk, baseK), finiteDifferences(c.k) { loss(qd, $0, vd) }, tolerance: 1e-3, "attention dk \(tag)")
            check(added(dv, baseV), finiteDifferences(c.v) { loss(qd, kd, $0) }, tolerance: 1e-3, "attention dv \(tag)")
        }
    }

    func testAttentionBackwardMatchesNaiveReference() {
        // Tolerance 1e-5 of the largest reference component (max |fast - ref| / max |ref|):
        // the fast path is Float sgemm, the reference Double loops.
        let shapes = Self.attentionShapes + [
            AttentionShape(batch: 1, queries: 16, keys: 48, heads: 4, kvHeads: 2, headDim: 32),
            // The training shape (SmolLM-135M attention).
            AttentionShape(batch: 1, queries: 128, keys: 128, heads: 9, kvHeads: 3, headDim: 64),
        ]
        for s in shapes {
            let c = makeAttentionCase(s)
            var dq = [Float](repeating: 0, count: c.q.count)
            var dk = [Float](repeating: 0, count: c.k.count), dv = dk
            fastAttentionBackward(c, dq: &dq, dk: &dk, dv: &dv)
            let ref = Attention.referenceBackward(q: c.q, k: c.k, v: c.v, dOut: c.dOut, shape: s)
            let tag = "B\(s.batch) Tq\(s.queries) Tk\(s.keys) nH\(s.heads) nKV\(s.kvHeads) hd\(s.headDim)"
            for (name, fast, expected) in [("dq", dq, ref.dq), ("dk", dk, ref.dk), ("dv", dv, ref.dv)] {
                let scale = Double(expected.map { abs($0) }.max() ?? 0)
                let worst = Double(zip(fast, expected).map { abs($0 - $1) }.max() ?? 0)
                let err = worst / max(scale, 1e-30)
                print(String(format: "BackwardTests: attention fast vs reference %@ %@ max error / max magnitude %.3e (tolerance 1e-05)",
                             name, tag, err))
                XCTAssertLessThanOrEqual(err, 1e-5, "attention \(name) \(tag)")
            }
        }
    }

    // MARK: - Cross-entropy

    static func crossEntropyDouble(_ logits: [Double], vocab: Int, targets: [Int]) -> Double {
        var total: Double = 0, count = 0
        for (r, t) in targets.enumerated() where t >= 0 {
            let row = logits[(r * vocab)..<((r + 1) * vocab)]
            let m = row.max()!
            total += log(row.reduce(0) { $0 + exp($1 - m) }) + m - logits[r * vocab + t]
            count += 1
        }
        return total / Double(count)
    }

    func testCrossEntropyForwardBackwardMatchesFiniteDifferences() {
        // Tolerance 1e-4 on the gradient (observed ~1e-6); loss within 1e-6 relative of `mean`.
        let vocab = 37
        let targets = [3, -1, 0, 36, -100, 17, 5]
        let rows = targets.count
        var logits = randomArray(rows * vocab, scale: 3)
        logits[5 * vocab + 2] = 1000  // would overflow a naive exp; row 5 is counted
        logits[6 * vocab + 5] = 40    // confident and correct: tiny gradient at the target
        let counted = targets.filter { $0 >= 0 }.count

        for scale: Float in [1, 0.25] {
            var dLogits = [Float](repeating: .nan, count: logits.count)  // written, not added
            let result = CrossEntropy.forwardBackward(logits: logits, vocab: vocab, targets: targets,
                                                      dLogits: &dLogits, scale: scale)
            XCTAssertEqual(result.count, counted)
            let expectedLoss = logits.withUnsafeBufferPointer { CrossEntropy.mean(logits: $0.baseAddress!, vocab: vocab, targets: targets) }!
            XCTAssertEqual(result.loss, expectedLoss, accuracy: 1e-6 * abs(expectedLoss))
            XCTAssertEqual(result.loss, Self.crossEntropyDouble(logits.map(Double.init), vocab: vocab, targets: targets),
                           accuracy: 1e-6 * abs(expectedLoss))
            for (r, t) in targets.enumerated() where t < 0 {
                XCTAssertTrue(dLogits[(r * vocab)..<((r + 1) * vocab)].allSatisfy { $0 == 0 }, "masked row \(r) must be zero")
            }
            let fd = finiteDifferences(logits) { Double(scale) * Self.crossEntropyDouble($0, vocab: vocab, targets: targets) }
            check(dLogits.map(Double.init), fd, tolerance: 1e-4, "cross-entropy dLogits (scale \(scale), masked rows)")

            // In place: gradient written over the logits, identical to out-of-place.
            var inPlace = logits
            let inPlaceResult = inPlace.withUnsafeMutableBufferPointer { p in
                CrossEntropy.forwardBackward(logits: p.baseAddress!, vocab: vocab, targets: targets,
                                             dLogits: p.baseAddress!, scale: scale)
            }
            XCTAssertEqual(inPlaceResult.loss, result.loss)
            XCTAssertEqual(inPlaceResult.count, result.count)
            XCTAssertEqual(inPlace, dLogits, "in-place dLogits must equal out-of-place")
        }

        // Every row masked: zero loss, zero count, zero gradient.
        var dAll = [Float](repeating: .nan, count: 2 * vocab)
        let none = CrossEntropy.forwardBackward(logits: Array(logits[0..<(2 * vocab)]), vocab: vocab, targets: [-1, -100],
                                                dLogits: &dAll)
        XCTAssertEqual(none.loss, 0); XCTAssertEqual(none.count, 0)
        XCTAssertTrue(dAll.allSatisfy { $0 == 0 })
    }

    func testCrossEntropyForwardBackwardAtVocabularySizeInPlace() {
        // LM-head size rows, in place. Checks against the direct Double formula
        // (softmax − onehot) / count for every element: tolerance 1e-4 relative (floored).
        let vocab = 49_152, targets = [7, 49_151, -1]
        var logits = randomArray(targets.count * vocab, scale: 2)
        let original = logits
        let result = logits.withUnsafeMutableBufferPointer { p in
            CrossEntropy.forwardBackward(logits: p.baseAddress!, vocab: vocab, targets: targets, dLogits: p.baseAddress!)
        }
        let expectedLoss = original.withUnsafeBufferPointer { CrossEntropy.mean(logits: $0.baseAddress!, vocab: vocab, targets: targets) }!
        XCTAssertEqual(result.loss, expectedLoss, accuracy: 1e-6 * abs(expectedLoss))
        XCTAssertEqual(result.count, 2)
        var expected = [Double](repeating: 0, count: logits.count)
        for (r, t) in targets.enumerated() where t >= 0 {
            let row = original[(r * vocab)..<((r + 1) * vocab)].map(Double.init)
            let m = row.max()!
            let z = row.reduce(0) { $0 + exp($1 - m) }
            for i in 0..<vocab { expected[r * vocab + i] = (exp(row[i] - m) / z - (i == t ? 1 : 0)) / 2 }
            XCTAssertEqual(logits[(r * vocab)..<((r + 1) * vocab)].reduce(0, +), 0, accuracy: 1e-5, "gradient row sums to 0")
        }
        check(logits.map(Double.init), expected, tolerance: 1e-4, "cross-entropy dLogits vocab 49152 in place")
    }

    // MARK: - RoPE

    func testRoPEInverseIsTransposeByFiniteDifferences() {
        // The backward of y = R x is Rᵀ g; `apply(inverse: true)` must be that transpose.
        // R is linear, so Double FD is exact up to rounding: tolerance 1e-5.
        let rows = 5, heads = 3, hd = 8, half = hd / 2
        let positions: [Int32] = [0, 3, 17, 64, 127]
        let rope = RoPE(headDim: hd, theta: 10_000, maxPositions: 128)
        let x = randomArray(rows * heads * hd), g = randomArray(rows * heads * hd)
        var analytic = g
        analytic.withUnsafeMutableBufferPointer { p in
            positions.withUnsafeBufferPointer { rope.apply(p.baseAddress!, rows: rows, heads: heads, positions: $0.baseAddress!, inverse: true) }
        }
        let cosD = rope.cosTable.map(Double.init), sinD = rope.sinTable.map(Double.init), gd = g.map(Double.init)
        func loss(_ x: [Double]) -> Double {  // <g, R x> with the kernel's own Float tables
            var l: Double = 0
            for r in 0..<rows {
                let p = Int(positions[r])
                for h in 0..<heads {
                    let base = (r * heads + h) * hd
                    for i in 0..<half {
                        let c = cosD[p * half + i], s = sinD[p * half + i]
                        let x1 = x[base + i], x2 = x[base + i + half]
                        l += gd[base + i] * (x1 * c - x2 * s) + gd[base + i + half] * (x2 * c + x1 * s)
                    }
                }
            }
            return l
        }
        check(analytic.map(Double.init), finiteDifferences(x, loss), tolerance: 1e-5, "rope backward (inverse rotation)")
    }

    // MARK: - Vectorizable exp used by the SwiGLU and cross-entropy backward

    func testVectorExpAccuracyAndEdgeCases() {
        // Tolerance 2.5e-7 relative (4 ulp) against Double exp over the normal-result range.
        var worst: Double = 0
        var x: Float = -87.3
        while x < 88.3 {
            let e = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(BackwardMath.exp(x)) - e) / e)
            x += 0.000_731 * max(1, abs(x))
        }
        print(String(format: "BackwardTests: BackwardMath.exp worst relative error %.3e (tolerance 2.5e-07)", worst))
        XCTAssertLessThanOrEqual(worst, 2.5e-7)
        XCTAssertEqual(BackwardMath.exp(0), 1)
        XCTAssertTrue(BackwardMath.exp(1000).isFinite)
        XCTAssertTrue(BackwardMath.exp(-.infinity) >= 0 && BackwardMath.exp(-.infinity) < 1.2e-38)
        XCTAssertTrue(BackwardMath.exp(.nan).isNaN)
    }

    /// The C loop behind `BackwardMath.expShifted` (softmax, cross-entropy) gives every element
    /// the bits of the Swift `exp`, in its 8-lane body and its scalar tail, edge cases included.
    func testShiftedExpInCIsTheSwiftExpBitForBit() {
        var rng = SeededRandom(seed: 5)
        var xs: [Float] = (0..<4099).map { _ in rng.normal() * 40 }
        xs += [0, -0.0, 1000, -1000, .infinity, -.infinity, .nan, 88.37626, -87.33654, 88.4, -87.4, 1e-30,
               .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
        for shift: Float in [0, 3.75, -12.5] {
            var out = [Float](repeating: 0, count: xs.count)
            xs.withUnsafeBufferPointer { xp in
                out.withUnsafeMutableBufferPointer { BackwardMath.expShifted(xp.baseAddress!, minus: shift, into: $0.baseAddress!, xs.count) }
            }
            let differing = xs.indices.filter { out[$0].bitPattern != BackwardMath.exp(xs[$0] - shift).bitPattern }
            XCTAssertEqual(differing, [], "shift \(shift): first inputs \(differing.prefix(4).map { xs[$0] })")
        }
        // In place, as the cross-entropy uses it.
        var inPlace = xs
        inPlace.withUnsafeMutableBufferPointer { BackwardMath.expShifted($0.baseAddress!, minus: 1, into: $0.baseAddress!, xs.count) }
        XCTAssertEqual(xs.indices.filter { inPlace[$0].bitPattern != BackwardMath.exp(xs[$0] - 1).bitPattern }, [])
    }
}
