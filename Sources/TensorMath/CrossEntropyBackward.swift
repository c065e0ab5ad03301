import Foundation

extension CrossEntropy {
    /// Fused loss and gradient of `mean(logits:vocab:targets:)`.
    ///
    /// Rows are `targets.count` vectors of `vocab` logits. The loss is the mean of
    /// `logsumexp(row) - row[target]` over rows whose target is >= 0 (`count` of
    /// them; a negative target masks the row). The gradient of `scale * loss` is
    /// WRITTEN to `dLogits`:
    ///
    ///     dLogits[r] = scale * (softmax(logits[r]) - onehot(target[r])) / count   for counted rows
    ///     dLogits[r] = 0                                                          for masked rows
    ///
    /// `scale` multiplies only the gradient, not the returned loss (for example
    /// `1 / accumulationSteps`). If every row is masked, returns `(0, 0)` and
    /// zeroes `dLogits`.
    ///
    /// In place: `dLogits` may be the same buffer as `logits` (pass the same
    /// address for both); each row's max and target logit are read before the row
    /// is overwritten. Partially overlapping buffers are not supported.
    ///
    /// Numerically stable: exponentials are taken of `logit - rowMax` (with the
    /// `BackwardMath.exp` 8 lanes at a time, within 1.4 ulp of `expf`; a `-inf` logit gets
    /// probability ~1e-38/sum rather than exactly 0), and the row sums are
    /// accumulated in double precision across blocks of 256.
    @discardableResult
    public static func forwardBackward(
        logits: UnsafePointer<Float>, vocab: Int, targets: [Int],
        dLogits: UnsafeMutablePointer<Float>, scale: Float = 1
    ) -> (loss: Double, count: Int) {
        var count = 0
        for t in targets where t >= 0 {
            precondition(t < vocab, "cross-entropy target \(t) outside vocabulary of \(vocab)")
            count += 1
        }
        let gradScale = count == 0 ? 0 : scale / Float(count)
        // Rows are independent: split them over the compute threads (each row's loss is kept
        // and summed in row order afterwards, so the result does not depend on the split).
        let rows = targets.count
        var rowLosses = [Double](repeating: 0, count: rows)
        targets.withUnsafeBufferPointer { tp in
            rowLosses.withUnsafeMutableBufferPointer { lp in
                let ptrs = RowPointers(logits: logits, dLogits: dLogits, targets: tp.baseAddress!, losses: lp.baseAddress!)
                let run: @Sendable (Range<Int>) -> Void = { range in
                    let tPtr = ptrs.targets, lPtr = ptrs.losses, logits = ptrs.logits, dLogits = ptrs.dLogits
                    for r in range {
                        let t = tPtr[r]
                        let row = logits + r * vocab, d = dLogits + r * vocab
                        guard t >= 0 else {
                            d.update(repeating: 0, count: vocab)
                            continue
                        }
                        let m = BackwardMath.max(row, vocab)
                        let target = row[t]
                        // May overwrite `row` when in place; only `m` and `target` are needed afterwards.
                        BackwardMath.expShifted(row, minus: m, into: d, vocab)
                        let sum = BackwardMath.sumDouble(d, vocab)
                        lPtr[r] = log(sum) + Double(m) - Double(target)
                        let factor = Float(Double(gradScale) / sum)
                        for i in 0..<vocab { d[i] *= factor }
                        d[t] -= gradScale
                    }
                }
                // Row ranges as work items, 4 per thread, so a preempted thread costs a quarter.
                let items = rows * vocab >= 1 << 20 ? min(rows, 4 * ComputeThreads.clamped(nil)) : 1
                ComputeThreads.parallelFor(items) { p in
                    let (r0, r1) = ComputeThreads.part(p, of: rows, parts: items)
                    run(r0..<r1)
                }
            }
        }
        var total: Double = 0
        for (r, t) in targets.enumerated() where t >= 0 { total += rowLosses[r] }
        return (count == 0 ? 0 : total / Double(count), count)
    }
}

/// Buffers shared by the row-parallel cross-entropy (each thread touches its own rows).
private struct RowPointers: @unchecked Sendable {
    let logits: UnsafePointer<Float>
    let dLogits: UnsafeMutablePointer<Float>
    let targets: UnsafePointer<Int>
    let losses: UnsafeMutablePointer<Double>
}
