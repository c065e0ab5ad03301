import ArgumentParser
import Foundation
import Llama
import TensorMath

struct ModelLogits: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits",
        abstract: "Print token ids, the top-K next tokens at the last position, and the mean next-token loss.")
    @Argument(help: "A GGUF file or Hugging Face checkpoint directory.") var model: String = defaultModelPath
    @Option(help: "Text to score.") var prompt: String
    @Option(help: "How many next-token candidates to list.") var top: Int = 5
    @Flag(help: "Print JSON.") var json = false
    @Option(help: "A PEFT adapter directory to apply (adapter_config.json + adapter_model.safetensors).") var adapter: String?
    @Option(help: "Frozen-weight products: f32, or int8 (weights kept in the file's quantized blocks).") var compute: ComputeMode = .f32

    func run() throws {
        try reportingErrors {
            guard top > 0 else { throw ValidationError("--top must be positive") }
            let loaded = try LoadedModel(path: model, adapter: adapter, compute: compute)
            let ids = loaded.tokenizer.encode(prompt, addSpecial: true)   // BOS where the file asks for it
            guard !ids.isEmpty else { throw ValidationError("--prompt encodes to no tokens") }
            guard ids.count <= loaded.model.config.maxPositions else {
                throw ValidationError("--prompt encodes to \(ids.count) tokens, more than the model's context length \(loaded.model.config.maxPositions)")
            }
            let logits = try loaded.adapter.map { try loaded.model.logits([ids], adapter: $0) } ?? loaded.model.logits([ids])
            let vocab = loaded.model.config.vocabSize
            let last = Array(logits.data[((ids.count - 1) * vocab)..<(ids.count * vocab)])
            let best = TopK.indices(last, k: min(top, vocab))
            let loss = ids.count >= 2
                ? logits.data.withUnsafeBufferPointer {
                    CrossEntropy.mean(logits: $0.baseAddress!, vocab: vocab, targets: Array(ids.dropFirst()) + [-1])
                } : nil
            if json {
                try printJSON([
                    "token_ids": ids,
                    "top": best.map { ["id": $0, "logit": Double(last[$0]), "text": loaded.tokenizer.tokenText($0)] as [String: Any] },
                    "loss": loss.map { $0 as Any } ?? NSNull(),
                ] as [String: Any])
            } else {
                print("tokens (\(ids.count)): \(ids.map(String.init).joined(separator: " "))")
                for id in best { print(String(format: "%8d %10.4f  %@", id, last[id], loaded.tokenizer.tokenText(id).debugDescription)) }
                if let loss { print(String(format: "mean next-token loss %.5f (perplexity %.2f)", loss, exp(loss))) }
            }
        }
    }
}

/// Indices of the largest values, largest first.
enum TopK {
    static func indices(_ values: [Float], k: Int) -> [Int] {
        var best: [Int] = []
        for i in values.indices {
            if best.count < k || values[i] > values[best[best.count - 1]] {
                let at = best.firstIndex { values[i] > values[$0] } ?? best.count
                best.insert(i, at: at)
                if best.count > k { best.removeLast() }
            }
        }
        return best
    }
}

/// A model and its tokenizer, from a GGUF file or a Hugging Face checkpoint directory.
struct LoadedModel {
    let model: LlamaModel
    let tokenizer: BPETokenizer
    /// An int8 model's adapter, applied unmerged (a merge would give an F32 model).
    let adapter: LoRAAdapter?

    /// - Parameter adapter: a PEFT adapter directory folded into the weights (with `compute:
    ///   .int8`, kept apart in `adapter` and applied unmerged).
    init(path: String, adapter: String? = nil, compute: ComputeMode = .f32) throws {
        let loaded = try ModelLoader.load(path: path, compute: compute)
        guard let tokenizer = loaded.tokenizer else {
            throw ModelFileError.notFound(file: (path as NSString).appendingPathComponent("tokenizer.json"))
        }
        if let adapter, compute == .int8 {
            self.model = loaded.model
            self.adapter = try PEFTFormat.read(directory: adapter, model: loaded.model.config)
        } else if let adapter {
            self.model = try loaded.model.merged(with: PEFTFormat.read(directory: adapter, model: loaded.model.config))
            self.adapter = nil
        } else {
            self.model = loaded.model
            self.adapter = nil
        }
        self.tokenizer = tokenizer
    }
}

extension ComputeMode: ExpressibleByArgument {}
extension SavedActivations: ExpressibleByArgument {}
