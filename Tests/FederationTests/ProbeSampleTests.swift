import Foundation
import XCTest
@testable import Federation

/// `.sample(client:)`: applied at a step boundary (also while paused), it publishes the global
/// model's greedy continuation of the client's probe prompt.
final class ProbeSampleTests: XCTestCase {
    let clients = [("hospital-a", "clinical-hospital-a.jsonl"), ("bank", "aml-alerts.jsonl")]
    let prompts = """
        [probe_prompts]
        test = "S: Pt is 58F, presents w/"

        """

    func samples(_ events: [FederationEvent]) -> [(round: Int, client: String, prompt: String, text: String)] {
        events.compactMap { if case .sample(let r, let c, let p, let t, _) = $0 { return (r, c, p, t) } else { return nil } }
    }

    func testTheSampleArrivesBetweenRoundsWhilePaused() throws {
        let scenario = try EngineTestSupport.scenario(clients: clients, rounds: 2, extra: prompts)
        let recorder = EngineTestSupport.Recorder()
        let coordinator = try PilotBuilder.build(scenario, sink: recorder.record).coordinator
        coordinator.startPaused()
        coordinator.commands.send(.step)
        let done = expectation(description: "run finished")
        Thread.detachNewThread { coordinator.run(); done.fulfill() }
        try waitUntil { recorder.completedRounds.count == 1 && recorder.events.last == .phase(round: 1, .paused) }
        coordinator.commands.send(.sample(client: "bank"))
        try waitUntil { !self.samples(recorder.events).isEmpty }
        coordinator.commands.send(.sample(client: "nobody"))
        coordinator.commands.send(.resume)
        wait(for: [done], timeout: 60)

        let events = recorder.events
        let got = samples(events)
        XCTAssertEqual(got.count, 1)
        let sample = try XCTUnwrap(got.first)
        XCTAssertEqual(sample.round, 1, "the global model after round 1")
        XCTAssertEqual(sample.client, "bank")
        XCTAssertEqual(sample.prompt, "S: Pt is 58F, presents w/")
        XCTAssertFalse(sample.text.isEmpty)
        XCTAssertLessThanOrEqual(sample.text.unicodeScalars.count, ProbeGeneration.maximumTokens, "at most 32 byte tokens")
        // Between the rounds: after round 1 completed and before round 2 started.
        let at = try XCTUnwrap(events.firstIndex { $0.type == "sample" })
        let completed1 = try XCTUnwrap(events.firstIndex { if case .roundCompleted(let m) = $0 { return m.round == 1 } else { return false } })
        let started2 = try XCTUnwrap(events.firstIndex { if case .roundStarted(let r, _) = $0 { return r == 2 } else { return false } })
        XCTAssertTrue(completed1 < at && at < started2)
        let actions = events.compactMap { if case .operatorAction(_, let a, let applied) = $0 { return "\(a):\(applied)" } else { return nil } }
        XCTAssertEqual(actions, ["step one round:true", "sample bank:true", "sample nobody:false", "resume:true"])
    }

    func testTheSameGlobalModelGivesTheSameSampleAndItsJSONRoundTrips() throws {
        let scenario = try EngineTestSupport.scenario(clients: clients, rounds: 1, extra: prompts)
        let recorder = EngineTestSupport.Recorder()
        let coordinator = try PilotBuilder.build(scenario, sink: recorder.record).coordinator
        coordinator.commands.send(.sample(client: "hospital-a"))
        coordinator.commands.send(.sample(client: "hospital-a"))
        coordinator.run()
        let got = samples(recorder.events)
        XCTAssertEqual(got.count, 2)
        XCTAssertEqual(got[0].round, 0, "before the first round: the base model with the initial adapter")
        XCTAssertEqual(got[0].text, got[1].text, "greedy decoding is deterministic")
        let event = try XCTUnwrap(recorder.events.first { $0.type == "sample" })
        let json = event.jsonObject
        XCTAssertEqual(json["type"] as? String, "sample")
        XCTAssertEqual(json["client"] as? String, "hospital-a")
        XCTAssertEqual(json["text"] as? String, got[0].text)
        XCTAssertNotNil(json["seconds"] as? Double)
    }

    func testAClientWithoutAPromptGetsNoSample() throws {
        let scenario = try EngineTestSupport.scenario(clients: clients, rounds: 1)
        let recorder = EngineTestSupport.Recorder()
        let coordinator = try PilotBuilder.build(scenario, sink: recorder.record).coordinator
        coordinator.commands.send(.sample(client: "bank"))
        coordinator.run()
        XCTAssertTrue(samples(recorder.events).isEmpty)
        XCTAssertTrue(recorder.events.contains(.operatorAction(round: 0, action: "sample bank", applied: false)))
    }

    func testByteDecodingAndGreedyGenerationStopAtPadding() throws {
        XCTAssertEqual(ByteEncoding().decode([72, 105, 256]), "Hi")
        XCTAssertEqual(ByteEncoding().stopTokenIDs, [256])
        let tiny = try EngineModel.load(path: "tiny")
        let text = try ProbeGeneration.greedy(model: tiny.model, encoding: tiny.encoding, prompt: "Section 9.2", maxTokens: 8)
        XCTAssertLessThanOrEqual(text.unicodeScalars.count, 8)
        XCTAssertThrowsError(try ProbeGeneration.greedy(model: tiny.model, encoding: tiny.encoding, prompt: "", maxTokens: 8))
    }

    func waitUntil(timeout: TimeInterval = 60, _ condition: () -> Bool) throws {
        let end = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > end { return XCTFail("condition not reached in \(timeout) s") }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }
}
