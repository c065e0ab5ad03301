/// A problem with a scenario file, located by the file and the TOML key path of the offending value.
///
/// Its description reads `<file>: <key.path>: <problem> (<hint>)`, for example
///
///     scenarios/x.toml: clients[2].link.up_mbps: must be positive, got -3
///     scenarios/x.toml: training.stpes: unknown key (did you mean 'steps'? [training] allows: steps, epochs, ...)
///     scenarios/x.toml: line 7, column 12: invalid TOML: ...
///
/// Key paths use the TOML names; array elements are 0-based (`clients[0]` is the first `[[clients]]` table).
/// A TOML syntax error has no key path; its line and column stand in its place.
public struct ScenarioError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The class of problem, for callers that react to it (the message says the same in words).
    public enum Kind: String, Sendable, Equatable {
        /// The file could not be read.
        case unreadable
        /// The text is not valid TOML.
        case syntax
        /// A key the schema does not know (typos are never ignored).
        case unknownKey
        /// A required key is absent.
        case missingKey
        /// A value of the wrong TOML type.
        case wrongType
        /// A number outside its range, an empty string, or a name that is not one of the allowed values.
        case invalidValue
        /// Two keys or tables that cannot be given together, or a key without the one it depends on.
        case conflict
        /// Two clients with the same id, or two clients on the same partition.
        case duplicate
        /// A reference to something that does not exist (a fault's client, a partition index).
        case unknownReference
    }

    public var kind: Kind
    /// The scenario file as it was named to the loader.
    public var file: String
    /// Dotted TOML key path (`clients[2].link.up_mbps`); empty for problems of the whole file.
    public var keyPath: String
    /// What is wrong, in a short sentence without a final period.
    public var problem: String
    /// How to fix it, or what is allowed.
    public var hint: String?
    /// Position of a TOML syntax error (1-based).
    public var line: Int?
    public var column: Int?

    public init(kind: Kind, file: String, keyPath: String, problem: String, hint: String? = nil,
                line: Int? = nil, column: Int? = nil) {
        self.kind = kind; self.file = file; self.keyPath = keyPath; self.problem = problem; self.hint = hint
        self.line = line; self.column = column
    }

    public var description: String {
        var parts = [file]
        if !keyPath.isEmpty {
            parts.append(keyPath)
        } else if let line {
            parts.append(column.map { "line \(line), column \($0)" } ?? "line \(line)")
        }
        parts.append(problem)
        var text = parts.joined(separator: ": ")
        if let hint, !hint.isEmpty { text += " (\(hint))" }
        return text
    }
}
