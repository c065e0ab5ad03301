import Federation
import Foundation

/// The report as one self-contained XHTML document: inline CSS, inline SVG charts, no
/// scripts and no external assets, so it opens from a file and can be mailed as is.
/// The document is well-formed XML (tests parse it with `XMLParser`).
public enum HTMLReport {
    /// Chart ids, in document order.
    public static let chartIDs = ["chart-global-eval-loss", "chart-client-eval-loss", "chart-delta-base", "chart-delta-last",
                                  "chart-bytes-round", "chart-bytes-client", "chart-epsilon", "chart-timeline"]
    /// The charts of a record's report: with task accuracy when its data has labels.
    public static func chartIDs(for r: RunRecord) -> [String] {
        guard r.rounds.contains(where: { $0.taskAccuracy != nil }) else { return chartIDs }
        return [chartIDs[0], "chart-task-accuracy", "chart-client-task-accuracy"] + chartIDs.dropFirst()
    }

    public static func document(_ r: RunRecord, csvFiles: [String] = []) -> String {
        var h = """
        \(ReportStyle.pageHead(title: "FedPilot report: " + (r.scenario.isEmpty ? "run" : r.scenario)))

        """
        h += header(r)
        h += quality(r)
        h += traffic(r)
        h += privacy(r)
        h += timeline(r)
        h += operatorActions(r)
        h += securityAudit(r)
        h += clientsTable(r)
        h += footer(r, csvFiles: csvFiles)
        h += "</body>\n</html>\n"
        return h
    }

    // MARK: Header

    static func header(_ r: RunRecord) -> String {
        let completed = r.completedRounds.count
        let failed = r.rounds.filter { $0.status == .failed }.count
        let missing = r.rounds.filter { $0.status == .missing }.count
        let drops = r.timeline.filter { $0.kind == .drop }.count
        let finalLoss = r.finalEvalLoss
        let gain: Double? = r.baseEvalLoss.flatMap { base in finalLoss.map { base - $0 } }
        var status = r.finish.map { $0.stopped ? "stopped by the operator" : "finished" } ?? "did not finish (no run end recorded)"
        if r.rounds.isEmpty { status += "; no rounds were recorded" }
        var s = "<header>\n<h1>FedPilot run report <span class=\"scenario\">\(Markup.escape(r.scenario.isEmpty ? "(unnamed run)" : r.scenario))</span></h1>\n"
        if let d = r.description { s += "<p class=\"description\">\(Markup.escape(d))</p>\n" }
        s += "<dl class=\"meta\">"
        let clientList = r.allClients.count > 12 ? r.allClients.prefix(12).joined(separator: ", ") + ", …" : r.allClients.joined(separator: ", ")
        let meta: [(String, String)] = [
            ("scenario", r.scenario.isEmpty ? "—" : r.scenario),
            ("model", r.model.isEmpty ? "—" : r.model),
            ("strategy", r.strategy.isEmpty ? "—" : r.strategy),
            ("rounds", "\(completed) completed of \(r.plannedRounds) planned" + (failed > 0 ? ", \(failed) failed" : "") + (missing > 0 ? ", \(missing) missing" : "")),
            ("clients", "\(r.allClients.count): \(clientList)"),
            ("run", status),
            ("started", r.startedAt.map { CSVTables.timestamp($0) } ?? "—"),
            ("wall time", Markup.duration(r.finish?.wallSeconds)),
            ("source", (r.source as NSString).lastPathComponent),
        ]
        for (k, v) in meta { s += "<dt>\(k)</dt><dd>\(Markup.escape(v))</dd>" }
        s += "</dl>\n<div class=\"figures\">"
        let lastEpsilon = r.rounds.last { $0.status != .missing }
        let figures: [(String, String, String)] = [
            ("final global eval loss", Markup.num(finalLoss), finalLoss.map { String(format: "perplexity %.2f", exp($0)) } ?? "no evaluated round"),
            ("vs base model", gain.map { Markup.num($0, 4, signed: true) } ?? "—",
             r.baseEvalLoss.map { "base " + Markup.num($0) + (gain.map { $0 > 0 ? ", better" : ", worse" } ?? "") } ?? "base not recorded"),
            ("bytes moved", Markup.bytes(r.totalBytes), "\(Markup.bytes(r.rounds.reduce(0) { $0 + $1.bytesUp })) up"),
            ("privacy", lastEpsilon.map { "ε " + Markup.epsilon($0.epsilon) } ?? "—",
             lastEpsilon.map { $0.dpEnabled ? "DP on in the last round" : "DP off in the last round" } ?? "no rounds"),
            ("alerts", "\(r.alerts.count)", "\(r.alerts.filter { $0.severity == .critical }.count) critical"),
            ("drops", "\(drops)", "\(failed) failed, \(missing) missing rounds"),
        ]
        for (k, v, note) in figures {
            s += "<div class=\"figure\"><div class=\"k\">\(Markup.escape(k))</div><div class=\"v\">\(Markup.escape(v))</div><div class=\"n\">\(Markup.escape(note))</div></div>"
        }
        s += "</div>\n"
        if r.rounds.isEmpty {
            s += "<p class=\"warning\">This journal holds no rounds: the run was recorded, but it stopped before round 1 completed. The charts below are empty.</p>\n"
        } else if missing > 0 {
            let list = r.rounds.filter { $0.status == .missing }.map { String($0.round) }.joined(separator: ", ")
            s += "<p class=\"warning\">Round\(missing == 1 ? "" : "s") \(list) \(missing == 1 ? "is" : "are") not in the record; the charts leave \(missing == 1 ? "a gap" : "gaps") there.</p>\n"
        }
        return s + "</header>\n"
    }

    // MARK: Sections

    static func roundRange(_ r: RunRecord) -> (Int, Int) { (1, max(1, r.rounds.last?.round ?? 1)) }

    static func perClient(_ r: RunRecord, _ value: (ClientRoundMetrics) -> Double?) -> [ChartSeries] {
        r.allClients.enumerated().map { i, client in
            var values: [Int: Double] = [:]
            for row in r.clientRounds where row.client == client { if let v = value(row.metrics) { values[row.round] = v } }
            return ChartSeries(name: client, values: values, color: SVGChart.color(i))
        }
    }

    static func legend(_ series: [ChartSeries], extra: [(String, String, Bool)] = []) -> String {
        var s = "<div class=\"legend\">"
        let items = series.map { ($0.name, $0.color, $0.dashed) } + extra
        for (name, color, dashed) in items.prefix(16) {
            s += "<span class=\"key\"><i class=\"\(dashed ? "dashed" : "")\" style=\"background:\(color)\"></i>\(Markup.escape(name))</span>"
        }
        if items.count > 16 { s += "<span class=\"key more\">and \(items.count - 16) more (hover a line for its name)</span>" }
        return s + "</div>"
    }

    static func figure(_ title: String, _ svg: String, legend: String = "", note: String? = nil, wide: Bool = false) -> String {
        "<figure\(wide ? " class=\"wide\"" : "")><figcaption>\(Markup.escape(title))</figcaption>\(svg)\(legend)"
            + (note.map { "<p class=\"note\">\(Markup.escape($0))</p>" } ?? "") + "</figure>\n"
    }

    static func quality(_ r: RunRecord) -> String {
        let (first, last) = roundRange(r)
        var s = "<section id=\"quality\"><h2>Quality</h2>\n"
        var global = ChartSeries(name: "global eval loss", values: [:], color: "#222222")
        for row in r.rounds { if let l = row.globalEvalLoss { global.values[row.round] = l } }
        let chart = SVGChart(id: "chart-global-eval-loss", firstRound: first, lastRound: last)
        s += figure("Global eval loss per round",
                    chart.lines(title: "Global eval loss per round", series: [global],
                                reference: r.baseEvalLoss.map { ("base", $0) }, format: { Markup.num($0) }),
                    legend: legend([global], extra: r.baseEvalLoss == nil ? [] : [("base model", "#888888", true)]),
                    note: "Example-weighted mean of every client's validation loss under the new global adapter.")
        s += taskFigures(r, first: first, last: last)
        let eval = perClient(r) { $0.evalLoss }
        s += figure("Eval loss per client", SVGChart(id: "chart-client-eval-loss", firstRound: first, lastRound: last)
            .lines(title: "Eval loss per client", series: eval, format: { Markup.num($0) }), legend: legend(eval))
        let base = perClient(r) { $0.qualityDeltaBase }
        s += figure("Quality delta vs the base model, per client", SVGChart(id: "chart-delta-base", firstRound: first, lastRound: last)
            .lines(title: "Quality delta vs the base model", series: base, zeroLine: true, format: { Markup.num($0, 4, signed: true) }),
                    legend: legend(base), note: "Base loss minus current loss on the client's own validation data: above zero is better than the base model.")
        let lastDelta = perClient(r) { $0.qualityDeltaLast }
        s += figure("Quality delta vs the previous round, per client", SVGChart(id: "chart-delta-last", firstRound: first, lastRound: last)
            .lines(title: "Quality delta vs the previous round", series: lastDelta, zeroLine: true, format: { Markup.num($0, 4, signed: true) }),
                    legend: legend(lastDelta), note: "Previous round's loss minus this round's: above zero means the round helped that client.")
        s += roundsTable(r)
        return s + "</section>\n"
    }

    /// Task accuracy of the global model per round (with the base model's) and per client,
    /// when the run's data has labels.
    static func taskFigures(_ r: RunRecord, first: Int, last: Int) -> String {
        guard r.rounds.contains(where: { $0.taskAccuracy != nil }) else { return "" }
        var global = ChartSeries(name: "global task accuracy", values: [:], color: "#222222")
        for row in r.rounds { if let a = row.taskAccuracy { global.values[row.round] = a } }
        let base = r.rounds.last { $0.baseTaskAccuracy != nil }?.baseTaskAccuracy
        var s = figure("Task accuracy per round", SVGChart(id: "chart-task-accuracy", firstRound: first, lastRound: last)
            .lines(title: "Task accuracy per round", series: [global], reference: base.map { ("base", $0) }, format: { Markup.num($0, 2) }),
                       legend: legend([global], extra: base == nil ? [] : [("base model", "#888888", true)]),
                       note: "Share of every client's labelled validation examples whose label the global model scores highest.")
        let perClientAccuracy = perClient(r) { $0.taskAccuracy }
        s += figure("Task accuracy per client", SVGChart(id: "chart-client-task-accuracy", firstRound: first, lastRound: last)
            .lines(title: "Task accuracy per client", series: perClientAccuracy, format: { Markup.num($0, 2) }), legend: legend(perClientAccuracy))
        return s
    }

    static func roundsTable(_ r: RunRecord) -> String {
        var s = "<table class=\"rounds\"><caption>Rounds</caption><thead><tr><th>round</th><th>status</th><th>aggregated</th><th>dropped</th>"
            + "<th>global eval loss</th><th>Δ base</th><th>Δ last</th><th>bytes up</th><th>bytes down</th><th>wall</th><th>DP</th><th>ε</th></tr></thead><tbody>"
        for row in r.rounds {
            let missing = row.status == .missing
            s += "<tr class=\"\(row.status.rawValue)\"><td>\(row.round)</td><td>\(row.status.rawValue)</td>"
            s += "<td>\(missing ? "—" : "\(row.aggregated.count)/\(row.selected.count)")</td>"
            s += "<td>\(Markup.escape(row.dropped.isEmpty ? "—" : row.dropped.joined(separator: ", ")))</td>"
            s += "<td>\(Markup.num(row.globalEvalLoss))</td><td>\(Markup.num(row.deltaBase, 4, signed: true))</td>"
            s += "<td>\(Markup.num(row.deltaLast, 4, signed: true))</td>"
            s += "<td>\(missing ? "—" : Markup.bytes(row.bytesUp))</td><td>\(missing ? "—" : Markup.bytes(row.bytesDown))</td>"
            s += "<td>\(Markup.duration(row.wallSeconds))</td><td>\(missing ? "—" : row.dpEnabled ? "on" : "off")</td>"
            s += "<td>\(missing ? "—" : Markup.epsilon(row.epsilon))</td></tr>"
            if let reason = row.failureReason {
                s += "<tr class=\"reason\"><td></td><td colspan=\"11\">\(Markup.escape(reason))</td></tr>"
            }
        }
        if r.rounds.isEmpty { s += "<tr><td colspan=\"12\">no rounds recorded</td></tr>" }
        return s + "</tbody></table>\n"
    }

    static func traffic(_ r: RunRecord) -> String {
        let (first, last) = roundRange(r)
        var down = ChartSeries(name: "down (to clients)", values: [:], color: SVGChart.palette[0])
        var up = ChartSeries(name: "up (to the coordinator)", values: [:], color: SVGChart.palette[1])
        for row in r.rounds where row.status != .missing {
            down.values[row.round] = Double(row.bytesDown)
            up.values[row.round] = Double(row.bytesUp)
        }
        var s = "<section id=\"traffic\"><h2>Traffic</h2>\n"
        s += figure("Bytes per round", SVGChart(id: "chart-bytes-round", firstRound: first, lastRound: last)
            .stackedBars(title: "Bytes per round", parts: [down, up], format: { Markup.bytes(Int($0)) }), legend: legend([down, up]))
        s += figure("Bytes per client, whole run", SVGChart.clientBytes(id: "chart-bytes-client", title: "Bytes per client", clients: r.bytesPerClient),
                    legend: legend([down, up]))
        return s + "</section>\n"
    }

    static func privacy(_ r: RunRecord) -> String {
        let (first, last) = roundRange(r)
        let off = r.rounds.filter { $0.status != .missing && !$0.dpEnabled }.map { String($0.round) }
        let note = off.isEmpty ? "Differential privacy was on in every recorded round."
            : "Differential privacy was off in round\(off.count == 1 ? "" : "s") \(off.joined(separator: ", ")); "
                + "from the first such round on, the run's ε is unbounded (marked ∞)."
        var table = "<table class=\"privacy\"><caption>Privacy by round</caption><thead><tr><th>round</th><th>DP</th><th>ε</th>"
            + "<th>δ</th><th>noise σ</th></tr></thead><tbody>"
        for row in r.rounds where row.status != .missing {
            table += "<tr><td>\(row.round)</td><td>\(row.dpEnabled ? "on" : "off")</td><td>\(Markup.epsilon(row.epsilon))</td>"
                + "<td>\(row.delta.map { String(format: "%.0e", $0) } ?? "—")</td><td>\(Markup.num(row.noiseMultiplier, 2))</td></tr>"
        }
        if r.rounds.isEmpty { table += "<tr><td colspan=\"5\">no rounds recorded</td></tr>" }
        table += "</tbody></table>\n"
        return "<section id=\"privacy\"><h2>Privacy</h2>\n"
            + figure("ε after each round", SVGChart.epsilon(id: "chart-epsilon", title: "Privacy loss ε per round", rounds: r.rounds,
                                                            firstRound: first, lastRound: last), note: note)
            + table + "</section>\n"
    }

    static func timeline(_ r: RunRecord) -> String {
        let entries = r.timeline
        var s = "<section id=\"timeline\"><h2>Timeline</h2>\n"
        s += figure("Alerts, drops, failed rounds and operator actions",
                    SVGChart.timeline(id: "chart-timeline", title: "Run timeline", entries: entries, lastRound: r.rounds.last?.round ?? 1),
                    legend: "<div class=\"legend\"><span class=\"key\"><i style=\"background:#d62728\"></i>critical alert</span>"
                        + "<span class=\"key\"><i style=\"background:#e8a317\"></i>warning</span><span class=\"key\"><i style=\"background:#4e79a7\"></i>info / operator action</span>"
                        + "<span class=\"key\"><i style=\"background:#9c755f\"></i>client dropped, timed out, rejected or excluded</span>"
                        + "<span class=\"key\"><i style=\"background:#999999\"></i>failed (red) or missing round</span></div>", wide: true)
        s += "<table class=\"events\"><caption>Alerts and drops</caption><thead><tr><th>round</th><th>kind</th><th>level</th><th>client</th><th>what</th></tr></thead><tbody>"
        let listed = entries.filter { $0.kind != .operatorAction }
        for e in listed {
            s += "<tr class=\"\(Markup.escape(e.level))\"><td>\(e.round)</td><td>\(e.kind.rawValue)</td><td>\(Markup.escape(e.level))</td>"
                + "<td>\(Markup.escape(e.client ?? "—"))</td><td>\(Markup.escape(e.text))</td></tr>"
        }
        if listed.isEmpty { s += "<tr><td colspan=\"5\">no alerts, drops or failed rounds</td></tr>" }
        return s + "</tbody></table>\n</section>\n"
    }

    static func operatorActions(_ r: RunRecord) -> String {
        var s = "<section id=\"audit\"><h2>Operator actions</h2>\n<table class=\"audit\"><caption>Audit trail</caption>"
            + "<thead><tr><th>time (UTC)</th><th>after round</th><th>action</th><th>applied</th></tr></thead><tbody>"
        for a in r.audit {
            s += "<tr><td>\(Markup.escape(CSVTables.timestamp(a.at)))</td><td>\(a.round)</td><td>\(Markup.escape(a.action))</td><td>\(a.applied ? "yes" : "no effect")</td></tr>"
        }
        if r.audit.isEmpty { s += "<tr><td colspan=\"4\">no operator actions were recorded</td></tr>" }
        return s + "</tbody></table>\n</section>\n"
    }

    /// The journal's key-management and security audit trail, when it has one.
    static func securityAudit(_ r: RunRecord) -> String {
        guard !r.securityAudit.isEmpty else { return "" }
        var s = "<section id=\"security-audit\"><h2>Keys and security</h2>\n<table class=\"audit security\"><caption>Security audit trail "
            + "(certificates, revocations, expiry warnings, joins and refusals)</caption>"
            + "<thead><tr><th>time (UTC)</th><th>round</th><th>actor</th><th>event</th><th>outcome</th></tr></thead><tbody>"
        for a in r.securityAudit {
            let outcome = a.applied ? (a.action.hasPrefix("warning: ") ? "warning" : "recorded") : "refused"
            s += "<tr class=\"\(outcome)\"><td>\(Markup.escape(CSVTables.timestamp(a.at)))</td><td>\(a.round)</td><td>\(Markup.escape(a.actor))</td>"
                + "<td>\(Markup.escape(a.action))</td><td>\(outcome)</td></tr>"
        }
        return s + "</tbody></table>\n</section>\n"
    }

    static func clientsTable(_ r: RunRecord) -> String {
        var s = "<section id=\"clients\"><h2>Clients</h2>\n<table class=\"clients\"><thead><tr><th>client</th><th>domain</th><th>rounds aggregated</th>"
            + "<th>drops</th><th>alerts</th><th>last status</th><th>final eval loss</th><th>Δ base</th><th>task accuracy</th><th>Δ acc vs base</th><th>bytes</th></tr></thead><tbody>"
        let bytes = Dictionary(r.bytesPerClient.map { ($0.client, $0.up + $0.down) }, uniquingKeysWith: +)
        for client in r.allClients {
            let rows = r.clientRounds.filter { $0.client == client }
            let last = rows.last?.metrics
            let lastEval = rows.last { $0.metrics.evalLoss != nil }?.metrics
            s += "<tr><td>\(Markup.escape(client))</td><td>\(Markup.escape(r.domains[client] ?? "—"))</td>"
            s += "<td>\(rows.filter { $0.metrics.status == .done }.count)</td>"
            s += "<td>\(rows.filter { RunRecord.dropStatuses.contains($0.metrics.status) }.count)</td>"
            s += "<td>\(r.alerts.filter { $0.client == client }.count)</td><td>\(last?.status.rawValue ?? "—")</td>"
            s += "<td>\(Markup.num(lastEval?.evalLoss))</td><td>\(Markup.num(lastEval?.qualityDeltaBase, 4, signed: true))</td>"
            let lastTask = rows.last { $0.metrics.taskAccuracy != nil }?.metrics
            s += "<td>\(Markup.num(lastTask?.taskAccuracy, 2))</td><td>\(Markup.num(lastTask?.taskAccuracyDeltaBase, 2, signed: true))</td>"
            s += "<td>\(Markup.bytes(bytes[client] ?? 0))</td></tr>"
        }
        if r.allClients.isEmpty { s += "<tr><td colspan=\"11\">no clients recorded</td></tr>" }
        return s + "</tbody></table>\n</section>\n"
    }

    static func footer(_ r: RunRecord, csvFiles: [String]) -> String {
        var s = "<footer><p>Generated by <code>fedpilot report</code> from \(Markup.escape((r.source as NSString).lastPathComponent)) (\(r.eventCount) events)."
        if !csvFiles.isEmpty {
            s += " The same data as CSV: " + csvFiles.map { "<a href=\"\(Markup.escape($0))\">\(Markup.escape($0))</a>" }.joined(separator: ", ") + "."
        }
        return s + "</p></footer>\n"
    }
}
