import Foundation
import Llama

/// The received global model's losses on a fixed sample of the client's current training data,
/// measured by the client before it trains (self-reported, like the update norm, so the
/// coordinator sees them under secure aggregation too), from one forward pass:
/// - `mean`: over every learned token (the start-of-training loss);
/// - `tail`: over each example's last `ProbeRows.tailTokens` learned tokens and its end, where
///   text appended to an example (a backdoor's trigger sentence) lands; a row-wide mean dilutes
///   it about fourfold;
/// - `label`: over the label's tokens where the text spells its label ("Triage: billing"), which
///   label noise swaps; 1-2 tokens of a ~90-token ticket, invisible in the mean.
public struct ProbeLosses: Sendable, Equatable {
    public var mean: Double
    public var tail: Double?
    public var label: Double?

    public init(mean: Double, tail: Double?, label: Double?) {
        self.mean = mean; self.tail = tail; self.label = label
    }
}

/// The probe sample as training makes its rows (packed so that every token counts, or one
/// padded and truncated row per example), and which flat positions (`row * length + t`) predict
/// an example's tail and its label's tokens. Only what training would learn is scored: an
/// appended trigger cut off by truncation (`packing = false`, an example longer than the row) is
/// not trained on, and is not in the tail either.
struct ProbeRows {
    static let tailTokens = 16

    let rows: [[Int]]
    let targets: [Int]
    let tailPositions: [Int]
    let labelPositions: [Int]

    /// - Parameter labelSpans: for each example, the indices into its tokens of its label
    ///   (empty when its text does not spell it).
    init(_ sample: [TokenizedExample], labelSpans: [Range<Int>], length: Int, separatorID: Int, packing: Bool,
         tailTokens: Int = ProbeRows.tailTokens) {
        var tail: [Int] = [], labels: [Int] = []
        var rows: [[Int]] = [], targets: [Int] = []
        if packing {
            let packed = Batcher.packed(sample, length: length, separatorID: separatorID)
            rows = packed.map(\.tokens); targets = packed.flatMap(\.targets)
            // The packed stream's index q is flat position q; token q is predicted at q − 1
            // unless q starts a row (no prediction across a row boundary) or is not learned.
            var start = 0
            for (e, example) in sample.enumerated() {
                let n = example.tokens.count
                func predicting(_ q: Int) -> Int? { q >= 1 && q - 1 < targets.count && targets[q - 1] >= 0 ? q - 1 : nil }
                // The last `tailTokens` learned tokens of the example, its separator included.
                let first = max(start + example.promptLength, start + n + 1 - tailTokens)
                if first <= start + n { tail += (first...(start + n)).compactMap(predicting) }
                if e < labelSpans.count { labels += labelSpans[e].compactMap { predicting(start + $0) } }
                start += n + 1
            }
        } else if !sample.isEmpty {
            let b = Batcher.padded(sample, length: length, padID: separatorID)
            rows = (0..<b.rows).map { r in Array(b.tokens[(r * length)..<((r + 1) * length)]) }
            targets = b.targets
            for (e, example) in sample.enumerated() {
                let base = e * length
                let learned = (0..<length).filter { targets[base + $0] >= 0 }
                tail += learned.suffix(tailTokens).map { base + $0 }
                // The row drops `cut` prompt tokens after the sequence start (as `Batcher.padded`).
                let cut = min(example.promptLength - example.startLength, max(0, example.tokens.count - length))
                if e < labelSpans.count {
                    for i in labelSpans[e] where i >= example.startLength + cut {
                        let p = i - cut - 1
                        if p >= 0, p < length, targets[base + p] >= 0 { labels.append(base + p) }
                    }
                }
            }
        }
        self.rows = rows; self.targets = targets
        tailPositions = tail; labelPositions = labels
    }

    /// The losses of `model` with `adapter` on these rows; nil when nothing is scored or the
    /// mean is not finite.
    func losses(model: LlamaModel, adapter: LoRAAdapter) throws -> ProbeLosses? {
        guard !rows.isEmpty, targets.contains(where: { $0 >= 0 }) else { return nil }
        let losses = try model.positionLosses(rows, targets: targets, adapter: adapter)
        var total: Double = 0, counted = 0
        for (i, t) in targets.enumerated() where t >= 0 { total += losses[i]; counted += 1 }
        let mean = total / Double(counted)
        guard mean.isFinite else { return nil }
        func average(_ positions: [Int]) -> Double? {
            guard !positions.isEmpty else { return nil }
            let v = positions.reduce(0.0) { $0 + losses[$1] } / Double(positions.count)
            return v.isFinite ? v : nil
        }
        return ProbeLosses(mean: mean, tail: average(tailPositions), label: average(labelPositions))
    }
}
