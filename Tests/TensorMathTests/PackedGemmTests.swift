import Dispatch
import XCTest
@testable import TensorMath

/// PackedGemm (pre-packed weight, AVX2 micro-kernel) against a naive
/// double-precision triple loop, for the SmolLM2-135M shapes and odd sizes.
final class PackedGemmTests: XCTestCase {
    var rng = SeededRandom(seed: 1234)

    /// Uniform values in [-1, 1) (a cheap LCG: tests run unoptimised and fill ~10^8 floats).
    func uniformArray(_ n: Int) -> [Float] {
        var a = [Float](repeating: 0, count: n)
        var s = rng.next() | 1
        a.withUnsafeMutableBufferPointer { p in
            var q = p.baseAddress!
            let end = q + n
            while q < end {
                s = s &* 6364136223846793005 &+ 1442695040888963407
                q.pointee = Float(Int32(truncatingIfNeeded: s >> 32)) * 0x1p-31
                q += 1
            }
        }
        return a
    }

    /// Indices to check: all of them up to `limit`; otherwise the first and last
    /// tiles (edges, row tails) plus random ones.
    func sample(_ count: Int, limit: Int) -> [Int] {
        if count <= limit { return Array(0..<count) }
        let edge = min(limit / 4, 16)
        var s = Set(0..<edge)
        s.formUnion((count - edge)..<count)
        while s.count < limit { s.insert(Int(rng.next() % UInt64(count))) }
        return s.sorted()
    }

    /// Naive reference of one output entry: `C[i, j] = c0 + sum_p A[i, p] * B(p, j)`,
    /// with `B(p, j) = W[j, p]` (forward) or `W[p, j]` (backward), in Double.
    func reference(forward: Bool, a: UnsafeBufferPointer<Float>, w: UnsafeBufferPointer<Float>,
                   out: Int, inF: Int, i: Int, j: Int) -> Double {
        var s: Double = 0
        let k = forward ? inF : out
        var pa = a.baseAddress! + i * k
        var pw = w.baseAddress! + (forward ? j * inF : j)
        let step = forward ? 1 : inF
        for _ in 0..<k {
            s += Double(pa.pointee) * Double(pw.pointee)
            pa += 1
            pw += step
        }
        return s
    }

    /// Runs one product through PackedGemm and checks it against the reference.
    /// Error measure: max |fast - ref| / max(1, max |ref|) over checked entries.
    func check(out: Int, inF: Int, w: [Float], packed: PackedMatrix, m: Int, forward: Bool,
               accumulate: Bool, threads: Int = 2, rowLimit: Int = 16, macBudget: Int = 3_000_000,
               file: StaticString = #filePath, line: UInt = #line) {
        let k = forward ? inF : out, n = forward ? out : inF
        let a = uniformArray(m * k)
        let c0 = accumulate ? uniformArray(m * n) : [Float](repeating: .nan, count: m * n)
        var c = c0
        a.withUnsafeBufferPointer { ap in
            c.withUnsafeMutableBufferPointer { cp in
                if forward {
                    PackedGemm.forward(x: ap.baseAddress!, rows: m, weight: packed, out: cp.baseAddress!,
                                       accumulate: accumulate, threads: threads)
                } else {
                    PackedGemm.backward(dOut: ap.baseAddress!, rows: m, weight: packed, dInput: cp.baseAddress!,
                                        accumulate: accumulate, threads: threads)
                }
            }
        }
        var worst: Double = 0, scale: Double = 1
        // Reference cost is rows * cols * k multiply-adds (unoptimised): keep it bounded.
        let rows = sample(m, limit: rowLimit)
        let cols = sample(n, limit: max(24, macBudget / (k * rows.count)))
        a.withUnsafeBufferPointer { ap in
            w.withUnsafeBufferPointer { wp in
                for i in rows {
                    for j in cols {
                        var r = reference(forward: forward, a: ap, w: wp, out: out, inF: inF, i: i, j: j)
                        if accumulate { r += Double(c0[i * n + j]) }
                        let got = Double(c[i * n + j])
                        // NaN-safe: a NaN or Inf result fails.
                        let d = got.isFinite ? abs(got - r) : .infinity
                        worst = max(worst, d)
                        scale = max(scale, abs(r))
                    }
                }
            }
        }
        let rel = worst / scale
        XCTAssertLessThanOrEqual(rel, 1e-5,
            "\(forward ? "forward" : "backward") W[\(out), \(inF)] M=\(m) accumulate=\(accumulate) threads=\(threads): relative error \(rel)",
            file: file, line: line)
        // Entries outside the checked sample must at least be finite (catches unwritten output).
        if !accumulate {
            XCTAssertTrue(c.allSatisfy { $0.isFinite }, "unwritten or non-finite output, M=\(m) W[\(out), \(inF)]",
                          file: file, line: line)
        }
    }

    func testModelShapesAgainstReference() {
        XCTAssertTrue(PackedGemm.usesAVX2 || !isX86, "AVX2 kernel expected on x86_64")
        let shapes = [(576, 576), (192, 576), (1536, 576), (576, 1536), (49152, 576)]
        for (out, inF) in shapes {
            let w = uniformArray(out * inF)
            let packed = PackedMatrix(Tensor(shape: [out, inF], data: w))
            XCTAssertEqual(packed.rows, out)
            XCTAssertEqual(packed.cols, inF)
            XCTAssertEqual(packed.packedBytes, 2 * out * inF * 4)
            for m in [1, 7, 128, 130, 512] {
                for forward in [true, false] {
                    for accumulate in [false, true] {
                        check(out: out, inF: inF, w: w, packed: packed, m: m, forward: forward, accumulate: accumulate)
                    }
                }
            }
        }
    }

    func testOddSizesAgainstReference() {
        for trial in 0..<60 {
            let out = 1 + Int(rng.next() % 70), inF = 1 + Int(rng.next() % 70)
            let m = 1 + Int(rng.next() % 40)
            let w = uniformArray(out * inF)
            let packed = PackedMatrix(rows: out, cols: inF, weights: w)
            for forward in [true, false] {
                check(out: out, inF: inF, w: w, packed: packed, m: m, forward: forward,
                      accumulate: trial % 2 == 1, threads: 1 + trial % 2, rowLimit: 64)
            }
        }
        // A few larger odd sizes: several K blocks, tails in every dimension, both threads busy;
        // the last one has an activation side over 8 MB (backward), which takes the K-outer order.
        for (out, inF, m) in [(1000, 777, 131), (67, 2049, 37), (2051, 95, 263), (333, 1537, 9), (3001, 40, 700)] {
            let w = uniformArray(out * inF)
            let packed = PackedMatrix(rows: out, cols: inF, weights: w)
            for forward in [true, false] {
                for accumulate in [false, true] {
                    check(out: out, inF: inF, w: w, packed: packed, m: m, forward: forward, accumulate: accumulate)
                }
            }
        }
    }

    func testOneAndTwoThreadsAgree() {
        let out = 1536, inF = 576, m = 130
        let w = uniformArray(out * inF)
        let packed = PackedMatrix(rows: out, cols: inF, weights: w)
        let x = uniformArray(m * inF)
        var y1 = [Float](repeating: 0, count: m * out), y2 = y1
        x.withUnsafeBufferPointer { xp in
            y1.withUnsafeMutableBufferPointer { PackedGemm.forward(x: xp.baseAddress!, rows: m, weight: packed, out: $0.baseAddress!, accumulate: false, threads: 1) }
            y2.withUnsafeMutableBufferPointer { PackedGemm.forward(x: xp.baseAddress!, rows: m, weight: packed, out: $0.baseAddress!, accumulate: false, threads: 2) }
        }
        // Same blocking, same summation order per entry: bitwise equal.
        XCTAssertEqual(y1, y2)
    }

    func testConcurrentCallersGetCorrectResults() {
        let out = 576, inF = 576, m = 128, callers = 6
        let w = uniformArray(out * inF)
        let packed = PackedMatrix(rows: out, cols: inF, weights: w)
        let xs = (0..<callers).map { _ in uniformArray(m * inF) }
        var expected: [[Float]] = []
        for x in xs {
            var y = [Float](repeating: 0, count: m * out)
            x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer {
                PackedGemm.forward(x: xp.baseAddress!, rows: m, weight: packed, out: $0.baseAddress!, accumulate: false, threads: 1)
            } }
            expected.append(y)
        }
        let results = UnsafeMutableBufferPointer<Float>.allocate(capacity: callers * m * out)
        defer { results.deallocate() }
        nonisolated(unsafe) let res = results
        let inputs = xs
        for _ in 0..<5 {
            DispatchQueue.concurrentPerform(iterations: callers) { c in
                inputs[c].withUnsafeBufferPointer { xp in
                    for _ in 0..<3 {
                        PackedGemm.forward(x: xp.baseAddress!, rows: m, weight: packed,
                                           out: res.baseAddress! + c * m * out, accumulate: false, threads: 2)
                    }
                }
            }
            for c in 0..<callers {
                XCTAssertEqual(Array(results[(c * m * out)..<((c + 1) * m * out)]), expected[c], "caller \(c)")
            }
        }
    }

    func testLinearMatchesReference() {
        let w = Tensor(shape: [40, 24], data: uniformArray(960))
        let x = Tensor(shape: [3, 5, 24], data: uniformArray(360))
        let y = PackedGemm.linear(x, PackedMatrix(w))
        XCTAssertEqual(y.shape, [3, 5, 40])
        for i in 0..<15 {
            for j in 0..<40 {
                var s: Double = 0
                for p in 0..<24 { s += Double(x.data[i * 24 + p]) * Double(w.data[j * 24 + p]) }
                XCTAssertEqual(Double(y.data[i * 40 + j]), s, accuracy: 1e-5)
            }
        }
    }

    var isX86: Bool {
        #if arch(x86_64)
        return true
        #else
        return false
        #endif
    }

    /// `unpacked()` rebuilds the row-major weight bit-exactly from either form.
    func testUnpackedRebuildsTheWeightFromEitherForm() {
        for (out, inF) in [(5, 19), (33, 16), (16, 40), (1, 1)] {
            let w = Tensor(shape: [out, inF], data: uniformArray(out * inF))
            for forms: PackedMatrix.Forms in [.both, .forward, .backward] {
                XCTAssertEqual(PackedMatrix(w, forms: forms).unpacked(), w, "[\(out), \(inF)] \(forms.rawValue)")
            }
        }
    }
}
