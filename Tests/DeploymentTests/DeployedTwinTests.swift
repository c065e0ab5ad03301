import Federation
import Foundation
import XCTest
@testable import Deployment

/// A run over gRPC trains and scores as the same run in process: here with int8 compute,
/// `train_on = "label"`, a domain's label prompt template and calibrated label scoring, which a
/// deployed client knows only from its Setup message.
final class DeployedTwinTests: XCTestCase {
    func testADeployedRunWithLabelTrainingMatchesItsInProcessTwin() async throws {
        FileManager.default.changeCurrentDirectoryPath(repositoryRoot.path)
        let directory = try temporaryDirectory("twin")
        let path = (directory as NSString).appendingPathComponent("twin.toml")
        try Self.scenario.write(toFile: path, atomically: true, encoding: .utf8)
        let scenario = try ScenarioLoader.load(path: path)
        XCTAssertEqual(scenario.compute, .int8)
        let model = try EngineModel.load(path: "tiny", compute: scenario.compute)

        // In process.
        let local = EventCollector()
        let pilot = try PilotBuilder.build(scenario, model: model, parallelClients: 1, sink: local.add)
        _ = pilot.coordinator.run()

        // Over gRPC with mutual TLS, each client reading only its own file.
        let names = scenario.clients.map(\.id)
        let tls = try makeCredentials("twin", clients: names)
        let server = try CoordinatorServer.forScenario(
            scenario, modelPath: "tiny", modelConfig: model.model.config, host: "127.0.0.1", port: 0, tls: tls,
            deadlines: .init(roundTask: 60, evaluation: 60, secureAggregation: 10), heartbeat: 1, notify: { _ in })
        let port = try await server.start()
        var clients: [Task<RemoteClient.Outcome, Never>] = []
        for spec in scenario.clients {
            guard let options = tinyClientOptions(spec, port: port, tls: tls) else { continue }
            let client = RemoteClient(options: options) { _ in }
            clients.append(Task { await client.run() })
        }
        for _ in 0..<300 where server.transport.ready.count < names.count { try await Task.sleep(for: .milliseconds(100)) }
        XCTAssertEqual(server.transport.ready, names.sorted())
        let remote = EventCollector()
        let coordinator = try Coordinator(scenario: scenario, base: model.model, transport: server.transport,
                                          trainCounts: server.transport.trainCounts, sink: remote.add)
        _ = await withCheckedContinuation { c in Thread.detachNewThread { c.resume(returning: coordinator.run()) } }
        await server.stop()
        for task in clients { _ = await task.value }

        let (a, b) = (try XCTUnwrap(local.roundsCompleted.last), try XCTUnwrap(remote.roundsCompleted.last))
        XCTAssertEqual(remote.roundsCompleted.count, 1, "\(remote.problems)")
        XCTAssertEqual(b.aggregated, a.aggregated)
        let accuracy = try XCTUnwrap(a.globalTaskAccuracy, "the in-process run scored the task")
        XCTAssertEqual(b.globalTaskAccuracy, accuracy)
        XCTAssertEqual(b.baseTaskAccuracy, a.baseTaskAccuracy)
        XCTAssertEqual(try XCTUnwrap(b.globalEvalLoss), try XCTUnwrap(a.globalEvalLoss), accuracy: 1e-9)
        // The clients' own training losses: label rows (a few tokens learned each) are not text rows.
        let localLosses = local.clientUpdates.mapValues(\.localLossStart)
        let remoteLosses = remote.clientUpdates.mapValues(\.localLossStart)
        XCTAssertEqual(Set(localLosses.keys), Set(names))
        for name in names {
            XCTAssertEqual(try XCTUnwrap(remoteLosses[name] ?? nil), try XCTUnwrap(localLosses[name] ?? nil), accuracy: 1e-9, name)
        }
    }

    /// Two desks on the labelled tickets, one with its domain's template; absolute data paths.
    static var scenario: String {
        let data = repositoryRoot.appendingPathComponent("data/support-tickets.jsonl").path
        return """
        name = "twin"
        seed = 5
        rounds = 1

        [model]
        path = "tiny"
        compute = "int8"

        [lora]
        rank = 4
        alpha = 8.0
        targets = ["q", "v"]

        [training]
        steps = 2
        batch_size = 2
        sequence_length = 32
        learning_rate = 2e-3
        train_on = "label"

        [evaluation]
        max_examples_per_client = 3
        task_examples = 3
        label_context_tokens = 24
        label_calibration = true
        labels = ["access", "billing", "bug", "feature_request", "outage"]

        [[clients]]
        id = "desk-a"
        domain = "support"
        data = "\(data)"

        [[clients]]
        id = "desk-b"
        domain = "escalations"
        data = "\(data)"

        [label_prompts]
        escalations = "{text}\\nCategory:"
        """
    }
}

extension EventCollector {
    /// Each client's last `client_update`.
    var clientUpdates: [String: ClientRoundMetrics] {
        var out: [String: ClientRoundMetrics] = [:]
        for case .clientUpdate(let m) in all { out[m.client] = m }
        return out
    }
}
