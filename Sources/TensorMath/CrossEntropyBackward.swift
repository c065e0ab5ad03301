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
    /// vectorizable `BackwardMath.exp`, within 1.4 ulp of `expf`; a `-inf` logit gets
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
        var total: Double = 0
        for (r, t) in targets.enumerated() {
            let row = logits + r * vocab, d = dLogits + r * vocab
            guard t >= 0 else {
                d.update(repeating: 0, count: vocab)
                continue
            }
            let m = BackwardMath.max(row, vocab)
            let target = row[t]
            // May overwrite `row` when in place; only `m` and `target` are needed afterwards.
            for i in 0..<vocab { d[i] = BackwardMath.exp(row[i] - m) }
            let sum = BackwardMath.sumDouble(d, vocab)
            total += log(sum) + Double(m) - Double(target)
            let factor = Float(Double(gradScale) / sum)
            for i in 0..<vocab { d[i] *= factor }
            d[t] -= gradScale
        }
        return (count == 0 ? 0 : total / Double(count), count)
    }
}
