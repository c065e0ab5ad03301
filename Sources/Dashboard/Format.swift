import Federation
import Foundation

/// Which characters the dashboard may draw: Unicode when the locale is UTF-8, ASCII otherwise.
public enum Charset: Sendable, Equatable {
    case unicode, ascii

    /// Eight bar heights, lowest first.
    var blocks: [Unicode.Scalar] {
        switch self {
        case .unicode: return ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
        case .ascii: return [".", ":", "-", "=", "+", "*", "#", "@"]
        }
    }
    var horizontal: String { self == .unicode ? "─" : "-" }
    var vertical: String { self == .unicode ? "│" : "|" }
    var corners: (String, String, String, String) { self == .unicode ? ("┌", "┐", "└", "┘") : ("+", "+", "+", "+") }
    var delta: String { self == .unicode ? "Δ" : "d" }
    var up: String { self == .unicode ? "↑" : "^" }
    var down: String { self == .unicode ? "↓" : "v" }
    var sigma: String { self == .unicode ? "σ=" : "sigma=" }
    var epsilon: String { self == .unicode ? "ε=" : "eps=" }
    var dash: String { self == .unicode ? "—" : "-" }
    var ellipsis: String { self == .unicode ? "…" : "~" }
    var play: String { self == .unicode ? "▶" : ">" }
    var pauseMark: String { self == .unicode ? "⏸" : "||" }
}

/// Number and size formatting for narrow columns.
enum Fmt {
    /// `v` in at most `width` columns with as many decimals as fit (at most `decimals`); "—" when nil.
    static func num(_ v: Double?, width: Int, decimals: Int = 3, signed: Bool = false, charset: Charset = .unicode) -> String {
        guard let v else { return charset.dash }
        guard v.isFinite else { return v.isNaN ? "nan" : (v > 0 ? "inf" : "-inf") }
        for d in stride(from: decimals, through: 0, by: -1) {
            let s = String(format: signed ? "%+.\(d)f" : "%.\(d)f", v)
            if s.count <= width, d > 0 || abs(v) >= 1 || v == 0 { return s }
        }
        for d in stride(from: 2, through: 0, by: -1) {
            let s = String(format: "%.\(d)e", v).replacingOccurrences(of: "e-0", with: "e-").replacingOccurrences(of: "e+0", with: "e")
                .replacingOccurrences(of: "e+", with: "e")
            if s.count <= width { return signed && v >= 0 ? "+" + s : s }
        }
        return String(repeating: "#", count: max(1, width))
    }

    /// A byte count with a unit: 950B, 12K, 1.2M, 3.4G.
    static func bytes(_ n: Int) -> String {
        let v = Double(n)
        if n < 1000 { return "\(n)B" }
        let units: [(Double, String)] = [(1e3, "K"), (1e6, "M"), (1e9, "G"), (1e12, "T")]
        for (i, (scale, unit)) in units.enumerated() {
            let x = v / scale
            if x < 999.5 || i == units.count - 1 {
                return x < 9.95 ? String(format: "%.1f%@", x, unit) : String(format: "%.0f%@", x, unit)
            }
        }
        return "\(n)B"
    }

    /// A byte count in words for headers: "12.3 MB".
    static func bytesLong(_ n: Int) -> String {
        let v = Double(n)
        if n < 1000 { return "\(n) B" }
        if v < 1e6 { return String(format: "%.1f kB", v / 1e3) }
        if v < 1e9 { return String(format: "%.1f MB", v / 1e6) }
        return String(format: "%.2f GB", v / 1e9)
    }

    /// Seconds as h:mm:ss (or m:ss under an hour).
    static func clock(_ seconds: Double) -> String {
        let s = max(0, Int(seconds))
        let h = s / 3600, m = (s / 60) % 60, r = s % 60
        return h > 0 ? String(format: "%d:%02d:%02d", h, m, r) : String(format: "%02d:%02d", m, r)
    }

    /// Simulated seconds, compactly.
    static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return String(format: "%.1fs", seconds) }
        if seconds < 3600 { return String(format: "%.1fm", seconds / 60) }
        return String(format: "%.1fh", seconds / 3600)
    }

    /// "50/10 Mbps 20ms" (down/up).
    static func link(_ l: LinkSpec?, charset: Charset) -> String {
        guard let l else { return charset.dash }
        func m(_ x: Double) -> String { x == x.rounded() && x < 1e6 ? String(Int(x)) : String(format: "%.1f", x) }
        return "\(m(l.downMbps))/\(m(l.upMbps)) Mbps \(m(l.latencyMs))ms"
    }

    /// ε for the header: "unbounded" when nil.
    static func epsilon(_ e: Double?) -> String {
        guard let e, e.isFinite else { return "unbounded" }
        return e >= 100 ? String(format: "%.0f", e) : String(format: "%.2f", e)
    }

    /// Pads or truncates to exactly `width` columns.
    static func pad(_ s: String, _ width: Int, right: Bool = false, charset: Charset = .unicode) -> String {
        let n = s.unicodeScalars.count
        if n == width { return s }
        if n < width {
            let fill = String(repeating: " ", count: width - n)
            return right ? fill + s : s + fill
        }
        guard width > 1 else { return String(String.UnicodeScalarView(s.unicodeScalars.prefix(width))) }
        return String(String.UnicodeScalarView(s.unicodeScalars.prefix(width - 1))) + charset.ellipsis
    }

    /// Text for one screen line: runs of whitespace (newlines included) become one space, and
    /// other control characters, which would disturb the terminal, are dropped.
    static func oneLine(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var space = false
        for u in s.unicodeScalars {
            if u.properties.isWhitespace {
                space = true
                continue
            }
            if u.value < 0x20 || (0x7f...0x9f).contains(u.value) { continue }
            if space && !out.isEmpty { out.append(" ") }
            space = false
            out.append(u)
        }
        return String(out)
    }

    /// Generated text for the screen, keeping its line breaks visible: a newline becomes "⏎ "
    /// ("| " in ASCII), tabs become spaces, and other control characters are dropped.
    static func visible(_ s: String, charset: Charset) -> String {
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            switch u {
            case "\n": out.append(contentsOf: (charset == .unicode ? "⏎ " : "| ").unicodeScalars)
            case "\t", "\r": out.append(" ")
            default:
                if u.value < 0x20 || (0x7f...0x9f).contains(u.value) || u.properties.generalCategory == .lineSeparator { continue }
                out.append(u)
            }
        }
        return String(out)
    }
}
