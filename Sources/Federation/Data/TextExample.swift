/// One client training example: a prompt the model reads (no loss on it) and a completion it
/// learns, plus metadata for partitioning and reporting.
///
/// Plain text (`jsonl_text`, `text`) has an empty prompt and the whole text as completion.
/// Instruction data (`jsonl_instruction`) renders the prompt in SmolLM2's ChatML form, see
/// ``instruction(_:input:output:label:fields:)``. To train, tokenize `prompt` and `completion`
/// separately and concatenate, with `promptLength` = the prompt's token count.
public struct TextExample: Sendable, Hashable, Codable {
    /// Context that is read but not learned; empty for plain text.
    public var prompt: String
    /// The text to learn.
    public var completion: String
    /// The example's class (the `label` field of a JSON line), if any.
    public var label: String?
    /// Other scalar metadata of the record ("site", "priority", ...). Numbers and booleans are
    /// kept as their JSON spelling; arrays, objects and null are dropped.
    public var fields: [String: String]

    public init(prompt: String = "", completion: String, label: String? = nil, fields: [String: String] = [:]) {
        self.prompt = prompt; self.completion = completion; self.label = label; self.fields = fields
    }

    /// Prompt and completion together, as the model sees them.
    public var text: String { prompt + completion }

    /// The value of a metadata field by name: `"label"` reads ``label`` (falling back to
    /// `fields["label"]`), any other name reads ``fields``. Partitioners and statistics use this.
    public func value(forField name: String) -> String? {
        if name == "label" { return label ?? fields["label"] }
        return fields[name]
    }

    /// An instruction example in the model's ChatML form, without a system turn:
    /// prompt `"<|im_start|>user\n{instruction}\n\n{input}<|im_end|>\n<|im_start|>assistant\n"`
    /// (just `{instruction}` when the input is empty) and completion `"{output}<|im_end|>"`.
    public static func instruction(_ instruction: String, input: String = "", output: String,
                                   label: String? = nil, fields: [String: String] = [:]) -> TextExample {
        let user = input.isEmpty ? instruction : "\(instruction)\n\n\(input)"
        return TextExample(prompt: "<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n",
                           completion: "\(output)<|im_end|>", label: label, fields: fields)
    }
}
