import Foundation
import XCTest
@testable import Dashboard
import Federation

/// The detail view's sample of the global model: asked for when the view opens (and with r),
/// "generating…" until the engine's `sample` event arrives, then the prompt and the text.
final class SampleViewTests: XCTestCase {
    func detailState() throws -> DashboardState {
        let scenario = try TestSupport.scenario()
        var script = EventScript(scenario: scenario)
        for r in 1...4 { script.round(r) }
        var s = DashboardState(scenario: scenario, dataStats: TestSupport.stats)
        s.apply(script.events)
        _ = handleKey(.down, state: &s)
        XCTAssertEqual(s.ui.selected, "hospital-b")
        return s
    }

    let text = " 71-year-old man with a history of hypertension who presented with two days of chest pain.\nHOSPITAL COURSE: Troponin was negative x3 and the pain resolved."

    func testOpeningTheDetailViewAsksForASampleAndShowsIt() throws {
        var s = try detailState()
        XCTAssertEqual(handleKey(.enter, state: &s), [.sample(client: "hospital-b")])
        XCTAssertEqual(s.ui.view, .detail)
        let waiting = render(s, width: 120, height: 40).text
        XCTAssertTrue(waiting.contains("generating…"), waiting)
        XCTAssertTrue(waiting.contains("DISCHARGE SUMMARY⏎ HISTORY OF PRESENT ILLNESS:"), waiting)
        XCTAssertEqual(handleKey(.char("r"), state: &s), [], "a sample already on its way is not asked for twice")

        s.apply(.sample(round: 4, client: "hospital-b", prompt: "DISCHARGE SUMMARY\nHISTORY OF PRESENT ILLNESS:", text: text, seconds: 0.42))
        s.apply(.operatorAction(round: 4, command: .sample(client: "hospital-b"), applied: true))
        XCTAssertTrue(s.ui.pending.isEmpty)
        let screen = render(s, width: 120, height: 40)
        try assertSnapshot(screen, named: "detail-sample")
        XCTAssertTrue(screen.text.contains("sample of the global model after round 4 (greedy, 0.4s)"))
        XCTAssertTrue(screen.text.contains("71-year-old man with a history of hypertension"))
        XCTAssertTrue(screen.text.contains("⏎ HOSPITAL COURSE"), "a line break in the text stays visible")
        XCTAssertFalse(screen.text.contains("generating"))
        XCTAssertFalse(s.run.log.contains { $0.text.hasPrefix("operator: sample") }, "the sample's own log line is enough")
        XCTAssertTrue(s.run.log.contains { $0.text.hasPrefix("sample hospital-b after round 4 (0.4s): 71-year-old man") })

        // Reopening for the same global model does not ask again; r does; a new round makes it stale.
        _ = handleKey(.escape, state: &s)
        XCTAssertEqual(handleKey(.enter, state: &s), [])
        XCTAssertEqual(handleKey(.char("r"), state: &s), [.sample(client: "hospital-b")])
        XCTAssertTrue(render(s, width: 120, height: 40).text.contains("after round 4 (greedy, 0.4s), generating a new one…"))
        s.apply(.operatorAction(round: 4, command: .sample(client: "hospital-b"), applied: false))
        XCTAssertTrue(render(s, width: 120, height: 40).text.contains("no sample: the engine could not generate one"))
    }

    func testMovingBetweenClientsInTheDetailView() throws {
        var s = try detailState()
        _ = handleKey(.enter, state: &s)
        XCTAssertEqual(handleKey(.down, state: &s), [.sample(client: "bank")], "the next client's sample is asked for")
        XCTAssertEqual(handleKey(.down, state: &s), [], "support has no probe prompt")
        let screen = render(s, width: 120, height: 40).text
        XCTAssertTrue(screen.contains("none: add probe_prompt"), screen)
        XCTAssertEqual(handleKey(.char("r"), state: &s), [])
        XCTAssertTrue(s.ui.flash?.contains("support has no probe prompt") == true)
        // In the main view, moving asks for nothing.
        _ = handleKey(.escape, state: &s)
        XCTAssertEqual(handleKey(.up, state: &s), [])
    }

    func testSampleEventsRoundTripThroughJSONAndReplay() throws {
        let event = FederationEvent.sample(round: 3, client: "bank", prompt: "ALERT |", text: " Customer: \"A\" \u{1}\n", seconds: 1.25)
        XCTAssertEqual(FederationEvent(jsonLine: event.jsonLine), event)
        XCTAssertEqual(event.jsonObject["type"] as? String, "sample")
        var s = DashboardState(scenario: try TestSupport.scenario())
        s.apply(event)
        XCTAssertEqual(s.run.clients.first { $0.id == "bank" }?.sample?.text, " Customer: \"A\" \u{1}\n")
        XCTAssertEqual(s.run.log.last?.text, "sample bank after round 3 (1.2s): Customer: \"A\"", "control characters never reach the screen")
    }

    func testAFinishedRunAsksForNothing() throws {
        var s = try detailState()
        s.apply(.runFinished(rounds: 4, finalEvalLoss: 5.0, baseEvalLoss: 5.5, wallSeconds: 3, stopped: false))
        XCTAssertEqual(handleKey(.enter, state: &s), [])
        XCTAssertTrue(render(s, width: 120, height: 40).text.contains("no sample was generated"))
    }
}
