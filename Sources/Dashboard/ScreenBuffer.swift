/// Text attributes of a cell.
public struct CellStyle: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = CellStyle(rawValue: 1 << 0)
    public static let dim = CellStyle(rawValue: 1 << 1)
    public static let reverse = CellStyle(rawValue: 1 << 2)
    public static let underline = CellStyle(rawValue: 1 << 3)
}

/// The colour pairs the dashboard uses (foreground on the terminal's default background).
public enum CellColor: UInt8, Sendable, Hashable, CaseIterable {
    case normal = 0, green, red, yellow, cyan
}

/// One character cell.
public struct Cell: Sendable, Hashable {
    public var char: Unicode.Scalar
    public var style: CellStyle
    public var color: CellColor
    public init(_ char: Unicode.Scalar = " ", style: CellStyle = [], color: CellColor = .normal) {
        self.char = char; self.style = style; self.color = color
    }
    public static let blank = Cell()
}

/// A grid of styled cells: what the renderer produces and the terminal draws.
/// Every character is assumed to take one column; writes outside the grid are clipped.
public struct ScreenBuffer: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = Array(repeating: .blank, count: self.width * self.height)
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// Writes `text` from column `x` of row `y`, at most `limit` columns; returns the column after it.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: CellStyle = [], color: CellColor = .normal,
                             limit: Int? = nil) -> Int {
        guard y >= 0, y < height else { return x }
        let end = min(width, limit.map { x + max(0, $0) } ?? width)
        var column = x
        for scalar in text.unicodeScalars {
            if column >= end { break }
            if scalar.properties.generalCategory == .nonspacingMark { continue }
            if column >= 0 { cells[y * width + column] = Cell(scalar, style: style, color: color) }
            column += 1
        }
        return column
    }

    /// Writes `text` right-aligned so that it ends just before column `end`.
    public mutating func putRight(_ text: String, end: Int, y: Int, style: CellStyle = [], color: CellColor = .normal) {
        put(text, x: end - text.unicodeScalars.count, y: y, style: style, color: color, limit: text.unicodeScalars.count)
    }

    /// Fills a rectangle with one cell.
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, with cell: Cell = .blank) {
        for row in max(0, y)..<min(height, y + h) where w > 0 {
            for column in max(0, x)..<min(width, x + w) { cells[row * width + column] = cell }
        }
    }

    /// Adds `style` to every cell of a row segment (for highlighting).
    public mutating func addStyle(_ style: CellStyle, x: Int, y: Int, width w: Int) {
        guard y >= 0, y < height else { return }
        for column in max(0, x)..<min(width, x + w) { cells[y * width + column].style.formUnion(style) }
    }

    /// Row `y` as plain text, trailing spaces removed.
    public func line(_ y: Int) -> String {
        var s = String.UnicodeScalarView()
        for x in 0..<width { s.append(cells[y * width + x].char) }
        var text = String(s)
        while text.last == " " { text.removeLast() }
        return text
    }

    /// The whole grid as text, one line per row (characters only).
    public var text: String { (0..<height).map(line).joined(separator: "\n") }
}
