import Foundation
import XCTest
@testable import Dashboard
import Federation

/// Task accuracy on the dashboard: the acc and Δacc columns, the global accuracy chart, the
/// detail view's confusion counts, and the column sets that `c` cycles through.
final class TaskViewTests: XCTestCase {
    let labels = ["account", "billing", "bug", "outage"]

    /// A normal run whose evaluations also report task accuracy, rising by 0.05 a round.
    func taskState() throws -> DashboardState {
        let scenario = try TestSupport.scenario()
        var script = EventScript(scenario: scenario)
        for r in 1...5 { script.round(r) }
        let events = script.events.map { e -> FederationEvent in
            switch e {
            case .clientUpdate(var m) where m.evalLoss != nil:
                let i = Double(scenario.clients.firstIndex { $0.id == m.client }!)
                m.taskAccuracy = 0.40 + 0.05 * Double(m.round) - 0.05 * i
                m.taskAccuracyDeltaBase = m.taskAccuracy! - 0.40
                m.taskMacroF1 = m.taskAccuracy! - 0.1
                m.confusion = ["billing": ["billing": 3, "account": 4], "bug": ["bug": 2, "outage": 1]]
                return .clientUpdate(m)
            case .roundCompleted(var m):
                m.globalTaskAccuracy = 0.45 + 0.04 * Double(m.round)
                m.globalMacroF1 = 0.4; m.baseTaskAccuracy = 0.42; m.baseMacroF1 = 0.35
                return .roundCompleted(m)
            default: return e
            }
        }
        var s = DashboardState(scenario: scenario, dataStats: TestSupport.stats)
        s.apply(.taskLabels(round: 0, labels: labels, source: "validation"))
        s.apply(events)
        return s
    }

    func testAccuracyColumnsAndChart() throws {
        var s = try taskState()
        let screen = render(s, width: 120, height: 40)
        try assertSnapshot(screen, named: "task-accuracy")
        let lines = screen.text.components(separatedBy: "\n")
        XCTAssertNotNil(lines[2].range(of: " acc +Δacc ", options: .regularExpression), lines[2])
        let a = try XCTUnwrap(lines.first { $0.contains("hospital-a") })
        XCTAssertTrue(a.contains(" 0.65  +0.25 "), a)
        XCTAssertTrue(screen.text.contains("accuracy (base 0.42)"))
        XCTAssertTrue(s.run.log.contains { $0.text == "task: 4 labels (from the validation data): account, billing, bug, outage" })
        XCTAssertTrue(s.run.log.last { $0.kind == .round }!.text.contains("accuracy 0.65 (base 0.42)"), "the round's log line carries accuracy")
        XCTAssertEqual(s.run.globalTaskAccuracy.rounds.count, 5)
        // Sorting by accuracy: best first when descending.
        while s.ui.sort != .accuracy { _ = handleKey(.char("o"), state: &s) }
        _ = handleKey(.char("O"), state: &s)
        XCTAssertEqual(s.sortedRows.first?.id, "hospital-a")
    }

    func testColumnSets() throws {
        var s = try taskState()
        func header() -> String { render(s, width: 120, height: 40).text.components(separatedBy: "\n")[2] }
        XCTAssertFalse(header().contains("link"), "at 120 columns with accuracy, the link gives way")
        _ = handleKey(.char("c"), state: &s)
        XCTAssertEqual(s.ui.columns, .quality)
        XCTAssertEqual(s.ui.flash, "columns: quality")
        XCTAssertTrue(header().contains("acc"))
        XCTAssertFalse(header().contains("norm"))
        _ = handleKey(.char("c"), state: &s)
        XCTAssertEqual(s.ui.columns, .training)
        XCTAssertTrue(header().contains("norm"))
        XCTAssertFalse(header().contains("acc"))
        _ = handleKey(.char("c"), state: &s)
        XCTAssertEqual(s.ui.columns, .network)
        XCTAssertTrue(header().contains("link"))
        XCTAssertTrue(header().contains("total"))
        _ = handleKey(.char("c"), state: &s)
        XCTAssertEqual(s.ui.columns, .all)
    }

    func testDetailShowsConfusions() throws {
        var s = try taskState()
        _ = handleKey(.enter, state: &s)
        let screen = render(s, width: 120, height: 40)
        try assertSnapshot(screen, named: "task-accuracy-detail")
        let line = try XCTUnwrap(screen.text.components(separatedBy: "\n").first { $0.hasPrefix("task    accuracy") })
        XCTAssertTrue(line.contains("billing → account: 4, bug → outage: 1"), line)
        XCTAssertTrue(line.contains("Δbase +0.25"), line)
    }

    /// A run without labels looks as before: no accuracy columns or chart.
    func testNoTaskNoColumns() throws {
        let scenario = try TestSupport.scenario()
        var script = EventScript(scenario: scenario)
        for r in 1...2 { script.round(r) }
        var s = DashboardState(scenario: scenario, dataStats: TestSupport.stats)
        s.apply(script.events)
        let text = render(s, width: 120, height: 40).text
        XCTAssertFalse(text.contains("Δacc"))
        XCTAssertFalse(text.contains("accuracy (base"))
    }
}
