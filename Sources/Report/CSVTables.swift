import Federation
import Foundation

/// A table written as RFC 4180 CSV (UTF-8, CRLF line ends, fields quoted when needed).
public struct CSVTable: Sendable, Equatable {
    public var name: String
    public var header: [String]
    public var rows: [[String]]

    public var text: String {
        ([header] + rows).map { $0.map(Self.field).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

/// The report's data as CSV files: one per table, the same figures as the HTML.
enum CSVTables {
    static func value(_ v: Double?) -> String {
        guard let v, v.isFinite else { return "" }
        return String(format: "%.6g", v)
    }
    static func epsilon(_ e: Double?) -> String { e.map { value($0) } ?? "unbounded" }
    static func list(_ names: [String]) -> String { names.joined(separator: ";") }
    static func timestamp(_ d: Date?) -> String {
        guard let d else { return "" }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: d)
    }

    static func all(_ r: RunRecord) -> [CSVTable] {
        [rounds(r), clientRounds(r), alerts(r), events(r), audit(r), privacy(r)]
    }

    static func rounds(_ r: RunRecord) -> CSVTable {
        CSVTable(name: "rounds.csv",
                 header: ["round", "status", "selected", "aggregated", "dropped", "global_eval_loss", "delta_vs_base",
                          "delta_vs_last", "bytes_up", "bytes_down", "wall_seconds", "simulated_seconds", "dp_enabled",
                          "epsilon", "failure_reason", "global_task_accuracy", "global_macro_f1", "base_task_accuracy"],
                 rows: r.rounds.map { row in
                     [String(row.round), row.status.rawValue, list(row.selected), list(row.aggregated), list(row.dropped),
                      value(row.globalEvalLoss), value(row.deltaBase), value(row.deltaLast), String(row.bytesUp),
                      String(row.bytesDown), value(row.wallSeconds), value(row.simulatedSeconds),
                      row.status == .missing ? "" : String(row.dpEnabled),
                      row.status == .missing ? "" : epsilon(row.epsilon), row.failureReason ?? "",
                      value(row.taskAccuracy), value(row.macroF1), value(row.baseTaskAccuracy)]
                 })
    }

    static func clientRounds(_ r: RunRecord) -> CSVTable {
        CSVTable(name: "client_rounds.csv",
                 header: ["round", "client", "domain", "status", "eval_loss", "delta_vs_base", "delta_vs_last",
                          "local_loss_start", "local_loss_end", "update_norm", "drift", "cosine_to_others",
                          "train_examples", "train_tokens", "bytes_up", "bytes_down", "simulated_seconds",
                          "task_accuracy", "task_accuracy_delta_base", "task_macro_f1"],
                 rows: r.clientRounds.map { row in
                     let m = row.metrics
                     return [String(row.round), row.client, row.domain, m.status.rawValue, value(m.evalLoss),
                             value(m.qualityDeltaBase), value(m.qualityDeltaLast), value(m.localLossStart),
                             value(m.localLossEnd), value(m.updateNorm), value(m.drift), value(m.cosineToOthers),
                             String(m.trainExamples), String(m.trainTokens), String(m.bytesUp), String(m.bytesDown),
                             value(m.simulatedSeconds), value(m.taskAccuracy), value(m.taskAccuracyDeltaBase),
                             value(m.taskMacroF1)]
                 })
    }

    static func alerts(_ r: RunRecord) -> CSVTable {
        CSVTable(name: "alerts.csv", header: ["round", "client", "severity", "reason"],
                 rows: r.alerts.map { [String($0.round), $0.client ?? "", $0.severity.rawValue, $0.reason] })
    }

    static func events(_ r: RunRecord) -> CSVTable {
        CSVTable(name: "events.csv", header: ["round", "kind", "level", "client", "text"],
                 rows: r.timeline.map { [String($0.round), $0.kind.rawValue, $0.level, $0.client ?? "", $0.text] })
    }

    static func audit(_ r: RunRecord) -> CSVTable {
        CSVTable(name: "audit.csv", header: ["at", "round", "action", "applied"],
                 rows: r.audit.map { [timestamp($0.at), String($0.round), $0.action, String($0.applied)] })
    }

    static func privacy(_ r: RunRecord) -> CSVTable {
        CSVTable(name: "privacy.csv", header: ["round", "dp_enabled", "epsilon", "delta", "noise_multiplier"],
                 rows: r.rounds.filter { $0.status != .missing }.map { row in
                     [String(row.round), String(row.dpEnabled), epsilon(row.epsilon), value(row.delta), value(row.noiseMultiplier)]
                 })
    }
}
