import ArgumentParser
import Foundation
import Llama

/// `fedpilot model tokenize`: the token ids of a text, with no BOS or other special tokens added.
struct ModelTokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text (no BOS or special tokens added; special-token text is not parsed).",
        discussion: "Reads only the vocabulary, so vocabulary-only GGUF files (no tensors) work.")
    @Argument(help: "A GGUF file, or a Hugging Face checkpoint directory with tokenizer.json.") var model: String = defaultModelPath
    @Option(help: "The text to tokenize.") var text: String
    @Flag(help: "Print JSON: {\"token_ids\": [...], \"tokens\": [...]}.") var json = false

    func run() throws {
        try reportingErrors {
            let tokenizer = try Self.tokenizer(path: model)
            let ids = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            let tokens = ids.map { tokenizer.token($0) }
            if json {
                try printJSON(["token_ids": ids, "tokens": tokens] as [String: Any])
            } else {
                for (id, token) in zip(ids, tokens) { print(String(format: "%8d  %@", id, token.debugDescription)) }
            }
        }
    }

    /// The tokenizer of a GGUF file (metadata only) or of a checkpoint directory's tokenizer.json.
    static func tokenizer(path: String) throws -> BPETokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelFileError.notFound(file: path)
        }
        if isDirectory.boolValue {
            guard let t = try LlamaSafetensorsLoader.tokenizer(directory: path) else {
                throw ModelFileError.notFound(file: (path as NSString).appendingPathComponent("tokenizer.json"))
            }
            return t
        }
        return try BPETokenizer(gguf: GGUFFile(path: path))
    }
}
