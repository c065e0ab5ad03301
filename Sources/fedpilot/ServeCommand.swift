import ArgumentParser
import Dashboard
import Deployment
import Federation
import Foundation
import Journal
import Llama

/// `fedpilot serve SCENARIO`: the coordinator of a real deployment, over gRPC with mutual TLS.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Coordinate a pilot whose clients join over the network (gRPC, mutual TLS).",
        discussion: """
        Clients run `fedpilot join` and authenticate with certificates from `fedpilot certs`; only the \
        scenario's client ids are admitted. The run starts once every client joined (or --wait-for of \
        them), or after --join-timeout seconds if the scenario's minimum is there. A client that \
        disconnects or misses a deadline drops out of that round; it may rejoin later.
        \(PilotExit.help)
        """)
    @Argument(help: "A scenario file (TOML).") var scenario: String
    @Option(help: "Address to listen on, HOST:PORT.") var listen: String = "0.0.0.0:7070"
    @Option(help: "Directory with ca.pem, server.pem and server-key.pem.") var tlsDir: String
    @Flag(help: "Print events as JSON lines instead of opening the dashboard.") var headless = false
    @Flag(help: "Print a readable progress log instead of opening the dashboard.") var plain = false
    @Option(help: "Override the number of rounds.") var rounds: Int?
    @Option(help: "Override the scenario's seed.") var seed: UInt64?
    @Option(help: "Record the run in this SQLite journal.") var journal: String?
    @Option(help: "Resume a killed run from its journal, after its last completed round.") var resume: String?
    @Option(help: "Start once this many clients joined (default: all of the scenario's).") var waitFor: Int?
    @Option(help: "Seconds to wait for clients before starting with those there.") var joinTimeout: Double = 300
    @Option(help: "Seconds between heartbeats; a peer silent for three is gone.") var heartbeat: Double = 5
    @Option(help: "Seconds a client may take for a round's local training.") var taskTimeout: Double = 600
    @Option(help: "Seconds a client may take to evaluate.") var evalTimeout: Double = 300
    @Option(help: "Seconds a client may take for one secure-aggregation phase.") var secaggTimeout: Double = 60
    @Flag(help: "Open the dashboard paused.") var paused = false
    @Option(help: "Clients asked to train or evaluate at once (default: every selected client; lower it when clients share a host).")
    var parallelClients: Int?

    func run() throws {
        let exit: PilotExit = try reportingErrors {
            let address = try parseHostPort(listen, option: "--listen")
            guard heartbeat > 0, taskTimeout > 0, evalTimeout > 0, secaggTimeout > 0, joinTimeout >= 0 else {
                throw ValidationError("--heartbeat and the timeouts must be positive")
            }
            if let n = parallelClients, n < 1 { throw ValidationError("--parallel-clients must be at least 1, got \(n)") }
            let loaded = try ScenarioLoader.load(path: scenario, overrides: ScenarioOverrides(rounds: rounds, seed: seed))
            let model = try EngineModel.load(path: loaded.modelPath, compute: loaded.compute)
            let opened = try PilotJournal.open(scenario: loaded, scenarioPath: scenario, journal: journal, resume: resume, model: model)
            let output = PilotOutput(headless: headless, plain: plain, paused: paused)
            let driver = PilotDriver(loaded, journal: opened, output: output)
            let wanted = min(waitFor ?? loaded.clients.count, loaded.clients.count)
            let minimum = max(1, loaded.selection.minimumClients)
            let deadlines = GRPCClientTransport.Deadlines(roundTask: taskTimeout, evaluation: evalTimeout, secureAggregation: secaggTimeout)
            let round = RoundTracker(opened.startRound)
            let journal = opened.journal
            let sink = driver.sink
            let log = !output.usesDashboard
            let server = try CoordinatorServer.forScenario(
                loaded, modelPath: loaded.modelPath, modelConfig: model.model.config, host: address.host, port: address.port,
                tls: TLSDirectory(path: tlsDir), deadlines: deadlines, heartbeat: heartbeat, completedRounds: opened.startRound
            ) { notice in
                Self.report(notice, round: round.value, sink: sink, journal: journal, log: log)
            }
            if let n = parallelClients { server.transport.parallelClients = n }
            let port = try blocking { try await server.start() }
            defer { try? blocking { await server.stop() } }
            if log { FileHandle.standardError.write(Data("fedpilot serve: listening on \(address.host):\(port) with mutual TLS; waiting for \(wanted) of \(loaded.clients.count) clients\n".utf8)) }
            let tracked: EventSink = { event in
                if case .roundStarted(let r, _) = event { round.value = r }
                sink(event)
            }
            let coordinator = try Coordinator(scenario: loaded, base: model.model, transport: server.transport, trainCounts: [:],
                                              start: opened.start, startRound: opened.startRound, sink: tracked)
            let transport = server.transport
            return try driver.run(coordinator) { [joinTimeout] in
                let joined = transport.waitForClients(wanted, timeout: joinTimeout)
                coordinator.trainCounts = transport.trainCounts
                if joined.count < minimum {
                    FileHandle.standardError.write(Data("fedpilot serve: only \(joined.count) of \(loaded.clients.count) clients joined within \(Int(joinTimeout)) s; the scenario needs \(minimum)\n".utf8))
                    coordinator.commands.send(.stop)
                }
            }
        }
        try exit.throwUnlessCompleted()
    }

    /// Shows a transport notice to the operator and records it in the journal's audit trail.
    static func report(_ notice: TransportNotice, round: Int, sink: EventSink, journal: RunJournal?, log: Bool) {
        if log { FileHandle.standardError.write(Data("fedpilot serve: \(notice.description)\n".utf8)) }
        switch notice {
        case .joined(let client, let peer, let session):
            journal?.recordSecurity(round: round, actor: client, action: "joined from \(peer) (session \(session))", applied: true)
            sink(.alert(.make(round: round, client: client, severity: .info, reason: notice.description)))
        case .left(let client, _):
            sink(.alert(.make(round: round, client: client, severity: .warning, reason: notice.description)))
        case .rejected(let peer, let identity, let reason):
            journal?.recordSecurity(round: round, actor: identity ?? "unauthenticated", action: "refused from \(peer): \(reason)", applied: false)
            sink(.alert(.make(round: round, client: nil, severity: .warning, reason: notice.description)))
        case .credentials(let actor, let event, let warning):
            // Certificates in use go to the audit trail only; warnings and rotations are also shown as alerts.
            if let rotation = rotation(event, journal: journal) {
                journal?.recordSecurity(round: round, actor: actor, action: rotation, applied: true)
                if log { FileHandle.standardError.write(Data("fedpilot serve: \(rotation)\n".utf8)) }
                sink(.alert(.make(round: round, client: nil, severity: .info, reason: rotation)))
            }
            journal?.recordSecurity(round: round, actor: actor, action: (warning ? "warning: " : "") + event, applied: true)
            if warning {
                sink(.alert(.make(round: round, client: actor == "coordinator" ? nil : actor, severity: .warning, reason: notice.description)))
            }
        }
    }

    /// When a resumed run's server certificate is not the one its journal last recorded: a line
    /// saying it was rotated (`fedpilot certs rotate --server`), with both serials.
    static func rotation(_ event: String, journal: RunJournal?) -> String? {
        let prefix = "server certificate serial "
        guard event.hasPrefix(prefix), let journal,
              let last = try? journal.auditTrail().last(where: { $0.actor == "coordinator" && $0.action.hasPrefix(prefix) }) else { return nil }
        func serial(_ s: String) -> Substring { s.dropFirst(prefix.count).prefix { $0 != " " } }
        guard serial(last.action) != serial(event) else { return nil }
        return "server certificate rotated: serial \(serial(last.action)) replaced by \(serial(event))"
    }
}

/// The round in progress, for notices raised on the transport's threads.
final class RoundTracker: @unchecked Sendable {
    private let lock = NSLock()
    private var round: Int
    init(_ r: Int) { round = r }
    var value: Int {
        get { lock.withLock { round } }
        set { lock.withLock { round = newValue } }
    }
}
