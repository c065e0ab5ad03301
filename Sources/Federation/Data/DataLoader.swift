import Foundation

/// Reads a client's data file into examples.
///
/// - `jsonl_text`: one JSON object per line with a string `"text"`; `"label"` and every other
///   scalar field are kept as metadata.
/// - `jsonl_instruction`: one JSON object per line with string `"instruction"` and `"output"`
///   and optional string `"input"`, rendered with ``TextExample/instruction(_:input:output:label:fields:)``.
/// - `text`: a plain file; examples are separated by one or more blank lines.
///
/// Blank lines in JSON lines files are skipped. Every problem is a ``DataError`` naming the
/// file, the 1-based line and the field; nothing traps on bad input.
public enum DataLoader {
    /// Loads `path` (used as given, so relative paths resolve against the working directory).
    public static func load(path: String, format: DataFormat) throws -> [TextExample] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError(path: path, kind: .missingFile, message: "no such file")
        }
        if isDirectory.boolValue {
            throw DataError(path: path, kind: .unreadable, message: "is a directory, not a data file")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DataError(path: path, kind: .unreadable, message: "cannot read file (\(error.localizedDescription))")
        }
        guard let contents = String(data: data, encoding: .utf8) else {
            throw DataError(path: path, kind: .unreadable, message: "not valid UTF-8 text")
        }
        return try parse(contents, path: path, format: format)
    }

    /// Parses file contents; `path` is only used in error messages.
    public static func parse(_ contents: String, path: String, format: DataFormat) throws -> [TextExample] {
        var contents = Substring(contents)
        if contents.hasPrefix("\u{FEFF}") { contents = contents.dropFirst() }
        let examples: [TextExample]
        switch format {
        case .jsonlText, .jsonlInstruction:
            examples = try parseJSONLines(contents, path: path, instruction: format == .jsonlInstruction)
        case .text:
            examples = parseParagraphs(contents)
        }
        if examples.isEmpty {
            let what = format == .text ? "no text" : "no JSON lines"
            throw DataError(path: path, kind: .empty, message: "no examples (\(what); the file is empty or blank)")
        }
        return examples
    }

    /// Lines split at "\n" and "\r\n" (one Character in Swift), without their terminators.
    private static func lines(_ contents: Substring) -> [Substring] {
        contents.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
    }

    private static func isBlank(_ line: Substring) -> Bool {
        line.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" }
    }

    private static func parseParagraphs(_ contents: Substring) -> [TextExample] {
        var examples: [TextExample] = []
        var current: [Substring] = []
        func flush() {
            if !current.isEmpty {
                examples.append(TextExample(completion: current.joined(separator: "\n")))
                current.removeAll()
            }
        }
        for line in lines(contents) {
            if isBlank(line) { flush() } else { current.append(line) }
        }
        flush()
        return examples
    }

    private static func parseJSONLines(_ contents: Substring, path: String, instruction: Bool) throws -> [TextExample] {
        let decoder = JSONDecoder()
        var examples: [TextExample] = []
        for (index, line) in lines(contents).enumerated() where !isBlank(line) {
            let number = index + 1
            let value: JSONValue
            do {
                value = try decoder.decode(JSONValue.self, from: Data(line.utf8))
            } catch {
                throw DataError(path: path, line: number, kind: .invalidJSON,
                                message: "invalid JSON (\(JSONValue.reason(error, line: line))): \(preview(line))")
            }
            guard case .object(let object) = value else {
                throw DataError(path: path, line: number, kind: .notAnObject,
                                message: "expected a JSON object, found \(value.typeName)")
            }
            func required(_ field: String) throws -> String {
                guard let entry = object[field], entry != .null else {
                    throw DataError(path: path, line: number, kind: .missingField(field), message: "missing string field \"\(field)\"")
                }
                guard case .string(let string) = entry else {
                    throw DataError(path: path, line: number, kind: .nonStringField(field),
                                    message: "field \"\(field)\" must be a string, found \(entry.typeName)")
                }
                if string.allSatisfy(\.isWhitespace) {
                    throw DataError(path: path, line: number, kind: .emptyField(field), message: "field \"\(field)\" is empty")
                }
                return string
            }
            let reserved: Set<String>
            let label = object["label"]?.scalarString
            var fields: [String: String] = [:]
            if instruction {
                reserved = ["instruction", "input", "output", "label"]
                let instructionText = try required("instruction")
                var input = ""
                if let entry = object["input"], entry != .null {
                    guard case .string(let string) = entry else {
                        throw DataError(path: path, line: number, kind: .nonStringField("input"),
                                        message: "field \"input\" must be a string, found \(entry.typeName)")
                    }
                    input = string
                }
                let output = try required("output")
                for (key, entry) in object where !reserved.contains(key) { fields[key] = entry.scalarString }
                examples.append(.instruction(instructionText, input: input, output: output, label: label, fields: fields))
            } else {
                reserved = ["text", "label"]
                let text = try required("text")
                for (key, entry) in object where !reserved.contains(key) { fields[key] = entry.scalarString }
                examples.append(TextExample(completion: text, label: label, fields: fields))
            }
        }
        return examples
    }

    private static func preview(_ line: Substring) -> String {
        line.count <= 60 ? String(line) : String(line.prefix(57)) + "..."
    }
}

/// Any JSON value; scalars keep their spelling so metadata can be stored as strings.
private enum JSONValue: Decodable, Equatable {
    case string(String)
    case number(String)
    case bool(Bool)
    case null
    case array
    case object([String: JSONValue])

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { return nil }
    }

    init(from decoder: Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: Key.self) {
            var object: [String: JSONValue] = [:]
            for key in keyed.allKeys { object[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key) }
            self = .object(object)
            return
        }
        if (try? decoder.unkeyedContainer()) != nil { self = .array; return }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { self = .null }
        else if let value = try? single.decode(Bool.self) { self = .bool(value) }
        else if let value = try? single.decode(Int64.self) { self = .number(String(value)) }
        else if let value = try? single.decode(Double.self) { self = .number(String(value)) }
        else { self = .string(try single.decode(String.self)) }
    }

    /// Strings as they are, numbers and booleans spelled out; nil for null, arrays, objects.
    var scalarString: String? {
        switch self {
        case .string(let s): return s
        case .number(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .null, .array, .object: return nil
        }
    }

    var typeName: String {
        switch self {
        case .string: return "a string"
        case .number: return "a number"
        case .bool: return "a boolean"
        case .null: return "null"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// A short reason for a line JSONDecoder rejected. JSONDecoder only says "not valid JSON",
    /// so ask JSONSerialization, which names the offending character.
    static func reason(_ error: Error, line: Substring) -> String {
        do {
            _ = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
        } catch {
            if let text = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String, !text.isEmpty {
                return text.hasSuffix(".") ? String(text.dropLast()) : text
            }
        }
        if case DecodingError.dataCorrupted(let context) = error { return context.debugDescription }
        return "\(error)"
    }
}
