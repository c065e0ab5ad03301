import Foundation
@testable import Federation

/// Builds small pilots on the tiny byte-level model and the shipped data.
enum EngineTestSupport {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func data(_ name: String) -> String { root.appendingPathComponent("data/\(name)").path }

    /// A tiny-model scenario with the given clients (id, data file) and extra TOML.
    static func scenario(clients: [(String, String)], rounds: Int = 2, extra: String = "", strategy: String = "fedavg",
                         payload: String = "fp32") throws -> Scenario {
        var toml = """
        name = "engine-test"
        seed = 7
        rounds = \(rounds)
        payload = "\(payload)"
        [model]
        path = "tiny"
        [lora]
        rank = 4
        alpha = 8.0
        targets = "all"
        [training]
        steps = 2
        batch_size = 2
        sequence_length = 32
        learning_rate = 1e-2
        [evaluation]
        max_examples_per_client = 4
        [strategy]
        name = "\(strategy)"

        """
        for (id, file) in clients {
            toml += """
            [[clients]]
            id = "\(id)"
            domain = "test"
            data = "\(data(file))"

            """
        }
        return try ScenarioLoader.parse(toml + extra, path: "engine-test.toml")
    }

    /// Collects events thread-safely.
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [FederationEvent] = []
        var events: [FederationEvent] { lock.lock(); defer { lock.unlock() }; return list }
        func record(_ e: FederationEvent) { lock.lock(); list.append(e); lock.unlock() }

        func clientMetrics(round: Int, client: String) -> ClientRoundMetrics? {
            events.compactMap { if case .clientUpdate(let m) = $0, m.round == round, m.client == client { return m } else { return nil } }.last
        }
        var completedRounds: [RoundMetrics] {
            events.compactMap { if case .roundCompleted(let m) = $0 { return m } else { return nil } }
        }
    }
}
