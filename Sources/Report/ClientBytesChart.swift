import Foundation

extension SVGChart {
    /// Horizontal bars, one per client: bytes received (down) and sent (up) over the run.
    static func clientBytes(id: String, title: String, clients: [(client: String, up: Int, down: Int)]) -> String {
        let rowHeight = 22.0
        var chart = SVGChart(id: id)
        chart.left = 150
        chart.top = 8
        chart.bottom = 30
        chart.height = chart.top + chart.bottom + rowHeight * Double(max(1, clients.count))
        var s = chart.open(title: title, points: clients.count)
        let most = Double(clients.map { $0.up + $0.down }.max() ?? 0)
        let (scale, _) = ticks(0, max(most, 1))
        let hi = scale.last!
        func x(_ v: Double) -> Double { chart.left + v / hi * chart.plotWidth }
        s += "<g class=\"axis\">"
        for t in scale {
            let px = Markup.coord(x(t))
            s += "<line class=\"grid\" x1=\"\(px)\" x2=\"\(px)\" y1=\"\(Markup.coord(chart.top))\" y2=\"\(Markup.coord(chart.height - chart.bottom))\"/>"
            s += "<text x=\"\(px)\" y=\"\(Markup.coord(chart.height - chart.bottom + 16))\" text-anchor=\"middle\">\(Markup.escape(Markup.bytes(Int(t))))</text>"
        }
        s += "</g>"
        if clients.isEmpty { return s + chart.note("no clients recorded") + "</svg>" }
        for (i, c) in clients.enumerated() {
            let y = chart.top + Double(i) * rowHeight
            let label = c.client.count > 22 ? String(c.client.prefix(21)) + "…" : c.client
            s += "<g class=\"pt\" data-client=\"\(Markup.escape(c.client))\">"
            s += "<title>\(Markup.escape(c.client)): \(Markup.bytes(c.up)) up, \(Markup.bytes(c.down)) down</title>"
            s += "<text x=\"\(Markup.coord(chart.left - 6))\" y=\"\(Markup.coord(y + rowHeight / 2))\" text-anchor=\"end\" dominant-baseline=\"middle\">\(Markup.escape(label))</text>"
            var at = 0.0
            for (value, color) in [(Double(c.down), palette[0]), (Double(c.up), palette[1])] where value > 0 {
                s += "<rect x=\"\(Markup.coord(x(at)))\" y=\"\(Markup.coord(y + 4))\" width=\"\(Markup.coord(max(0.5, x(at + value) - x(at))))\" "
                    + "height=\"\(Markup.coord(rowHeight - 8))\" fill=\"\(color)\"/>"
                at += value
            }
            s += "<text x=\"\(Markup.coord(x(at) + 4))\" y=\"\(Markup.coord(y + rowHeight / 2))\" dominant-baseline=\"middle\" class=\"value\">\(Markup.bytes(c.up + c.down))</text>"
            s += "</g>"
        }
        return s + "</svg>"
    }
}
