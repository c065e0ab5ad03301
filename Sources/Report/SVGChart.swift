import Foundation

/// One named series of values by round.
struct ChartSeries {
    var name: String
    var values: [Int: Double]
    var color: String
    var dashed = false
}

/// Inline SVG charts with a round axis. Every plotted datum is an element of class `pt`
/// carrying a `<title>` (the browser shows it on hover), and each chart's `<svg>` states
/// its count in `data-points`, so tests can check the drawing against the data.
struct SVGChart {
    static let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                          "#9c755f", "#79706e", "#1f77b4", "#d62728"]
    static func color(_ i: Int) -> String { palette[i % palette.count] }

    var id: String
    var width = 720.0
    var height = 240.0
    var left = 64.0
    var right = 16.0
    var top = 16.0
    var bottom = 32.0
    /// Rounds on the x axis (inclusive).
    var firstRound = 1
    var lastRound = 1

    var plotWidth: Double { width - left - right }
    var plotHeight: Double { height - top - bottom }

    func x(_ round: Int) -> Double {
        guard lastRound > firstRound else { return left + plotWidth / 2 }
        return left + Double(round - firstRound) / Double(lastRound - firstRound) * plotWidth
    }

    /// Width of one round's band (for bars).
    var band: Double { plotWidth / Double(max(1, lastRound - firstRound + 1)) }
    func bandCenter(_ round: Int) -> Double { left + (Double(round - firstRound) + 0.5) * band }

    /// Evenly spaced "nice" ticks covering lo...hi.
    static func ticks(_ lo: Double, _ hi: Double, count: Int = 5) -> (values: [Double], decimals: Int) {
        var lo = lo, hi = hi
        if !(hi - lo > 1e-12) {
            let pad = max(abs(hi) * 0.05, 1e-3)
            lo -= pad; hi += pad
        }
        let raw = (hi - lo) / Double(max(1, count))
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw * 0.999 } ?? 10 * magnitude
        let start = floor(lo / step) * step, end = ceil(hi / step) * step
        var values: [Double] = []
        var i = 0.0
        while start + i * step <= end + step * 1e-6 { values.append(start + i * step); i += 1 }
        var decimals = max(0, Int(-floor(log10(step))))
        if (step / magnitude) == 2.5 { decimals += 1 }
        return (values, decimals)
    }

    /// The frame: the SVG element's opening with its size, accessible name and point count.
    func open(title: String, points: Int) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" id=\"\(id)\" data-points=\"\(points)\" "
            + "viewBox=\"0 0 \(Markup.coord(width)) \(Markup.coord(height))\" role=\"img\" aria-label=\"\(Markup.escape(title))\">"
            + "<title>\(Markup.escape(title))</title>"
    }

    /// Horizontal grid lines with labels on the left, for the value range `ticks`.
    func yAxis(_ ticks: [Double], y: (Double) -> Double, label: (Double) -> String) -> String {
        var s = "<g class=\"axis\">"
        for t in ticks {
            let py = Markup.coord(y(t))
            s += "<line class=\"grid\" x1=\"\(Markup.coord(left))\" x2=\"\(Markup.coord(width - right))\" y1=\"\(py)\" y2=\"\(py)\"/>"
            s += "<text x=\"\(Markup.coord(left - 6))\" y=\"\(py)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(Markup.escape(label(t)))</text>"
        }
        return s + "</g>"
    }

    /// Round labels under the plot (every round when they fit, otherwise every k-th).
    func xAxis(bands: Bool = false) -> String {
        let count = lastRound - firstRound + 1
        let every = max(1, Int((Double(count) / 16).rounded(.up)))
        var s = "<g class=\"axis\">"
        let base = Markup.coord(height - bottom)
        s += "<line class=\"baseline\" x1=\"\(Markup.coord(left))\" x2=\"\(Markup.coord(width - right))\" y1=\"\(base)\" y2=\"\(base)\"/>"
        for r in stride(from: firstRound, through: lastRound, by: 1) where (r - firstRound) % every == 0 || r == lastRound {
            let px = bands ? bandCenter(r) : x(r)
            s += "<text x=\"\(Markup.coord(px))\" y=\"\(Markup.coord(height - bottom + 16))\" text-anchor=\"middle\">\(r)</text>"
        }
        s += "<text x=\"\(Markup.coord(width - right))\" y=\"\(Markup.coord(height - 2))\" text-anchor=\"end\" class=\"unit\">round</text>"
        return s + "</g>"
    }

    /// A line chart: one polyline per series (broken where a round has no value) and a dot
    /// per value; an optional dashed reference line (the base model) and a zero line.
    func lines(title: String, series: [ChartSeries], reference: (label: String, value: Double)? = nil, zeroLine: Bool = false,
               format: (Double) -> String) -> String {
        var all = series.flatMap { $0.values.values }.filter(\.isFinite)
        if let reference { all.append(reference.value) }
        if zeroLine { all.append(0) }
        let points = series.reduce(0) { $0 + $1.values.values.filter(\.isFinite).count }
        var s = open(title: title, points: points)
        guard let lo = all.min(), let hi = all.max() else {
            return s + xAxis() + note("no values recorded") + "</svg>"
        }
        let (ticks, decimals) = Self.ticks(lo, hi)
        let y0 = ticks.first!, y1 = ticks.last!
        func y(_ v: Double) -> Double { top + (1 - (v - y0) / (y1 - y0)) * plotHeight }
        s += yAxis(ticks, y: y) { String(format: "%.\(decimals)f", $0) }
        s += xAxis()
        if zeroLine, y0 < 0, y1 > 0 {
            s += "<line class=\"zero\" x1=\"\(Markup.coord(left))\" x2=\"\(Markup.coord(width - right))\" y1=\"\(Markup.coord(y(0)))\" y2=\"\(Markup.coord(y(0)))\"/>"
        }
        if let reference {
            let py = Markup.coord(y(reference.value))
            s += "<g class=\"reference\"><line x1=\"\(Markup.coord(left))\" x2=\"\(Markup.coord(width - right))\" y1=\"\(py)\" y2=\"\(py)\"/>"
            s += "<text x=\"\(Markup.coord(width - right - 4))\" y=\"\(Markup.coord(y(reference.value) - 4))\" text-anchor=\"end\">"
                + "\(Markup.escape(reference.label)) \(Markup.escape(format(reference.value)))</text></g>"
        }
        for line in series {
            s += "<g class=\"series\" data-series=\"\(Markup.escape(line.name))\"><title>\(Markup.escape(line.name))</title>"
            var run: [String] = []
            func flush() {
                if run.count > 1 {
                    s += "<polyline fill=\"none\" stroke=\"\(line.color)\"\(line.dashed ? " stroke-dasharray=\"5 3\"" : "") points=\"\(run.joined(separator: " "))\"/>"
                }
                run = []
            }
            for r in stride(from: firstRound, through: lastRound, by: 1) {
                guard let v = line.values[r], v.isFinite else { flush(); continue }
                run.append("\(Markup.coord(x(r))),\(Markup.coord(y(v)))")
            }
            flush()
            for r in line.values.keys.sorted() {
                guard let v = line.values[r], v.isFinite else { continue }
                s += "<circle class=\"pt\" cx=\"\(Markup.coord(x(r)))\" cy=\"\(Markup.coord(y(v)))\" r=\"3\" fill=\"\(line.color)\">"
                    + "<title>\(Markup.escape(line.name)), round \(r): \(Markup.escape(format(v)))</title></circle>"
            }
            s += "</g>"
        }
        return s + "</svg>"
    }

    /// Stacked bars per round (e.g. bytes up and down).
    func stackedBars(title: String, parts: [ChartSeries], format: (Double) -> String) -> String {
        let rounds = Set(parts.flatMap { $0.values.keys }).sorted()
        let totals = rounds.map { r in parts.reduce(0) { $0 + ($1.values[r] ?? 0) } }
        var s = open(title: title, points: rounds.count)
        let (ticks, _) = Self.ticks(0, max(totals.max() ?? 0, 1))
        let hi = ticks.last!
        func y(_ v: Double) -> Double { top + (1 - v / hi) * plotHeight }
        s += yAxis(ticks, y: y, label: format)
        s += xAxis(bands: true)
        if rounds.isEmpty { return s + note("no rounds recorded") + "</svg>" }
        let w = max(2, min(40, band * 0.7))
        for (r, total) in zip(rounds, totals) {
            let detail = parts.map { "\($0.name) \(format($0.values[r] ?? 0))" }.joined(separator: ", ")
            s += "<g class=\"pt\" data-round=\"\(r)\"><title>round \(r): \(Markup.escape(format(total))) (\(Markup.escape(detail)))</title>"
            var base = 0.0
            for part in parts {
                let v = part.values[r] ?? 0
                guard v > 0 else { continue }
                s += "<rect x=\"\(Markup.coord(bandCenter(r) - w / 2))\" y=\"\(Markup.coord(y(base + v)))\" width=\"\(Markup.coord(w))\" "
                    + "height=\"\(Markup.coord(max(0.5, y(base) - y(base + v))))\" fill=\"\(part.color)\"/>"
                base += v
            }
            s += "</g>"
        }
        return s + "</svg>"
    }

    /// A centred grey message inside the plot.
    func note(_ text: String) -> String {
        "<text class=\"note\" x=\"\(Markup.coord(left + plotWidth / 2))\" y=\"\(Markup.coord(top + plotHeight / 2))\" text-anchor=\"middle\">\(Markup.escape(text))</text>"
    }
}
