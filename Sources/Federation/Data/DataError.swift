/// Why a client data file could not be loaded. The description is one line that names the
/// file, the line (when there is one) and the field: `data/x.jsonl:17: missing string field "text"`.
public struct DataError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Sendable, Equatable {
        case missingFile
        case unreadable
        case invalidJSON
        /// The line is valid JSON but not an object.
        case notAnObject
        case missingField(String)
        case nonStringField(String)
        case emptyField(String)
        /// No examples at all (empty file, or only blank lines).
        case empty
    }

    /// The path as given to the loader.
    public var path: String
    /// 1-based line number, or nil for whole-file problems.
    public var line: Int?
    public var kind: Kind
    /// What went wrong, without the location prefix.
    public var message: String

    public init(path: String, line: Int? = nil, kind: Kind, message: String) {
        self.path = path; self.line = line; self.kind = kind; self.message = message
    }

    public var description: String {
        if let line { return "\(path):\(line): \(message)" }
        return "\(path): \(message)"
    }
}
