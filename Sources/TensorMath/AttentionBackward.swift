import Foundation

extension Attention {
    /// Backward of `forward(q:k:v:out:shape:probabilities:)` using `sgemm` per (sequence, head),
    /// the (sequence, key/value head) pairs shared between the threads.
    ///
    /// `probabilities` is what the forward stored, `[B, nH, Tq, Tk]` (masked entries
    /// exactly 0). With `scale = 1 / sqrt(hd)`, for each sequence and query head `h`
    /// reading key/value head `h / groupSize`:
    ///
    ///     dV += Pᵀ dO
    ///     dP  = dO Vᵀ
    ///     dS  = P ⊙ (dP − rowsum(dP ⊙ P))      (only the causally visible entries; the rest are 0)
    ///     dQ += scale · dS K
    ///     dK += scale · dSᵀ Q
    ///
    /// All three gradients are ADDED into `dq: [B, Tq, nH, hd]` and
    /// `dk, dv: [B, Tk, nKV, hd]`; callers zero them first. With grouped-query
    /// attention the `groupSize` query heads that share a key/value head all
    /// accumulate into that head's `dk`/`dv` slice, so `dk`/`dv` are the gradients
    /// of the shared (un-repeated) keys and values.
    ///
    /// With a KV cache (`Tq < Tk`) `dk`/`dv` cover all `Tk` keys, including the
    /// cached ones. Gradient buffers must not overlap each other or any input.
    /// Allocates one `[Tq, Tk]` scratch block per (sequence, key/value head).
    public static func backward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        probabilities: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
        dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
        shape s: AttentionShape, scale customScale: Float? = nil
    ) {
        let tq = s.queries, tk = s.keys, hd = s.headDim
        guard s.batch > 0, tq > 0, hd > 0 else { return }
        let qStride = s.heads * hd, kvStride = s.kvHeads * hd
        let scale = customScale ?? 1 / Float(hd).squareRoot()
        let block = tq * tk, causal = s.causalBlocks
        // Work items: one per (sequence, key/value head), so the query heads that add into the
        // same dK/dV slice run in turn on one thread.
        ComputeThreads.parallelFor(s.batch * s.kvHeads, threads: s.threadsWorthUsing) { item in
            let b = item / s.kvHeads, kvh = item % s.kvHeads
            let dS = UnsafeMutablePointer<Float>.allocate(capacity: block)
            defer { dS.deallocate() }
            let kvOffset = b * tk * kvStride + kvh * hd
            for h in kvh * s.groupSize..<(kvh + 1) * s.groupSize {
                let p = probabilities + (b * s.heads + h) * block
                let qOffset = b * tq * qStride + h * hd
                let dO = dOut + qOffset
                // Query blocks [i0, i1) against the keys they see, [0, kEnd) (as the forward).
                for (i0, i1, kEnd) in causal {
                    let rows = i1 - i0, pb = p + i0 * tk, dSb = dS + i0 * tk
                    // dV[kEnd, hd] += Pᵀ[kEnd, rows] · dO[rows, hd]
                    Matmul.gemm(transA: true, transB: false, m: kEnd, n: hd, k: rows,
                                a: pb, lda: tk, b: dO + i0 * qStride, ldb: qStride,
                                beta: 1, c: dv + kvOffset, ldc: kvStride)
                    // dP[rows, kEnd] = dO[rows, hd] · Vᵀ[hd, kEnd]
                    Matmul.gemm(transA: false, transB: true, m: rows, n: kEnd, k: hd,
                                a: dO + i0 * qStride, lda: qStride, b: v + kvOffset, ldb: kvStride,
                                c: dSb, ldc: tk)
                    // dS = P ⊙ (dP − rowsum(P ⊙ dP)) over the visible keys; masked keys get 0.
                    for i in i0..<i1 {
                        let visible = s.offset + i + 1
                        let pr = p + i * tk, dr = dS + i * tk
                        let rowDot = BackwardMath.dot(pr, dr, visible)
                        for j in 0..<visible { dr[j] = pr[j] * (dr[j] - rowDot) }
                        if visible < kEnd { (dr + visible).update(repeating: 0, count: kEnd - visible) }
                    }
                    // dQ[rows, hd] += scale · dS[rows, kEnd] · K[kEnd, hd]
                    Matmul.gemm(transA: false, transB: false, m: rows, n: hd, k: kEnd,
                                alpha: scale, a: dSb, lda: tk, b: k + kvOffset, ldb: kvStride,
                                beta: 1, c: dq + qOffset + i0 * qStride, ldc: qStride)
                    // dK[kEnd, hd] += scale · dSᵀ[kEnd, rows] · Q[rows, hd]
                    Matmul.gemm(transA: true, transB: false, m: kEnd, n: hd, k: rows,
                                alpha: scale, a: dSb, lda: tk, b: q + qOffset + i0 * qStride, ldb: qStride,
                                beta: 1, c: dk + kvOffset, ldc: kvStride)
                }
            }
        }
    }

    /// Naive backward with explicit loops in double precision; recomputes the
    /// probabilities from `q` and `k`. Returns fresh gradients (not accumulated)
    /// in the layouts of `q`, `k` and `v`. For tests.
    public static func referenceBackward(
        q: [Float], k: [Float], v: [Float], dOut: [Float], shape s: AttentionShape
    ) -> (dq: [Float], dk: [Float], dv: [Float]) {
        let hd = s.headDim, qStride = s.heads * hd, kvStride = s.kvHeads * hd
        var dq = [Double](repeating: 0, count: q.count)
        var dk = [Double](repeating: 0, count: k.count)
        var dv = [Double](repeating: 0, count: v.count)
        let scale = 1 / Double(hd).squareRoot()
        for b in 0..<s.batch {
            for h in 0..<s.heads {
                let kvh = h / s.groupSize
                func qi(_ i: Int, _ d: Int) -> Int { (b * s.queries + i) * qStride + h * hd + d }
                func kj(_ j: Int, _ d: Int) -> Int { (b * s.keys + j) * kvStride + kvh * hd + d }
                for i in 0..<s.queries {
                    let visible = s.offset + i + 1
                    var scores = [Double](repeating: 0, count: visible)
                    for j in 0..<visible {
                        var dot: Double = 0
                        for d in 0..<hd { dot += Double(q[qi(i, d)]) * Double(k[kj(j, d)]) }
                        scores[j] = dot * scale
                    }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    let p = e.map { $0 / z }
                    // dP[j] = dO[i] · V[j]; dV[j] += P[j] dO[i]
                    var dp = [Double](repeating: 0, count: visible)
                    for j in 0..<visible {
                        for d in 0..<hd {
                            let g = Double(dOut[qi(i, d)])
                            dp[j] += g * Double(v[kj(j, d)])
                            dv[kj(j, d)] += p[j] * g
                        }
                    }
                    var rowDot: Double = 0
                    for j in 0..<visible { rowDot += p[j] * dp[j] }
                    for j in 0..<visible {
                        let ds = p[j] * (dp[j] - rowDot) * scale
                        for d in 0..<hd {
                            dq[qi(i, d)] += ds * Double(k[kj(j, d)])
                            dk[kj(j, d)] += ds * Double(q[qi(i, d)])
                        }
                    }
                }
            }
        }
        return (dq.map { Float($0) }, dk.map { Float($0) }, dv.map { Float($0) })
    }
}
