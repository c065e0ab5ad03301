/// Small charts drawn with block characters (or an ASCII ramp).
enum Charts {
    /// Value range of the non-nil values; nil when there are none.
    static func range(_ values: [Double?], fromZero: Bool = false) -> (lo: Double, hi: Double)? {
        let v = values.compactMap { $0 }.filter(\.isFinite)
        guard var lo = v.min(), var hi = v.max() else { return nil }
        if fromZero { lo = min(0, lo); hi = max(0, hi) }
        return (lo, hi)
    }

    /// Vertical bars, `barWidth` columns per value (`step` apart), `rows` tall, with eighth-row resolution.
    /// When the range spans zero, bars grow up (positive) and down (negative) from a zero line;
    /// otherwise they grow from the bottom and the smallest value keeps a sliver so it stays visible.
    static func bars(_ b: inout ScreenBuffer, x: Int, y: Int, rows: Int, values: [Double?], range: (lo: Double, hi: Double),
                     color: CellColor, charset: Charset, step: Int = 1, barWidth: Int = 1, highlightLast: Bool = false,
                     negativeColor: CellColor = .red) {
        guard rows > 0 else { return }
        let blocks = charset.blocks
        let full = blocks[7]
        let upperHalf: Unicode.Scalar = charset == .unicode ? "▀" : "'"
        let levels = Double(rows * 8)
        let span = range.hi - range.lo
        let signed = range.lo < 0 && range.hi > 0
        // The zero line, on a cell boundary, counted in rows from the bottom.
        let zeroRow = signed ? Int((Double(rows) * -range.lo / span).rounded()) : 0
        for (i, value) in values.enumerated() {
            guard let v = value, v.isFinite else { continue }
            let style: CellStyle = highlightLast && i == values.count - 1 ? [.bold] : []
            let left = x + i * step
            func put(_ row: Int, _ ch: Unicode.Scalar, _ c: CellColor) {
                guard row >= 0, row < rows else { return }
                for dx in 0..<barWidth { b[left + dx, y + rows - 1 - row] = Cell(ch, style: style, color: c) }
            }
            if signed {
                let eighths = Int((abs(v) / span * levels).rounded())
                if v >= 0 {
                    let n = max(1, eighths)
                    for r in 0..<rows {
                        let fill = min(8, n - r * 8)
                        guard fill > 0 else { break }
                        put(zeroRow + r, blocks[fill - 1], color)
                    }
                } else {
                    // Downward bars have whole and half cells (there are no partial upper blocks).
                    let halves = max(1, Int((Double(eighths) / 4).rounded()))
                    for r in 0..<((halves + 1) / 2) {
                        put(zeroRow - 1 - r, halves - r * 2 >= 2 ? full : upperHalf, negativeColor)
                    }
                }
            } else {
                let fraction = span > 0 ? (v - range.lo) / span : 0.5
                let eighths = max(1, Int((fraction * (levels - 1)).rounded()) + 1)
                for r in 0..<rows {
                    let fill = min(8, eighths - r * 8)
                    guard fill > 0 else { break }
                    put(r, blocks[fill - 1], color)
                }
            }
        }
    }

    /// Columns per round for `count` rounds in `width` columns: (step, bar width).
    static func spacing(count: Int, width: Int) -> (step: Int, bar: Int) {
        let step = min(4, max(1, width / max(1, count)))
        return (step, step >= 3 ? step - 1 : step)
    }

    /// One row: each value as a block of its height (8 levels).
    static func sparkline(_ values: [Double?], range: (lo: Double, hi: Double), charset: Charset) -> String {
        let blocks = charset.blocks
        var s = String.UnicodeScalarView()
        for value in values {
            guard let v = value, v.isFinite else { s.append(" "); continue }
            let span = range.hi - range.lo
            let level = span > 0 ? Int(((v - range.lo) / span * 7).rounded()) : 3
            s.append(blocks[min(7, max(0, level))])
        }
        return String(s)
    }

    /// The last `n` values (one column each) and the round of the first one.
    static func tail(_ series: RoundSeries, columns n: Int) -> (values: [Double?], firstRound: Int) {
        let all = series.rounds
        let shown = Array(all.suffix(max(0, n)))
        return (shown, all.count - shown.count + 1)
    }

    /// An axis row under a chart: the first round under the first bar, the last under the last.
    static func axis(_ b: inout ScreenBuffer, x: Int, y: Int, width: Int, firstRound: Int, count: Int, step: Int = 1) {
        guard count > 0 else { return }
        let left = "r\(firstRound)"
        b.put(left, x: x, y: y, style: .dim, limit: width)
        let last = "r\(firstRound + count - 1)"
        let lastColumn = x + (count - 1) * step
        let start = max(x + left.count + 1, lastColumn - last.count + 1)
        if count > 1, start + last.count <= x + width { b.put(last, x: start, y: y, style: .dim) }
    }
}
