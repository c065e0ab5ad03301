import Federation
import Foundation

/// The client table: one row per client, columns that fit the width, sorted and selectable.
extension Renderer {
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
            // The alert detector's score: yellow from the warning threshold, red from the critical one.
            Column(title: "score", width: 5, right: true, priority: 75, sort: .anomaly, sets: [.quality, .training]) { r in
                guard let a = r.anomalyScore else { return (cs.dash, .normal, .dim) }
                let color: CellColor = a >= AlertThresholds.critical ? .red : (a >= AlertThresholds.warning ? .yellow : .normal)
                return (Fmt.num(a, width: 5, decimals: 1, charset: cs), color, a >= AlertThresholds.warning ? .bold : [])
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
}
