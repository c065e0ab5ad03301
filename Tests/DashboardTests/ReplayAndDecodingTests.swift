import Foundation
import XCTest
@testable import Dashboard
import Federation

final class EventDecodingTests: XCTestCase {
    func testEveryEventKindRoundTripsThroughItsJSONLine() throws {
        var m = ClientRoundMetrics(client: "bank", round: 3, status: .timedOut)
        m.trainExamples = 12; m.localLossStart = 2.5; m.localLossEnd = 2.25; m.evalLoss = 2.125
        m.qualityDeltaBase = 0.375; m.qualityDeltaLast = -0.0625; m.drift = 0.5; m.updateNorm = 0.015625
        m.cosineToOthers = -0.25; m.bytesUp = 1234; m.bytesDown = 5678; m.simulatedSeconds = 42.5; m.trainSeconds = 0.75
        m.aggregationWeight = 0.125
        m.trainTokens = 4096; m.cosineToAggregate = 0.5; m.transferSeconds = 1.5; m.computeSeconds = 41
        let idle = ClientRoundMetrics(client: "idle one", round: 3, status: .idle)
        let events: [FederationEvent] = [
            .runStarted(scenario: "s", model: "models/m.gguf", strategy: "krum", rounds: 8, clients: ["a", "b"], domains: ["a": "x", "b": "y"]),
            .phase(round: 2, .secureAggregation),
            .roundStarted(round: 3, selected: ["a", "bank"]),
            .clientUpdate(m),
            .clientUpdate(idle),
            .roundCompleted(RoundMetrics(round: 3, selected: ["a", "bank"], aggregated: ["a"], dropped: ["bank"],
                                              globalEvalLoss: 2.5, baseEvalLoss: nil, bytesUp: 10, bytesDown: 20, wallSeconds: 1.25,
                                              simulatedSeconds: 3.5, strategy: "krum", updateNormMean: 0.5,
                                              domainEvalLoss: ["x": 2.25, "y": 3])),
            .roundFailed(round: 4, reason: "only 0 updates arrived"),
            .alert(TestSupport.alert(4, "bank", .critical, "local training loss rose")),
            .alert(TestSupport.alert(4, nil, .info, "run-level")),
            .privacyBudget(round: 4, epsilon: nil, delta: 1e-5, noiseMultiplier: 1.1, enabled: true),
            .privacyBudget(round: 5, epsilon: 3.5, delta: 1e-6, noiseMultiplier: 0, enabled: false),
            .operatorAction(round: 5, command: .dropClient("bank"), applied: true),
            .operatorAction(round: 5, command: .setNoiseMultiplier(-1), applied: false),
            .runFinished(rounds: 5, finalEvalLoss: 2.0, baseEvalLoss: nil, wallSeconds: 9.5, stopped: true),
        ]
        for e in events {
            XCTAssertEqual(FederationEvent(jsonLine: e.jsonLine), e, e.jsonLine)
        }
        let lines = events.map(\.jsonLine).joined(separator: "\n") + "\n\n"
        XCTAssertEqual(try FederationEvent.decode(jsonLines: lines), events)
        XCTAssertThrowsError(try FederationEvent.decode(jsonLines: "{\"type\":\"nope\",\"round\":1}"))
        XCTAssertNil(FederationEvent(jsonLine: "not json"))
    }

    func testSyntheticRunsRoundTrip() throws {
        let events = SyntheticRun.events(clients: 5, rounds: 3)
        let decoded = try FederationEvent.decode(jsonLines: events.map(\.jsonLine).joined(separator: "\n"))
        XCTAssertEqual(decoded.count, events.count)
        var a = DashboardState(), b = DashboardState()
        a.apply(events); b.apply(decoded)
        XCTAssertEqual(render(a, width: 120, height: 40), render(b, width: 120, height: 40))
    }
}

final class ReplayTests: XCTestCase {
    func testStepsARoundAtATimeBackAndForth() throws {
        let events = SyntheticRun.events(clients: 6, rounds: 5)
        var player = ReplayPlayer(events: events, roundsPerSecond: 1, playing: false)
        XCTAssertEqual(player.boundaries.count, 1 + 5 + 1, "prelude, five rounds, the finish")
        XCTAssertEqual(player.state.run.completedRounds, 0)
        XCTAssertEqual(player.state.run.clients.count, 6, "the prelude (run started) is shown at once")
        player.handle(.right)
        XCTAssertEqual(player.state.run.completedRounds, 1)
        player.handle(.right); player.handle(.right)
        XCTAssertEqual(player.state.run.completedRounds, 3)
        player.handle(.left)
        XCTAssertEqual(player.state.run.completedRounds, 2)

        // Stepping back gives exactly the state of folding the events up to that round.
        var folded = DashboardState()
        folded.apply(events[0..<player.position])
        XCTAssertEqual(player.state.run, folded.run)
        XCTAssertEqual(player.state.ui.replay?.round, 2)
        XCTAssertTrue(render(player.state, width: 120, height: 40).text.contains("replay paused"))
    }

    func testPlaysAtTheChosenSpeedAndStopsAtTheEnd() {
        let events = SyntheticRun.events(clients: 3, rounds: 4)
        var player = ReplayPlayer(events: events, roundsPerSecond: 2, playing: true)
        player.advance(by: 0.5)   // one round at 2 rounds/s
        XCTAssertEqual(player.state.run.completedRounds, 1)
        player.advance(by: 0.25)
        XCTAssertEqual(player.state.run.completedRounds, 1, "half way through round 2")
        XCTAssertGreaterThan(player.state.run.round, 1)
        player.handle(.char(" "))
        XCTAssertFalse(player.playing)
        XCTAssertFalse(player.advance(by: 10), "paused: nothing moves")
        player.handle(.char(" "))
        player.handle(.char("+"))
        XCTAssertEqual(player.roundsPerSecond, 4)
        player.advance(by: 100)
        XCTAssertTrue(player.atEnd)
        XCTAssertFalse(player.playing)
        XCTAssertTrue(player.state.run.finished)
        // Navigation keys still work in a replay; engine commands are not in its key map.
        player.handle(.down)
        XCTAssertEqual(player.state.ui.selected, "client-001")
        XCTAssertNil(KeyMap.binding(for: .char("x"), replay: true))
    }
}

final class ArchitectureTests: XCTestCase {
    /// The engine never depends on the dashboard or curses.
    func testNoEngineTargetImportsTheDashboard() throws {
        let sources = TestSupport.root.appendingPathComponent("Sources")
        for target in ["TensorMath", "Llama", "Federation", "Journal"] {
            let dir = sources.appendingPathComponent(target)
            guard let files = FileManager.default.enumerator(atPath: dir.path) else { continue }
            for case let file as String in files where file.hasSuffix(".swift") {
                let text = try String(contentsOf: dir.appendingPathComponent(file), encoding: .utf8)
                XCTAssertFalse(text.contains("import Dashboard"), "\(target)/\(file)")
                XCTAssertFalse(text.contains("import CNcurses"), "\(target)/\(file)")
            }
        }
        // And drawing never touches curses: only Terminal.swift does.
        let dashboard = sources.appendingPathComponent("Dashboard")
        let files = FileManager.default.enumerator(atPath: dashboard.path)?.compactMap { $0 as? String } ?? []
        XCTAssertTrue(files.contains("Panels/HeaderPanel.swift"), "the walk reaches the panels' folder")
        for file in files where file.hasSuffix(".swift") && file != "Terminal.swift" {
            let text = try String(contentsOf: dashboard.appendingPathComponent(file), encoding: .utf8)
            XCTAssertFalse(text.contains("CNcurses"), file)
        }
    }

    func testTheFeedHandsEventsFromManyThreadsToOneConsumer() {
        let feed = EventFeed()
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for r in 0..<500 { feed.push(.phase(round: t * 1000 + r, .training)) }
        }
        var seen = feed.drain()
        seen += feed.drain()
        XCTAssertEqual(seen.count, 4000)
        XCTAssertEqual(Set(seen.map(\.round)).count, 4000)
    }
}

final class RenderBenchmarkTests: XCTestCase {
    /// Prints (does not assert) the time to render one 120x40 frame of a 128-client run.
    func testRenderTimeWith128Clients() {
        let r = benchmarkRender(clients: 128, rounds: 30, width: 120, height: 40, frames: 30)
        #if DEBUG
        let build = "debug"
        #else
        let build = "release"
        #endif
        print(String(format: "render benchmark (%@ build): 128 clients, 30 rounds, 120x40: %.2f ms/frame mean, %.2f ms best (target <= 10 ms in release)",
                     build, r.meanMs, r.bestMs))
    }
}
