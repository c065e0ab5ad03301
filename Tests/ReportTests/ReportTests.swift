import Foundation
import GRDB
import XCTest
@testable import Federation
import Journal
@testable import Report

/// The run report: a well-formed document whose charts hold one mark per datum, CSV files
/// that match the journal, and clear output for odd journals.
final class ReportTests: XCTestCase {
    func write(_ record: RunRecord) throws -> (dir: URL, html: String, csv: [String: [[String]]]) {
        let dir = ReportFixtures.temporaryDirectory(self).appendingPathComponent("out")
        let files = try ReportWriter.write(record, to: dir.path)
        XCTAssertEqual(files.map { ($0 as NSString).lastPathComponent },
                       ["report.html", "rounds.csv", "client_rounds.csv", "alerts.csv", "events.csv", "audit.csv", "privacy.csv"])
        let html = try String(contentsOf: dir.appendingPathComponent("report.html"), encoding: .utf8)
        var csv: [String: [[String]]] = [:]
        for f in files.dropFirst() {
            csv[(f as NSString).lastPathComponent] = try CSVReader.records(String(contentsOfFile: f, encoding: .utf8))
        }
        return (dir, html, csv)
    }

    func testTinyRunReportMatchesTheJournal() throws {
        let path = ReportFixtures.temporaryDirectory(self).appendingPathComponent("tiny.sqlite").path
        let journal = try ReportFixtures.tinyJournal(at: path, rounds: 4, dpOffAfter: 2, dropAfter: 3)
        let record = try RunRecord.load(path: path)
        let (_, html, csv) = try write(record)

        // The whole document is well-formed XML, with every chart and one mark per datum.
        let parsed = ChartCounter.parse(html)
        XCTAssertEqual(parsed.charts.map(\.id), HTMLReport.chartIDs(for: record))
        XCTAssertTrue(parsed.charts.map(\.id).contains("chart-task-accuracy"), "the tiny run's data has labels")
        for chart in parsed.charts { XCTAssertEqual(chart.marks, chart.declared, "\(chart.id): marks drawn vs declared") }
        XCTAssertFalse(html.contains("<script"), "no scripts")
        XCTAssertFalse(html.contains("http://") && html.contains("src="), "no external assets")

        let events = try journal.events()
        let completed = events.filter { $0.type == "round_completed" }.count
        XCTAssertEqual(completed, 4)
        let clientRounds = Set(events.filter { $0.type == "client_update" }.compactMap { row -> String? in
            guard case .clientUpdate(let m)? = FederationEvent(jsonLine: row.json) else { return nil }
            return "\(m.round)/\(m.client)"
        })
        let evaluated = record.clientRounds.filter { $0.metrics.evalLoss != nil }.count
        XCTAssertEqual(parsed.chart("chart-global-eval-loss")?.marks, completed)
        XCTAssertEqual(parsed.chart("chart-client-eval-loss")?.marks, evaluated)
        XCTAssertEqual(evaluated, 3 * 4, "every client is evaluated every round")
        XCTAssertEqual(parsed.chart("chart-delta-base")?.marks, 12)
        XCTAssertEqual(parsed.chart("chart-bytes-round")?.marks, 4)
        XCTAssertEqual(parsed.chart("chart-bytes-client")?.marks, 3)
        XCTAssertEqual(parsed.chart("chart-epsilon")?.marks, 4)
        XCTAssertEqual(parsed.chart("chart-timeline")?.marks, record.timeline.count)

        // CSV files hold the journal's rows.
        XCTAssertEqual(csv["rounds.csv"]!.count - 1, try journal.lastRound())
        XCTAssertEqual(csv["client_rounds.csv"]!.count - 1, clientRounds.count)
        XCTAssertEqual(csv["alerts.csv"]!.count - 1, events.filter { $0.type == "alert" }.count)
        XCTAssertEqual(csv["audit.csv"]!.count - 1, try journal.audit().count)
        XCTAssertEqual(try journal.audit().map(\.action), ["enable differential privacy", "disable differential privacy", "drop law-firm"])
        XCTAssertEqual(csv["events.csv"]!.count - 1, record.timeline.count)
        XCTAssertEqual(csv["privacy.csv"]!.count - 1, 4)

        // DP was on for rounds 1-2 (ε bounded and growing), off from round 3 (unbounded from then on).
        let privacy = csv["privacy.csv"]!.dropFirst()
        XCTAssertEqual(privacy.map { $0[1] }, ["true", "true", "false", "false"])
        let eps = privacy.map { $0[2] }
        XCTAssertEqual(Array(eps.suffix(2)), ["unbounded", "unbounded"])
        let e1 = try XCTUnwrap(Double(eps[0])), e2 = try XCTUnwrap(Double(eps[1]))
        XCTAssertGreaterThan(e2, e1)
        XCTAssertEqual(html.components(separatedBy: "class=\"pt unbounded\"").count - 1, 2)

        // law-firm was dropped by the operator after round 3: excluded in round 4, on the timeline.
        XCTAssertTrue(record.timeline.contains { $0.kind == .drop && $0.round == 4 && $0.client == "law-firm" && $0.level == "excluded" })
        let header = csv["client_rounds.csv"]![0]
        let status = header.firstIndex(of: "status")!, client = header.firstIndex(of: "client")!
        XCTAssertTrue(csv["client_rounds.csv"]!.contains { $0[0] == "4" && $0[client] == "law-firm" && $0[status] == "excluded" })

        // Header figures.
        XCTAssertTrue(html.contains("tiny-test"))
        XCTAssertTrue(html.contains("4 completed of 4 planned"))
        XCTAssertTrue(html.contains("Random tiny model"), "the scenario's description")
        let final = try XCTUnwrap(record.finalEvalLoss)
        XCTAssertTrue(html.contains(String(format: "%.4f", final)))
    }

    func testJournalWithoutEventsIsAClearError() throws {
        let path = ReportFixtures.temporaryDirectory(self).appendingPathComponent("empty.sqlite").path
        _ = try RunJournal(path: path)
        XCTAssertThrowsError(try RunRecord.load(path: path)) { error in
            XCTAssertEqual("\(error)", "\(path): holds no events: the run recorded nothing before it stopped")
        }
    }

    func testRunWithoutRoundsGivesAnEmptyReport() throws {
        let path = ReportFixtures.temporaryDirectory(self).appendingPathComponent("norounds.sqlite").path
        try ReportFixtures.journal(at: path, events: ReportFixtures.events(clients: ["a", "b"], rounds: [], planned: 5)
            + [.runFinished(rounds: 0, finalEvalLoss: 5.1, baseEvalLoss: 5.1, wallSeconds: 3, stopped: true)])
        let record = try RunRecord.load(path: path)
        let (_, html, csv) = try write(record)
        let parsed = ChartCounter.parse(html)
        XCTAssertEqual(parsed.charts.count, HTMLReport.chartIDs.count)
        XCTAssertTrue(parsed.charts.allSatisfy { $0.marks == 0 && $0.declared == 0 || $0.id == "chart-bytes-client" })
        XCTAssertTrue(html.contains("This journal holds no rounds"))
        XCTAssertTrue(html.contains("0 completed of 5 planned"))
        XCTAssertEqual(csv["rounds.csv"]!.count, 1, "a header only")
    }

    func testMissingRoundIsShownAsAGap() throws {
        let path = ReportFixtures.temporaryDirectory(self).appendingPathComponent("gap.sqlite").path
        try ReportFixtures.journal(at: path, events: ReportFixtures.events(clients: ["a", "b"], rounds: [1, 2, 4], planned: 4))
        let record = try RunRecord.load(path: path)
        XCTAssertEqual(record.rounds.map(\.status), [.completed, .completed, .missing, .completed])
        let (_, html, csv) = try write(record)
        let parsed = ChartCounter.parse(html)
        XCTAssertEqual(parsed.chart("chart-global-eval-loss")?.marks, 3)
        XCTAssertEqual(parsed.chart("chart-client-eval-loss")?.marks, 6)
        XCTAssertEqual(parsed.chart("chart-bytes-round")?.marks, 3)
        XCTAssertEqual(parsed.chart("chart-epsilon")?.marks, 3)
        XCTAssertTrue(html.contains("Round 3 is not in the record"))
        XCTAssertEqual(csv["rounds.csv"]!.map { $0[1] }, ["status", "completed", "completed", "missing", "completed"])
        XCTAssertEqual(csv["privacy.csv"]!.count - 1, 3)
        XCTAssertTrue(record.timeline.contains { $0.kind == .round && $0.round == 3 && $0.level == "missing" })
        // Round 4's change is measured against round 2, the last recorded loss.
        XCTAssertEqual(record.rounds[3].deltaLast!, 0.2, accuracy: 1e-9)
    }

    func testNonASCIIAndAwkwardClientNames() throws {
        let names = ["klinik-münchen", "病院-東京", "o'brien & co <x>", "smith, \"jones\""]
        let path = ReportFixtures.temporaryDirectory(self).appendingPathComponent("names.sqlite").path
        var events = ReportFixtures.events(clients: names, rounds: [1, 2], planned: 2)
        events.insert(.alert(Alert(round: 2, client: names[1], severity: .warning, reason: "eval loss rose: 5.1 → 5.3 <check>")),
                      at: events.count - 1)
        try ReportFixtures.journal(at: path, events: events)
        let (_, html, csv) = try write(try RunRecord.load(path: path))
        let parsed = ChartCounter.parse(html)
        XCTAssertEqual(parsed.chart("chart-bytes-client")?.marks, 4)
        let text = parsed.texts.joined()
        for name in names { XCTAssertTrue(text.contains(name), "\(name) appears, unescaped, in the parsed text") }
        XCTAssertTrue(text.contains("eval loss rose: 5.1 → 5.3 <check>"))
        let clients = Set(csv["client_rounds.csv"]!.dropFirst().map { $0[1] })
        XCTAssertEqual(clients, Set(names), "CSV fields round-trip, quoted where needed")
        XCTAssertEqual(csv["alerts.csv"]!.last!, ["2", names[1], "warning", "eval loss rose: 5.1 → 5.3 <check>"])
    }

    func testJSONLinesInput() throws {
        let dir = ReportFixtures.temporaryDirectory(self)
        let path = dir.appendingPathComponent("events.jsonl").path
        let events = ReportFixtures.events(clients: ["a"], rounds: [1, 2, 3], planned: 3)
            + [.operatorAction(round: 3, command: .pause, applied: true)]
        try events.map(\.jsonLine).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let record = try RunRecord.load(path: path)
        XCTAssertEqual(record.completedRounds.count, 3)
        XCTAssertEqual(record.audit.map(\.action), ["pause"], "the audit trail comes from the events")
        let (_, html, _) = try write(record)
        XCTAssertEqual(ChartCounter.parse(html).chart("chart-timeline")?.marks, 1)
    }

    func testBadInputNamesTheFile() throws {
        let dir = ReportFixtures.temporaryDirectory(self)
        let missing = dir.appendingPathComponent("nope.sqlite").path
        XCTAssertThrowsError(try RunRecord.load(path: missing)) { XCTAssertTrue("\($0)".hasPrefix("\(missing): no such file"), "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing), "nothing is created")

        let text = dir.appendingPathComponent("notes.txt").path
        try "hello\n".write(toFile: text, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunRecord.load(path: text)) {
            XCTAssertTrue("\($0)".hasPrefix("\(text): is not a journal, and line 1 is not a FedPilot event"), "\($0)")
        }

        let empty = dir.appendingPathComponent("zero.sqlite").path
        _ = FileManager.default.createFile(atPath: empty, contents: Data())
        XCTAssertThrowsError(try RunRecord.load(path: empty)) { XCTAssertTrue("\($0)".hasPrefix("\(empty): is empty"), "\($0)") }

        // Another program's SQLite database is reported, and left as it was.
        let other = dir.appendingPathComponent("other.sqlite").path
        let foreign = try DatabaseQueue(path: other)
        try foreign.write { try $0.execute(sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)") }
        try foreign.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: other))
        XCTAssertThrowsError(try RunRecord.load(path: other)) {
            XCTAssertEqual("\($0)", "\(other): not a FedPilot journal (no run, event, round, client_round, audit table)")
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: other)), before, "opened read-only")

        let out = dir.appendingPathComponent("file-not-dir").path
        _ = FileManager.default.createFile(atPath: out, contents: Data("x".utf8))
        XCTAssertThrowsError(try ReportWriter.write(RunRecord(source: "x"), to: out)) {
            XCTAssertTrue("\($0)".hasPrefix("\(out): exists and is not a directory"), "\($0)")
        }
    }

    func testCSVQuoting() {
        let t = CSVTable(name: "t.csv", header: ["a", "b"], rows: [["x,y", "say \"hi\""], ["line\nbreak", "plain"]])
        XCTAssertEqual(t.text, "a,b\r\n\"x,y\",\"say \"\"hi\"\"\"\r\n\"line\nbreak\",plain\r\n")
        XCTAssertEqual(CSVReader.records(t.text), [["a", "b"], ["x,y", "say \"hi\""], ["line\nbreak", "plain"]])
    }

    func testNiceTicks() {
        let (t, d) = SVGChart.ticks(4.31, 4.78)
        XCTAssertEqual(t.first!, 4.3, accuracy: 1e-9)
        XCTAssertGreaterThanOrEqual(t.last!, 4.78)
        XCTAssertEqual(d, 1)
        XCTAssertEqual(SVGChart.ticks(5, 5).values.count > 1, true, "a flat series still gets a range")
    }
}

/// A small RFC 4180 reader for checking the CSV files.
enum CSVReader {
    static func records(_ text: String) -> [[String]] {
        var records: [[String]] = [], record: [String] = [], field = ""
        var quoted = false, i = text.startIndex
        while i < text.endIndex {
            let c = text[i]
            if quoted {
                if c == "\"" {
                    let next = text.index(after: i)
                    if next < text.endIndex, text[next] == "\"" { field.append("\""); i = next } else { quoted = false }
                } else { field.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { record.append(field); field = "" }
            else if c == "\r\n" || c == "\n" { record.append(field); records.append(record); record = []; field = "" }
            else { field.append(c) }
            i = text.index(after: i)
        }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        return records
    }
}
