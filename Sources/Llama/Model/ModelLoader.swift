import Foundation

/// Loads a model and its tokenizer from either format: a `.gguf` file, or a
/// Hugging Face checkpoint directory (`config.json`, `*.safetensors`, `tokenizer.json`).
public enum ModelLoader {
    public static func load(path: String) throws -> (model: LlamaModel, tokenizer: BPETokenizer?) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelFileError.notFound(file: path)
        }
        if isDirectory.boolValue {
            let model = try LlamaSafetensorsLoader.load(directory: path)
            return (model, try LlamaSafetensorsLoader.tokenizer(directory: path))
        }
        let file = try GGUFFile(path: path)
        return (try LlamaGGUFLoader.load(file), try BPETokenizer(gguf: file))
    }
}
