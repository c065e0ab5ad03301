import ArgumentParser
import Deployment
import Federation
import Foundation

/// `fedpilot bench transport`: the same scenario in-process and over gRPC with mutual TLS on
/// loopback (clients in this process, each with its own trainer), and the per-round difference.
struct BenchTransport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transport",
        abstract: "Time rounds in-process and over gRPC + mutual TLS on loopback; prints the overhead.",
        discussion: "Every client needs its own data file (partitioned scenarios are not supported here).")
    @Argument(help: "A scenario file (TOML).") var scenario: String = "scenarios/tiny-deploy.toml"
    @Option(help: "Override the number of rounds.") var rounds: Int?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let loaded = try ScenarioLoader.load(path: scenario, overrides: ScenarioOverrides(rounds: rounds))
            let model = try EngineModel.load(path: loaded.modelPath)
            let inProcess = try Self.inProcess(loaded, model: model)
            let networked = try Self.overGRPC(loaded, model: model)
            let mean = { (xs: [Double]) in xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }
            let result: [String: Any] = [
                "scenario": loaded.name, "clients": loaded.clients.count, "rounds": loaded.rounds,
                "in_process_round_seconds": mean(inProcess.rounds), "grpc_round_seconds": mean(networked.rounds),
                "overhead_round_seconds": mean(networked.rounds) - mean(inProcess.rounds),
                "in_process_rounds": inProcess.rounds, "grpc_rounds": networked.rounds,
                "in_process_total_seconds": inProcess.total, "grpc_total_seconds": networked.total,
                "bytes_per_round": inProcess.bytes,
            ]
            if json { try printJSON(result); return }
            print(String(format: "%@: %d clients, %d rounds", loaded.name, loaded.clients.count, loaded.rounds))
            print(String(format: "  in-process   %.3f s/round (%.2f s total)", mean(inProcess.rounds), inProcess.total))
            print(String(format: "  gRPC + mTLS  %.3f s/round (%.2f s total)", mean(networked.rounds), networked.total))
            print(String(format: "  overhead     %+.1f ms/round, %d bytes moved per round", 1000 * (mean(networked.rounds) - mean(inProcess.rounds)), inProcess.bytes))
        }
    }

    typealias Timing = (rounds: [Double], total: Double, bytes: Int)

    static func timing(_ events: [FederationEvent], total: Double) -> Timing {
        let completed = events.compactMap { e -> RoundMetrics? in if case .roundCompleted(let m) = e { return m } else { return nil } }
        return (completed.map(\.wallSeconds), total, completed.first.map { $0.bytesUp + $0.bytesDown } ?? 0)
    }

    static func inProcess(_ scenario: Scenario, model: EngineModel) throws -> Timing {
        let events = EventList()
        let pilot = try PilotBuilder.build(scenario, model: model, sink: events.add)
        let began = Date()
        pilot.coordinator.run()
        return timing(events.all, total: Date().timeIntervalSince(began))
    }

    static func overGRPC(_ scenario: Scenario, model: EngineModel) throws -> Timing {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedpilot-bench-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let tls = TLSDirectory(path: dir)
        try tls.initialize()
        try tls.issue(.server(host: "127.0.0.1"))
        for c in scenario.clients { try tls.issue(.client(name: c.id)) }
        let server = try CoordinatorServer.forScenario(scenario, modelPath: scenario.modelPath, modelConfig: model.model.config,
                                                       host: "127.0.0.1", port: 0, tls: tls) { _ in }
        let port = try blocking { try await server.start() }
        var tasks: [Task<RemoteClient.Outcome, Never>] = []
        for spec in scenario.clients {
            guard case .file(let path, let format) = spec.data else {
                throw ValidationError("client \(spec.id) draws a partition; bench transport needs each client's own data file")
            }
            let options = RemoteClient.Options(host: "127.0.0.1", port: port, tls: tls, name: spec.id, dataPath: path, format: format,
                                               modelPath: scenario.modelPath, defaultModelPath: scenario.modelPath)
            let client = RemoteClient(options: options) { _ in }
            tasks.append(Task { await client.run() })
        }
        let joined = server.transport.waitForClients(scenario.clients.count, timeout: 300)
        guard joined.count == scenario.clients.count else { throw ValidationError("only \(joined.count) clients joined") }
        let events = EventList()
        let coordinator = try Coordinator(scenario: scenario, base: model.model, transport: server.transport,
                                          trainCounts: server.transport.trainCounts, sink: events.add)
        let began = Date()
        coordinator.run()
        let total = Date().timeIntervalSince(began)
        try blocking { await server.stop() }
        for task in tasks { _ = try blocking { await task.value } }
        return timing(events.all, total: total)
    }
}

/// Events collected in order.
final class EventList: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [FederationEvent] = []
    func add(_ e: FederationEvent) { lock.withLock { events.append(e) } }
    var all: [FederationEvent] { lock.withLock { events } }
}
