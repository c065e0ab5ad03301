import Foundation

/// Errors raised while building a ``BPETokenizer``; each message names the offending field and value.
public enum TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The `tokens` array (or `model.vocab`) is empty.
    case emptyVocabulary(field: String)
    /// Two parallel arrays disagree in length (e.g. `tokenTypes` vs `tokens`).
    case countMismatch(field: String, count: Int, expectedField: String, expectedCount: Int)
    /// A token type code outside the GGUF range 0...6.
    case invalidTokenType(field: String, index: Int, value: Int32)
    /// A token score that is NaN or infinite.
    case invalidScore(field: String, index: Int, value: Float)
    /// A merge rule that is not of the form `"left right"`.
    case malformedMerge(field: String, index: Int, merge: String)
    /// A merge rule whose left or right side is not a token of the vocabulary.
    case unknownMergeToken(field: String, index: Int, merge: String, token: String)
    /// A merge rule whose concatenation is not a token of the vocabulary.
    case mergeResultNotInVocabulary(field: String, index: Int, merge: String, result: String)
    /// A special token id (`bosTokenID`, ...) outside `0..<vocabularySize`.
    case tokenIDOutOfRange(field: String, id: Int, vocabularySize: Int)
    /// A special token given by name that is not in the vocabulary.
    case unknownToken(field: String, token: String)
    /// A JSON document that is unreadable or misses a required field.
    case invalidJSON(field: String, reason: String)
    /// A tokenizer component this implementation does not provide.
    case unsupported(field: String, value: String)

    public var description: String {
        switch self {
        case let .emptyVocabulary(field):
            return "tokenizer: \(field) is empty"
        case let .countMismatch(field, count, expectedField, expectedCount):
            return "tokenizer: \(field) has \(count) entries but \(expectedField) has \(expectedCount)"
        case let .invalidTokenType(field, index, value):
            return "tokenizer: \(field)[\(index)] = \(value) is not a GGUF token type (0...6)"
        case let .invalidScore(field, index, value):
            return "tokenizer: \(field)[\(index)] = \(value) is not a finite number"
        case let .malformedMerge(field, index, merge):
            return "tokenizer: \(field)[\(index)] = \(quoted(merge)) is not of the form \"left right\""
        case let .unknownMergeToken(field, index, merge, token):
            return "tokenizer: \(field)[\(index)] = \(quoted(merge)) references \(quoted(token)), which is not in the vocabulary"
        case let .mergeResultNotInVocabulary(field, index, merge, result):
            return "tokenizer: \(field)[\(index)] = \(quoted(merge)) produces \(quoted(result)), which is not in the vocabulary"
        case let .tokenIDOutOfRange(field, id, vocabularySize):
            return "tokenizer: \(field) = \(id) is outside the vocabulary (0..<\(vocabularySize))"
        case let .unknownToken(field, token):
            return "tokenizer: \(field) = \(quoted(token)) is not in the vocabulary"
        case let .invalidJSON(field, reason):
            return "tokenizer JSON: \(field): \(reason)"
        case let .unsupported(field, value):
            return "tokenizer: unsupported \(field): \(value)"
        }
    }
}

/// Debug-quotes a string so control characters in token text stay visible in messages.
private func quoted(_ s: String) -> String { s.debugDescription }
