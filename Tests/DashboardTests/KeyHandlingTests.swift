import Foundation
import XCTest
@testable import Dashboard
import Federation

/// The key handler: one function over the key map, commands out, pending until the engine answers.
final class KeyHandlingTests: XCTestCase {
    func running() throws -> DashboardState {
        let scenario = try TestSupport.scenario()
        var script = EventScript(scenario: scenario)
        script.round(1)
        script.round(2)
        var s = DashboardState(scenario: scenario, dataStats: TestSupport.stats)
        s.apply(script.events)
        return s
    }

    func testSelectionMovesThroughTheSortedRows() throws {
        var s = try running()
        XCTAssertEqual(s.ui.selected, "hospital-a")
        _ = handleKey(.down, state: &s); XCTAssertEqual(s.ui.selected, "hospital-b")
        _ = handleKey(.char("j"), state: &s); XCTAssertEqual(s.ui.selected, "bank")
        _ = handleKey(.char("k"), state: &s); XCTAssertEqual(s.ui.selected, "hospital-b")
        _ = handleKey(.up, state: &s); _ = handleKey(.up, state: &s)
        XCTAssertEqual(s.ui.selected, "hospital-a", "selection stops at the top")
        _ = handleKey(.char("G"), state: &s); XCTAssertEqual(s.ui.selected, "support")
        _ = handleKey(.down, state: &s); XCTAssertEqual(s.ui.selected, "support", "and at the bottom")
        _ = handleKey(.home, state: &s); XCTAssertEqual(s.ui.selected, "hospital-a")
    }

    func testXDropsTheSelectedClientAndAReadmitsIt() throws {
        var s = try running()
        _ = handleKey(.down, state: &s)
        XCTAssertEqual(handleKey(.char("x"), state: &s), [.dropClient("hospital-b")])
        XCTAssertEqual(s.ui.pending, [.dropClient("hospital-b")])
        XCTAssertEqual(s.statusText(s.selectedRow!), "pending")
        XCTAssertEqual(handleKey(.char("x"), state: &s), [], "already on its way out")
        XCTAssertNotNil(s.ui.flash)
        s.apply(.operatorAction(round: 2, command: .dropClient("hospital-b"), applied: true))
        XCTAssertEqual(s.ui.pending, [])
        XCTAssertEqual(s.statusText(s.selectedRow!), "excluded")
        XCTAssertEqual(s.run.log.last?.text, "operator: drop hospital-b")
        XCTAssertEqual(s.run.log.last?.kind, .operatorAction)
        XCTAssertEqual(handleKey(.char("a"), state: &s), [.readmitClient("hospital-b")])
        s.apply(.operatorAction(round: 2, command: .readmitClient("hospital-b"), applied: true))
        XCTAssertEqual(s.statusText(s.selectedRow!), "idle")
        XCTAssertEqual(handleKey(.char("a"), state: &s), [], "not excluded")
    }

    func testDTogglesDifferentialPrivacy() throws {
        var s = try running()
        XCTAssertFalse(s.run.dpEnabled)
        XCTAssertEqual(handleKey(.char("d"), state: &s), [.setDifferentialPrivacy(true)])
        XCTAssertEqual(handleKey(.char("d"), state: &s), [.setDifferentialPrivacy(false)], "toggles what is in flight")
        s.apply(.operatorAction(round: 2, command: .setDifferentialPrivacy(true), applied: true))
        s.apply(.privacyBudget(round: 2, epsilon: nil, delta: 1e-5, noiseMultiplier: 1, enabled: true))
        XCTAssertTrue(s.run.dpEnabled)
        s.apply(.operatorAction(round: 2, command: .setDifferentialPrivacy(false), applied: true))
        XCTAssertFalse(s.run.dpEnabled)
        XCTAssertEqual(handleKey(.char("d"), state: &s), [.setDifferentialPrivacy(true)])
    }

    func testBracketsAdjustTheNoiseMultiplierByATenthNotBelowZero() throws {
        var s = try running()
        XCTAssertEqual(handleKey(.char("["), state: &s), [.setNoiseMultiplier(0.9)])
        XCTAssertEqual(handleKey(.char("]"), state: &s), [.setNoiseMultiplier(1.0)])
        XCTAssertEqual(handleKey(.char("]"), state: &s), [.setNoiseMultiplier(1.1)])
        s.apply(.operatorAction(round: 2, command: .setNoiseMultiplier(0.9), applied: true))
        s.apply(.operatorAction(round: 2, command: .setNoiseMultiplier(1), applied: true))
        s.apply(.operatorAction(round: 2, command: .setNoiseMultiplier(1.1), applied: true))
        XCTAssertEqual(s.run.noiseMultiplier, 1.1, accuracy: 1e-12)
        XCTAssertTrue(s.ui.pending.isEmpty)
        s.run.noiseMultiplier = 0.1
        XCTAssertEqual(handleKey(.char("["), state: &s), [.setNoiseMultiplier(0)])
        XCTAssertEqual(handleKey(.char("["), state: &s), [], "never below zero")
    }

    func testSpacePausesAndResumesAndStepOnlyWhenPaused() throws {
        var s = try running()
        XCTAssertEqual(handleKey(.char("s"), state: &s), [], "not paused: no step")
        XCTAssertTrue(s.ui.flash?.contains("pause") ?? false)
        XCTAssertEqual(handleKey(.char(" "), state: &s), [.pause])
        XCTAssertEqual(handleKey(.char("s"), state: &s), [.step], "a pause in flight counts")
        s.apply(.operatorAction(round: 2, command: .pause, applied: true))
        s.apply(.operatorAction(round: 2, command: .step, applied: true))
        s.apply(.phase(round: 2, .paused))
        XCTAssertTrue(s.run.paused)
        XCTAssertTrue(render(s, width: 120, height: 40).text.contains("paused"))
        XCTAssertEqual(handleKey(.char("s"), state: &s), [.step])
        XCTAssertEqual(handleKey(.char(" "), state: &s), [.resume])
        s.apply(.operatorAction(round: 2, command: .step, applied: true))
        s.apply(.operatorAction(round: 2, command: .resume, applied: true))
        XCTAssertFalse(s.run.paused)
        XCTAssertEqual(handleKey(.char("s"), state: &s), [])
    }

    func testStartPausedCountsAsPaused() throws {
        var s = DashboardState(scenario: try TestSupport.scenario())
        s.apply(.phase(round: 0, .paused))
        XCTAssertEqual(handleKey(.char("s"), state: &s), [.step])
    }

    func testQuitStopsTheRunOnceAndQuitsAtOnceWhenFinished() throws {
        var s = try running()
        XCTAssertEqual(handleKey(.char("q"), state: &s), [.stop])
        XCTAssertTrue(s.ui.quitRequested)
        XCTAssertEqual(handleKey(.char("q"), state: &s), [], "stop is already on its way")
        XCTAssertTrue(render(s, width: 120, height: 40).text.contains("stopping"))

        var finished = try running()
        finished.apply(.runFinished(rounds: 2, finalEvalLoss: 5.5, baseEvalLoss: 5.6, wallSeconds: 3, stopped: false))
        XCTAssertEqual(handleKey(.char("q"), state: &finished), [])
        XCTAssertTrue(finished.ui.quitRequested)
        XCTAssertEqual(handleKey(.char("x"), state: &finished), [], "nothing to send after the run")
    }

    func testViewsAndHelp() throws {
        var s = try running()
        _ = handleKey(.enter, state: &s)
        XCTAssertEqual(s.ui.view, .detail)
        _ = handleKey(.char("?"), state: &s)
        XCTAssertTrue(s.ui.showHelp)
        _ = handleKey(.escape, state: &s)
        XCTAssertFalse(s.ui.showHelp, "Esc closes help first")
        XCTAssertEqual(s.ui.view, .detail)
        _ = handleKey(.escape, state: &s)
        XCTAssertEqual(s.ui.view, .main)
    }

    func testOCyclesTheSortColumn() throws {
        var s = try running()
        XCTAssertEqual(s.sortedRows.map(\.id), ["hospital-a", "hospital-b", "bank", "support"])
        _ = handleKey(.char("o"), state: &s)
        XCTAssertEqual(s.ui.sort, .id)
        XCTAssertEqual(s.sortedRows.map(\.id), ["bank", "hospital-a", "hospital-b", "support"])
        _ = handleKey(.char("O"), state: &s)
        XCTAssertEqual(s.sortedRows.map(\.id), ["support", "hospital-b", "hospital-a", "bank"])
        for _ in 0..<(SortColumn.allCases.count - 1) { _ = handleKey(.char("o"), state: &s) }
        XCTAssertEqual(s.ui.sort, .order, "o cycles through every column")
        // Sorting by eval loss keeps the selection on the same client.
        s.ui.sortDescending = false
        s.ui.selected = "bank"
        while s.ui.sort != .eval { _ = handleKey(.char("o"), state: &s) }
        let evals = s.sortedRows.compactMap(\.evalLoss)
        XCTAssertEqual(evals, evals.sorted())
        XCTAssertEqual(s.ui.selected, "bank")
        XCTAssertTrue(render(s, width: 120, height: 40).line(2).contains("eval↑"))
    }

    func testUnboundKeysDoNothing() throws {
        var s = try running()
        let before = s
        for key in [Key.char("z"), .char("1"), .left, .right, .char("+")] {
            XCTAssertEqual(handleKey(key, state: &s), [])
        }
        XCTAssertEqual(s, before)
    }

    func testSelectionScrollsWithManyClients() throws {
        var s = SyntheticRun.state(clients: 150, rounds: 3)
        s.ui.width = 120; s.ui.height = 30
        let visible = Layout(width: 120, height: 30, clients: 150).tableRows
        for _ in 0..<(visible + 5) { _ = handleKey(.down, state: &s) }
        XCTAssertEqual(s.ui.scroll, 6)
        _ = handleKey(.pageDown, state: &s)
        XCTAssertGreaterThan(s.ui.scroll, 6)
        _ = handleKey(.char("G"), state: &s)
        XCTAssertEqual(s.ui.scroll, 150 - visible)
        _ = handleKey(.char("g"), state: &s)
        XCTAssertEqual(s.ui.scroll, 0)
    }

    func testEngineActionsWithoutAPendingCommandStillShow() throws {
        var s = try running()
        s.apply(.operatorAction(round: 2, command: .dropClient("bank"), applied: true))
        XCTAssertTrue(s.run.clients[2].excluded)
        s.apply(.operatorAction(round: 2, command: .setNoiseMultiplier(2.5), applied: false))
        XCTAssertEqual(s.run.log.last?.text, "operator: set noise multiplier 2.50 (no effect)")
        XCTAssertEqual(s.run.noiseMultiplier, 1)
    }

    /// The action's text rounds the noise to two decimals; the event carries the command itself,
    /// so the pending command settles and the state shows the exact value.
    func testAnActionSettlesItsPendingCommandExactly() throws {
        var s = try running()
        s.ui.pending = [.setNoiseMultiplier(0.123)]
        let event = FederationEvent.operatorAction(round: 2, command: .setNoiseMultiplier(0.123), applied: true)
        s.apply(try XCTUnwrap(FederationEvent(jsonLine: event.jsonLine)))
        XCTAssertTrue(s.ui.pending.isEmpty)
        XCTAssertEqual(s.run.noiseMultiplier, 0.123)
        XCTAssertEqual(s.run.log.last?.text, "operator: set noise multiplier 0.12")
    }
}
