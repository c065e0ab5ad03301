import ArgumentParser
import Foundation
import Llama

/// What `fedpilot` does with no arguments: a short demonstration on the default model.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Load the default model, score a clinical note, and answer a chat prompt.")
    @Option(help: "A GGUF file.") var model: String = defaultModelPath

    func run() throws {
        try reportingErrors {
            let start = Date()
            let loaded = try LoadedModel(path: model)
            let c = loaded.model.config
            print("Loaded \(model) in \(String(format: "%.1f", Date().timeIntervalSince(start))) s: " +
                  "\(c.layerCount) layers, hidden \(c.hiddenSize), vocab \(c.vocabSize)")
            let note = "Pt is a 67yo M w/ hx of HTN, DM2 presenting with SOB and CP x2d."
            if let loss = loaded.model.loss(loaded.tokenizer.encode(note, addSpecial: true)) {
                print(String(format: "Clinical note loss %.3f (perplexity %.1f) before any fine-tuning.", loss, exp(loss)))
            }
            let question = "What are three common symptoms of dehydration?"
            print("\nuser: \(question)\nassistant: ", terminator: "")
            var generator = Generator(model: loaded.model, tokenizer: loaded.tokenizer, sampler: Sampler(temperature: 0))
            let text = loaded.tokenizer.chatPrompt([ChatMessage(role: "user", content: question)], addGenerationPrompt: true)
            try generator.generate(prompt: text, maxTokens: 80) { print($0, terminator: ""); fflush(nil) }
            print("")
        }
    }
}
