import Federation
import Foundation

/// One client's detail view: its history, alerts, task scores and the global model's sample.
extension Renderer {
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
        drawAnomaly(&b, row: row, y: 12)

        // Four history charts, two by two.
        let alertRows = max(4, min(row.alerts.count + 1, 8))
        let chartsTop = 14
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

    /// The alert detector's score in the client's last judged round and the evidence behind it
    /// (its strongest signals, over two rows).
    func drawAnomaly(_ b: inout ScreenBuffer, row: ClientRow, y: Int) {
        var x = b.put("anomaly ", x: 0, y: y)
        guard let score = row.anomalyScore else {
            b.put("not scored yet (the detector judges clients whose update arrived)", x: x, y: y, style: .dim, limit: width - x)
            return
        }
        let color: CellColor = score >= AlertThresholds.critical ? .red : (score >= AlertThresholds.warning ? .yellow : .green)
        x = b.put(String(format: "score %.1f", score), x: x, y: y, style: .bold, color: color)
        x = b.put(String(format: " in round %d (warning at %.0f, critical at %.0f)", row.anomalyRound, AlertThresholds.warning,
                         AlertThresholds.critical), x: x, y: y, style: .dim)
        let shown = score >= AlertThresholds.warning ? color : .normal
        guard let evidence = row.anomalyEvidence, !evidence.isEmpty else {
            b.put("   no signal above its usual range", x: x, y: y, style: .dim, limit: width - x)
            return
        }
        // The evidence wrapped at a word over the rest of this row and the next.
        let words = (": " + evidence).split(separator: " ").map(String.init)
        var line = "", rest = words[...]
        while let w = rest.first, line.count + w.count + 1 <= width - x { line += (line.isEmpty ? "" : " ") + w; rest = rest.dropFirst() }
        b.put(line, x: x, y: y, color: shown, limit: width - x)
        if !rest.isEmpty { b.put(rest.joined(separator: " "), x: 8, y: y + 1, color: shown, limit: width - 8) }
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
}
