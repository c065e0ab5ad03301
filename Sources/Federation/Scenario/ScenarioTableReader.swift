import TOMLKit

/// Reads one table of a scenario file, naming every problem by its file and key path.
///
/// All lookups are typed: a value of the wrong TOML type is an error that names the expected and the
/// found type, never a silent fallback to the default. Integers are accepted where a float is expected.
struct ScenarioTableReader {
    let file: String
    let toml: TOMLTable
    /// Key path of this table, "" for the top level.
    let path: String
    /// How the table is written in the file, for messages: "the top level", "[training]", "[[clients]]".
    let display: String

    init(file: String, table: TOMLTable, path: String, display: String) {
        self.file = file; self.toml = table; self.path = path; self.display = display
    }

    // MARK: Paths and errors

    func keyPath(_ key: String) -> String {
        let k = Self.formatKey(key)
        return path.isEmpty ? k : "\(path).\(k)"
    }

    /// An error about `key` of this table, or about the table itself when `key` is nil.
    func error(_ key: String?, _ kind: ScenarioError.Kind, _ problem: String, hint: String? = nil) -> ScenarioError {
        ScenarioError(kind: kind, file: file, keyPath: key.map(keyPath) ?? path, problem: problem, hint: hint)
    }

    /// Bare TOML keys are written as they are; others quoted, as TOML would need them.
    static func formatKey(_ key: String) -> String {
        let bare = !key.isEmpty && key.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-"
        }
        return bare ? key : "\"" + key.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Fails on the first key (in sorted order) that `allowed` does not list.
    /// `elsewhere` maps keys of other tables to where they belong, for a hint when a key is in the wrong table.
    func requireKnownKeys(_ allowed: [String], elsewhere: [String: String] = [:]) throws {
        for key in toml.keys.sorted() where !allowed.contains(key) {
            var hint = ""
            if let near = Self.closest(to: key, in: allowed) {
                hint = "did you mean '\(near)'? "
            } else if let home = elsewhere[key] {
                hint = "'\(key)' belongs in \(home); "
            }
            hint += "\(display) allows: " + allowed.joined(separator: ", ")
            throw error(key, .unknownKey, "unknown key", hint: hint)
        }
    }

    // MARK: Typed lookups

    func has(_ key: String) -> Bool { toml[key] != nil }

    func string(_ key: String) throws -> String? {
        guard let v = toml[key] else { return nil }
        guard let s = v.string else { throw typeError(key, expected: "string", found: v) }
        return s
    }

    /// A string that must not be empty (or only blanks) when present.
    func nonEmptyString(_ key: String) throws -> String? {
        guard let s = try string(key) else { return nil }
        if s.allSatisfy(\.isWhitespace) { throw error(key, .invalidValue, "must not be empty") }
        return s
    }

    func requiredString(_ key: String, hint: String? = nil) throws -> String {
        guard let s = try nonEmptyString(key) else { throw missing(key, hint: hint) }
        return s
    }

    func int(_ key: String) throws -> Int? {
        guard let v = toml[key] else { return nil }
        guard let i = v.int else {
            var hint: String?
            if let d = v.double, d.isFinite, d == d.rounded(), abs(d) < 1e15 { hint = "write \(Int(d)) without a decimal point" }
            throw typeError(key, expected: "integer", found: v, hint: hint)
        }
        return i
    }

    /// A float; integers are accepted. NaN and infinities are rejected.
    func double(_ key: String) throws -> Double? {
        guard let v = toml[key] else { return nil }
        let d: Double
        if let x = v.double { d = x } else if let i = v.int { d = Double(i) } else {
            throw typeError(key, expected: "number", found: v)
        }
        if !d.isFinite { throw error(key, .invalidValue, "must be a finite number, got \(Self.format(d))") }
        return d
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = toml[key] else { return nil }
        guard let b = v.bool else {
            var hint: String?
            if let s = v.string, s == "true" || s == "false" { hint = "write \(s) without quotes" }
            throw typeError(key, expected: "boolean", found: v, hint: hint)
        }
        return b
    }

    /// A sub-table (`[a.b]` or an inline table).
    func table(_ key: String, display: String) throws -> ScenarioTableReader? {
        guard let v = toml[key] else { return nil }
        guard let t = v.table else { throw typeError(key, expected: "table", found: v, hint: "write it as \(display)") }
        return ScenarioTableReader(file: file, table: t, path: keyPath(key), display: display)
    }

    /// An array of tables (`[[key]]`), each with its indexed path (`key[0]`, `key[1]`, ...).
    func tableArray(_ key: String, display: String) throws -> [ScenarioTableReader]? {
        guard let v = toml[key] else { return nil }
        guard let a = v.array else {
            throw typeError(key, expected: "array of tables", found: v, hint: "write a \(display) table for each entry")
        }
        return try a.enumerated().map { i, element in
            let p = "\(keyPath(key))[\(i)]"
            guard let t = element.table else {
                throw ScenarioError(kind: .wrongType, file: file, keyPath: p,
                                    problem: "expected table, found \(Self.describe(element))",
                                    hint: "write a \(display) table for each entry")
            }
            return ScenarioTableReader(file: file, table: t, path: p, display: display)
        }
    }

    /// The raw value, for keys that accept more than one type.
    func value(_ key: String) -> TOMLValueConvertible? { toml[key] }

    // MARK: Ranges and choices

    /// An integer with a lower and an optional upper bound; `fallback` when absent.
    func int(_ key: String, default fallback: Int, atLeast lower: Int, atMost upper: Int? = nil) throws -> Int {
        guard let i = try int(key) else { return fallback }
        try checkInt(key, i, atLeast: lower, atMost: upper)
        return i
    }

    func checkInt(_ key: String, _ i: Int, atLeast lower: Int, atMost upper: Int? = nil, hint: String? = nil) throws {
        if i >= lower, i <= (upper ?? Int.max) { return }
        let rule: String
        switch (lower, upper) {
        case (_, .some(let u)): rule = "must be in \(lower)...\(u)"
        case (1, nil): rule = "must be positive"
        case (0, nil): rule = "must not be negative"
        default: rule = "must be at least \(lower)"
        }
        throw error(key, .invalidValue, "\(rule), got \(i)", hint: hint)
    }

    /// A finite float within `bounds`; `fallback` when absent.
    func double(_ key: String, default fallback: Double, _ bounds: Bounds) throws -> Double {
        guard let d = try double(key) else { return fallback }
        try check(key, d, bounds)
        return d
    }

    /// Like `double(_:default:_:)`, for the single-precision fields of the model and optimizer.
    func float(_ key: String, default fallback: Float, _ bounds: Bounds) throws -> Float {
        guard let d = try double(key) else { return fallback }
        try check(key, d, bounds)
        let f = Float(d)
        if !f.isFinite { throw error(key, .invalidValue, "is too large for a 32-bit float, got \(Self.format(d))") }
        return f
    }

    func check(_ key: String, _ d: Double, _ bounds: Bounds, hint: String? = nil) throws {
        if !bounds.contains(d) { throw error(key, .invalidValue, "\(bounds.rule), got \(Self.format(d))", hint: hint) }
    }

    /// A string naming one case of `E`, by its raw value.
    func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type, noun: String) throws -> E?
    where E.RawValue == String {
        guard let s = try string(key) else { return nil }
        let names = E.allCases.map(\.rawValue)
        guard let e = E(rawValue: s) else {
            var hint = ""
            if let near = Self.closest(to: s.lowercased(), in: names) { hint = "did you mean '\(near)'? " }
            hint += "use one of: " + names.joined(separator: ", ")
            throw error(key, .invalidValue, "unknown \(noun) \"\(s)\"", hint: hint)
        }
        return e
    }

    func missing(_ key: String, hint: String? = nil) -> ScenarioError {
        error(key, .missingKey, "missing required key", hint: hint)
    }

    func typeError(_ key: String, expected: String, found: TOMLValueConvertible, hint: String? = nil) -> ScenarioError {
        error(key, .wrongType, "expected \(expected), found \(Self.describe(found))", hint: hint)
    }

    // MARK: Formatting

    /// The TOML type of a value and, for scalars, the value itself: `string "8"`, `integer 3`.
    static func describe(_ v: TOMLValueConvertible) -> String {
        switch v.type {
        case .string:
            let s = v.string ?? ""
            return "string \"\(s.count > 40 ? String(s.prefix(40)) + "…" : s)\""
        case .int: return "integer \(v.int.map(String.init) ?? "")"
        case .double: return "float \(v.double.map(format) ?? "")"
        case .bool: return "boolean \(v.bool.map(String.init) ?? "")"
        case .table: return "table"
        case .array: return "array"
        case .date: return "date"
        case .time: return "time"
        case .dateTime: return "date-time"
        }
    }

    /// Integral values without a decimal point (`-3`), others as Swift prints them (`0.0002`).
    static func format(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d > 0 ? "inf" : "-inf" }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int(d)) }
        return "\(d)"
    }

    /// The closest of `candidates` to `word` by edit distance, when it is close enough to be a likely typo.
    static func closest(to word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, editDistance(word, $0)) }
        guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
        let limit = max(1, min(3, best.0.count / 3))
        return best.1 <= limit ? best.0 : nil
    }

    /// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[x.count][y.count]
    }
}

/// An interval of allowed float values, with its rule in words for messages.
struct Bounds {
    var lower: Double?
    var lowerInclusive = true
    var upper: Double?
    var upperInclusive = true

    static let positive = Bounds(lower: 0, lowerInclusive: false)
    static let nonNegative = Bounds(lower: 0)
    /// (0, 1]
    static let fractionAboveZero = Bounds(lower: 0, lowerInclusive: false, upper: 1)
    /// (0, 1)
    static let openUnit = Bounds(lower: 0, lowerInclusive: false, upper: 1, upperInclusive: false)
    /// [0, 1]
    static let probability = Bounds(lower: 0, upper: 1)
    /// [0, 1)
    static let belowOne = Bounds(lower: 0, upper: 1, upperInclusive: false)

    func contains(_ d: Double) -> Bool {
        if let lower, lowerInclusive ? d < lower : d <= lower { return false }
        if let upper, upperInclusive ? d > upper : d >= upper { return false }
        return true
    }

    var rule: String {
        switch (lower, upper) {
        case (.some(0), nil): return lowerInclusive ? "must not be negative" : "must be positive"
        case (.some(let l), nil): return "must be \(lowerInclusive ? "at least" : "greater than") \(ScenarioTableReader.format(l))"
        case (nil, .some(let u)): return "must be \(upperInclusive ? "at most" : "less than") \(ScenarioTableReader.format(u))"
        case (.some(let l), .some(let u)):
            return "must be in \(lowerInclusive ? "[" : "(")\(ScenarioTableReader.format(l)), \(ScenarioTableReader.format(u))\(upperInclusive ? "]" : ")")"
        case (nil, nil): return "must be a number"
        }
    }
}
