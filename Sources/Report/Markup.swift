import Foundation

/// Escaping and number formatting shared by the HTML, SVG and CSV writers.
enum Markup {
    /// Text safe inside XHTML/SVG elements and attribute values. Characters XML 1.0 forbids
    /// (control characters other than tab and newline) become U+FFFD.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || (0xFFFE...0xFFFF).contains(scalar.value) || (0xD800...0xDFFF).contains(scalar.value) {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// A number for a table cell: fixed decimals, "—" when absent.
    static func num(_ v: Double?, _ decimals: Int = 4, signed: Bool = false) -> String {
        guard let v else { return "—" }
        guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "∞" : "-∞") }
        return String(format: signed ? "%+.\(decimals)f" : "%.\(decimals)f", v)
    }

    /// A coordinate in an SVG attribute: two decimals, no trailing zeros.
    static func coord(_ v: Double) -> String {
        var s = String(format: "%.2f", v)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s == "-0" ? "0" : s
    }

    /// A byte count with a unit: "950 B", "12.3 kB", "1.85 MB".
    static func bytes(_ n: Int) -> String {
        let v = Double(n)
        if n < 1000 { return "\(n) B" }
        if v < 1e6 { return String(format: "%.1f kB", v / 1e3) }
        if v < 1e9 { return String(format: "%.2f MB", v / 1e6) }
        return String(format: "%.2f GB", v / 1e9)
    }

    /// ε for people: "unbounded" when nil.
    static func epsilon(_ e: Double?) -> String {
        guard let e, e.isFinite else { return "unbounded" }
        return String(format: "%.2f", e)
    }

    /// Seconds as "1 m 05 s" or "12.3 s".
    static func duration(_ s: Double?) -> String {
        guard let s, s.isFinite else { return "—" }
        if s < 60 { return String(format: "%.1f s", s) }
        let whole = Int(s.rounded())
        if whole < 3600 { return String(format: "%d m %02d s", whole / 60, whole % 60) }
        return String(format: "%d h %02d m", whole / 3600, (whole / 60) % 60)
    }
}
