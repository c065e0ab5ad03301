import Foundation
import Llama
import TensorMath
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
        XCTAssertTrue(recorder.events.contains(.operatorAction(round: 0, command: .sample(client: "bank"), applied: false)))
    }

    func testByteDecodingAndGreedyGenerationStopAtPadding() throws {
        XCTAssertEqual(ByteEncoding().decode([72, 105, 256]), "Hi")
        XCTAssertEqual(ByteEncoding().stopTokenIDs, [256])
        let tiny = try EngineModel.load(path: "tiny")
        let text = try ProbeGeneration.greedy(model: tiny.model, encoding: tiny.encoding, prompt: "Section 9.2", maxTokens: 8)
        XCTAssertLessThanOrEqual(text.unicodeScalars.count, 8)
        XCTAssertThrowsError(try ProbeGeneration.greedy(model: tiny.model, encoding: tiny.encoding, prompt: "", maxTokens: 8))
    }

    /// The probe path applies the adapter unmerged over the frozen weights: the same logits
    /// (to float rounding) and the same greedy text as the merged model.
    func testUnmergedGenerationMatchesTheMergedModel() throws {
        let tiny = try EngineModel.load(path: "tiny")
        var adapter = try LoRAAdapter(model: tiny.model.config, config: LoRAConfig(rank: 4, alpha: 8, targets: LoRATarget.allCases), seed: 3)
        var rng = SeededRandom(seed: 5)
        for i in adapter.values.indices { adapter.values[i] += 0.2 * rng.normal() }   // B is zero at initialisation
        let merged = try tiny.model.merged(with: adapter)
        let ids = tiny.encoding.encode("Section 9.2")
        let caches = (0..<3).map { _ in KVCache(config: tiny.model.config, capacity: 32) }
        for step in [ids, [65], [66]] {
            let a = try tiny.model.next(step, cache: caches[0], adapter: adapter), b = merged.next(step, cache: caches[1])
            let base = tiny.model.next(step, cache: caches[2])
            XCTAssertLessThan(zip(a, b).map { abs($0 - $1) }.max()!, 1e-4, "logits after \(step)")
            XCTAssertGreaterThan(zip(a, base).map { abs($0 - $1) }.max()!, 1e-3, "the adapter must change the logits for the check to mean anything")
        }
        XCTAssertEqual(try ProbeGeneration.greedy(model: tiny.model, adapter: adapter, encoding: tiny.encoding, prompt: "Section 9.2", maxTokens: 12),
                       try ProbeGeneration.greedy(model: merged, encoding: tiny.encoding, prompt: "Section 9.2", maxTokens: 12))
    }

    func waitUntil(timeout: TimeInterval = 60, _ condition: () -> Bool) throws {
        let end = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > end { return XCTFail("condition not reached in \(timeout) s") }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }
}
