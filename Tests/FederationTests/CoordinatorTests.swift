import Foundation
import Llama
import XCTest
@testable import Federation

/// The coordinator on the tiny model: rounds, metrics, commands, faults and strategies.
final class CoordinatorTests: XCTestCase {
    let threeClients = [("hospital-a", "clinical-hospital-a.jsonl"), ("bank", "aml-alerts.jsonl"), ("legal", "legal-clauses.jsonl")]

    func testRoundsTrainAggregateEvaluateAndLowerTheLoss() throws {
        let scenario = try EngineTestSupport.scenario(clients: threeClients, rounds: 4)
        let recorder = EngineTestSupport.Recorder()
        let pilot = try PilotBuilder.build(scenario, sink: recorder.record)
        let result = pilot.coordinator.run()
        XCTAssertEqual(result.rounds, 4)
        let rounds = recorder.completedRounds
        XCTAssertEqual(rounds.map(\.round), [1, 2, 3, 4])
        let first = rounds.first!.globalEvalLoss!, last = rounds.last!.globalEvalLoss!
        XCTAssertLessThan(last, first, "global eval loss should fall: \(rounds.map { $0.globalEvalLoss! })")
        for client in threeClients.map(\.0) {
            let m = try XCTUnwrap(recorder.clientMetrics(round: 4, client: client))
            XCTAssertEqual(m.status, .done)
            XCTAssertNotNil(m.evalLoss)
            XCTAssertGreaterThan(m.qualityDeltaBase!, 0, "\(client) improves on the base model")
            XCTAssertGreaterThan(m.updateNorm!, 0)
            XCTAssertNotNil(m.cosineToOthers)
            XCTAssertNotNil(m.drift)
            XCTAssertGreaterThan(m.bytesUp, 0)
            XCTAssertEqual(m.bytesDown, m.bytesUp + (m.bytesDown - m.bytesUp))
        }
        // Bytes are the encoded payload sizes: fp32, so at least 4 bytes per parameter.
        let parameters = pilot.coordinator.global.parameterCount
        XCTAssertGreaterThanOrEqual(rounds[0].bytesUp, 3 * 4 * parameters)
        XCTAssertEqual(recorder.events.last?.type, "run_finished")
    }

    func testInt8PayloadIsAQuarterOfFp32AndTrainsAlike() throws {
        var results: [PayloadEncoding: (Int, Double)] = [:]
        for payload in ["fp32", "fp16", "int8"] {
            let scenario = try EngineTestSupport.scenario(clients: threeClients, rounds: 2, payload: payload)
            let recorder = EngineTestSupport.Recorder()
            _ = try PilotBuilder.build(scenario, sink: recorder.record).coordinator.run()
            results[PayloadEncoding(rawValue: payload)!] = (recorder.completedRounds[0].bytesUp, recorder.completedRounds.last!.globalEvalLoss!)
        }
        let fp32 = results[.fp32]!, fp16 = results[.fp16]!, int8 = results[.int8]!
        XCTAssertLessThan(Double(fp16.0), 0.51 * Double(fp32.0))
        XCTAssertLessThan(Double(int8.0), 0.27 * Double(fp32.0))
        XCTAssertEqual(int8.1, fp32.1, accuracy: 0.01 * fp32.1, "int8 stays within 1% of fp32 eval loss")
    }

    /// FedAvg with one client equals that client's local training.
    func testFedAvgWithOneClientEqualsLocalTraining() throws {
        let scenario = try EngineTestSupport.scenario(clients: [("solo", "legal-clauses.jsonl")], rounds: 1)
        let pilot = try PilotBuilder.build(scenario, sink: { _ in })
        let start = pilot.coordinator.global
        pilot.coordinator.run()
        let client = pilot.transport.clients["solo"]!
        let local = client.trainer.train(from: start, examples: client.data.train.map { ClientWorker.tokenize($0, client.encoding) },
                                         steps: 2, seed: client.trainingSeed(round: 1))
        let difference = zip(pilot.coordinator.global.values, local.adapter.values).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(difference, 1e-6)
    }

    func testOperatorDropReadmitPauseAndStep() throws {
        let scenario = try EngineTestSupport.scenario(clients: threeClients, rounds: 3)
        let recorder = EngineTestSupport.Recorder()
        let pilot = try PilotBuilder.build(scenario, sink: recorder.record)
        let coordinator = pilot.coordinator
        coordinator.startPaused()
        coordinator.commands.send(.dropClient("bank"))
        coordinator.commands.send(.step)
        let done = expectation(description: "run finished")
        Thread.detachNewThread { coordinator.run(); done.fulfill() }
        // Exactly one round runs, then the coordinator waits, paused.
        try waitUntil { recorder.completedRounds.count == 1 && recorder.events.last == .phase(round: 1, .paused) }
        Thread.sleep(forTimeInterval: 0.3)
        XCTAssertEqual(recorder.completedRounds.count, 1)
        XCTAssertEqual(recorder.clientMetrics(round: 1, client: "bank")?.status, .excluded)
        coordinator.commands.send(.readmitClient("bank"))
        coordinator.commands.send(.resume)
        wait(for: [done], timeout: 60)
        XCTAssertEqual(recorder.completedRounds.count, 3)
        XCTAssertEqual(recorder.clientMetrics(round: 2, client: "bank")?.status, .done)
        let actions = recorder.events.compactMap { if case .operatorAction(_, let a, let applied) = $0 { return "\(a):\(applied)" } else { return nil } }
        XCTAssertEqual(actions, ["drop bank:true", "step one round:true", "readmit bank:true", "resume:true"])
    }

    func testStopEndsTheRunCleanly() throws {
        let scenario = try EngineTestSupport.scenario(clients: threeClients, rounds: 5)
        let recorder = EngineTestSupport.Recorder()
        let pilot = try PilotBuilder.build(scenario, sink: recorder.record)
        pilot.coordinator.commands.send(.stop)
        let result = pilot.coordinator.run()
        XCTAssertTrue(result.stopped)
        XCTAssertEqual(result.rounds, 0)
        guard case .runFinished(_, _, _, _, let stopped) = recorder.events.last! else { return XCTFail("no run_finished") }
        XCTAssertTrue(stopped)
    }

    func testFaultsDropAndFlagClients() throws {
        let extra = """
        [[faults]]
        client = "bank"
        kind = "dropout"
        from_round = 2
        to_round = 2
        [[faults]]
        client = "legal"
        kind = "corrupt_update"
        from_round = 1
        severity = 5.0
        """
        let scenario = try EngineTestSupport.scenario(clients: threeClients + [("hospital-b", "clinical-hospital-b.jsonl")], rounds: 2, extra: extra)
        let recorder = EngineTestSupport.Recorder()
        _ = try PilotBuilder.build(scenario, sink: recorder.record).coordinator.run()
        XCTAssertFalse(recorder.completedRounds[1].selected.contains("bank"), "an offline client is not selected")
        let alerts = recorder.events.compactMap { if case .alert(let a) = $0 { return a } else { return nil } }
        XCTAssertTrue(alerts.contains { $0.client == "legal" && $0.round == 1 }, "the sign-flipped, scaled update is flagged: \(alerts)")
        XCTAssertFalse(alerts.contains { $0.client == "hospital-a" && $0.reason.contains("norm") })
    }

    func testRobustStrategyRejectsTheCorruptClient() throws {
        let extra = """
        [[faults]]
        client = "legal"
        kind = "corrupt_update"
        from_round = 1
        severity = 20.0
        """
        let scenario = try EngineTestSupport.scenario(clients: threeClients + [("hospital-b", "clinical-hospital-b.jsonl")], rounds: 1,
                                                      extra: extra, strategy: "krum")
        let recorder = EngineTestSupport.Recorder()
        _ = try PilotBuilder.build(scenario, sink: recorder.record).coordinator.run()
        XCTAssertEqual(recorder.clientMetrics(round: 1, client: "legal")?.status, .rejected)
    }

    /// Waits for `condition`; a timeout is a failure (a pause regression must not pass as a skip).
    func waitUntil(timeout: TimeInterval = 60, file: StaticString = #filePath, line: UInt = #line, _ condition: () -> Bool) throws {
        let end = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > end {
                XCTFail("condition not reached in \(timeout) s", file: file, line: line)
                throw WaitTimedOut()
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }
}

struct WaitTimedOut: Error {}

/// Every strategy runs end to end in the engine.
final class StrategyEngineTests: XCTestCase {
    func testEveryStrategyCompletesRoundsOnTheTinyModel() throws {
        let clients = [("a", "clinical-hospital-a.jsonl"), ("b", "aml-alerts.jsonl"), ("c", "legal-clauses.jsonl"), ("d", "support-tickets.jsonl")]
        for kind in StrategyKind.allCases {
            let scenario = try EngineTestSupport.scenario(clients: clients, rounds: 2, strategy: kind.rawValue)
            let recorder = EngineTestSupport.Recorder()
            let result = try PilotBuilder.build(scenario, sink: recorder.record).coordinator.run()
            XCTAssertEqual(result.rounds, 2, kind.rawValue)
            XCTAssertEqual(recorder.completedRounds.count, 2, "\(kind.rawValue): \(recorder.events.filter { $0.type == "round_failed" })")
            XCTAssertNotNil(result.finalEvalLoss, kind.rawValue)
            XCTAssertTrue(recorder.completedRounds.allSatisfy { $0.strategy == kind.rawValue })
        }
    }
}
