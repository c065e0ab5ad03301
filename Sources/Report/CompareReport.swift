import Federation
import Foundation

/// `fedpilot compare --html FILE`: the comparison as one self-contained XHTML page: every
/// approach's quality, latency, cost and privacy posture, quality per client, and the verdict.
public enum CompareReport {
    public static func document(_ c: Comparison) -> String {
        let labelled = !c.taskLabels.isEmpty
        var h = """
        \(ReportStyle.pageHead(title: "FedPilot comparison: " + c.scenario.name))
        <header>
        <h1>FedPilot comparison <span class="scenario">\(Markup.escape(c.scenario.name))</span></h1>
        <p class="description">Same model, data, evaluation splits and training budget for every approach; \
        \(c.scenario.rounds) rounds, \(c.scenario.clients.count) clients\(labelled ? ", retrieval k = \(c.retrievalK)" : "").</p>
        </header>

        """
        h += "<section id=\"approaches\"><h2>Approaches</h2>\n<table class=\"approaches\"><thead><tr><th>approach</th><th>eval loss</th>"
            + "<th>Δ base</th>" + (labelled ? "<th>accuracy</th><th>macro-F1</th>" : "")
            + "<th>latency / prediction</th><th>training CPU</th><th>inference CPU</th><th>peak memory</th><th>bytes moved</th>"
            + "<th>ε</th><th>what leaves each client</th><th>coordinator sees individual contributions</th></tr></thead><tbody>\n"
        for r in c.results {
            let pooled = r.pooledTask
            let peak = [r.training, r.inference].compactMap { $0?.peakMemoryBytes }.max()
            h += "<tr><td>\(Markup.escape(r.name))</td><td>\(Markup.num(r.overall.isFinite ? r.overall : nil))</td>"
                + "<td>\(Markup.num(r.overall.isFinite ? c.baseOverall - r.overall : nil, signed: true))</td>"
                + (labelled ? "<td>\(Markup.num(pooled.accuracy, 3))</td><td>\(Markup.num(pooled.macroF1, 3))</td>" : "")
                + "<td>\(r.latencySeconds.map { String(format: "%.1f ms", $0 * 1000) } ?? "—")</td>"
                + "<td>\(r.training.map { String(format: "%.1f s", $0.cpuSeconds) } ?? "none")</td>"
                + "<td>\(r.inference.map { String(format: "%.1f s", $0.cpuSeconds) } ?? "—")</td>"
                + "<td>\(peak.map { Markup.bytes($0) } ?? "—")</td><td>\(Markup.bytes(r.bytesMoved))</td>"
                + "<td>\(r.epsilon.map { String(format: "%.2f", $0) } ?? "none")</td>"
                + "<td>\(Markup.escape(r.privacy?.summary ?? "—"))</td>"
                + "<td>\(r.privacy.map { $0.coordinatorSeesIndividual ? "yes" : "no" } ?? "—")</td></tr>\n"
        }
        h += "</tbody></table>\n<p class=\"description\">Training CPU of a federated run covers the whole run, its per-round "
            + "evaluations included; retrieval's is pooling the text and building the BM25 index. Inference is every client's "
            + "scored examples under the final model, once. Peak memory is the process's resident peak during the phase.</p></section>\n"

        h += "<section id=\"per-client\"><h2>\(labelled ? "Task accuracy" : "Eval loss") per client</h2>\n<table class=\"clients\"><thead><tr><th>client</th>"
        h += c.results.map { "<th>\(Markup.escape($0.name))</th>" }.joined() + "</tr></thead><tbody>\n"
        for client in c.scenario.clients.map(\.id) {
            h += "<tr><td>\(Markup.escape(client))</td>" + c.results.map { r in
                labelled ? "<td>\(Markup.num(r.tasks[client]?.accuracy, 3))</td>" : "<td>\(Markup.num(r.perClient[client]))</td>"
            }.joined() + "</tr>\n"
        }
        h += "</tbody></table></section>\n"
        h += "<section id=\"verdict\"><h2>Verdict</h2>\n<ul>"
            + c.verdict.components(separatedBy: "; ").map { "<li>\(Markup.escape($0))</li>" }.joined() + "</ul></section>\n"
        return h + "</body>\n</html>\n"
    }

    /// Writes the page to `path`.
    public static func write(_ c: Comparison, to path: String) throws {
        do { try Data(document(c).utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw ReportError(path: path, reason: "cannot be written: \(error.localizedDescription)")
        }
    }
}
