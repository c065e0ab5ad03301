import Foundation

/// Several short continuations ("branches") of one shared prefix, laid out as consecutive rows:
/// branch `b` owns rows `starts[b] ..< starts[b] + lengths[b]`. Each row attends to every
/// prefix position and to the rows of its own branch up to itself, never to another branch.
public struct BranchLayout: Sendable, Equatable {
    public let lengths: [Int]
    public let starts: [Int]
    /// Branch of each row.
    public let branchOfRow: [Int]
    /// Position of each row within its branch (0 for the first token after the prefix).
    public let offsetOfRow: [Int]

    public init(lengths: [Int]) {
        precondition(lengths.allSatisfy { $0 >= 0 }, "branch lengths must be non-negative")
        self.lengths = lengths
        var starts: [Int] = [], branch: [Int] = [], offset: [Int] = []
        var next = 0
        for (b, l) in lengths.enumerated() {
            starts.append(next)
            for j in 0..<l { branch.append(b); offset.append(j) }
            next += l
        }
        self.starts = starts; branchOfRow = branch; offsetOfRow = offset
    }

    /// Total rows of all branches.
    public var rows: Int { branchOfRow.count }
}

/// Attention of branch rows over a shared prefix (already in a KV cache) and their own branch.
public enum BranchAttention {
    /// Fast forward: two `sgemm` score blocks per head (prefix and branch rows), the branch
    /// scores compacted to the visible ones before the softmax, then two `sgemm` value products.
    ///
    /// - Parameters:
    ///   - q: `[rows, heads * headDim]` queries of the branch rows (RoPE applied).
    ///   - k, v: `[rows, kvHeads * headDim]` keys and values of the branch rows.
    ///   - prefixK, prefixV: `[prefixLength, kvHeads * headDim]` (the cache's first rows).
    ///   - out: `[rows, heads * headDim]`.
    public static func forward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                               prefixK: UnsafePointer<Float>, prefixV: UnsafePointer<Float>, prefixLength p: Int,
                               layout: BranchLayout, heads: Int, kvHeads: Int, headDim: Int,
                               out: UnsafeMutablePointer<Float>) {
        let n = layout.rows
        guard n > 0 else { return }
        let qStride = heads * headDim, kvStride = kvHeads * headDim, group = heads / kvHeads
        let cols = p + n
        let scale = 1 / Float(headDim).squareRoot()
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: n * cols)
        let moved = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { scores.deallocate(); moved.deallocate() }
        for h in 0..<heads {
            let kvh = h / group
            let qp = q + h * headDim
            if p > 0 {
                Matmul.gemm(transA: false, transB: true, m: n, n: p, k: headDim, alpha: scale, a: qp, lda: qStride,
                            b: prefixK + kvh * headDim, ldb: kvStride, c: scores, ldc: cols)
            }
            Matmul.gemm(transA: false, transB: true, m: n, n: n, k: headDim, alpha: scale, a: qp, lda: qStride,
                        b: k + kvh * headDim, ldb: kvStride, c: scores + p, ldc: cols)
            for r in 0..<n {
                let row = scores + r * cols
                let first = layout.starts[layout.branchOfRow[r]], visible = layout.offsetOfRow[r] + 1
                // Compact the visible branch scores (own branch, up to this row) right after the prefix.
                moved.update(from: row + p + first, count: visible)
                (row + p).update(from: moved, count: visible)
                Softmax.rowInPlace(row, valid: p + visible, cols: cols)
                // And move their probabilities back under their rows' columns (the rest stays zero).
                moved.update(from: row + p, count: visible)
                (row + p).update(repeating: 0, count: n)
                (row + p + first).update(from: moved, count: visible)
            }
            let op = out + h * headDim
            if p > 0 {
                Matmul.gemm(transA: false, transB: false, m: n, n: headDim, k: p, a: scores, lda: cols,
                            b: prefixV + kvh * headDim, ldb: kvStride, c: op, ldc: qStride)
            }
            Matmul.gemm(transA: false, transB: false, m: n, n: headDim, k: n, a: scores + p, lda: cols,
                        b: v + kvh * headDim, ldb: kvStride, beta: p > 0 ? 1 : 0, c: op, ldc: qStride)
        }
    }

    /// Naive reference with explicit loops in double precision.
    public static func reference(q: [Float], k: [Float], v: [Float], prefixK: [Float], prefixV: [Float], prefixLength p: Int,
                                 layout: BranchLayout, heads: Int, kvHeads: Int, headDim: Int) -> [Float] {
        let n = layout.rows
        let qStride = heads * headDim, kvStride = kvHeads * headDim, group = heads / kvHeads
        var out = [Float](repeating: 0, count: n * qStride)
        let scale = 1 / Double(headDim).squareRoot()
        for r in 0..<n {
            let first = layout.starts[layout.branchOfRow[r]]
            // Visible positions: every prefix row, then this branch's rows up to r.
            let visible: [(keys: [Float], values: [Float], row: Int)] =
                (0..<p).map { (prefixK, prefixV, $0) } + (first...r).map { (k, v, $0) }
            for h in 0..<heads {
                let kvh = h / group
                var s = visible.map { e -> Double in
                    var dot = 0.0
                    for d in 0..<headDim {
                        dot += Double(q[r * qStride + h * headDim + d]) * Double(e.keys[e.row * kvStride + kvh * headDim + d])
                    }
                    return dot * scale
                }
                let m = s.max()!
                s = s.map { exp($0 - m) }
                let z = s.reduce(0, +)
                for d in 0..<headDim {
                    var acc = 0.0
                    for (j, e) in visible.enumerated() { acc += s[j] / z * Double(e.values[e.row * kvStride + kvh * headDim + d]) }
                    out[r * qStride + h * headDim + d] = Float(acc)
                }
            }
        }
        return out
    }
}
