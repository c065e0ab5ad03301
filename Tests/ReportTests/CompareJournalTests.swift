import Foundation
import XCTest
@testable import Federation
import Journal
import Llama
@testable import Report

/// `fedpilot compare --journal-dir`: every approach is recorded in an ordinary run journal
/// that the report (and replay, and export) can open.
final class CompareJournalTests: XCTestCase {
    func testEachApproachIsRecordedAsARunJournal() throws {
        let dir = ReportFixtures.temporaryDirectory(self)
        let root = ReportFixtures.root
        let scenario = try ScenarioLoader.load(path: root.appendingPathComponent("scenarios/tiny-test.toml").path,
                                               overrides: ScenarioOverrides(rounds: 2))
        let model = try EngineModel.load(path: "tiny")
        let previous = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(root.path)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }

        var comparison = Comparison(scenario: scenario)
        var finished: [String] = []
        try comparison.run(model: model, dpNoise: (1.2, 8), recorder: { name, s in
            let journal = try RunJournal(path: dir.appendingPathComponent("\(name).sqlite").path)
            try journal.begin(scenario: s, text: "name = \"tiny-test\"")
            return ApproachRecorder(record: journal.record, checkpoint: { journal.checkpoint(round: $0, adapter: $1) })
        }, finished: { finished.append($0.name) }, progress: { _ in })
        // The trained approaches, then the base model (tiny-test's data has no labels: no retrieval baselines).
        XCTAssertEqual(finished, Comparison.approaches(dp: true) + Comparison.baselines(labelled: !comparison.taskLabels.isEmpty))

        // Only the trained approaches are recorded in journals.
        // The HTML page of the comparison: a row per approach with its cost and privacy posture.
        let page = CompareReport.document(comparison)
        for result in comparison.results {
            XCTAssertTrue(page.contains("<tr><td>\(result.name)</td>"), result.name)
            XCTAssertTrue(page.contains(result.privacy!.summary), result.name)
        }
        XCTAssertTrue(page.contains("<th>latency / prediction</th>"))
        XCTAssertEqual(page.components(separatedBy: "<tr>").count - 1, 2 + comparison.results.count + scenario.clients.count)
        XCTAssertTrue(page.contains(Markup.escape(comparison.verdict.components(separatedBy: "; ")[0])))

        for result in comparison.results where Comparison.approaches(dp: true).contains(result.name) {
            let path = dir.appendingPathComponent("\(result.name).sqlite").path
            let record = try RunRecord.load(path: path)
            let federated = result.name.hasPrefix("federated")
            XCTAssertEqual(record.completedRounds.count, federated ? 2 : 1, result.name)
            XCTAssertEqual(record.strategy, federated ? "fedavg" : result.name)
            // Each client's final eval loss in the journal is the comparison's.
            let last = record.clientRounds.filter { $0.round == record.rounds.last!.round }
            XCTAssertEqual(Set(last.map(\.client)), Set(scenario.clients.map(\.id)))
            for row in last {
                XCTAssertEqual(try XCTUnwrap(row.metrics.evalLoss), try XCTUnwrap(result.perClient[row.client]), accuracy: 1e-9,
                               "\(result.name) \(row.client)")
            }
            if !federated { XCTAssertEqual(try XCTUnwrap(record.finalEvalLoss), result.overall, accuracy: 1e-9, result.name) }
            XCTAssertNotNil(record.baseEvalLoss)
            XCTAssertEqual(record.totalBytes, result.bytesMoved, result.name)
            // The DP run's ε is bounded; the others have no DP.
            XCTAssertEqual(record.rounds.last!.dpEnabled, result.name == "federated+dp")
            if result.name == "federated+dp" { XCTAssertNotNil(record.rounds.last!.epsilon) }
            // A global adapter is saved where there is one (not for local-only, which trains one per client).
            let journal = try RunJournal(readingFrom: path)
            XCTAssertEqual(try journal.adapterData() != nil, result.name != "local-only", result.name)
            let out = dir.appendingPathComponent("report-\(result.name)").path
            let html = try String(contentsOfFile: try ReportWriter.write(record, to: out)[0], encoding: .utf8)
            XCTAssertEqual(ChartCounter.parse(html).charts.count, HTMLReport.chartIDs(for: record).count)
        }
    }
}
