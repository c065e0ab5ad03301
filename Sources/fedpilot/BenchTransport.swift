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
    @Option(help: "Runs of each kind, alternated (a shared machine's load shifts; medians resist it).") var repeats: Int = 3
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let loaded = try ScenarioLoader.load(path: scenario, overrides: ScenarioOverrides(rounds: rounds))
            let model = try EngineModel.load(path: loaded.modelPath, compute: loaded.compute)
            guard repeats > 0 else { throw ValidationError("--repeats must be positive") }
            var local: [Double] = [], remote: [Double] = [], bytes = 0
            for _ in 0..<repeats {
                let a = try Self.inProcess(loaded, model: model)
                let b = try Self.overGRPC(loaded, model: model)
                local += a.rounds
                remote += b.rounds
                bytes = a.bytes
            }
            let median = { (xs: [Double]) -> Double in
                let s = xs.sorted()
                return s.isEmpty ? 0 : s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
            }
            let result: [String: Any] = [
                "scenario": loaded.name, "clients": loaded.clients.count, "rounds": loaded.rounds, "repeats": repeats,
                "in_process_round_seconds_median": median(local), "grpc_round_seconds_median": median(remote),
                "in_process_round_seconds_min": local.min() ?? 0, "grpc_round_seconds_min": remote.min() ?? 0,
                "overhead_round_seconds_median": median(remote) - median(local),
                "overhead_round_seconds_min": (remote.min() ?? 0) - (local.min() ?? 0),
                "bytes_per_round": bytes, "load_average": ProcessStats.loadAverage,
            ]
            if json { try printJSON(result); return }
            print(String(format: "%@: %d clients, %d rounds x %d runs each (load average %.1f)", loaded.name, loaded.clients.count,
                         loaded.rounds, repeats, ProcessStats.loadAverage))
            print(String(format: "  in-process   median %.3f s/round, best %.3f", median(local), local.min() ?? 0))
            print(String(format: "  gRPC + mTLS  median %.3f s/round, best %.3f", median(remote), remote.min() ?? 0))
            print(String(format: "  overhead     %+.1f ms/round (median), %+.1f ms (best); %d bytes moved per round",
                         1000 * (median(remote) - median(local)), 1000 * ((remote.min() ?? 0) - (local.min() ?? 0)), bytes))
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
