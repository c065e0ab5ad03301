import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import X509

/// The coordinator's gRPC service: authenticates each client by its certificate, reads its
/// Join, answers with its Setup, then runs the session (requests out, answers in, heartbeats
/// both ways) until the client leaves, breaks the protocol or falls silent.
struct SessionService: Fedpilot_Deployment_V1_Coordinator.SimpleServiceProtocol {
    let transport: GRPCClientTransport
    /// The Setup for a client id (nil: not a client of this run).
    let setup: @Sendable (String) -> Fedpilot_Deployment_V1_Setup?
    let heartbeat: Double

    func session(request: RPCAsyncSequence<Fedpilot_Deployment_V1_ClientMessage, any Error>,
                 response: RPCWriter<Fedpilot_Deployment_V1_CoordinatorMessage>,
                 context: ServerContext) async throws {
        let peer = context.remotePeer
        let name = try authenticate(context, peer: peer)
        let messages = IteratorBox(request.makeAsyncIterator())

        // Join first, within ten seconds.
        let first = try await withDeadline(seconds: 10, "no Join message within 10 s") { try await messages.next() }
        guard let first, case .join(let join)? = first.kind else {
            throw refuse(peer, name, .invalidArgument, "the first message of a session must be Join")
        }
        guard join.protocolVersion == WireLimits.protocolVersion else {
            throw refuse(peer, name, .failedPrecondition,
                         "protocol version \(join.protocolVersion) is not supported: this coordinator speaks version \(WireLimits.protocolVersion); run the same fedpilot release on both sides")
        }
        guard var setupMessage = setup(name) else {
            throw refuse(peer, name, .permissionDenied, "'\(name)' is not a client of this run")
        }
        let session = transport.open(client: name, peer: peer, train: Int(join.trainExamples), validation: Int(join.validationExamples))
        setupMessage.clientID = name
        var reply = CoordinatorMessage()
        reply.setup = setupMessage
        // Written before the session's tasks start: a client may half-close its request stream
        // right after Join, which ends the reading task at once and cancels the others, and its
        // Setup must not be lost in that race.
        try await response.write(reply)

        let outcome: SessionEnd
        do {
            outcome = try await withThrowingTaskGroup(of: SessionEnd.self) { group in
                group.addTask {  // to the client
                    for await message in session.outbound { try await response.write(message) }
                    return .closedByCoordinator
                }
                group.addTask { try await watch(session) }
                group.addTask {  // from the client
                    while let message = try await messages.next() {
                        session.heard()
                        try handle(message, session: session)
                    }
                    return .clientEnded
                }
                defer { group.cancelAll() }
                return try await group.next() ?? .clientEnded
            }
        } catch let error as DeploymentError {
            transport.close(session, reason: error.description)
            if case .protocolViolation(let reason) = error {
                transport.notify(.rejected(peer: peer, identity: name, reason: "protocol error: \(reason)"))
                throw RPCError(code: .invalidArgument, message: error.description)
            }
            throw RPCError(code: .unavailable, message: error.description)
        } catch {
            transport.close(session, reason: "connection lost: \(error)")
            throw error
        }
        switch outcome {
        case .clientEnded: transport.close(session, reason: "the client ended its session")
        case .closedByCoordinator: transport.close(session, reason: "session closed by the coordinator")
        }
    }

    enum SessionEnd { case clientEnded, closedByCoordinator }

    /// The client's name from its verified certificate; refuses clients without one.
    private func authenticate(_ context: ServerContext, peer: String) throws -> String {
        let tls = context.transportSpecific as? HTTP2ServerTransport.Posix.Context
        guard let certificate = tls?.peerCertificate else {
            throw refuse(peer, nil, .unauthenticated, "no client certificate: connect with the certificate `fedpilot certs issue --client NAME` wrote")
        }
        guard let name = certificate.commonName, !name.isEmpty else {
            throw refuse(peer, nil, .unauthenticated, "the client certificate names no client (no common name)")
        }
        guard transport.clients.contains(name) else {
            throw refuse(peer, name, .permissionDenied, "'\(name)' is not a client of this run")
        }
        return name
    }

    private func refuse(_ peer: String, _ identity: String?, _ code: RPCError.Code, _ reason: String) -> RPCError {
        transport.notify(.rejected(peer: peer, identity: identity, reason: reason))
        return RPCError(code: code, message: reason)
    }

    private func handle(_ message: ClientMessage, session: ClientSession) throws {
        switch message.kind {
        case .reply(let chunk):
            switch try session.receive(reply: chunk) {
            case .delivered(let id, _, _): transport.markAnswered(client: session.client, id: id)
            case .notPending(let id, let round):
                let reason = transport.refusal(client: session.client, id: id, round: round)
                transport.notify(.rejected(peer: session.peer, identity: session.client, reason: reason))
                var notice = CoordinatorMessage()
                notice.notice.code = "rejected_submission"
                notice.notice.message = reason
                session.send(notice)
            case .partial, .ignored: break
            }
        case .failure(let f):
            _ = session.receive(failure: f.requestID, reason: f.reason)
        case .heartbeat: break
        case .ready: transport.markReady(session)
        case .join: throw DeploymentError.protocolViolation("Join sent twice in one session")
        case nil: throw DeploymentError.protocolViolation("a message with no content")
        }
    }

    /// Sends heartbeats and ends the session when the client falls silent for three intervals.
    private func watch(_ session: ClientSession) async throws -> SessionEnd {
        var sequence: UInt64 = 0
        while true {
            try await Task.sleep(for: .seconds(heartbeat))
            let silent = Date().timeIntervalSince(session.lastHeard)
            if silent > 3 * heartbeat {
                throw DeploymentError.disconnected("no message from the client for \(Int(silent)) s")
            }
            sequence += 1
            var m = CoordinatorMessage()
            m.heartbeat.sentAt = Date().timeIntervalSince1970
            m.heartbeat.sequence = sequence
            session.send(m)
        }
    }
}

/// Hands the request stream's iterator to the reading task (only one task reads at a time).
final class IteratorBox<Base: AsyncIteratorProtocol>: @unchecked Sendable {
    private var base: Base
    init(_ base: Base) { self.base = base }
    func next() async throws -> Base.Element? { try await base.next() }
}

/// Runs `body`, failing with `reason` if it takes longer than `seconds`.
func withDeadline<T: Sendable>(seconds: Double, _ reason: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask { try await Task.sleep(for: .seconds(seconds)); return nil }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let value = first else {
            throw RPCError(code: .deadlineExceeded, message: reason)
        }
        return value
    }
}
