import Foundation

/// How a labelled example becomes a prompt whose completion is its label.
///
/// - Instruction data (`jsonl_instruction`): the rendered instruction and input (the ChatML
///   prompt, up to the assistant's turn).
/// - Text data (`jsonl_text`): the text before the label when the text ends with its label
///   (`"... Triage: billing"` gives `"... Triage:"`); otherwise the whole text.
/// - A template (`label_prompt`, or the domain's in `[label_prompts]`) wraps that: every
///   `{text}` is replaced by it. Text data whose text does not end with its label and that has no
///   template uses ``defaultTemplate``.
///
/// The label follows the prompt after one space (trailing spaces of the prompt are moved into
/// the continuation), or directly when the prompt ends with a line break.
public enum LabelPrompt {
    public static let placeholder = "{text}"
    /// For text that does not end with its label and has no template.
    public static let defaultTemplate = "{text}\nLabel:"

    /// The prompt of `example` and the text that goes before every candidate label
    /// (`" "` or `""`); nil when the example has no label.
    public static func make(_ example: TextExample, template: String?) -> (prompt: String, separator: String)? {
        guard let label = example.label, !label.isEmpty else { return nil }
        var body: String
        var template = template
        if !example.prompt.isEmpty {
            body = example.prompt
        } else {
            let text = example.completion
            let trimmed = text.trimmingTrailingWhitespace
            if trimmed.hasSuffix(label), !trimmed.dropLast(label.count).allSatisfy(\.isWhitespace) {
                body = String(trimmed.dropLast(label.count))
                while body.hasSuffix(" ") || body.hasSuffix("\t") { body.removeLast() }
            } else {
                body = text
                if template == nil { template = defaultTemplate }
            }
        }
        if let template { body = template.replacingOccurrences(of: placeholder, with: body) }
        if body.hasSuffix("\n") { return (body, "") }
        while body.hasSuffix(" ") || body.hasSuffix("\t") { body.removeLast() }
        return (body, " ")
    }
}

extension String {
    var trimmingTrailingWhitespace: String {
        var s = self
        while let last = s.last, last.isWhitespace { s.removeLast() }
        return s
    }
}
