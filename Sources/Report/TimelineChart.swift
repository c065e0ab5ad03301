import Foundation

extension SVGChart {
    /// The run on one round axis, a lane per kind: alerts (coloured by severity), clients
    /// dropping out, failed or missing rounds, and operator actions. Marks of one lane and
    /// round stack downwards; each names what happened in its `<title>`.
    static func timeline(id: String, title: String, entries: [TimelineEntry], lastRound: Int) -> String {
        let lanes: [(TimelineEntry.Kind, String)] = [(.alert, "alerts"), (.drop, "drops"), (.round, "rounds"), (.operatorAction, "operator")]
        var stacks: [String: Int] = [:]
        for e in entries { stacks["\(e.kind.rawValue)/\(e.round)", default: 0] += 1 }
        let perLane = min(6, max(1, stacks.values.max() ?? 1))
        let laneHeight = 12.0 + 9.0 * Double(perLane)
        var chart = SVGChart(id: id, firstRound: 0, lastRound: max(1, lastRound))
        chart.width = 1100
        chart.left = 80
        chart.top = 6
        chart.height = chart.top + chart.bottom + laneHeight * Double(lanes.count)
        var s = chart.open(title: title, points: entries.count)
        s += chart.xAxis()
        for (i, lane) in lanes.enumerated() {
            let y = chart.top + Double(i) * laneHeight
            s += "<rect class=\"lane\(i % 2 == 0 ? "" : " odd")\" x=\"\(Markup.coord(chart.left))\" y=\"\(Markup.coord(y))\" "
                + "width=\"\(Markup.coord(chart.plotWidth))\" height=\"\(Markup.coord(laneHeight))\"/>"
            s += "<text x=\"\(Markup.coord(chart.left - 6))\" y=\"\(Markup.coord(y + laneHeight / 2))\" text-anchor=\"end\" dominant-baseline=\"middle\">\(lane.1)</text>"
        }
        var placed: [String: Int] = [:]
        for e in entries {
            guard let lane = lanes.firstIndex(where: { $0.0 == e.kind }) else { continue }
            let key = "\(e.kind.rawValue)/\(e.round)"
            let k = placed[key, default: 0]
            placed[key] = k + 1
            let cx = chart.x(e.round) + (k >= perLane ? 3 : 0)
            let cy = chart.top + Double(lane) * laneHeight + 10 + 9 * Double(k % perLane)
            let label = "round \(e.round): \(e.client.map { e.kind == .alert ? "\($0): " : "" } ?? "")\(e.text)"
            let tip = "<title>\(Markup.escape(label))</title>"
            let (px, py) = (Markup.coord(cx), Markup.coord(cy))
            switch e.kind {
            case .alert:
                let color = e.level == "critical" ? "#d62728" : e.level == "warning" ? "#e8a317" : "#4e79a7"
                s += "<circle class=\"pt alert \(Markup.escape(e.level))\" cx=\"\(px)\" cy=\"\(py)\" r=\"4\" fill=\"\(color)\">\(tip)</circle>"
            case .drop:
                s += "<rect class=\"pt drop\" x=\"\(Markup.coord(cx - 4))\" y=\"\(Markup.coord(cy - 4))\" width=\"8\" height=\"8\" fill=\"#9c755f\">\(tip)</rect>"
            case .round:
                let color = e.level == "failed" ? "#d62728" : "#999999"
                s += "<path class=\"pt round-\(Markup.escape(e.level))\" d=\"M\(Markup.coord(cx - 4)) \(Markup.coord(cy - 4))L\(Markup.coord(cx + 4)) \(Markup.coord(cy + 4))"
                    + "M\(Markup.coord(cx - 4)) \(Markup.coord(cy + 4))L\(Markup.coord(cx + 4)) \(Markup.coord(cy - 4))\" stroke=\"\(color)\" stroke-width=\"2.5\">\(tip)</path>"
            case .operatorAction:
                let color = e.level == "applied" ? "#4e79a7" : "#bab0ac"
                s += "<path class=\"pt operator\" d=\"M\(px) \(Markup.coord(cy - 5))L\(Markup.coord(cx + 5)) \(py)L\(px) \(Markup.coord(cy + 5))L\(Markup.coord(cx - 5)) \(py)Z\" fill=\"\(color)\">\(tip)</path>"
            }
        }
        if entries.isEmpty { s += chart.note("no alerts, drops, failed rounds or operator actions") }
        return s + "</svg>"
    }
}
