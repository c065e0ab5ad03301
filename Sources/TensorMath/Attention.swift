import Foundation

/// Grouped-query causal self-attention.
///
/// Sizes: `B` sequences; `Tq` queries and `Tk` keys per sequence; `nH` query
/// heads and `nKV` key/value heads of width `hd` (`nH` is a multiple of `nKV`).
/// Layouts: `q, out: [B, Tq, nH, hd]`, `k, v: [B, Tk, nKV, hd]`.
/// Query `i` sits at absolute position `offset + i` and sees keys `0...offset + i`
/// (`offset = Tk - Tq` when decoding with a KV cache, 0 in training).
public struct AttentionShape: Sendable, Equatable {
    public var batch: Int, queries: Int, keys: Int, heads: Int, kvHeads: Int, headDim: Int
    public init(batch: Int, queries: Int, keys: Int, heads: Int, kvHeads: Int, headDim: Int) {
        precondition(heads % kvHeads == 0, "\(heads) heads are not a multiple of \(kvHeads) kv heads")
        precondition(keys >= queries, "attention with \(keys) keys for \(queries) queries")
        self.batch = batch; self.queries = queries; self.keys = keys
        self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim
    }
    /// Position of the first query.
    public var offset: Int { keys - queries }
    /// Number of query heads that share one key/value head.
    public var groupSize: Int { heads / kvHeads }
    /// The queries in blocks of 32 rows `[i0, i1)`, each with the keys it can see, `[0, kEnd)`.
    var causalBlocks: [(i0: Int, i1: Int, kEnd: Int)] {
        stride(from: 0, to: queries, by: 32).map { i0 in
            let i1 = min(queries, i0 + 32)
            return (i0, i1, min(keys, offset + i1))
        }
    }
    /// Threads for the per-(sequence, key/value head) work items: 1 when the whole product
    /// is too small to repay waking the worker (a decoding step against a short cache).
    var threadsWorthUsing: Int? { batch * heads * queries * keys * headDim >= 1 << 20 && batch * kvHeads > 1 ? nil : 1 }
}

public enum Attention {
    /// Fast forward using `sgemm` per (sequence, head); the (sequence, key/value head) pairs are
    /// shared between the threads (`ComputeThreads.parallelFor`).
    ///
    /// `probabilities`, when given, receives the softmax weights `[B, nH, Tq, Tk]`
    /// that the backward pass needs; otherwise a scratch row block is used.
    /// `scale` multiplies the scores (default `1 / sqrt(hd)`). With a sliding `window`, the
    /// query at position `p` sees only the keys at positions `p - window + 1 ... p` (Gemma's
    /// local layers; transformers' `kv_idx > q_idx - sliding_window`); the others get
    /// probability 0, so `backward` needs no window of its own.
    public static func forward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        out: UnsafeMutablePointer<Float>, shape s: AttentionShape,
        probabilities: UnsafeMutablePointer<Float>? = nil, scale customScale: Float? = nil, window: Int? = nil
    ) {
        precondition(window.map { $0 > 0 } ?? true, "attention window must be positive")
        let qStride = s.heads * s.headDim, kvStride = s.kvHeads * s.headDim
        let scale = customScale ?? 1 / Float(s.headDim).squareRoot()
        let block = s.queries * s.keys, causal = s.causalBlocks
        // Work items: one per (sequence, key/value head), its query heads in turn.
        ComputeThreads.parallelFor(s.batch * s.kvHeads, threads: s.threadsWorthUsing) { item in
            let b = item / s.kvHeads, kvh = item % s.kvHeads
            let scratch = probabilities == nil ? UnsafeMutablePointer<Float>.allocate(capacity: block) : nil
            defer { scratch?.deallocate() }
            let kp = k + b * s.keys * kvStride + kvh * s.headDim
            let vp = v + b * s.keys * kvStride + kvh * s.headDim
            for h in kvh * s.groupSize..<(kvh + 1) * s.groupSize {
                let p = probabilities.map { $0 + (b * s.heads + h) * block } ?? scratch!
                let qp = q + b * s.queries * qStride + h * s.headDim
                let op = out + b * s.queries * qStride + h * s.headDim
                // Query blocks: block [i0, i1) sees keys [0, kEnd) only, so the causally masked
                // upper triangle is not computed (5/8 of the products at 128 queries).
                for (i0, i1, kEnd) in causal {
                    Matmul.gemm(transA: false, transB: true, m: i1 - i0, n: kEnd, k: s.headDim,
                                alpha: scale, a: qp + i0 * qStride, lda: qStride, b: kp, ldb: kvStride,
                                c: p + i0 * s.keys, ldc: s.keys)
                    for i in i0..<i1 {
                        let visible = s.offset + i + 1
                        if let window, visible > window {
                            let first = visible - window
                            Softmax.rowInPlace(p + i * s.keys + first, valid: window, cols: s.keys - first)
                            (p + i * s.keys).update(repeating: 0, count: first)
                        } else {
                            Softmax.rowInPlace(p + i * s.keys, valid: visible, cols: s.keys)
                        }
                    }
                    Matmul.gemm(transA: false, transB: false, m: i1 - i0, n: s.headDim, k: kEnd,
                                a: p + i0 * s.keys, lda: s.keys, b: vp, ldb: kvStride,
                                c: op + i0 * qStride, ldc: qStride)
                }
            }
        }
    }

    /// Naive reference with explicit loops in double precision.
    public static func reference(q: [Float], k: [Float], v: [Float], shape s: AttentionShape,
                                 scale customScale: Float? = nil, window: Int? = nil) -> [Float] {
        let qStride = s.heads * s.headDim, kvStride = s.kvHeads * s.headDim
        var out = [Float](repeating: 0, count: s.batch * s.queries * qStride)
        let scale = customScale.map(Double.init) ?? 1 / Double(s.headDim).squareRoot()
        for b in 0..<s.batch {
            for h in 0..<s.heads {
                let kvh = h / s.groupSize
                for i in 0..<s.queries {
                    let visible = s.offset + i + 1
                    let first = window.map { max(0, visible - $0) } ?? 0
                    var scores = [Double](repeating: -Double.infinity, count: visible)
                    for j in first..<visible {
                        var dot: Double = 0
                        for d in 0..<s.headDim {
                            dot += Double(q[(b * s.queries + i) * qStride + h * s.headDim + d])
                                * Double(k[(b * s.keys + j) * kvStride + kvh * s.headDim + d])
                        }
                        scores[j] = dot * scale
                    }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    for d in 0..<s.headDim {
                        var acc: Double = 0
                        for j in 0..<visible {
                            acc += e[j] / z * Double(v[(b * s.keys + j) * kvStride + kvh * s.headDim + d])
                        }
                        out[(b * s.queries + i) * qStride + h * s.headDim + d] = Float(acc)
                    }
                }
            }
        }
        return out
    }
}
