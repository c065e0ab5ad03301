/// One chat turn for ``BPETokenizer/chatPrompt(_:addGenerationPrompt:)``.
public struct ChatMessage: Sendable, Codable, Equatable {
    /// "system", "user" or "assistant".
    public var role: String
    /// The message text.
    public var content: String

    /// A message with the given role and content.
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

extension BPETokenizer {
    /// The system message SmolLM2-Instruct's chat template inserts when the conversation has none.
    public static let smolLM2DefaultSystemPrompt = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

    /// ChatML as SmolLM2-Instruct uses: "<|im_start|>role\ncontent<|im_end|>\n" per message, plus "<|im_start|>assistant\n" if addGenerationPrompt.
    ///
    /// This reproduces the GGUF `tokenizer.chat_template` of SmolLM2-135M-Instruct exactly:
    /// ```
    /// {% for message in messages %}
    ///   {% if loop.first and messages[0]['role'] != 'system' %}
    ///     {{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}
    ///   {% endif %}
    ///   {{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}
    /// {% endfor %}
    /// {% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
    /// ```
    /// So: when the first message is not a system message, the default system message
    /// (``smolLM2DefaultSystemPrompt``) is inserted before it; an empty message list gets no system
    /// message. Content is inserted verbatim (not trimmed), and no BOS is written (SmolLM2 has
    /// `add_bos_token = false`). Encode the result with `parseSpecial: true` so the markers become
    /// single tokens.
    public func chatPrompt(_ messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var out = ""
        for (index, message) in messages.enumerated() {
            if index == 0 && message.role != "system" {
                out += "<|im_start|>system\n\(Self.smolLM2DefaultSystemPrompt)<|im_end|>\n"
            }
            out += "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n"
        }
        if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        return out
    }
}
