/// Classification results as confusion counts: `counts[gold][predicted]` examples.
///
/// Accuracy is the share of examples whose predicted label is the gold one. Macro-F1 is the
/// mean over classes of `2·TP / (2·TP + FP + FN)`, over every class that occurs as a gold or a
/// predicted label (as scikit-learn's `f1_score(average="macro")` does by default).
public struct TaskScore: Sendable, Equatable, Codable {
    public var counts: [String: [String: Int]]

    public init(counts: [String: [String: Int]] = [:]) { self.counts = counts }

    /// Counts one example.
    public mutating func add(gold: String, predicted: String) {
        counts[gold, default: [:]][predicted, default: 0] += 1
    }

    /// These counts plus `other`'s (pooling clients' examples).
    public func merged(with other: TaskScore) -> TaskScore {
        var out = self
        for (gold, row) in other.counts {
            for (predicted, n) in row { out.counts[gold, default: [:]][predicted, default: 0] += n }
        }
        return out
    }

    public var total: Int { counts.values.reduce(0) { $0 + $1.values.reduce(0, +) } }
    public var correct: Int { counts.reduce(0) { $0 + ($1.value[$1.key] ?? 0) } }

    /// Correct / total; nil without examples.
    public var accuracy: Double? { total == 0 ? nil : Double(correct) / Double(total) }

    /// Every label that occurs as a gold or a predicted label, sorted.
    public var classes: [String] {
        var s = Set(counts.keys)
        for row in counts.values { s.formUnion(row.keys) }
        return s.sorted()
    }

    /// F1 of one class: `2·TP / (2·TP + FP + FN)`.
    public func f1(_ label: String) -> Double {
        let tp = counts[label]?[label] ?? 0
        let fn = (counts[label]?.values.reduce(0, +) ?? 0) - tp
        let fp = counts.reduce(0) { $0 + ($1.key == label ? 0 : $1.value[label] ?? 0) }
        let d = 2 * tp + fp + fn
        return d == 0 ? 0 : Double(2 * tp) / Double(d)
    }

    /// Mean F1 over `classes`; nil without examples.
    public var macroF1: Double? {
        let c = classes
        guard total > 0, !c.isEmpty else { return nil }
        return c.map(f1).reduce(0, +) / Double(c.count)
    }

    /// Off-diagonal counts, largest first (ties by gold, then predicted label).
    public func topConfusions(_ limit: Int = .max) -> [(gold: String, predicted: String, count: Int)] {
        var list: [(gold: String, predicted: String, count: Int)] = []
        for (gold, row) in counts { for (p, n) in row where p != gold && n > 0 { list.append((gold, p, n)) } }
        list.sort { ($0.count, $1.gold, $1.predicted) > ($1.count, $0.gold, $0.predicted) }
        return Array(list.prefix(limit))
    }
}
