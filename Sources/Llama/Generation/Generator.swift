/// Autoregressive generation with a KV cache.
public struct Generator {
    public let model: LlamaModel
    public let tokenizer: BPETokenizer
    public var sampler: Sampler

    public init(model: LlamaModel, tokenizer: BPETokenizer, sampler: Sampler) {
        self.model = model
        self.tokenizer = tokenizer
        self.sampler = sampler
    }

    /// Generates up to `maxTokens` tokens after `prompt`, calling `emit` with each
    /// complete piece of text. Stops at the end-of-sequence or end-of-turn token.
    /// Returns the generated token ids.
    @discardableResult
    public mutating func generate(prompt: String, maxTokens: Int, emit: (String) throws -> Void) throws -> [Int] {
        let ids = tokenizer.encode(prompt)
        let capacity = min(model.config.maxPositions, ids.count + maxTokens)
        guard ids.count < capacity else {
            throw GenerationError.promptTooLong(tokens: ids.count, limit: model.config.maxPositions)
        }
        let cache = KVCache(config: model.config, capacity: capacity)
        var stops: Set<Int> = []
        if let eos = tokenizer.eosTokenID ?? model.config.eosTokenID { stops.insert(eos) }
        if let end = tokenizer.id(of: "<|im_end|>") { stops.insert(end) }
        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var logits = model.next(ids, cache: cache)
        var out: [Int] = []
        while out.count < maxTokens {
            let token = sampler.sample(logits)
            if stops.contains(token) { break }
            out.append(token)
            try emit(decoder.append(token))
            guard cache.length < cache.capacity else { break }
            logits = model.next([token], cache: cache)
        }
        return out
    }
}

/// Errors from generation.
public enum GenerationError: Error, CustomStringConvertible {
    case promptTooLong(tokens: Int, limit: Int)
    public var description: String {
        switch self {
        case .promptTooLong(let t, let l): return "the prompt has \(t) tokens; the model's context is \(l)"
        }
    }
}
