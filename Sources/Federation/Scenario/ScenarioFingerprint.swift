import Crypto
import Foundation
import TOMLKit

/// What identifies a scenario for `--resume`: its parsed TOML, canonicalised, so that comments,
/// whitespace, key order, quoting and number spelling (`2e-3` and `0.002`) do not matter and
/// every value does.
///
/// The canonical form is one line per leaf, `key.path = value`, sorted, with strings in JSON
/// quoting, integral numbers without a decimal point and other floats in their shortest exact
/// form; an array of tables is flattened by index (`clients[1].id`). Two keys are left out:
/// `seed`, which a journal records and checks on its own (the effective seed, after `--seed`),
/// and `rounds`, because a resumed run may be extended (`--rounds N` or an edited file).
public struct ScenarioFingerprint: Sendable, Equatable {
    /// Top-level keys the fingerprint leaves out (checked separately, or allowed to change).
    public static let excludedKeys: Set<String> = ["seed", "rounds"]

    /// The canonical lines, `key.path = value`, sorted.
    public let lines: [String]

    /// SHA-256 (hex) of the canonical lines joined by newlines.
    public var hash: String {
        SHA256.hash(data: Data(lines.joined(separator: "\n").utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Canonicalises scenario TOML; `path` names the file in an error.
    public init(text: String, path: String) throws {
        let root: TOMLTable
        do { root = try TOMLTable(string: text) } catch {
            throw ScenarioError(kind: .syntax, file: path, keyPath: "", problem: "invalid TOML: \(error)")
        }
        var out: [String] = []
        Self.flatten(root, prefix: "", top: true, into: &out)
        lines = out.sorted()
    }

    /// The key paths whose values differ between `self` and `other` (present in one only, or
    /// with different values), each as `key (a → b)`, at most `limit` of them.
    public func differences(from other: ScenarioFingerprint, limit: Int = 4) -> [String] {
        func split(_ lines: [String]) -> [String: String] {
            Dictionary(lines.map { line -> (String, String) in
                let r = line.range(of: " = ")!
                return (String(line[..<r.lowerBound]), String(line[r.upperBound...]))
            }, uniquingKeysWith: { a, _ in a })
        }
        let mine = split(lines), theirs = split(other.lines)
        let keys = Set(mine.keys).union(theirs.keys).filter { mine[$0] != theirs[$0] }.sorted()
        return keys.prefix(limit).map { "\($0) (\(theirs[$0] ?? "absent") → \(mine[$0] ?? "absent"))" }
            + (keys.count > limit ? ["and \(keys.count - limit) more"] : [])
    }

    private static func flatten(_ table: TOMLTable, prefix: String, top: Bool, into out: inout [String]) {
        for key in table.keys {
            if top && excludedKeys.contains(key) { continue }
            guard let value = table[key] else { continue }
            let path = prefix.isEmpty ? ScenarioTableReader.formatKey(key) : "\(prefix).\(ScenarioTableReader.formatKey(key))"
            flatten(value, path: path, into: &out)
        }
    }

    private static func flatten(_ value: any TOMLValueConvertible, path: String, into out: inout [String]) {
        if let table = value.table {
            if table.keys.isEmpty { out.append("\(path) = {}") }
            flatten(table, prefix: path, top: false, into: &out)
        } else if let array = value.array, array.contains(where: { $0.table != nil }) {
            if array.isEmpty { out.append("\(path) = []") }
            for (i, element) in array.enumerated() { flatten(element, path: "\(path)[\(i)]", into: &out) }
        } else {
            out.append("\(path) = \(scalar(value))")
        }
    }

    /// One value on one line: scalars canonically, arrays of scalars as `[a, b]`.
    private static func scalar(_ value: any TOMLValueConvertible) -> String {
        if let s = value.string {
            let data = (try? JSONSerialization.data(withJSONObject: [s], options: [.withoutEscapingSlashes])) ?? Data()
            return String(decoding: data, as: UTF8.self).dropFirst().dropLast().description
        }
        if let i = value.int { return String(i) }
        if let d = value.double { return number(d) }
        if let b = value.bool { return b ? "true" : "false" }
        if let a = value.array { return "[" + a.map { scalar($0) }.joined(separator: ", ") + "]" }
        if let t = value.table {
            var inner: [String] = []
            flatten(t, prefix: "", top: false, into: &inner)
            return "{" + inner.sorted().joined(separator: ", ") + "}"
        }
        return "\(value.type):\(value)"
    }

    /// Integral floats as integers (`2.0` and `2` are one value to the loader), others in
    /// Swift's shortest round-tripping form.
    private static func number(_ d: Double) -> String {
        if d.isFinite, d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return "\(d)"
    }
}
