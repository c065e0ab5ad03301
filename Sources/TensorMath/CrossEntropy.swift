import Foundation

/// Next-token cross-entropy over logits rows.
public enum CrossEntropy {
    /// Mean of `-log softmax(logits[r])[target[r]]` over rows whose target is >= 0
    /// (a negative target masks the row, like Hugging Face's -100). Returns nil if
    /// every row is masked. Sums run in double precision.
    public static func mean(logits: UnsafePointer<Float>, vocab: Int, targets: [Int]) -> Double? {
        var total: Double = 0
        var counted = 0
        for (r, t) in targets.enumerated() where t >= 0 {
            total += rowLoss(logits + r * vocab, vocab: vocab, target: t)
            counted += 1
        }
        return counted == 0 ? nil : total / Double(counted)
    }

    /// `logsumexp(row) - row[target]`.
    @inlinable
    public static func rowLoss(_ row: UnsafePointer<Float>, vocab: Int, target: Int) -> Double {
        var m = -Float.infinity
        for i in 0..<vocab where row[i] > m { m = row[i] }
        var s: Double = 0
        for i in 0..<vocab { s += Double(expf(row[i] - m)) }
        return log(s) + Double(m) - Double(row[target])
    }
}
