import Foundation
import Llama

/// A client's generation check (`[evaluation] generation = N`): greedy continuations of up to
/// N tokens of the first few instruction examples of its validation split, scored by ROUGE-L
/// F1 against their reference outputs.
public final class GenerationScorer: @unchecked Sendable {
    struct Example {
        var prompt: String
        var reference: String
    }
    let examples: [Example]
    let maxTokens: Int
    private let encoding: any TextEncoding

    /// - Parameters:
    ///   - validation: the client's validation split; its first `limit` instruction examples are used.
    ///   - maxTokens: tokens generated per example.
    public init(validation: [TextExample], limit: Int, maxTokens: Int, encoding: any TextEncoding) {
        self.encoding = encoding
        self.maxTokens = maxTokens
        examples = validation.filter { !$0.prompt.isEmpty }.prefix(limit).map { e in
            var reference = e.completion
            if reference.hasSuffix("<|im_end|>") { reference.removeLast("<|im_end|>".count) }
            return Example(prompt: e.prompt, reference: reference)
        }
    }

    /// Mean ROUGE-L F1 of `model` (with `adapter` when given) and the number of examples; nil without any.
    public func score(model: LanguageModel, adapter: LoRAAdapter?) throws -> GenerationScore? {
        guard !examples.isEmpty, maxTokens > 0 else { return nil }
        var total = 0.0
        for e in examples {
            let text = try ProbeGeneration.greedy(model: model, adapter: adapter, encoding: encoding, prompt: e.prompt, maxTokens: maxTokens)
            total += RougeL.score(candidate: text, reference: e.reference).f1
        }
        return GenerationScore(rougeL: total / Double(examples.count), examples: examples.count)
    }
}

/// Mean ROUGE-L F1 over a client's generation examples.
public struct GenerationScore: Sendable, Equatable, Codable {
    public var rougeL: Double
    public var examples: Int
    public init(rougeL: Double, examples: Int) { self.rougeL = rougeL; self.examples = examples }

    /// The example-weighted mean of several clients' scores; nil for none.
    public static func pooled(_ scores: [GenerationScore]) -> Double? {
        let n = scores.reduce(0) { $0 + $1.examples }
        return n == 0 ? nil : scores.reduce(0) { $0 + $1.rougeL * Double($1.examples) } / Double(n)
    }
}
