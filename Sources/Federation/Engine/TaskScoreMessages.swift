import Foundation

// The task scoring of a network deployment. In process the coordinator calls a client's scorers
// directly; over the network the same calls travel as these bytes. An empty answer means the
// client has nothing to score (no labelled or no instruction examples).

/// Scores the adapter of an encoded `EvaluationRequest` over the run's candidate labels.
public struct LabelScoreRequest: Sendable, Equatable {
    public var evaluation: Data
    public var labels: [String]
    static let magic: UInt32 = 0x534C_5046  // "FPLS"
    /// Labels per request, and per label's UTF-8 bytes: far above any classification task, low
    /// enough that a hostile message cannot make the client allocate much.
    static let maximumLabels = 4096
    static let maximumLabelBytes = 1024

    public init(evaluation: Data, labels: [String]) { self.evaluation = evaluation; self.labels = labels }

    public func encoded() -> Data {
        var out = Data()
        WireVersion.writeHeader(Self.magic, to: &out)
        appendInteger(UInt32(labels.count), to: &out)
        for label in labels { appendString(label, to: &out) }
        out.append(evaluation)
        return out
    }

    public init(decoding data: Data) throws {
        var r = PayloadReader(data)
        try WireVersion.readHeader(Self.magic, "a label scoring request", from: &r)
        labels = try TaskScore.readLabels(&r, count: Int(try r.read(UInt32.self, "label count")), what: "label")
        evaluation = data.suffix(from: data.startIndex + r.offset)
    }
}

extension TaskScore {
    static let magic: UInt32 = 0x5354_5046  // "FPTS"

    /// The confusion counts, gold label by gold label (in label order, so equal scores encode alike).
    public func encoded() -> Data {
        var out = Data()
        WireVersion.writeHeader(Self.magic, to: &out)
        appendInteger(UInt32(counts.count), to: &out)
        for gold in counts.keys.sorted() {
            let row = counts[gold]!
            appendString(gold, to: &out)
            appendInteger(UInt32(row.count), to: &out)
            for predicted in row.keys.sorted() {
                appendString(predicted, to: &out)
                appendInteger(UInt32(clamping: row[predicted]!), to: &out)
            }
        }
        return out
    }

    /// Decodes a client's answer and checks it against what was asked: every label one of
    /// `labels`, at most `examples` examples counted (the validation count it announced). A
    /// client cannot inflate the pooled accuracy by claiming more examples than it holds.
    public init(decoding data: Data, labels: [String], examples: Int) throws {
        var r = PayloadReader(data)
        try WireVersion.readHeader(Self.magic, "a task score", from: &r)
        let known = Set(labels)
        var counts: [String: [String: Int]] = [:]
        var total = 0
        _ = try Self.readLabels(&r, count: Int(try r.read(UInt32.self, "gold label count")), what: "gold label", within: known,
                                        then: { r, gold in
            let predictions = Int(try r.read(UInt32.self, "prediction count of \(gold)"))
            _ = try Self.readLabels(&r, count: predictions, what: "predicted label", within: known, then: { r, predicted in
                let n = Int(try r.read(UInt32.self, "count of \(gold) predicted as \(predicted)"))
                total += n
                guard total <= examples else {
                    throw PayloadError(offset: r.offset - 4, reason: "counts \(total) examples, more than the \(examples) it holds")
                }
                counts[gold, default: [:]][predicted] = n
            })
        })
        try r.expectEnd()
        self.init(counts: counts)
    }

    /// `count` distinct labels (each of `known` when given), running `then` after each.
    static func readLabels(_ r: inout PayloadReader, count: Int, what: String, within known: Set<String>? = nil,
                           then: (inout PayloadReader, String) throws -> Void = { _, _ in }) throws -> [String] {
        guard count <= LabelScoreRequest.maximumLabels else {
            throw PayloadError(offset: r.offset - 4, reason: "\(count) \(what)s, more than \(LabelScoreRequest.maximumLabels)")
        }
        var seen = Set<String>(), out: [String] = []
        for _ in 0..<count {
            let at = r.offset
            let label = try r.readString(what)
            guard label.utf8.count <= LabelScoreRequest.maximumLabelBytes else {
                throw PayloadError(offset: at, reason: "a \(what) of \(label.utf8.count) bytes, more than \(LabelScoreRequest.maximumLabelBytes)")
            }
            guard seen.insert(label).inserted else { throw PayloadError(offset: at, reason: "\(what) '\(label)' appears twice") }
            if let known, !known.contains(label) { throw PayloadError(offset: at, reason: "\(what) '\(label)' was not asked for") }
            out.append(label)
            try then(&r, label)
        }
        return out
    }
}

extension GenerationScore {
    static let magic: UInt32 = 0x5347_5046  // "FPGS"

    public func encoded() -> Data {
        var out = Data()
        WireVersion.writeHeader(Self.magic, to: &out)
        appendInteger(rougeL.bitPattern, to: &out)
        appendInteger(UInt32(clamping: examples), to: &out)
        return out
    }

    /// Decodes a client's answer: a ROUGE-L F1 in [0, 1] over at most `examples` examples.
    public init(decoding data: Data, examples limit: Int) throws {
        var r = PayloadReader(data)
        try WireVersion.readHeader(Self.magic, "a generation score", from: &r)
        let rouge = Double(bitPattern: try r.read(UInt64.self, "ROUGE-L"))
        guard rouge.isFinite, (0...1).contains(rouge) else { throw PayloadError(offset: r.offset - 8, reason: "ROUGE-L \(rouge) is not in [0, 1]") }
        let examples = Int(try r.read(UInt32.self, "example count"))
        guard examples <= limit else { throw PayloadError(offset: r.offset - 4, reason: "scores \(examples) examples, more than the \(limit) it holds") }
        try r.expectEnd()
        self.init(rougeL: rouge, examples: examples)
    }
}
