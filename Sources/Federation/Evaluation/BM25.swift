import Foundation

/// Okapi BM25 over a fixed set of documents (the retrieval baseline of `fedpilot compare`).
///
/// A document's score for a query is the sum, over the query's distinct terms `t`, of
///
///     idf(t) · f(t, D) · (k1 + 1) / (f(t, D) + k1 · (1 − b + b · |D| / avgdl))
///
/// where `f(t, D)` is how often `t` occurs in `D`, `|D|` is the document's length in terms and
/// `avgdl` the mean length over the collection. `idf(t) = ln(1 + (N − n(t) + 0.5) / (n(t) + 0.5))`
/// with `N` documents of which `n(t)` contain `t` (the non-negative form Lucene uses, so a term
/// found in most documents adds a little rather than subtracting).
///
/// - `k1` (default 1.2) is how quickly repeats of a term saturate: 0 counts presence only; large
///   values make the score grow almost linearly with the count.
/// - `b` (default 0.75) is how much a long document is penalised: 0 ignores length, 1 divides
///   the count by the relative length in full.
///
/// Terms are maximal runs of letters and digits, lower-cased ("Can't log-in!" gives "can",
/// "t", "log", "in").
public struct BM25: Sendable {
    public let k1: Double
    public let b: Double
    /// Term counts of each document.
    let documents: [[String: Int]]
    let lengths: [Int]
    /// How many documents hold each term.
    let documentFrequency: [String: Int]
    public let averageLength: Double

    public init(documents texts: [String], k1: Double = 1.2, b: Double = 0.75) {
        self.k1 = k1; self.b = b
        var docs: [[String: Int]] = [], lengths: [Int] = [], df: [String: Int] = [:]
        docs.reserveCapacity(texts.count)
        for text in texts {
            let terms = Self.terms(text)
            var counts: [String: Int] = [:]
            for t in terms { counts[t, default: 0] += 1 }
            for t in counts.keys { df[t, default: 0] += 1 }
            docs.append(counts)
            lengths.append(terms.count)
        }
        documents = docs
        self.lengths = lengths
        documentFrequency = df
        averageLength = texts.isEmpty ? 0 : Double(lengths.reduce(0, +)) / Double(texts.count)
    }

    public var count: Int { documents.count }

    /// The terms of `text`: maximal runs of letters and digits, lower-cased.
    public static func terms(_ text: String) -> [String] {
        var out: [String] = [], current = ""
        for ch in text.lowercased() {
            if ch.isLetter || ch.isNumber { current.append(ch) } else if !current.isEmpty { out.append(current); current = "" }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// `ln(1 + (N − n + 0.5) / (n + 0.5))` of a term in `n` of the `N` documents.
    public func idf(_ term: String) -> Double {
        let n = Double(documentFrequency[term] ?? 0), total = Double(documents.count)
        return log(1 + (total - n + 0.5) / (n + 0.5))
    }

    /// The score of document `index` for the query `text`.
    public func score(_ text: String, document index: Int) -> Double {
        score(Set(Self.terms(text)), document: index)
    }

    func score(_ query: Set<String>, document index: Int) -> Double {
        let doc = documents[index]
        let norm = averageLength > 0 ? Double(lengths[index]) / averageLength : 0
        var s = 0.0
        for t in query {
            guard let f = doc[t] else { continue }
            let tf = Double(f)
            s += idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * norm))
        }
        return s
    }

    /// The `k` best documents for `text` with a positive score, best first (equal scores: the
    /// earlier document first).
    public func top(_ text: String, k: Int) -> [(document: Int, score: Double)] {
        let query = Set(Self.terms(text))
        guard k > 0, !query.isEmpty else { return [] }
        var scored: [(document: Int, score: Double)] = []
        for i in documents.indices {
            let s = score(query, document: i)
            if s > 0 { scored.append((i, s)) }
        }
        scored.sort { $0.score != $1.score ? $0.score > $1.score : $0.document < $1.document }
        return Array(scored.prefix(k))
    }
}

/// The plain kNN label vote: the most common label among the neighbours; a tie goes to the
/// label whose neighbours have the higher summed score, then to the label listed first.
/// Neighbours whose label is not a candidate do not vote. Nil when no neighbour votes.
public func knnVote(_ neighbours: [(label: String, score: Double)], labels: [String]) -> String? {
    var votes: [String: (count: Int, score: Double)] = [:]
    for n in neighbours where labels.contains(n.label) {
        let v = votes[n.label] ?? (0, 0)
        votes[n.label] = (v.count + 1, v.score + n.score)
    }
    var best: (label: String, count: Int, score: Double)?
    for label in labels {
        guard let v = votes[label] else { continue }
        if best == nil || v.count > best!.count || (v.count == best!.count && v.score > best!.score) {
            best = (label, v.count, v.score)
        }
    }
    return best?.label
}
