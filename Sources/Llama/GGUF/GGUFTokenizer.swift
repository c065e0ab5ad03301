/// Builds the tokenizer stored in a GGUF file's `tokenizer.ggml.*` metadata.
extension BPETokenizer {
    /// The `tokenizer.ggml.model` values read here: "gpt2" (byte-level BPE) and "llama" (SentencePiece BPE).
    public static let ggufModels = ["gpt2", "llama"]

    /// Reads tokens, merges or scores, token types, special ids and the pre-tokenizer name.
    ///
    /// Needs only metadata, so vocabulary-only files (no tensors) work.
    public convenience init(gguf file: GGUFFile) throws {
        let model = try file.string("tokenizer.ggml.model")
        func strings(_ key: String) throws -> [String] {
            guard let v = file.metadata[key] else { throw ModelFileError.missingMetadata(file: file.path, key: key) }
            guard let items = v.array else { throw ModelFileError.invalidMetadata(file: file.path, key: key, reason: "not an array") }
            return try items.enumerated().map { i, item in
                guard let s = item.string else {
                    throw ModelFileError.invalidMetadata(file: file.path, key: key, reason: "element \(i) is not a string")
                }
                return s
            }
        }
        let types = try file.metadata["tokenizer.ggml.token_type"]?.array.map { items in
            try items.enumerated().map { i, item -> Int32 in
                guard let t = item.int.flatMap(Int32.init(exactly:)) else {
                    throw ModelFileError.invalidMetadata(file: file.path, key: "tokenizer.ggml.token_type",
                                                         reason: "element \(i) is \(item.summary), not a 32-bit integer")
                }
                return t
            }
        }
        let bos = file.metadata["tokenizer.ggml.bos_token_id"]?.int
        let eos = file.metadata["tokenizer.ggml.eos_token_id"]?.int
        let pad = file.metadata["tokenizer.ggml.padding_token_id"]?.int
        let pre = file.metadata["tokenizer.ggml.pre"]?.string
        do {
            switch model {
            case "gpt2":
                // Files without tokenizer.ggml.pre predate the field and were written for GPT-2 splitting.
                let name = pre ?? "gpt2"
                guard let kind = PreTokenizerKind(ggufPre: name) else {
                    throw ModelFileError.invalidMetadata(
                        file: file.path, key: "tokenizer.ggml.pre",
                        reason: "pre-tokenizer \"\(name)\" is not supported (supported: \(PreTokenizerKind.ggufNames.joined(separator: ", ")))")
                }
                try self.init(tokens: try strings("tokenizer.ggml.tokens"), merges: try strings("tokenizer.ggml.merges"),
                              tokenTypes: types, bosTokenID: bos, eosTokenID: eos, padTokenID: pad,
                              addBOS: file.metadata["tokenizer.ggml.add_bos_token"]?.bool ?? false, preTokenizer: kind)
            case "llama":
                // SentencePiece has no pre-tokenizer; llama.cpp writes "default" or nothing.
                if let pre, pre != "default" {
                    throw ModelFileError.invalidMetadata(
                        file: file.path, key: "tokenizer.ggml.pre",
                        reason: "pre-tokenizer \"\(pre)\" is not supported for a \"llama\" (SentencePiece) vocabulary (supported: default)")
                }
                let key = "tokenizer.ggml.scores"
                guard let items = file.metadata[key]?.array else {
                    throw ModelFileError.missingMetadata(file: file.path, key: key)
                }
                let scores = try items.enumerated().map { i, item -> Float in
                    guard let d = item.double else {
                        throw ModelFileError.invalidMetadata(file: file.path, key: key, reason: "element \(i) is not a number")
                    }
                    return Float(d)
                }
                // llama.cpp's defaults for SentencePiece files: BOS added, space prefix added.
                try self.init(sentencePieceTokens: try strings("tokenizer.ggml.tokens"), scores: scores, tokenTypes: types,
                              bosTokenID: bos, eosTokenID: eos, padTokenID: pad,
                              addBOS: file.metadata["tokenizer.ggml.add_bos_token"]?.bool ?? true,
                              addSpacePrefix: file.metadata["tokenizer.ggml.add_space_prefix"]?.bool ?? true)
            default:
                throw ModelFileError.invalidMetadata(
                    file: file.path, key: "tokenizer.ggml.model",
                    reason: "\"\(model)\" tokenizers are not supported (supported: gpt2 = byte-level BPE, llama = SentencePiece BPE)")
            }
        } catch let error as TokenizerError {
            throw ModelFileError.invalidMetadata(file: file.path, key: "tokenizer.ggml", reason: "\(error)")
        }
    }
}
