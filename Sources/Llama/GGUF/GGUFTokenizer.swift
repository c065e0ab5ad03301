/// Builds the tokenizer stored in a GGUF file's `tokenizer.ggml.*` metadata.
extension BPETokenizer {
    /// Reads tokens, merges, token types, special ids and the pre-tokenizer name.
    public convenience init(gguf file: GGUFFile) throws {
        let model = try file.string("tokenizer.ggml.model")
        guard model == "gpt2" else {
            throw ModelFileError.invalidMetadata(file: file.path, key: "tokenizer.ggml.model",
                                                 reason: "\"\(model)\" tokenizers are not supported (byte-level BPE \"gpt2\" is)")
        }
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
        // Files without tokenizer.ggml.pre predate the field and were written for GPT-2 splitting.
        let pre = file.metadata["tokenizer.ggml.pre"]?.string ?? "gpt2"
        guard let kind = PreTokenizerKind(ggufPre: pre) else {
            throw ModelFileError.invalidMetadata(file: file.path, key: "tokenizer.ggml.pre",
                                                 reason: "pre-tokenizer \"\(pre)\" is not supported (smollm, starcoder, gpt2 and their aliases are)")
        }
        do {
            try self.init(tokens: try strings("tokenizer.ggml.tokens"), merges: try strings("tokenizer.ggml.merges"),
                          tokenTypes: types,
                          bosTokenID: file.metadata["tokenizer.ggml.bos_token_id"]?.int,
                          eosTokenID: file.metadata["tokenizer.ggml.eos_token_id"]?.int,
                          padTokenID: file.metadata["tokenizer.ggml.padding_token_id"]?.int,
                          addBOS: file.metadata["tokenizer.ggml.add_bos_token"]?.bool ?? false,
                          preTokenizer: kind)
        } catch let error as TokenizerError {
            throw ModelFileError.invalidMetadata(file: file.path, key: "tokenizer.ggml", reason: "\(error)")
        }
    }
}
