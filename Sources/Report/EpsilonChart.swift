import Foundation

extension SVGChart {
    /// ε after each round: a line through the bounded values, and a red "∞" mark on the top
    /// band for each round after which ε was unbounded (some round so far ran without DP).
    static func epsilon(id: String, title: String, rounds: [RoundRow], firstRound: Int, lastRound: Int) -> String {
        var chart = SVGChart(id: id, firstRound: firstRound, lastRound: lastRound)
        chart.top = 34
        let shown = rounds.filter { $0.status != .missing }
        var s = chart.open(title: title, points: shown.count)
        let bounded = shown.compactMap(\.epsilon).filter(\.isFinite)
        let (scale, decimals) = ticks(0, max(bounded.max() ?? 1, 1e-3))
        let hi = scale.last!
        func y(_ v: Double) -> Double { chart.top + (1 - v / hi) * chart.plotHeight }
        s += chart.yAxis(scale, y: y) { String(format: "%.\(decimals)f", $0) }
        s += chart.xAxis()
        let bandY = chart.top - 16
        s += "<text class=\"unit\" x=\"2\" y=\"\(Markup.coord(bandY))\" dominant-baseline=\"middle\">unbounded</text>"
        if shown.isEmpty { return s + chart.note("no rounds recorded") + "</svg>" }
        var run: [String] = []
        var polylines = ""
        func flush() {
            if run.count > 1 { polylines += "<polyline fill=\"none\" stroke=\"\(palette[4])\" points=\"\(run.joined(separator: " "))\"/>" }
            run = []
        }
        var marks = ""
        for row in shown {
            let px = Markup.coord(chart.x(row.round))
            let noise = row.noiseMultiplier.map { String(format: ", noise σ=%.2f", $0) } ?? ""
            if let e = row.epsilon, e.isFinite {
                run.append("\(px),\(Markup.coord(y(e)))")
                marks += "<circle class=\"pt bounded\" cx=\"\(px)\" cy=\"\(Markup.coord(y(e)))\" r=\"3.5\" fill=\"\(palette[4])\">"
                    + "<title>round \(row.round): ε = \(Markup.epsilon(e)) (DP on\(noise))</title></circle>"
            } else {
                flush()
                let why = row.dpEnabled ? "DP on, but an earlier round ran without it" : "DP off this round"
                marks += "<text class=\"pt unbounded\" x=\"\(px)\" y=\"\(Markup.coord(bandY))\" text-anchor=\"middle\" dominant-baseline=\"middle\">∞"
                    + "<title>round \(row.round): ε unbounded (\(why))</title></text>"
            }
        }
        flush()
        return s + polylines + marks + "</svg>"
    }
}
