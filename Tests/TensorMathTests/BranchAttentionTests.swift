import XCTest
@testable import TensorMath

final class BranchAttentionTests: XCTestCase {
    func testMatchesReference() {
        var rng = SeededRandom(seed: 11)
        let heads = 4, kvHeads = 2, hd = 8, p = 5
        // Branches of 2, 0, 3 and 1 rows: a branch never sees another one's rows.
        let layout = BranchLayout(lengths: [2, 0, 3, 1])
        XCTAssertEqual(layout.rows, 6)
        XCTAssertEqual(layout.branchOfRow, [0, 0, 2, 2, 2, 3])
        XCTAssertEqual(layout.offsetOfRow, [0, 1, 0, 1, 2, 0])
        func random(_ n: Int) -> [Float] { (0..<n).map { _ in rng.uniform(-1, 1) } }
        let q = random(layout.rows * heads * hd), k = random(layout.rows * kvHeads * hd), v = random(layout.rows * kvHeads * hd)
        let pk = random(p * kvHeads * hd), pv = random(p * kvHeads * hd)
        var out = [Float](repeating: .nan, count: q.count)
        out.withUnsafeMutableBufferPointer { o in
            BranchAttention.forward(q: q, k: k, v: v, prefixK: pk, prefixV: pv, prefixLength: p, layout: layout,
                                    heads: heads, kvHeads: kvHeads, headDim: hd, out: o.baseAddress!)
        }
        let reference = BranchAttention.reference(q: q, k: k, v: v, prefixK: pk, prefixV: pv, prefixLength: p, layout: layout,
                                                  heads: heads, kvHeads: kvHeads, headDim: hd)
        let worst = zip(out, reference).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(worst, 1e-5, "worst difference \(worst)")
    }
}
