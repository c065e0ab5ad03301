import Federation
import Foundation

/// The charts under the table: global eval loss, task accuracy, every client's Δbase, bytes per round.
extension Renderer {
    func drawCharts(_ b: inout ScreenBuffer) {
        let top = layout.chartTop, rows = layout.chartPlotRows
        if run.hasTask {
            // A fourth panel: the global model's task accuracy per round, against the base model's.
            let panel = (width - 3) / 4
            drawBarPanel(&b, x: 0, y: top, width: panel, rows: rows, title: "global eval loss",
                         series: run.globalEvalLoss, fromZero: false, color: .cyan, format: { Fmt.num($0, width: 6) })
            drawBarPanel(&b, x: panel + 1, y: top, width: panel, rows: rows,
                         title: "accuracy (base \(Fmt.num(run.baseTaskAccuracy, width: 4, decimals: 2, charset: cs)))",
                         series: run.globalTaskAccuracy, fromZero: true, color: .green, format: { Fmt.num($0, width: 4, decimals: 2) })
            drawClientQuality(&b, x: 2 * (panel + 1), y: top, width: panel, rows: rows)
            drawBarPanel(&b, x: 3 * (panel + 1), y: top, width: width - 3 * (panel + 1), rows: rows, title: "bytes per round",
                         series: run.bytesPerRound, fromZero: true, color: .yellow, format: { Fmt.bytes(Int($0)) })
            return
        }
        let panel = (width - 2) / 3
        drawBarPanel(&b, x: 0, y: top, width: panel, rows: rows, title: "global eval loss",
                     series: run.globalEvalLoss, fromZero: false, color: .cyan, format: { Fmt.num($0, width: 6) })
        drawClientQuality(&b, x: panel + 1, y: top, width: panel, rows: rows)
        drawBarPanel(&b, x: 2 * (panel + 1), y: top, width: width - 2 * (panel + 1), rows: rows, title: "bytes per round",
                     series: run.bytesPerRound, fromZero: true, color: .yellow, format: { Fmt.bytes(Int($0)) })
    }

    /// A titled bar chart of a per-round series: title row, `rows` plot rows, axis row.
    func drawBarPanel(_ b: inout ScreenBuffer, x: Int, y: Int, width w: Int, rows: Int, title: String, series: RoundSeries,
                      fromZero: Bool, color: CellColor, format: (Double) -> String) {
        var tx = b.put(title, x: x, y: y, style: .bold, limit: w)
        let (step, bar) = Charts.spacing(count: series.rounds.count, width: w)
        let (values, first) = Charts.tail(series, columns: w / step)
        guard let range = Charts.range(values, fromZero: fromZero) else {
            b.put("no rounds yet", x: x + 1, y: y + 1 + rows / 2, style: .dim, limit: w - 1)
            return
        }
        if let last = series.last {
            tx = b.put("  \(format(last))", x: tx, y: y, style: .bold, color: color, limit: x + w - tx)
        }
        b.put("  \(format(range.lo))\(cs.ellipsis)\(format(range.hi))", x: tx, y: y, style: .dim, limit: x + w - tx)
        Charts.bars(&b, x: x, y: y + 1, rows: rows, values: values, range: range, color: color, charset: cs,
                    step: step, barWidth: bar, highlightLast: true)
        Charts.axis(&b, x: x, y: y + 1 + rows, width: w, firstRound: first, count: values.count, step: step)
    }

    /// Δbase of every client over the rounds, one sparkline each, on a shared scale; the selected client first in view.
    func drawClientQuality(_ b: inout ScreenBuffer, x: Int, y: Int, width w: Int, rows: Int) {
        let clients = state.sortedRows
        let nameWidth = min(12, max(4, clients.map { $0.id.unicodeScalars.count }.max() ?? 4))
        let sparkWidth = max(1, w - nameWidth - 1)
        let tx = b.put("\(cs.delta)base by client", x: x, y: y, style: .bold, limit: w)
        let tails = clients.map { Charts.tail($0.history.deltaBase, columns: sparkWidth) }
        let visible = rows + 0
        let selected = clients.firstIndex { $0.id == ui.selected } ?? 0
        let start = clients.count <= visible ? 0 : min(max(0, selected - visible / 2), clients.count - visible)
        let shown = Array(start..<min(clients.count, start + visible))
        guard let range = Charts.range(shown.flatMap { tails[$0].values }, fromZero: true) else {
            b.put("no evaluations yet", x: x + 1, y: y + 1 + rows / 2, style: .dim, limit: w - 1)
            return
        }
        b.put("  \(Fmt.num(range.lo, width: 6, signed: true))\(cs.ellipsis)\(Fmt.num(range.hi, width: 6, signed: true))",
              x: tx, y: y, style: .dim, limit: x + w - tx)
        var longest = 0, firstRound = 1
        for (line, i) in shown.enumerated() {
            let row = clients[i]
            let yy = y + 1 + line
            let isSelected = i == selected
            b.put(Fmt.pad(row.id, nameWidth, charset: cs), x: x, y: yy, style: isSelected ? [.bold, .reverse] : .dim)
            let (values, first) = tails[i]
            if values.count > longest { longest = values.count; firstRound = first }
            let last = row.history.deltaBase.last
            b.put(Charts.sparkline(values, range: range, charset: cs), x: x + nameWidth + 1, y: yy,
                  style: isSelected ? .bold : [], color: signColor(last))
        }
        Charts.axis(&b, x: x + nameWidth + 1, y: y + 1 + rows, width: sparkWidth, firstRound: firstRound, count: longest)
    }
}
