import Federation
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import XCTest
@testable import Deployment

/// A coordinator over gRPC with mutual TLS, four honest clients (one of which replays its
/// replies), and a series of refused connections and messages while the run goes on: no client
/// certificate, a certificate from another CA, a name outside the scenario, a wrong protocol
/// version, an oversized chunk. Each gets a clear error and an audit notice; the run completes.
final class RefusalTests: XCTestCase {
    func testRefusalsAreClearAndTheRunGoesOn() async throws {
        FileManager.default.changeCurrentDirectoryPath(repositoryRoot.path)
        let honest = ["hospital-a", "hospital-b", "law-firm", "support"]
        let tls = try makeCredentials("refusals", clients: honest + ["probe", "mallory"])
        let foreign = try makeCredentials("foreign", clients: ["hospital-a"])
        var scenario = try ScenarioLoader.load(path: "scenarios/tiny-deploy.toml")
        scenario.clients.append(ClientSpec(id: "probe", domain: "test", data: .file(path: "data/legal-clauses.jsonl", format: .jsonlText)))
        let model = try EngineModel.load(path: "tiny")
        let notices = NoticeLog()
        let server = try CoordinatorServer.forScenario(
            scenario, modelPath: "tiny", modelConfig: model.model.config, host: "127.0.0.1", port: 0, tls: tls,
            // Heartbeat 2 s (a session ends after 6 s of silence): with 1 s, the clean-clone CI of
            // 2026-12-05 10:34 lost all three honest clients in the base evaluation ("no message
            // from the client for 3 s"; in-process clients share the two cooperative threads).
            deadlines: .init(roundTask: 20, evaluation: 20, secureAggregation: 10), heartbeat: 2, notify: notices.add)
        let port = try await server.start()

        // The honest clients; "support" sends every reply twice.
        let supportEvents = EventLog()
        var clientTasks: [Task<RemoteClient.Outcome, Never>] = []
        for name in honest {
            guard var options = tinyClientOptions(scenario.clients.first { $0.id == name }!, port: port, tls: tls) else { continue }
            options.hold = name == "law-firm" ? 0.4 : 0
            options.testOnlyReplayReplies = name == "support"
            let keep = name == "support"
            let client = RemoteClient(options: options) { event in if keep { supportEvents.add(event) } }
            clientTasks.append(Task { await client.run() })
        }
        for _ in 0..<300 where server.transport.ready.count < honest.count { try await Task.sleep(for: .milliseconds(100)) }
        XCTAssertEqual(server.transport.ready, honest.sorted())

        let events = EventCollector()
        let coordinator = try Coordinator(scenario: scenario, base: model.model, transport: server.transport,
                                          trainCounts: server.transport.trainCounts, sink: events.add)
        let run = Task { await withCheckedContinuation { c in Thread.detachNewThread { c.resume(returning: coordinator.run()) } } }

        // No client certificate: the TLS handshake fails.
        await assertRefused(port: port, security: .tls { c in
            c.trustRoots = .certificates([.file(path: tls.caCertificate, format: .pem)])
        }) { _ in }
        let noCertificateRefused = await notices.waitFor { _ in notices.refusals.contains { $0.contains("no client certificate") } }
        XCTAssertTrue(noCertificateRefused, "\(notices.refusals)")

        // A certificate from another CA, for a name the scenario knows.
        await assertRefused(port: port, security: security(foreign, "hospital-a", trusting: tls)) { _ in }
        let foreignCARefused = await notices.waitFor { _ in notices.refusals.contains { $0.contains("certificate refused") } }
        XCTAssertTrue(foreignCARefused, "\(notices.refusals)")

        // A valid certificate whose name is not in the scenario.
        let mallory = await assertRefused(port: port, security: security(tls, "mallory", trusting: tls)) { writer in
            try await writer.write(Self.join(version: WireLimits.protocolVersion))
        }
        XCTAssertEqual(mallory?.code, .permissionDenied)
        XCTAssertTrue(mallory?.message.contains("'mallory' is not a client of this run") == true, "\(String(describing: mallory))")

        // Another protocol version.
        let version = await assertRefused(port: port, security: security(tls, "probe", trusting: tls)) { writer in
            try await writer.write(Self.join(version: 99))
        }
        XCTAssertEqual(version?.code, .failedPrecondition)
        XCTAssertTrue(version?.message.contains("protocol version 99 is not supported") == true, "\(String(describing: version))")

        // A chunk over the 1 MiB limit ends that session only.
        let oversized = await assertRefused(port: port, security: security(tls, "probe", trusting: tls)) { writer in
            try await writer.write(Self.join(version: WireLimits.protocolVersion))
            try await Task.sleep(for: .milliseconds(300))
            var m = ClientMessage()
            m.reply.requestID = 1
            m.reply.kind = .roundTask
            m.reply.count = 3
            m.reply.totalBytes = 3 << 20
            m.reply.data = Data(count: 2 << 20)
            try await writer.write(m)
            try await Task.sleep(for: .seconds(2))
        }
        XCTAssertEqual(oversized?.code, .invalidArgument)
        XCTAssertTrue(oversized?.message.contains("exceeds the 1048576-byte limit") == true, "\(String(describing: oversized))")

        let result = await run.value
        XCTAssertEqual(result.rounds, 3)
        XCTAssertFalse(result.stopped)
        let completed = events.roundsCompleted
        XCTAssertEqual(completed.map(\.round), [1, 2, 3], "\(events.problems)")
        for round in completed { XCTAssertGreaterThanOrEqual(round.aggregated.count, 3, "round \(round.round): \(round.aggregated)") }

        // Replays: the coordinator refused each second copy, and told the client so.
        XCTAssertTrue(notices.refusals.contains { $0.contains("replayed submission") }, "\(notices.refusals)")
        XCTAssertTrue(supportEvents.notices.contains { $0.hasPrefix("rejected_submission: replayed submission") }, "\(supportEvents.notices)")

        await server.stop()
        for task in clientTasks {
            let outcome = await task.value
            XCTAssertEqual(outcome, .finished("the run finished"))
        }
    }

    static func join(version: UInt32) -> ClientMessage {
        var m = ClientMessage()
        m.join.protocolVersion = version
        m.join.software = "test"
        return m
    }

    func security(_ holder: TLSDirectory, _ name: String, trusting ca: TLSDirectory) -> HTTP2ClientTransport.Posix.TransportSecurity {
        .mTLS(certificateChain: [.file(path: holder.clientCertificate(name), format: .pem)],
              privateKey: .file(path: holder.clientKey(name), format: .pem)) { c in
            c.trustRoots = .certificates([.file(path: ca.caCertificate, format: .pem)])
        }
    }

    /// Opens a session, runs `script`, and returns the error that ended it (failing the test if none did).
    @discardableResult
    func assertRefused(port: Int, security: HTTP2ClientTransport.Posix.TransportSecurity,
                       file: StaticString = #filePath, line: UInt = #line,
                       _ script: @escaping @Sendable (RPCWriter<ClientMessage>) async throws -> Void) async -> RPCError? {
        do {
            let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: security)
            try await withGRPCClient(transport: transport) { grpc in
                let stub = Fedpilot_Deployment_V1_Coordinator.Client(wrapping: grpc)
                var options = CallOptions.defaults
                options.waitForReady = false
                options.timeout = .seconds(10)
                try await stub.session(options: options, requestProducer: script) { response in
                    for try await _ in response.messages {}
                }
            }
            XCTFail("the session was not refused", file: file, line: line)
            return nil
        } catch let error as RPCError {
            return error
        } catch {
            return RPCError(code: .unknown, message: "\(error)")
        }
    }
}

/// Events of a coordinator run, for assertions.
final class EventCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [FederationEvent] = []
    func add(_ e: FederationEvent) { lock.withLock { events.append(e) } }
    var all: [FederationEvent] { lock.withLock { events } }
    var roundsCompleted: [RoundMetrics] {
        lock.withLock { events.compactMap { if case .roundCompleted(let m) = $0 { return m } else { return nil } } }
    }
    /// Failed rounds' and alerts' reasons, for failure messages.
    var problems: [String] {
        lock.withLock {
            events.compactMap {
                switch $0 {
                case .roundFailed(let r, let reason): return "round \(r) failed: \(reason)"
                case .alert(let a): return "alert r\(a.round) \(a.client ?? "-"): \(a.reason)"
                default: return nil
                }
            }
        }
    }
}
