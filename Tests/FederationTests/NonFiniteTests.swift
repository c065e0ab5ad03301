import Foundation
import XCTest
@testable import Federation

/// Numbers that are not numbers: a diverged or hostile client is rejected where its reply
/// enters, the round aggregates the others or fails cleanly, and no event is ever written as `{}`.
final class NonFiniteTests: XCTestCase {
    let clients = [("a", "clinical-hospital-a.jsonl"), ("b", "aml-alerts.jsonl"), ("c", "legal-clauses.jsonl")]

    /// A learning rate of 1e30 diverges every client: each is rejected with an alert naming it and
    /// the round, the round fails, and the global adapter stays as it was. Before, 15 bare `{}`
    /// lines were printed and the run ended "successfully".
    func testDivergedClientsFailTheRoundAndLeaveTheModel() throws {
        for payload in ["fp32", "int8"] {
            var scenario = try EngineTestSupport.scenario(clients: clients, rounds: 1, payload: payload)
            scenario.training.learningRate = 1e30
            let recorder = EngineTestSupport.Recorder()
            let pilot = try PilotBuilder.build(scenario, sink: recorder.record)
            let before = pilot.coordinator.global.values
            pilot.coordinator.run()
            XCTAssertEqual(pilot.coordinator.global.values.map(\.bitPattern), before.map(\.bitPattern), payload)
            XCTAssertTrue(recorder.events.contains { if case .roundFailed(1, _) = $0 { return true } else { return false } }, payload)
            for (client, _) in clients {
                let alert = recorder.events.contains {
                    if case .alert(let a) = $0, a.client == client, a.round == 1, a.severity == .critical,
                       a.reason.contains("non-finite"), a.reason.contains("round 1") { return true }
                    return false
                }
                XCTAssertTrue(alert, "\(payload): an alert names \(client) and round 1")
                XCTAssertEqual(recorder.clientMetrics(round: 1, client: client)?.status, .failed, payload)
            }
            for event in recorder.events {
                XCTAssertNotEqual(event.jsonLine, "{}")
                XCTAssertTrue(event.jsonLine.contains("\"type\":\"\(event.type)\""), event.jsonLine)
            }
        }
    }

    /// One hostile client sending NaN does not stop the others: the round aggregates them.
    func testOneNaNReplyIsRejectedAndTheOthersAggregate() throws {
        let scenario = try EngineTestSupport.scenario(clients: clients, rounds: 1)
        let recorder = EngineTestSupport.Recorder()
        let pilot = try PilotBuilder.build(scenario, sink: recorder.record)
        let hostile = NaNTransport(inner: pilot.transport, poisoned: "b")
        let coordinator = try Coordinator(scenario: scenario, base: pilot.coordinator.base, transport: hostile,
                                          trainCounts: pilot.coordinator.trainCounts, sink: recorder.record)
        coordinator.run()
        let round = try XCTUnwrap(recorder.completedRounds.first)
        XCTAssertEqual(round.aggregated, ["a", "c"])
        XCTAssertTrue(coordinator.global.values.allSatisfy(\.isFinite))
        XCTAssertEqual(recorder.clientMetrics(round: 1, client: "b")?.status, .failed)
    }

    /// Reply checks: every non-finite field is refused, naming the client and the round.
    func testReplyCheckNamesTheField() {
        var reply = RoundReply(client: "x", round: 3, delta: [1, .nan, 2], updateNorm: 1, exampleCount: 1, steps: 1, tokens: 1,
                               lossStart: 1, lossEnd: 1, computeSeconds: 0)
        XCTAssertThrowsError(try reply.checkFinite()) { XCTAssertTrue("\($0)".contains("x in round 3: update value 1"), "\($0)") }
        reply.delta = [1, 2, 3]
        XCTAssertNoThrow(try reply.checkFinite())
        reply.lossEnd = .infinity
        XCTAssertThrowsError(try reply.checkFinite())
        reply.lossEnd = 1
        reply.updateNorm = .nan
        XCTAssertThrowsError(try reply.checkFinite())
        reply.updateNorm = 1
        reply.controlDelta = [.infinity]
        XCTAssertThrowsError(try reply.checkFinite())
        // No training steps: the losses are legitimately absent (NaN).
        let idle = RoundReply(client: "x", round: 3, delta: [0], updateNorm: 0, exampleCount: 1, steps: 0, tokens: 0,
                              lossStart: .nan, lossEnd: .nan, computeSeconds: 0)
        XCTAssertNoThrow(try idle.checkFinite())
    }

    /// JSON has no NaN: a non-finite metric is written as null, never as a bare `{}`.
    func testEventsWithNonFiniteNumbersStillSerialize() throws {
        var m = ClientRoundMetrics(client: "a", round: 2, status: .done)
        m.evalLoss = .nan
        m.updateNorm = .infinity
        let line = FederationEvent.clientUpdate(m).jsonLine
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(object["type"] as? String, "client_update")
        XCTAssertEqual(object["round"] as? Int, 2)
        XCTAssertTrue(object["eval_loss"] is NSNull)
        XCTAssertTrue(object["update_norm"] is NSNull)
        let rounds = FederationEvent.roundCompleted(RoundMetrics(
            round: 1, selected: [], aggregated: [], dropped: [], globalEvalLoss: .nan, baseEvalLoss: nil, bytesUp: 0, bytesDown: 0,
            wallSeconds: .infinity, simulatedSeconds: 0, strategy: "fedavg", updateNormMean: nil, domainEvalLoss: ["x": .nan]))
        XCTAssertTrue(rounds.jsonLine.contains("\"type\":\"round_completed\""), rounds.jsonLine)
    }
}

/// Forwards to an in-process transport, but one client's replies carry NaN (fp32 payload).
final class NaNTransport: ClientTransport, @unchecked Sendable {
    let inner: any ClientTransport
    let poisoned: String
    init(inner: any ClientTransport, poisoned: String) { self.inner = inner; self.poisoned = poisoned }

    func exchange(client: String, task: Data) throws -> Data {
        let answer = try inner.exchange(client: client, task: task)
        guard client == poisoned else { return answer }
        var reply = try RoundReply(decoding: answer)
        reply.delta[0] = .nan
        let sizes = [reply.delta.count]
        return reply.encoded(tensorSizes: sizes, as: .fp32)
    }
    func evaluate(client: String, request: Data) throws -> Double? { try inner.evaluate(client: client, request: request) }
    func secureAggregation(client: String, message: Data) throws -> Data { try inner.secureAggregation(client: client, message: message) }
    var parallelClients: Int { 1 }
    func withParallelCalls<T>(lanes: Int, _ body: () throws -> T) rethrows -> T { try body() }
}

/// An operator's drop that arrives while the client trains keeps its update out of the aggregate.
final class DropWhileTrainingTests: XCTestCase {
    func testADropDuringTrainingKeepsTheUpdateOut() throws {
        let clients = [("a", "clinical-hospital-a.jsonl"), ("b", "aml-alerts.jsonl"), ("c", "legal-clauses.jsonl")]
        let scenario = try EngineTestSupport.scenario(clients: clients, rounds: 2)
        let recorder = EngineTestSupport.Recorder()
        let pilot = try PilotBuilder.build(scenario, sink: recorder.record)
        let transport = HookTransport(inner: pilot.transport)
        let coordinator = try Coordinator(scenario: scenario, base: pilot.coordinator.base, transport: transport,
                                          trainCounts: pilot.coordinator.trainCounts, sink: recorder.record)
        transport.onExchange = { client in if client == "b" { coordinator.commands.send(.dropClient("b")) } }
        coordinator.run()
        let first = try XCTUnwrap(recorder.completedRounds.first)
        XCTAssertEqual(first.aggregated, ["a", "c"], "b trained in round 1, but the operator dropped it before aggregation")
        XCTAssertEqual(recorder.clientMetrics(round: 1, client: "b")?.status, .excluded)
        XCTAssertTrue(recorder.events.contains {
            if case .alert(let a) = $0 { return a.client == "b" && a.reason.contains("during round 1") } else { return false }
        })
        XCTAssertFalse(recorder.completedRounds[1].selected.contains("b"), "and it is not selected afterwards")
    }
}

/// Forwards to another transport and calls `onExchange` as each client starts training.
final class HookTransport: ClientTransport, @unchecked Sendable {
    let inner: any ClientTransport
    var onExchange: (String) -> Void = { _ in }
    init(inner: any ClientTransport) { self.inner = inner }
    func exchange(client: String, task: Data) throws -> Data {
        onExchange(client)
        return try inner.exchange(client: client, task: task)
    }
    func evaluate(client: String, request: Data) throws -> Double? { try inner.evaluate(client: client, request: request) }
    func secureAggregation(client: String, message: Data) throws -> Data { try inner.secureAggregation(client: client, message: message) }
}
