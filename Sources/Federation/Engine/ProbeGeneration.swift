import Foundation
import Llama
import TensorMath

/// Turns generated token ids back into text, and says which ids end a generation.
public protocol TextDecoding: Sendable {
    func decode(_ ids: [Int]) -> String
    /// Ids that end a generation (end of sequence, end of turn, padding).
    var stopTokenIDs: Set<Int> { get }
}

extension BPETokenizer: TextDecoding {
    public func decode(_ ids: [Int]) -> String { decode(ids, skipSpecial: true) }
    public var stopTokenIDs: Set<Int> {
        var stops: Set<Int> = []
        if let eos = eosTokenID { stops.insert(eos) }
        if let end = id(of: "<|im_end|>") { stops.insert(end) }
        return stops
    }
}

extension ByteEncoding: TextDecoding {
    /// Bytes as UTF-8 (invalid sequences become U+FFFD); ids above 255 are not text.
    public func decode(_ ids: [Int]) -> String { String(decoding: ids.filter { (0...255).contains($0) }.map(UInt8.init), as: UTF8.self) }
    public var stopTokenIDs: Set<Int> { [paddingID] }
}

/// Short greedy generations from a probe prompt, for the operator's view of the global model.
public enum ProbeGeneration {
    /// Tokens generated for a sample: a line or two of text.
    public static let maximumTokens = 32

    /// Why a sample could not be generated.
    public struct Failure: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { reason }
    }

    /// The greedy continuation of `prompt` by `model` (with `adapter` applied unmerged, when
    /// given): at most `maxTokens` tokens, stopping at a stop token.
    public static func greedy(model: LanguageModel, adapter: LoRAAdapter? = nil, encoding: any TextEncoding, prompt: String,
                              maxTokens: Int = maximumTokens) throws -> String {
        guard let decoder = encoding as? any TextDecoding else {
            throw Failure(reason: "the model's tokenizer cannot decode generated tokens")
        }
        let ids = encoding.encodeSequence(prompt)
        guard !ids.isEmpty else { throw Failure(reason: "the probe prompt encodes to no tokens") }
        let capacity = min(model.config.maxPositions, ids.count + maxTokens)
        guard ids.count < capacity else {
            throw Failure(reason: "the probe prompt has \(ids.count) tokens; the model's context is \(model.config.maxPositions)")
        }
        let stops = decoder.stopTokenIDs
        let cache = KVCache(config: model.config, capacity: capacity)
        func next(_ tokens: [Int]) throws -> [Float] {
            if let adapter { return try model.next(tokens, cache: cache, adapter: adapter) }
            return model.next(tokens, cache: cache)
        }
        var logits = try next(ids)
        var out: [Int] = []
        while out.count < maxTokens {
            let token = Sampler.argmax(logits)
            if stops.contains(token) { break }
            out.append(token)
            guard cache.length < cache.capacity else { break }
            logits = try next([token])
        }
        return decoder.decode(out)
    }
}
