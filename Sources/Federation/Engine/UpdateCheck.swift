import Foundation
import Llama
import TensorMath

/// What a client's own update does to the predictions on a fixed held-out sample of its data,
/// measured by the client after training (self-reported, so the coordinator sees it under secure
/// aggregation too). Each value is the mean next-token loss with the update applied minus with
/// the received global model alone, on the same positions: negative when the update helps the
/// client's own held-out text, positive when it teaches something that text does not say.
///
/// - `endLoss`: at the end of each example (predicting the separator that ends it in training).
///   An update trained on text that goes on after the example's end (a backdoor's appended
///   trigger) stops predicting the end.
/// - `labelLoss`: on the label's tokens, where the held-out text spells its label ("Triage:
///   billing"). An update trained on swapped labels predicts other labels: the agreement
///   between what the update predicts and the sample's labels falls.
/// - `textLoss`: on every learned token of the sample's tails.
public struct UpdateCheck: Sendable, Equatable {
    public var endLoss: Double
    public var labelLoss: Double?
    public var textLoss: Double
    /// Seconds the check took (two forward passes over the sample), for its cost.
    public var seconds: Double

    public init(endLoss: Double, labelLoss: Double?, textLoss: Double, seconds: Double) {
        self.endLoss = endLoss; self.labelLoss = labelLoss; self.textLoss = textLoss; self.seconds = seconds
    }
}

/// The fixed held-out sample `UpdateCheck` is measured on: the last `tailTokens` tokens of the
/// client's first `examples` validation examples, each followed by the separator that ends an
/// example in training, as rows of equal length (validation data is never altered by a fault).
struct HeldOutTails: Sendable {
    static let examples = 8
    static let tailTokens = 24

    /// Rows of `tailTokens + 1` tokens (shorter tails padded with the separator).
    let rows: [[Int]]
    /// Target token of every flat position (`row * length + t`), −1 for none.
    let targets: [Int]
    /// Flat positions predicting an example's end, a label token, and any learned token.
    let endPositions: [Int]
    let labelPositions: [Int]
    let textPositions: [Int]

    init(validation: [TextExample], encoding: any TextEncoding, examples: Int = HeldOutTails.examples,
         tailTokens: Int = HeldOutTails.tailTokens) {
        let length = tailTokens + 1
        let separator = encoding.paddingID
        var rows: [[Int]] = [], targets: [Int] = [], ends: [Int] = [], labels: [Int] = [], text: [Int] = []
        for e in validation.prefix(examples) {
            let prompt = e.prompt.isEmpty ? [] : encoding.encode(e.prompt)
            let completion = encoding.encode(e.completion)
            guard !completion.isEmpty else { continue }
            let full = prompt + completion
            let cut = max(0, full.count - tailTokens)
            let tail = Array(full[cut...]) + [separator]
            let base = rows.count * length
            var rowTargets = [Int](repeating: -1, count: length)
            // Position t predicts token t + 1; only completion tokens and the end are learned.
            for t in 0..<(tail.count - 1) where cut + t + 1 >= prompt.count {
                rowTargets[t] = tail[t + 1]
                text.append(base + t)
            }
            ends.append(base + tail.count - 2)
            for i in Self.labelTokens(e, promptCount: prompt.count, encoding: encoding) where i - 1 >= cut && i < cut + tail.count - 1 {
                labels.append(base + i - 1 - cut)
            }
            rows.append(tail + [Int](repeating: separator, count: length - tail.count))
            targets += rowTargets
        }
        self.rows = rows; self.targets = targets
        endPositions = ends; labelPositions = labels; textPositions = text
    }

    /// Indices into the example's tokens (prompt then completion) of the label's last spelling
    /// in the completion (empty when it is not spelled). Found by encoding the completion up to
    /// the label and up to its end: BPE may merge across the boundary, so this is close, and it
    /// is the same positions every round.
    static func labelTokens(_ e: TextExample, promptCount: Int, encoding: any TextEncoding) -> Range<Int> {
        guard let label = e.label, !label.isEmpty, let range = e.completion.range(of: label, options: .backwards) else { return 0..<0 }
        var before = String(e.completion[..<range.lowerBound])
        while before.last?.isWhitespace == true { before.removeLast() }
        let a = before.isEmpty ? 0 : encoding.encode(before).count
        let b = encoding.encode(String(e.completion[..<range.upperBound])).count
        return b > a ? (promptCount + a)..<(promptCount + b) : 0..<0
    }

    var isEmpty: Bool { rows.isEmpty }

    /// The check of `updated` against `global` on this sample; nil when the sample is empty or
    /// a loss is not finite.
    func check(model: LlamaModel, global: LoRAAdapter, updated: LoRAAdapter) throws -> UpdateCheck? {
        guard !rows.isEmpty else { return nil }
        let began = Date()
        let before = try losses(model.logits(rows, adapter: global), vocab: model.config.vocabSize)
        let after = try losses(model.logits(rows, adapter: updated), vocab: model.config.vocabSize)
        func change(_ positions: [Int]) -> Double? {
            guard !positions.isEmpty else { return nil }
            let d = positions.reduce(0.0) { $0 + after[$1] - before[$1] } / Double(positions.count)
            return d.isFinite ? d : nil
        }
        guard let end = change(endPositions), let text = change(textPositions) else { return nil }
        return UpdateCheck(endLoss: end, labelLoss: change(labelPositions), textLoss: text,
                           seconds: Date().timeIntervalSince(began))
    }

    /// −log p(target) at every flat position with a target (0 elsewhere).
    func losses(_ logits: Tensor, vocab: Int) -> [Double] {
        var out = [Double](repeating: 0, count: targets.count)
        logits.data.withUnsafeBufferPointer { l in
            for (i, target) in targets.enumerated() where target >= 0 {
                out[i] = CrossEntropy.rowLoss(l.baseAddress! + i * vocab, vocab: vocab, target: target)
            }
        }
        return out
    }
}
