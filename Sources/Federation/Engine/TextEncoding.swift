import Llama
import TensorMath

/// Turns text into token ids for training and evaluation.
public protocol TextEncoding: Sendable {
    /// The ids of a piece of text, without BOS or other added tokens (a continuation).
    func encode(_ text: String) -> [Int]
    /// Id used to pad rows and to separate packed examples.
    var paddingID: Int { get }
    /// The tokens every sequence the model reads starts with: `[BOS]` when the model's
    /// metadata asks for it (GGUF `tokenizer.ggml.add_bos_token`, tokenizer_config.json
    /// `add_bos_token`: Gemma), none otherwise (SmolLM2).
    var sequenceStart: [Int] { get }
}

extension TextEncoding {
    public var sequenceStart: [Int] { [] }

    /// The ids of text that starts a sequence (a training example, a prompt): `sequenceStart`
    /// then `encode(text)`. Label continuations use `encode` alone.
    public func encodeSequence(_ text: String) -> [Int] { sequenceStart + encode(text) }
}

extension BPETokenizer: TextEncoding {
    public func encode(_ text: String) -> [Int] { encode(text, addSpecial: false, parseSpecial: true) }
    public var paddingID: Int { padTokenID ?? eosTokenID ?? 0 }
    public var sequenceStart: [Int] { addsBOS ? bosTokenID.map { [$0] } ?? [] : [] }
}

/// Bytes as token ids (0...255), with 256 as padding: the tokenizer of the tiny test model.
public struct ByteEncoding: TextEncoding {
    public init() {}
    public func encode(_ text: String) -> [Int] { text.utf8.map(Int.init) }
    public var paddingID: Int { 256 }
}
