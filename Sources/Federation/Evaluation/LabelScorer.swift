import Foundation
import Llama

/// One client's labelled validation examples, tokenized once, and their scoring: every
/// candidate label is scored as the completion of the example's prompt (one forward pass over
/// the prompt, then all labels side by side over its KV cache) and the label with the highest
/// mean log-likelihood per token is predicted. Ties go to the label listed first.
public final class LabelScorer: @unchecked Sendable {
    struct Example {
        var prompt: [Int]
        var separator: String
        var gold: String
        /// The prompt's last line alone, for calibration (empty: none).
        var neutral: [Int]
    }
    let examples: [Example]
    /// The labels of the whole validation split (for the run's label set).
    public let validationLabels: [String]
    private let encoding: any TextEncoding
    private let lock = NSLock()
    private var continuations: [String: [Int]] = [:]

    /// - Parameters:
    ///   - validation: the client's validation split; its first `limit` labelled examples are scored.
    ///   - contextTokens: a prompt keeps its last this many tokens.
    /// Whether scores are calibrated against the prompt's last line alone (see `TaskEvaluationConfig.calibrate`).
    let calibrate: Bool

    public init(validation: [TextExample], template: String?, limit: Int, contextTokens: Int, encoding: any TextEncoding,
                calibrate: Bool = false) {
        self.calibrate = calibrate
        self.encoding = encoding
        validationLabels = Array(Set(validation.compactMap(\.label).filter { !$0.isEmpty })).sorted()
        var prepared: [Example] = []
        for e in validation where prepared.count < limit {
            guard let (prompt, separator) = LabelPrompt.make(e, template: template), let gold = e.label else { continue }
            // The prompt starts the sequence (BOS where the model asks for it, kept when the
            // prompt is cut to its last tokens); the labels continue it without one.
            let tokens = encoding.encode(prompt), start = encoding.sequenceStart
            guard !tokens.isEmpty else { continue }
            let kept = start + tokens.suffix(max(1, contextTokens - start.count))
            prepared.append(Example(prompt: kept, separator: separator, gold: gold,
                                    neutral: calibrate ? encoding.encodeSequence(Self.lastLine(prompt)) : []))
        }
        examples = prepared
    }

    /// The last line of a prompt (with its line break when the prompt ends with one).
    static func lastLine(_ prompt: String) -> String {
        var body = Substring(prompt), suffix = ""
        if body.hasSuffix("\n") { body = body.dropLast(); suffix = "\n" }
        let line = body.split(separator: "\n", omittingEmptySubsequences: false).last ?? ""
        return String(line) + suffix
    }

    /// Examples that are scored.
    public var exampleCount: Int { examples.count }
    /// Tokens of every scored example's prompt.
    public var promptTokens: Int { examples.reduce(0) { $0 + $1.prompt.count } }

    /// The token ids of `separator + label`, encoded once.
    func continuation(_ label: String, separator: String) -> [Int] {
        let text = separator + label
        return lock.withLock {
            if let c = continuations[text] { return c }
            let c = encoding.encode(text)
            continuations[text] = c
            return c
        }
    }

    /// Confusion counts of `model` (with `adapter` when given) over `labels`; nil when this
    /// client has no labelled example or `labels` is empty.
    /// - Parameter sharedPrefix: false scores each label with its own full forward pass (the reference).
    public func score(model: LanguageModel, adapter: LoRAAdapter?, labels: [String], sharedPrefix: Bool = true) throws -> TaskScore? {
        guard !examples.isEmpty, !labels.isEmpty else { return nil }
        var score = TaskScore()
        var neutralMeans: [[Int]: [Double]] = [:]
        for e in examples {
            let continuations = labels.map { continuation($0, separator: e.separator) }
            var offsets: [Double]? = nil
            if calibrate, !e.neutral.isEmpty {
                if neutralMeans[e.neutral] == nil {
                    neutralMeans[e.neutral] = try model.continuationLogProbabilities(prompt: e.neutral, continuations: continuations, adapter: adapter)
                        .map { $0.reduce(0, +) / Double($0.count) }
                }
                offsets = neutralMeans[e.neutral]
            }
            let predicted = try Self.predict(model: model, adapter: adapter, prompt: e.prompt, labels: labels,
                                             continuations: continuations, sharedPrefix: sharedPrefix, offsets: offsets)
            score.add(gold: e.gold, predicted: predicted)
        }
        return score
    }

    /// The label whose continuation has the highest mean log-likelihood per token.
    /// - Parameter offsets: subtracted from each label's mean (calibration).
    static func predict(model: LanguageModel, adapter: LoRAAdapter?, prompt: [Int], labels: [String],
                        continuations: [[Int]], sharedPrefix: Bool, offsets: [Double]? = nil) throws -> String {
        let logProbabilities = sharedPrefix
            ? try model.continuationLogProbabilities(prompt: prompt, continuations: continuations, adapter: adapter)
            : try model.continuationLogProbabilitiesNaive(prompt: prompt, continuations: continuations, adapter: adapter)
        var best = 0, bestScore = -Double.infinity
        for (i, lp) in logProbabilities.enumerated() {
            let mean = lp.reduce(0, +) / Double(lp.count) - (offsets?[i] ?? 0)
            if mean > bestScore { best = i; bestScore = mean }
        }
        return labels[best]
    }
}
