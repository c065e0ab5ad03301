import Foundation

/// Loads a model and its tokenizer from either format: a `.gguf` file, or a
/// Hugging Face checkpoint directory (`config.json`, `*.safetensors`, `tokenizer.json`).
public enum ModelLoader {
    /// `compute: .int8` keeps a GGUF file's matrices in their quantized blocks; a Hugging Face
    /// checkpoint (F32/BF16) is loaded in F32 and then quantized to Q8_0.
    public static func load(path: String, compute: ComputeMode = .f32) throws -> (model: LlamaModel, tokenizer: BPETokenizer?) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelFileError.notFound(file: path)
        }
        if isDirectory.boolValue {
            var model = try LlamaSafetensorsLoader.load(directory: path)
            if compute == .int8 { model = try model.quantizedToQ8_0() }
            return (model, try LlamaSafetensorsLoader.tokenizer(directory: path))
        }
        let file = try GGUFFile(path: path)
        return (try LlamaGGUFLoader.load(file, compute: compute), try BPETokenizer(gguf: file))
    }
}
