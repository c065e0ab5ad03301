/// ROUGE-L (Lin 2004): the longest common subsequence of words between a candidate and a
/// reference. Precision is LCS / candidate words, recall LCS / reference words, and F1 their
/// harmonic mean. Words are maximal runs of letters and digits, lower-cased (as
/// `rouge-score`'s default tokenizer, without stemming).
public enum RougeL {
    /// Lower-cased runs of letters and digits.
    public static func words(_ text: String) -> [String] {
        var out: [String] = [], current = ""
        for ch in text.lowercased() {
            if ch.isLetter || ch.isNumber { current.append(ch) } else if !current.isEmpty { out.append(current); current = "" }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// Length of the longest common subsequence (dynamic programming, two rows).
    public static func lcs(_ a: [String], _ b: [String]) -> Int {
        guard !a.isEmpty, !b.isEmpty else { return 0 }
        var previous = [Int](repeating: 0, count: b.count + 1), row = previous
        for x in a {
            for (j, y) in b.enumerated() { row[j + 1] = x == y ? previous[j] + 1 : max(previous[j + 1], row[j]) }
            swap(&previous, &row)
        }
        return previous[b.count]
    }

    /// ROUGE-L precision, recall and F1 of `candidate` against `reference` (0 when either has no words).
    public static func score(candidate: String, reference: String) -> (precision: Double, recall: Double, f1: Double) {
        let c = words(candidate), r = words(reference)
        let l = Double(lcs(c, r))
        guard l > 0 else { return (0, 0, 0) }
        let p = l / Double(c.count), rec = l / Double(r.count)
        return (p, rec, 2 * p * rec / (p + rec))
    }
}
