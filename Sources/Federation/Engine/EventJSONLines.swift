import Foundation

/// Events as JSON lines: headless output and the journal's `event.json` column. The fields are
/// those of `FederationEvent`'s `Codable` form; this file only frames them as lines.
extension FederationEvent {
    /// One line of JSON, keys sorted. JSON has no NaN or infinity: a non-finite number is written
    /// as null (engine checks keep them out of metrics; this is the last line of defence). Never
    /// `{}`: if the event still cannot be written, the line keeps `type` and `round` and says why.
    public var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let data = try? encoder.encode(self) { return String(decoding: data, as: UTF8.self) }
        let fallback: [String: Any] = ["type": type, "round": round, "error": "the event's fields could not be written as JSON"]
        let data = try? JSONSerialization.data(withJSONObject: fallback, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data ?? Data(), as: UTF8.self)
    }

    /// The line as a JSON object (for callers that look at single fields).
    public var jsonObject: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(jsonLine.utf8))) as? [String: Any] ?? [:]
    }

    /// Parses one JSON line (as `jsonLine` writes it, or an older journal wrote it); nil when it is not an event.
    public init?(jsonLine: String) {
        guard let event = try? Self.decode(line: jsonLine) else { return nil }
        self = event
    }

    /// Events from JSON lines (blank lines skipped); throws on the first line that is not an event.
    public static func decode(jsonLines text: String) throws -> [FederationEvent] {
        var events: [FederationEvent] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            do { events.append(try decode(line: trimmed)) } catch {
                throw EventDecodingError(line: i + 1, text: String(trimmed.prefix(80)), reason: EventDecodingError.explain(error))
            }
        }
        return events
    }

    static func decode(line: String) throws -> FederationEvent {
        try JSONDecoder().decode(FederationEvent.self, from: Data(line.utf8))
    }
}

public struct EventDecodingError: Error, CustomStringConvertible {
    public var line: Int
    public var text: String
    /// What is wrong with it (a missing or mistyped field, an unknown type, not JSON).
    public var reason: String = ""
    public var description: String { "line \(line) is not a FedPilot event: \(text)" + (reason.isEmpty ? "" : " (\(reason))") }

    /// A decoding error in a few words, naming the field.
    static func explain(_ error: any Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String { context.codingPath.map(\.stringValue).joined(separator: ".") }
        switch e {
        case .keyNotFound(let key, _): return "no \(key.stringValue) field"
        case .typeMismatch(let type, let context): return "\(path(context)) is not a \(type)"
        case .valueNotFound(let type, let context): return "\(path(context)) is null, expected a \(type)"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not JSON" : "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

extension KeyedEncodingContainer {
    /// Writes `value`, or null when it is nil or not finite (JSON has no NaN or infinity).
    mutating func encodeOrNull(_ value: Double?, forKey key: Key) throws {
        if let value, value.isFinite { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    /// Writes `value`, or null when it is nil.
    mutating func encodeOrNull(_ value: String?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) } else { try encodeNil(forKey: key) }
    }

    /// Writes `value` only when it is there and finite: a metric that does not apply is left out.
    mutating func encodeIfFinite(_ value: Double?, forKey key: Key) throws {
        if let value, value.isFinite { try encode(value, forKey: key) }
    }
}
