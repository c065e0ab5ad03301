import Federation
import Foundation

/// Draws a state into a screen buffer. Pure: the same state and size give the same cells,
/// and the state is never changed.
public func render(_ state: DashboardState, width: Int, height: Int) -> ScreenBuffer {
    Renderer(state: state, width: width, height: height).draw()
}

struct Renderer {
    let state: DashboardState
    let width: Int
    let height: Int
    let layout: Layout
    let cs: Charset
    var run: RunModel { state.run }
    var ui: UIState { state.ui }

    init(state: DashboardState, width: Int, height: Int) {
        self.state = state; self.width = width; self.height = height
        layout = Layout(width: width, height: height, clients: state.run.clients.count)
        cs = state.ui.charset
    }

    func draw() -> ScreenBuffer {
        var b = ScreenBuffer(width: width, height: height)
        if layout.tooSmall {
            drawTooSmall(&b)
            return b
        }
        drawHeader(&b)
        switch ui.view {
        case .main:
            drawTable(&b)
            drawCharts(&b)
            drawLog(&b)
        case .detail:
            drawDetail(&b)
        }
        drawStatusBar(&b)
        if ui.showHelp { drawHelp(&b) }
        return b
    }

    // MARK: Too small

    func drawTooSmall(_ b: inout ScreenBuffer) {
        let message = "terminal too small (need \(Layout.minWidth)x\(Layout.minHeight), have \(width)x\(height))"
        guard height > 0 else { return }
        let lines = [message, "enlarge the window, or press q to quit"]
        let top = max(0, height / 2 - 1)
        for (i, line) in lines.enumerated() where top + i < height {
            let x = max(0, (width - line.unicodeScalars.count) / 2)
            b.put(line, x: x, y: top + i, style: i == 0 ? .bold : [], color: i == 0 ? .yellow : .normal)
        }
    }

    // MARK: Header

    var phaseText: (String, CellColor) {
        if let r = ui.replay {
            let speed = String(format: "%g rounds/s", r.roundsPerSecond)
            if r.atEnd { return ("replay: end", .green) }
            return r.playing ? ("replay \(cs.play) \(speed)", .cyan) : ("replay paused (\(speed))", .yellow)
        }
        if run.finished { return run.stoppedEarly ? ("stopped", .yellow) : ("finished", .green) }
        if run.stopping || ui.quitRequested { return ("stopping\(cs.ellipsis)", .yellow) }
        let name = run.phase == .secureAggregation ? "secure aggregation" : run.phase.rawValue
        if run.phase == .paused { return ("paused", .yellow) }
        if run.paused { return ("\(name), pausing", .yellow) }
        return (name, .cyan)
    }

    func drawHeader(_ b: inout ScreenBuffer) {
        b.fill(x: 0, y: 0, width: width, height: 1, with: Cell(" ", style: .reverse))
        let (phase, color) = phaseText
        let round = "\(run.round)/\(run.totalRounds)"
        let fullModel = (run.model as NSString).lastPathComponent
        // Try the roomiest form first: labelled fields and both clocks; then without labels; then wall time only.
        // The model name gives way last (paths are long).
        var labels = true, clock = ""
        var model = fullModel
        for (withLabels, withNet) in [(true, true), (false, true), (false, false)] {
            labels = withLabels
            clock = "wall \(Fmt.clock(run.wallSeconds))" + (withNet ? "  net \(Fmt.duration(run.simulatedSeconds))" : "") + " "
            let names = run.scenario.count + run.strategy.count + (withLabels ? " scenario  model  strategy ".count + 2 : 6)
            let fixed = " FedPilot ".count + names + "  round ".count + round.count + 2 + phase.count
            let room = width - fixed - clock.count - 2
            model = fullModel.count > room ? (room >= 6 ? Fmt.pad(fullModel, room, charset: cs) : "") : fullModel
            if room >= min(fullModel.count, 12) { break }
        }
        var x = b.put(" FedPilot ", x: 0, y: 0, style: [.reverse, .bold])
        let fields: [(String, String)] = [("scenario", run.scenario), ("model", model), ("strategy", run.strategy)]
        for (i, (k, v)) in fields.enumerated() where !v.isEmpty {
            x = b.put(labels ? " \(k) " : (i == 0 ? " " : "  "), x: x, y: 0, style: .reverse)
            x = b.put(v, x: x, y: 0, style: [.reverse, .bold])
        }
        x = b.put("  round ", x: x, y: 0, style: .reverse)
        x = b.put(round, x: x, y: 0, style: [.reverse, .bold])
        x = b.put("  ", x: x, y: 0, style: .reverse)
        x = b.put(phase, x: x, y: 0, style: [.reverse, .bold], color: color)
        if x + clock.count + 1 <= width { b.putRight(clock, end: width, y: 0, style: .reverse) }

        // Row 1: privacy, secure aggregation, traffic, commands in flight.
        var y1 = 0
        y1 = b.put(" DP ", x: y1, y: 1)
        if run.dpEnabled {
            y1 = b.put("on", x: y1, y: 1, style: .bold, color: .green)
            y1 = b.put(" \(cs.epsilon)\(Fmt.epsilon(run.epsilon))", x: y1, y: 1, style: .bold)
            y1 = b.put(String(format: " \(cs.sigma)%.2f clip=%.3g \(cs == .unicode ? "δ=" : "delta=")%.0e", run.noiseMultiplier, run.clipNorm, run.delta),
                       x: y1, y: 1)
        } else {
            y1 = b.put("off", x: y1, y: 1, style: .bold)
            y1 = b.put(String(format: " (noise %.2f when on)", run.noiseMultiplier), x: y1, y: 1, style: .dim)
        }
        y1 = b.put("  \(cs.vertical) secure aggregation ", x: y1, y: 1)
        y1 = b.put(run.secureAggregation ? "on" : "off", x: y1, y: 1, style: .bold, color: run.secureAggregation ? .green : .normal)
        if let s = run.secureRound {
            y1 = b.put(s.aborted == nil ? " k=\(s.degree) t=\(s.threshold) \(s.included.count)/\(s.clients.count) in sum" : " last round aborted",
                       x: y1, y: 1, color: s.aborted == nil ? .normal : .red)
        }
        y1 = b.put("  \(cs.vertical) moved ", x: y1, y: 1)
        y1 = b.put(Fmt.bytesLong(run.bytesMoved), x: y1, y: 1, style: .bold)
        if run.failedRounds > 0 {
            y1 = b.put("  \(cs.vertical) ", x: y1, y: 1)
            y1 = b.put("\(run.failedRounds) failed round\(run.failedRounds == 1 ? "" : "s")", x: y1, y: 1, style: .bold, color: .red)
        }
        if !ui.pending.isEmpty {
            y1 = b.put("  \(cs.vertical) ", x: y1, y: 1)
            y1 = b.put("pending: ", x: y1, y: 1, style: .bold, color: .yellow)
            b.put(ui.pending.map(\.description).joined(separator: ", "), x: y1, y: 1, color: .yellow)
        }
    }

    // MARK: Client table

    struct Column {
        let title: String
        var width: Int
        let right: Bool
        let priority: Int
        let sort: SortColumn?
        /// The column sets (besides `.all`) that show it; empty: every set.
        var sets: Set<ColumnSet> = []
        let cell: (ClientRow) -> (String, CellColor, CellStyle)
    }

    func statusColor(_ row: ClientRow, _ text: String) -> (CellColor, CellStyle) {
        if text == "pending" { return (.yellow, .bold) }
        switch row.status {
        case .done: return (.green, [])
        case .selected, .training, .uploading: return (.cyan, .bold)
        case .dropped, .timedOut: return (.yellow, [])
        case .rejected, .failed, .aborted: return (.red, .bold)
        case .excluded: return (.normal, .dim)
        case .idle: return row.excluded ? (.normal, .dim) : (.normal, [])
        }
    }

    func signColor(_ v: Double?) -> CellColor {
        guard let v else { return .normal }
        return v > 0 ? .green : (v < 0 ? .red : .normal)
    }

    var columns: [Column] {
        let d = cs.delta
        func n(_ v: Double?, _ w: Int, signed: Bool = false) -> String { Fmt.num(v, width: w, signed: signed, charset: cs) }
        /// Training values from an earlier round than the row's status are dimmed.
        func age(_ r: ClientRow) -> CellStyle { r.trainingIsStale ? .dim : [] }
        var list: [Column] = [
            Column(title: "!", width: 1, right: false, priority: 99, sort: .alerts) { r in
                guard let last = r.alerts.last else { return (" ", .normal, []) }
                // Bright while recent (this round or the last), dim afterwards.
                guard last.round >= run.round - 1 else { return ("!", .normal, .dim) }
                return ("!", last.severity == .critical ? .red : .yellow, .bold)
            },
            Column(title: "client", width: 10, right: false, priority: 100, sort: .id) { r in (r.id, .normal, .bold) },
            Column(title: "domain", width: 8, right: false, priority: 45, sort: .domain, sets: [.quality, .network]) { r in (r.domain, .normal, []) },
            Column(title: "status", width: 9, right: false, priority: 98, sort: .status) { r in
                let t = state.statusText(r)
                let (c, s) = statusColor(r, t)
                return (t, c, s)
            },
            Column(title: "train", width: 5, right: true, priority: 70, sort: .samples, sets: [.training]) { r in
                (r.trainExamples > 0 ? "\(r.trainExamples)" : (r.data.map { "\($0.train)" } ?? cs.dash), .normal, [])
            },
            Column(title: "loss", width: 5, right: true, priority: 80, sort: .loss, sets: [.training]) { r in (n(r.localLossEnd, 5), .normal, age(r)) },
            Column(title: "eval", width: 5, right: true, priority: 90, sort: .eval, sets: [.quality, .training]) { r in (n(r.evalLoss, 5), .normal, []) },
            Column(title: "\(d)base", width: 6, right: true, priority: 88, sort: .deltaBase, sets: [.quality]) { r in
                (n(r.deltaBase, 6, signed: true), signColor(r.deltaBase), [])
            },
            Column(title: "\(d)last", width: 6, right: true, priority: 85, sort: .deltaLast, sets: [.quality]) { r in
                (n(r.deltaLast, 6, signed: true), signColor(r.deltaLast), [])
            },
            Column(title: "drift", width: 5, right: true, priority: 60, sort: .drift, sets: [.training]) { r in (n(r.drift, 5), .normal, age(r)) },
            Column(title: "norm", width: 6, right: true, priority: 65, sort: .norm, sets: [.training]) { r in (n(r.updateNorm, 6), .normal, age(r)) },
            Column(title: "cos", width: 5, right: true, priority: 50, sort: .cosine, sets: [.training]) { r in
                (n(r.cosine, 5, signed: false), (r.cosine ?? 0) < 0 ? .red : .normal, age(r))
            },
            Column(title: "\(cs.up)\(cs.down) round", width: 11, right: true, priority: 55, sort: .bytesRound, sets: [.network]) { r in
                guard r.bytesUpRound + r.bytesDownRound > 0 else { return (cs.dash, .normal, .dim) }
                return ("\(cs.up)\(Fmt.bytes(r.bytesUpRound)) \(cs.down)\(Fmt.bytes(r.bytesDownRound))", .normal, age(r))
            },
            Column(title: "total", width: 5, right: true, priority: 35, sort: .bytesTotal, sets: [.network]) { r in
                (r.bytesTotal > 0 ? Fmt.bytes(r.bytesTotal) : cs.dash, .normal, [])
            },
            Column(title: "link", width: 16, right: false, priority: 40, sort: nil, sets: [.network]) { r in (Fmt.link(r.link, charset: cs), .normal, .dim) },
        ]
        if run.hasTask {
            // Task accuracy on the client's labelled validation examples, and its gain over the base model.
            let at = list.firstIndex { $0.sort == .deltaLast }.map { $0 + 1 } ?? list.count
            list.insert(contentsOf: [
                Column(title: "acc", width: 5, right: true, priority: 89, sort: .accuracy, sets: [.quality]) { r in
                    (Fmt.num(r.taskAccuracy, width: 5, decimals: 2, charset: cs), .normal, [])
                },
                Column(title: "\(d)acc", width: 6, right: true, priority: 87, sort: .deltaAccuracy, sets: [.quality]) { r in
                    (Fmt.num(r.taskAccuracyDeltaBase, width: 6, decimals: 2, signed: true, charset: cs), signColor(r.taskAccuracyDeltaBase), [])
                },
            ], at: at)
        }
        if ui.columns != .all { list.removeAll { !$0.sets.isEmpty && !$0.sets.contains(ui.columns) } }
        // Drop the least important columns until the rest fit; the client column takes what is left.
        func total(_ cols: [Column]) -> Int { cols.reduce(0) { $0 + $1.width } + cols.count - 1 }
        while total(list) > width - 1, let drop = list.enumerated().min(by: { $0.element.priority < $1.element.priority }) {
            list.remove(at: drop.offset)
        }
        if let i = list.firstIndex(where: { $0.sort == .id }) {
            let longest = run.clients.map { $0.id.unicodeScalars.count }.max() ?? 6
            list[i].width += max(0, min(width - 1 - total(list), max(0, longest - list[i].width), 24))
            // Any remaining width goes after the table.
        }
        return list
    }

    func drawTable(_ b: inout ScreenBuffer) {
        let cols = columns
        let rows = state.sortedRows
        let y0 = layout.tableHeader
        var x = 0
        for c in cols {
            var title = c.title
            if c.sort == ui.sort { title += ui.sortDescending ? cs.down : cs.up }
            let text = Fmt.pad(title, c.width, right: c.right, charset: cs)
            b.put(text, x: x, y: y0, style: c.sort == ui.sort ? [.bold, .underline] : [.bold])
            x += c.width + 1
        }
        guard !rows.isEmpty else {
            b.put("waiting for the run to start\(cs.ellipsis)", x: 2, y: y0 + 1, style: .dim)
            return
        }
        let selected = rows.firstIndex { $0.id == ui.selected } ?? 0
        let top = layout.scroll(ui.scroll, selected: selected, count: rows.count)
        for line in 0..<layout.tableRows {
            let i = top + line
            guard i < rows.count else { break }
            let row = rows[i]
            let y = y0 + 1 + line
            x = 0
            for c in cols {
                let (text, color, style) = c.cell(row)
                b.put(Fmt.pad(text, c.width, right: c.right, charset: cs), x: x, y: y, style: style, color: color)
                x += c.width + 1
            }
            if i == selected { b.addStyle(.reverse, x: 0, y: y, width: width) }
        }
    }

    // MARK: Charts

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

    // MARK: Event log

    func logColor(_ kind: LogEntry.Kind) -> (CellColor, CellStyle) {
        switch kind {
        case .info: return (.normal, .dim)
        case .round: return (.normal, [])
        case .drop: return (.yellow, [])
        case .failure: return (.red, .bold)
        case .alert(let s): return s == .critical ? (.red, .bold) : (s == .warning ? (.yellow, .bold) : (.normal, []))
        case .operatorAction: return (.cyan, [])
        case .privacy: return (.green, [])
        case .stderr: return (.yellow, [])
        }
    }

    func drawLog(_ b: inout ScreenBuffer) {
        let y = layout.logTop
        var title = " events "
        if ui.stderrLines > 0, let path = ui.stderrPath {
            title += "(\(ui.stderrLines) stderr line\(ui.stderrLines == 1 ? "" : "s") in \(path)) "
        }
        b.put(String(repeating: cs.horizontal, count: 2) + title + String(repeating: cs.horizontal, count: max(0, width - 2 - title.count)),
              x: 0, y: y, style: .dim)
        let lines = run.log.suffix(layout.logRows)
        for (i, entry) in lines.enumerated() {
            let (color, style) = logColor(entry.kind)
            let x = b.put(Fmt.pad("r\(entry.round)", 4, charset: cs), x: 0, y: y + 1 + i, style: .dim)
            b.put(Fmt.pad(entry.text, width - x - 1, charset: cs), x: x + 1, y: y + 1 + i, style: style, color: color)
        }
    }

    // MARK: Status bar

    func drawStatusBar(_ b: inout ScreenBuffer) {
        let y = layout.statusRow
        let hints = KeyMap.hints(replay: ui.replay != nil, charset: cs)
        var left = ""
        var color = CellColor.yellow
        if let flash = ui.flash { left = flash }
        else if ui.quitRequested && !run.finished && ui.replay == nil { left = "stopping: waiting for the current step to finish\(cs.ellipsis) (q again quits now)" }
        else if run.finished && ui.replay == nil { left = "run \(run.stoppedEarly ? "stopped" : "finished"): q quits"; color = .green }
        else if ui.view == .main && run.clients.count > layout.tableRows {
            let rows = state.sortedRows
            let sel = rows.firstIndex { $0.id == ui.selected } ?? 0
            let top = layout.scroll(ui.scroll, selected: sel, count: rows.count)
            left = "clients \(top + 1)-\(min(rows.count, top + layout.tableRows)) of \(rows.count)"
            color = .normal
        }
        // The bottom-right cell stays blank: curses cannot write it without scrolling.
        // A message longer than the room beside the hints displaces them.
        var room = width - hints.unicodeScalars.count - 3
        let showHints = left.unicodeScalars.count <= room
        if !showHints { room = width - 2 }
        if room > 0 { b.put(Fmt.pad(left, room, charset: cs), x: 0, y: y, style: .bold, color: color) }
        if showHints { b.putRight(hints, end: width - 1, y: y, style: .dim) }
    }

    // MARK: Detail view

    func drawDetail(_ b: inout ScreenBuffer) {
        guard let row = state.selectedRow else {
            b.put("no client selected (Esc goes back)", x: 2, y: 3, style: .dim)
            return
        }
        var x = b.put("client ", x: 0, y: 2, style: .bold)
        x = b.put(row.id, x: x, y: 2, style: [.bold, .underline])
        x = b.put("  domain \(row.domain.isEmpty ? cs.dash : row.domain)  status ", x: x, y: 2)
        let st = state.statusText(row)
        let (sc, ss) = statusColor(row, st)
        x = b.put(st, x: x, y: 2, style: ss, color: sc)
        b.putRight("Esc back  \(Key.up.label(cs))\(Key.down.label(cs)) other clients", end: width, y: 2, style: .dim)

        func f(_ v: Double?, _ w: Int = 7, signed: Bool = false) -> String { Fmt.num(v, width: w, decimals: 4, signed: signed, charset: cs) }
        let data = row.data.map { "\($0.train) train / \($0.validation) validation examples" } ?? "train/validation sizes unknown"
        var linkText = Fmt.link(row.link, charset: cs)
        if let l = row.link {
            linkText += String(format: ", upload loss %.0f%%, compute x%.2g", l.dropProbability * 100, l.computeFactor)
        }
        b.put("data    \(data)   link \(linkText)", x: 0, y: 3, limit: width)
        let arrow = cs == .unicode ? "→" : "->"
        b.put("trained in round \(row.trainedRound)   local loss \(f(row.localLossStart)) \(arrow) \(f(row.localLossEnd))   norm \(f(row.updateNorm))   drift \(f(row.drift))   weight \(f(row.weight))   tokens \(row.trainTokens > 0 ? String(row.trainTokens) : cs.dash)",
              x: 0, y: 4, limit: width)
        var geometry = "cosine to others \(f(row.cosine))   to the aggregate \(f(row.cosineToAggregate))"
        if let t = row.transferSeconds, let c = row.computeSeconds {
            geometry += "   simulated time \(Fmt.duration(t)) transfer + \(Fmt.duration(c)) compute"
        }
        b.put(geometry, x: 0, y: 5, style: row.cosine.map { $0 < 0 } == true ? .bold : [], limit: width)
        x = b.put("eval    \(f(row.evalLoss))   \(cs.delta)base ", x: 0, y: 6)
        x = b.put(f(row.deltaBase, signed: true), x: x, y: 6, style: .bold, color: signColor(row.deltaBase))
        x = b.put("   \(cs.delta)last ", x: x, y: 6)
        x = b.put(f(row.deltaLast, signed: true), x: x, y: 6, style: .bold, color: signColor(row.deltaLast))
        b.put("   bytes \(cs.up)\(Fmt.bytes(row.bytesUpRound)) \(cs.down)\(Fmt.bytes(row.bytesDownRound)) last round, \(Fmt.bytesLong(row.bytesTotal)) total   aggregated in \(row.roundsAggregated) round\(row.roundsAggregated == 1 ? "" : "s")",
              x: x, y: 6, limit: width - x)
        if let accuracy = row.taskAccuracy { drawTaskLine(&b, row: row, accuracy: accuracy, y: 7) }

        drawSample(&b, row: row, y: 8)

        // Four history charts, two by two.
        let alertRows = max(4, min(row.alerts.count + 1, 8))
        let chartsTop = 13
        let available = height - 1 - chartsTop - alertRows - 1
        let block = max(4, available / 2)
        let plot = block - 2
        let half = (width - 1) / 2
        let h = row.history
        drawBarPanel(&b, x: 0, y: chartsTop, width: half, rows: plot, title: "eval loss", series: h.evalLoss, fromZero: false,
                     color: .cyan, format: { Fmt.num($0, width: 6) })
        drawBarPanel(&b, x: half + 1, y: chartsTop, width: width - half - 1, rows: plot, title: "\(cs.delta)base (vs base model)",
                     series: h.deltaBase, fromZero: true, color: .green,
                     format: { Fmt.num($0, width: 7, signed: true) })
        drawBarPanel(&b, x: 0, y: chartsTop + block, width: half, rows: plot, title: "drift", series: h.drift, fromZero: true,
                     color: .yellow, format: { Fmt.num($0, width: 6) })
        drawBarPanel(&b, x: half + 1, y: chartsTop + block, width: width - half - 1, rows: plot, title: "update norm",
                     series: h.norm, fromZero: true, color: .yellow, format: { Fmt.num($0, width: 7) })

        let ay = chartsTop + 2 * block
        let title = " alerts (\(row.alerts.count)) "
        b.put(String(repeating: cs.horizontal, count: 2) + title + String(repeating: cs.horizontal, count: max(0, width - 2 - title.count)),
              x: 0, y: ay, style: .dim)
        let room = max(0, height - 1 - ay - 1)
        if row.alerts.isEmpty {
            b.put("no alerts", x: 2, y: ay + 1, style: .dim)
        }
        for (i, alert) in row.alerts.suffix(room).reversed().enumerated() {
            let color: CellColor = alert.severity == .critical ? .red : (alert.severity == .warning ? .yellow : .normal)
            let x0 = b.put(Fmt.pad("r\(alert.round)", 4, charset: cs), x: 0, y: ay + 1 + i, style: .dim)
            let x1 = b.put(Fmt.pad(alert.severity.rawValue, 9, charset: cs), x: x0 + 1, y: ay + 1 + i, style: .bold, color: color)
            b.put(Fmt.pad(alert.reason, width - x1 - 1, charset: cs), x: x1, y: ay + 1 + i, color: color)
        }
    }

    /// Task accuracy, its gain over the base model, macro-F1 and the last evaluation's top confusions.
    func drawTaskLine(_ b: inout ScreenBuffer, row: ClientRow, accuracy: Double, y: Int) {
        let arrow = cs == .unicode ? "→" : "->"
        var x = b.put("task    accuracy \(Fmt.num(accuracy, width: 4, decimals: 2, charset: cs))   \(cs.delta)base ", x: 0, y: y)
        x = b.put(Fmt.num(row.taskAccuracyDeltaBase, width: 5, decimals: 2, signed: true, charset: cs), x: x, y: y, style: .bold,
                  color: signColor(row.taskAccuracyDeltaBase))
        let score = row.confusion ?? TaskScore()
        x = b.put("   macro-F1 \(Fmt.num(score.macroF1, width: 4, decimals: 2, charset: cs))   ", x: x, y: y)
        let top = score.topConfusions(4)
        let text = top.isEmpty ? "no confusions (\(score.total) of \(score.total) right)"
            : "confusions: " + top.map { "\($0.gold) \(arrow) \($0.predicted): \($0.count)" }.joined(separator: ", ")
        b.put(text, x: x, y: y, color: top.isEmpty ? .green : .yellow, limit: width - x)
    }

    /// The global model's sample on the client's probe prompt: a title row, the prompt, and two rows of text.
    func drawSample(_ b: inout ScreenBuffer, row: ClientRow, y: Int) {
        let generating = ui.pending.contains(.sample(client: row.id))
        var title = " sample of the global model"
        if let sample = row.sample {
            title += String(format: " after round %d (greedy, %.1fs)", sample.round, sample.seconds)
            if generating { title += ", generating a new one\(cs.ellipsis)" }
            else if sample.round < run.completedRounds {
                let age = run.completedRounds - sample.round
                title += ", \(age) round\(age == 1 ? "" : "s") old"
            }
        }
        title += " "
        let keyNote = ui.replay == nil && row.probePrompt != nil ? " r regenerates " : ""
        let rule = String(repeating: cs.horizontal, count: 2) + title
            + String(repeating: cs.horizontal, count: max(0, width - 4 - title.count - keyNote.count)) + keyNote
            + String(repeating: cs.horizontal, count: 2)
        b.put(rule, x: 0, y: y, style: .dim, limit: width)
        let label = 8
        let prompt = row.sample?.prompt ?? row.probePrompt
        b.put("prompt", x: 0, y: y + 1, style: .bold)
        if let prompt {
            b.put(Fmt.pad(Fmt.visible(prompt, charset: cs), width - label - 1, charset: cs), x: label, y: y + 1, style: .dim)
        } else {
            b.put("none: add probe_prompt to this client's [[clients]] table, or its domain to [probe_prompts]", x: label, y: y + 1,
                  style: .dim, limit: width - label - 1)
        }
        b.put("model", x: 0, y: y + 2, style: .bold)
        let status: String?
        if generating { status = row.sample == nil ? "generating\(cs.ellipsis)" : nil }
        else if row.sampleFailed { status = "no sample: the engine could not generate one (see the event log)" }
        else if row.sample == nil {
            status = prompt == nil ? cs.dash : (ui.replay != nil || run.finished ? "no sample was generated" : "opening this view asks for one")
        } else { status = nil }
        if let status {
            b.put(status, x: label, y: y + 2, style: generating ? .bold : .dim, color: generating ? .cyan : .normal, limit: width - label - 1)
            return
        }
        guard let sample = row.sample else { return }
        // The continuation, wrapped over two rows (cut with an ellipsis beyond).
        let room = width - label - 1
        var text = Array(Fmt.visible(sample.text, charset: cs).unicodeScalars)
        if text.isEmpty { text = Array("(the model ended the text at once)".unicodeScalars) }
        for line in 0..<2 where !text.isEmpty {
            var take = min(room, text.count)
            if line == 0, text.count > room, let space = text[..<room].lastIndex(of: " "), space >= room / 2 {
                take = space + 1   // break the first row at a word boundary
            }
            if line == 1 && text.count > room { take = room - 1 }
            b.put(String(String.UnicodeScalarView(text.prefix(take))), x: label, y: y + 2 + line, style: .bold)
            text.removeFirst(take)
            if line == 1 && !text.isEmpty { b.put(cs.ellipsis, x: label + take, y: y + 3, style: .bold) }
        }
    }

    // MARK: Help overlay

    func drawHelp(_ b: inout ScreenBuffer) {
        let replay = ui.replay != nil
        let lines = KeyMap.helpLines(replay: replay, charset: cs)
        let keyWidth = lines.map { $0.keys.unicodeScalars.count }.max() ?? 4
        let textWidth = lines.map { $0.help.unicodeScalars.count }.max() ?? 10
        let innerWidth = min(width - 6, keyWidth + textWidth + 4)
        let boxWidth = innerWidth + 2
        let boxHeight = min(height - 2, lines.count + 4)
        let x0 = (width - boxWidth) / 2, y0 = max(1, (height - boxHeight) / 2)
        b.fill(x: x0, y: y0, width: boxWidth, height: boxHeight)
        let (tl, tr, bl, br) = cs.corners
        let title = replay ? " keys (replay) " : " keys "
        let top = tl + cs.horizontal + title + String(repeating: cs.horizontal, count: max(0, boxWidth - 3 - title.count)) + tr
        b.put(top, x: x0, y: y0, style: .bold)
        for y in (y0 + 1)..<(y0 + boxHeight - 1) {
            b.put(cs.vertical, x: x0, y: y, style: .bold)
            b.put(cs.vertical, x: x0 + boxWidth - 1, y: y, style: .bold)
        }
        b.put(bl + String(repeating: cs.horizontal, count: boxWidth - 2) + br, x: x0, y: y0 + boxHeight - 1, style: .bold)
        for (i, line) in lines.prefix(boxHeight - 4).enumerated() {
            let y = y0 + 1 + i
            b.put(Fmt.pad(line.keys, keyWidth, charset: cs), x: x0 + 2, y: y, style: .bold, color: .cyan)
            b.put(line.help, x: x0 + 2 + keyWidth + 2, y: y, limit: innerWidth - keyWidth - 3)
        }
        b.put("? or Esc closes this help", x: x0 + 2, y: y0 + boxHeight - 2, style: .dim, limit: innerWidth - 2)
    }
}
