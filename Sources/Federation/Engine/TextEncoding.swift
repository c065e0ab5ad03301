import Llama
import TensorMath

/// Turns text into token ids for training and evaluation.
public protocol TextEncoding: Sendable {
    func encode(_ text: String) -> [Int]
    /// Id used to pad rows and to separate packed examples.
    var paddingID: Int { get }
}

extension BPETokenizer: TextEncoding {
    public func encode(_ text: String) -> [Int] { encode(text, addSpecial: false, parseSpecial: true) }
    public var paddingID: Int { padTokenID ?? eosTokenID ?? 0 }
}

/// Bytes as token ids (0...255), with 256 as padding: the tokenizer of the tiny test model.
public struct ByteEncoding: TextEncoding {
    public init() {}
    public func encode(_ text: String) -> [Int] { text.utf8.map(Int.init) }
    public var paddingID: Int { 256 }
}
