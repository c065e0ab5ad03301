import ArgumentParser
import Foundation
import Llama

struct ModelGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate text with a KV cache (greedy or sampled).")
    @Argument(help: "A GGUF file or Hugging Face checkpoint directory.") var model: String = defaultModelPath
    @Option(help: "The prompt.") var prompt: String
    @Option(name: .customLong("max-tokens"), help: "Tokens to generate.") var maxTokens: Int = 64
    @Option(help: "Sampling temperature; 0 is greedy.") var temperature: Float = 0
    @Option(name: .customLong("top-p"), help: "Nucleus sampling mass.") var topP: Float = 0.95
    @Option(help: "Random seed for sampling.") var seed: UInt64 = 0
    @Option(help: "A PEFT adapter directory to apply (adapter_config.json + adapter_model.safetensors).") var adapter: String?
    @Flag(help: "Wrap the prompt as a user message in the model's chat (ChatML) format.") var chat = false

    func run() throws {
        try reportingErrors {
            guard maxTokens > 0 else { throw ValidationError("--max-tokens must be positive") }
            guard temperature >= 0 else { throw ValidationError("--temperature must be >= 0") }
            let loaded = try LoadedModel(path: model, adapter: adapter)
            let text = chat ? loaded.tokenizer.chatPrompt([ChatMessage(role: "user", content: prompt)], addGenerationPrompt: true) : prompt
            var generator = Generator(model: loaded.model, tokenizer: loaded.tokenizer,
                                      sampler: Sampler(temperature: temperature, topP: topP, seed: seed))
            if !chat { print(prompt, terminator: "") }
            try generator.generate(prompt: text, maxTokens: maxTokens) { piece in
                print(piece, terminator: "")
                fflush(nil)
            }
            print("")
        }
    }
}
