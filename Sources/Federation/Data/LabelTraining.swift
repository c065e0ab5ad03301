import Llama

/// What local training learns from a labelled text example (`[training] train_on`).
///
/// - `text` (the default): the whole text, cut into `sequence_length` windows like any text.
///   A long ticket's trailing "Triage: billing" then often falls outside every window.
/// - `label`: the example is its label prompt (``LabelPrompt``: the text before the label, or
///   the scenario's `label_prompt` template) followed by `" " + label`, the same tokens label
///   scoring reads. The label is always inside the window: the prompt keeps its last tokens, as
///   many as fit in `sequence_length` next to the label. Only the label's tokens are learned; the
///   prompt is context, as an instruction example's prompt is (``TokenizedExample/promptLength``).
///
/// Only text examples (`jsonl_text`, `text`) with a label change; instruction examples and
/// unlabelled text are trained as with `text`.
///
/// Why the prompt is not learned: on `support-triage.toml` (release, 3 rounds) learning only the
/// label took global accuracy from the base model's 0.268 to 0.304, 0.339, 0.393, while learning
/// the same left-truncated windows whole gave 0.268, 0.250, 0.232: ~60 ticket tokens per label
/// token drown the label's gradient.
public enum TrainingTarget: String, Sendable, Codable, CaseIterable {
    case text
    case label
}

extension TrainingTarget {
    /// `example` as training tokens. With `.label`, a labelled text example becomes its label
    /// prompt (left-truncated) and label, at most `sequenceLength` tokens, with the prompt masked.
    public func tokenize(_ example: TextExample, encoding: any TextEncoding, template: String?,
                         sequenceLength: Int) -> TokenizedExample {
        if self == .label, example.prompt.isEmpty, let label = example.label,
           let (prompt, separator) = LabelPrompt.make(example, template: template) {
            let answer = encoding.encode(separator + label)
            if !answer.isEmpty {
                let start = encoding.sequenceStart
                // The answer itself longer than the window: keep its first tokens after the
                // sequence start and one prompt token.
                let kept = Array(answer.prefix(max(1, sequenceLength - start.count - 1)))
                let context = Array(encoding.encode(prompt).suffix(max(0, sequenceLength - start.count - kept.count)))
                return TokenizedExample(tokens: start + context + kept, promptLength: start.count + context.count,
                                        startLength: start.count)
            }
        }
        // The sequence start (BOS where the model asks for it) is part of the untrained prompt.
        let start = encoding.sequenceStart
        let prompt = start + (example.prompt.isEmpty ? [] : encoding.encode(example.prompt))
        return TokenizedExample(tokens: prompt + encoding.encode(example.completion), promptLength: prompt.count,
                                startLength: start.count)
    }
}
