import Foundation
import XCTest
@testable import Dashboard
import Federation

/// Rendering is pure: scripted event sequences rendered at 120x40 and compared, character
/// for character, with the files under Snapshots/ (RECORD_SNAPSHOTS=1 records them).
final class SnapshotTests: XCTestCase {
    func state(_ scenario: Scenario, _ events: [FederationEvent]) -> DashboardState {
        var s = DashboardState(scenario: scenario, dataStats: TestSupport.stats)
        s.apply(events)
        return s
    }

    func testNormalRun() throws {
        let scenario = try TestSupport.scenario()
        var script = EventScript(scenario: scenario)
        for r in 1...5 { script.round(r) }
        script.partialRound(6, trainingUpTo: "bank")
        let s = state(scenario, script.events)
        let screen = render(s, width: 120, height: 40)
        try assertSnapshot(screen, named: "normal-run")
        let text = screen.text
        XCTAssertTrue(text.contains("round 6/8"))
        XCTAssertTrue(text.contains("training"))
        XCTAssertTrue(text.contains("50/10 Mbps 10ms"), "links come from the scenario")
        XCTAssertEqual(s.run.clients.first { $0.id == "hospital-b" }?.status, .uploading, "a client that finished training is uploading")
        XCTAssertEqual(s.run.completedRounds, 5)
        XCTAssertEqual(s.run.globalEvalLoss.rounds.count, 5)

        // Same state, same screen: drawing does not depend on anything else.
        XCTAssertEqual(render(s, width: 120, height: 40), screen)
    }

    func testNormalRunInASCII() throws {
        let scenario = try TestSupport.scenario()
        var script = EventScript(scenario: scenario)
        for r in 1...5 { script.round(r) }
        var s = state(scenario, script.events)
        s.ui.charset = .ascii
        let screen = render(s, width: 120, height: 40)
        try assertSnapshot(screen, named: "normal-run-ascii")
        XCTAssertTrue(screen.cells.allSatisfy { $0.char.isASCII }, "the ASCII fallback draws ASCII only")
    }

    func degradingScript() throws -> (Scenario, [FederationEvent]) {
        let scenario = try TestSupport.scenario()
        var script = EventScript(scenario: scenario)
        script.round(1)
        script.round(2)
        for r in 3...6 {
            var alerts: [Alert] = []
            if r == 3 {
                alerts.append(TestSupport.alert(3, "hospital-b", .critical, "local training loss rose to 8.31 from 5.17: its data may have degraded"))
                alerts.append(TestSupport.alert(3, "hospital-b", .warning, "update norm 0.0612 is 4.7x the round's median"))
            }
            if r >= 4 { alerts.append(TestSupport.alert(r, "hospital-b", .warning, "update points against the others (cosine -0.21)")) }
            if r >= 5 { alerts.append(TestSupport.alert(r, "hospital-b", .warning, "own eval loss worsened \(r - 3) rounds in a row")) }
            script.round(r, global: 5.52 - 0.005 * Double(r), alerts: alerts) { m in
                // The detector's score of every judged client, and its evidence.
                m.anomalyScore = 0.4 + 0.3 * Double((r + m.client.count) % 3); m.anomalyEvidence = ""
                if m.client == "hospital-b" {
                    m.anomalyScore = 9.2 - 0.5 * Double(r - 3)
                    m.anomalyEvidence = "start-of-training loss +3.23 over its last 2 rounds (21.4 MADs); cosine to the others -0.21, 4.1 MADs below the round's"
                    m.localLossStart = 8.4; m.localLossEnd = 8.31 + 0.1 * Double(r - 3)
                    m.evalLoss = 5.45 + 0.04 * Double(r - 2)
                    m.updateNorm = 0.0612; m.drift = 2.7; m.cosineToOthers = -0.21
                }
            }
        }
        return (scenario, script.events)
    }

    func testDegradingClientWithAlerts() throws {
        let (scenario, events) = try degradingScript()
        var s = state(scenario, events)
        let b = try XCTUnwrap(s.run.clients.first { $0.id == "hospital-b" })
        XCTAssertLessThan(b.deltaLast!, 0)
        XCTAssertEqual(b.alerts.count, 7)
        XCTAssertEqual(s.run.log.filter { if case .alert = $0.kind { return true } else { return false } }.count, 7)
        let main = render(s, width: 120, height: 40)
        try assertSnapshot(main, named: "degrading-client")
        XCTAssertTrue(main.text.contains("score"), "the score column")
        XCTAssertEqual(b.anomalyScore ?? 0, 7.7, accuracy: 1e-9)

        // Its detail view: history charts, data sizes, link, every alert with its reason.
        _ = handleKey(.down, state: &s)
        XCTAssertEqual(s.ui.selected, "hospital-b")
        _ = handleKey(.enter, state: &s)
        let detail = render(s, width: 120, height: 40)
        try assertSnapshot(detail, named: "degrading-client-detail")
        XCTAssertTrue(detail.text.contains("80 train / 20 validation examples"))
        XCTAssertTrue(detail.text.contains("local training loss rose to 8.31 from 5.17"))
        XCTAssertTrue(detail.text.contains("8/2 Mbps 80ms"))
        // The detector's score in its last round, the thresholds, and the evidence behind it.
        XCTAssertTrue(detail.text.contains("score 7.7 in round 6 (warning at 4, critical at 8)"))
        XCTAssertTrue(detail.text.contains("start-of-training loss +3.23 over its last 2 rounds"))
        XCTAssertTrue(detail.text.contains("cosine to the others -0.21, 4.1 MADs below the round's"), "the evidence's second row")
    }

    func testDroppedClient() throws {
        let scenario = try TestSupport.scenario()
        var script = EventScript(scenario: scenario)
        script.round(1)
        script.round(2)
        script.partialRound(3, trainingUpTo: "hospital-b")
        var s = state(scenario, script.events)
        // The operator drops bank mid-round: pending until the engine reports it.
        _ = handleKey(.down, state: &s)
        _ = handleKey(.down, state: &s)
        XCTAssertEqual(handleKey(.char("x"), state: &s), [.dropClient("bank")])
        let pending = render(s, width: 120, height: 40)
        try assertSnapshot(pending, named: "dropped-client-pending")
        XCTAssertTrue(pending.text.contains("pending: drop bank"))
        XCTAssertEqual(s.statusText(s.run.clients[2]), "pending")

        // The engine applies it at the next step boundary; bank sits out round 3 and 4;
        // hospital-b misses round 3's deadline and support's upload is lost in round 4.
        var rest = EventScript(scenario: scenario)
        rest.events = [.operatorAction(round: 2, command: .dropClient("bank"), applied: true)]
        rest.base = script.base; rest.last = script.last
        s.apply(rest.events)
        XCTAssertTrue(s.ui.pending.isEmpty)
        XCTAssertEqual(s.statusText(s.run.clients[2]), "excluded")
        rest.events = []
        rest.round(3, excluded: ["bank"]) { m in
            if m.client == "hospital-b" { m.status = .timedOut; m.simulatedSeconds = 42.5 }
        }
        rest.round(4, excluded: ["bank"]) { m in
            if m.client == "support" { m.status = .dropped }
        }
        // Round 3's events repeat its start; the state takes them as they come.
        s.apply(rest.events)
        let screen = render(s, width: 120, height: 40)
        try assertSnapshot(screen, named: "dropped-client")
        XCTAssertEqual(s.run.clients[2].status, .excluded)
        XCTAssertTrue(screen.text.contains("excluded"))
        XCTAssertTrue(screen.text.contains("operator: drop bank"))
        XCTAssertTrue(screen.text.contains("hospital-b timed out"))
        XCTAssertTrue(screen.text.contains("support dropped"))
    }

    func testDPToggled() throws {
        let scenario = try TestSupport.scenario()
        var script = EventScript(scenario: scenario)
        script.round(1)
        script.round(2)
        var s = state(scenario, script.events)
        XCTAssertTrue(render(s, width: 120, height: 40).text.contains("DP off"))
        XCTAssertEqual(handleKey(.char("d"), state: &s), [.setDifferentialPrivacy(true)])
        XCTAssertEqual(handleKey(.char("]"), state: &s), [.setNoiseMultiplier(1.1)])
        XCTAssertEqual(handleKey(.char("]"), state: &s), [.setNoiseMultiplier(1.2)])
        XCTAssertEqual(s.ui.pending.count, 3)
        s.apply([
            .operatorAction(round: 2, command: .setDifferentialPrivacy(true), applied: true),
            .privacyBudget(round: 2, epsilon: nil, delta: 1e-5, noiseMultiplier: 1.0, enabled: true),
            .operatorAction(round: 2, command: .setNoiseMultiplier(1.1), applied: true),
            .privacyBudget(round: 2, epsilon: nil, delta: 1e-5, noiseMultiplier: 1.1, enabled: true),
            .operatorAction(round: 2, command: .setNoiseMultiplier(1.2), applied: true),
            .privacyBudget(round: 2, epsilon: nil, delta: 1e-5, noiseMultiplier: 1.2, enabled: true),
        ])
        XCTAssertTrue(s.ui.pending.isEmpty)
        var more = EventScript(scenario: scenario)
        more.events = []
        more.base = script.base; more.last = script.last
        more.round(3)
        more.events.append(.privacyBudget(round: 3, epsilon: nil, delta: 1e-5, noiseMultiplier: 1.2, enabled: true))
        more.round(4)
        more.events.append(.privacyBudget(round: 4, epsilon: 7.31, delta: 1e-5, noiseMultiplier: 1.2, enabled: true))
        s.apply(more.events)
        let screen = render(s, width: 120, height: 40)
        try assertSnapshot(screen, named: "dp-toggled")
        XCTAssertTrue(screen.text.contains("DP on ε=7.31 σ=1.20"))
        XCTAssertTrue(screen.text.contains("operator: enable differential privacy"))

        // Unbounded ε is said so.
        s.apply(.privacyBudget(round: 4, epsilon: nil, delta: 1e-5, noiseMultiplier: 1.2, enabled: true))
        XCTAssertTrue(render(s, width: 120, height: 40).text.contains("DP on ε=unbounded"))
    }

    func testHelpOverlay() throws {
        let scenario = try TestSupport.scenario()
        var script = EventScript(scenario: scenario)
        for r in 1...3 { script.round(r) }
        var s = state(scenario, script.events)
        _ = handleKey(.char("?"), state: &s)
        try assertSnapshot(render(s, width: 120, height: 40), named: "help-overlay")
    }

    func testManyClientsScrollToTheSelection() throws {
        var s = SyntheticRun.state(clients: 128, rounds: 12)
        s.ui.width = 120; s.ui.height = 40
        for _ in 0..<100 { _ = handleKey(.char("j"), state: &s) }
        XCTAssertEqual(s.ui.selected, "client-100")
        let screen = render(s, width: 120, height: 40)
        try assertSnapshot(screen, named: "many-clients")
        XCTAssertTrue(screen.text.contains("client-100"))
        XCTAssertFalse(screen.text.contains("client-000"), "the table scrolled")
        XCTAssertTrue(screen.text.contains("of 128"))
        // The selected row is highlighted.
        let row = (0..<40).first { screen.line($0).contains("client-100") && screen[1, $0].style.contains(.reverse) }
        XCTAssertNotNil(row)
    }

    func testHeaderKeepsTheClockWithALongModelPath() throws {
        var s = DashboardState(scenario: try TestSupport.scenario())
        s.apply(.runStarted(scenario: "clinical-pilot", model: "models/SmolLM2-135M-Instruct.Q4_1.gguf", strategy: "trimmed_mean",
                            rounds: 8, clients: [], domains: [:]))
        s.apply(.phase(round: 1, .secureAggregation))
        s.run.paused = true
        s.run.wallSeconds = 3725
        for width in [100, 120, 160] {
            let header = render(s, width: width, height: 40).line(0)
            XCTAssertTrue(header.contains("wall 1:02:05"), "\(width): \(header)")
            XCTAssertTrue(header.contains("secure aggregation, pausing"), "\(width): \(header)")
            if width >= 120 { XCTAssertTrue(header.contains("SmolLM2"), "\(width): \(header)") }
        }
    }

    func testTerminalTooSmall() throws {
        let scenario = try TestSupport.scenario()
        let s = DashboardState(scenario: scenario)
        for (w, h) in [(99, 40), (120, 29), (80, 24), (30, 5)] {
            let text = render(s, width: w, height: h).text
            XCTAssertTrue(text.contains("terminal too small (need 100x30, have \(w)x\(h))") || w < 50, "\(w)x\(h): \(text)")
        }
        try assertSnapshot(render(s, width: 80, height: 24), named: "too-small")
        XCTAssertFalse(render(s, width: 100, height: 30).text.contains("too small"))
        XCTAssertEqual(render(s, width: 0, height: 0).text, "")
    }

    func testEveryViewFitsAnySizeWithoutCrashing() throws {
        let (scenario, events) = try degradingScript()
        var s = state(scenario, events)
        for view in [DashboardView.main, .detail] {
            s.ui.view = view
            for help in [false, true] {
                s.ui.showHelp = help
                for (w, h) in [(100, 30), (101, 31), (120, 40), (200, 60), (300, 100)] {
                    let b = render(s, width: w, height: h)
                    XCTAssertEqual(b.cells.count, w * h)
                }
            }
        }
    }
}
