/// Checks the two things TOMLKit's C++ parser (toml++) does not refuse cleanly, before the text
/// reaches it: a NUL byte (the text is handed over as a C string, so everything after it would be
/// silently dropped) and a table header whose first character cannot start a key (`[$a]`), on
/// which toml++ aborts with a failed assertion. Both were found by fuzzing (scripts/fuzz.sh).
enum TOMLPrecheck {
    /// The (1-based) line and column of the first such problem, with a description, or nil.
    static func problem(in text: String) -> (line: Int, column: Int, problem: String)? {
        let scalars = Array(text.unicodeScalars)
        var line = 1, lineStart = 0
        var depth = 0            // [ ] and { } nesting of values
        var quote: [Unicode.Scalar] = []   // the open string's delimiter, if any
        var i = 0
        var atLineStart = true
        func isKeyStart(_ c: Unicode.Scalar) -> Bool {
            c == "\"" || c == "'" || c == "_" || c == "-" || c == "]"
                || ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
        }
        func matches(_ s: [Unicode.Scalar], at j: Int) -> Bool {
            j + s.count <= scalars.count && Array(scalars[j..<(j + s.count)]) == s
        }
        while i < scalars.count {
            let c = scalars[i]
            if c == "\0" { return (line, i - lineStart + 1, "contains a NUL byte") }
            if c == "\n" {
                line += 1; lineStart = i + 1; i += 1
                if quote.count == 1 { quote = [] }   // a single-line string ended (toml++ reports it)
                atLineStart = quote.isEmpty
                continue
            }
            if !quote.isEmpty {
                if quote.first == "\"", c == "\\" { i += 2; continue }
                if matches(quote, at: i) { i += quote.count; quote = [] } else { i += 1 }
                continue
            }
            if atLineStart, c != " ", c != "\t" {
                atLineStart = false
                if c == "[", depth == 0 {
                    var j = i + 1
                    let arrayOfTables = j < scalars.count && scalars[j] == "["
                    if arrayOfTables { j += 1 }
                    while j < scalars.count, scalars[j] == " " || scalars[j] == "\t" { j += 1 }
                    // `[ [a]` is refused cleanly by toml++; `[[[a]]]`, `[$a]` and a bare `[` abort it.
                    let next = j < scalars.count ? scalars[j] : "\n"
                    if next == "\n" || next == "\r" {
                        return (line, j - lineStart + 1, "a table header has no name")
                    }
                    if !isKeyStart(next), arrayOfTables || next != "[" {
                        return (line, j - lineStart + 1, "a table header cannot start with '\(next)'")
                    }
                }
            }
            switch c {
            case "#":
                while i < scalars.count, scalars[i] != "\n" {
                    if scalars[i] == "\0" { return (line, i - lineStart + 1, "contains a NUL byte") }
                    i += 1
                }
                continue
            case "\"", "'":
                quote = matches([c, c, c], at: i) ? [c, c, c] : [c]
                i += quote.count
                continue
            case "[", "{": depth += 1
            case "]", "}": depth = max(0, depth - 1)
            default: break
            }
            i += 1
        }
        return nil
    }
}
