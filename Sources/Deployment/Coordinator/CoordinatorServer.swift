import Federation
import Llama
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import X509

/// The coordinator's listening gRPC server with mutual TLS. It runs on Swift concurrency's
/// threads; the coordinator itself keeps its own thread and reaches clients through `transport`.
public final class CoordinatorServer: @unchecked Sendable {
    public let transport: GRPCClientTransport
    private let server: GRPCServer<HTTP2ServerTransport.Posix>
    private let listener: HTTP2ServerTransport.Posix
    private var serving: Task<Void, any Error>?

    /// - Parameters:
    ///   - host, port: where to listen (port 0 picks a free one; see `start()`).
    ///   - tls: holds ca.pem, server.pem and server-key.pem.
    ///   - setup: the Setup message for a client id, nil for names outside the run.
    public init(host: String, port: Int, tls: TLSDirectory, transport: GRPCClientTransport, heartbeat: Double,
                setup: @escaping @Sendable (String) -> Fedpilot_Deployment_V1_Setup?) throws {
        self.transport = transport
        let caText = try tls.read(tls.caCertificate, what: "CA certificate")
        _ = try tls.read(tls.serverKey, what: "server key")
        let credentials = try tls.checkCoordinatorCredentials()
        let authority = try Certificate(pemEncoded: caText)
        let notify = transport.notify
        for c in credentials { notify(.credentials(actor: "coordinator", event: c.event, warning: c.warning)) }
        let verifier = PeerVerifier(authority: authority, tls: tls, notify: notify)
        let security = HTTP2ServerTransport.Posix.TransportSecurity.mTLS(
            certificateChain: [.file(path: tls.serverCertificate, format: .pem)],
            privateKey: .file(path: tls.serverKey, format: .pem)
        ) { config in
            config.trustRoots = .certificates([.file(path: tls.caCertificate, format: .pem)])
            config.clientCertificateVerification = .noHostnameVerification
            config.customVerificationCallback = { certificates, promise in verifier.verify(certificates, promise) }
        }
        var config = HTTP2ServerTransport.Posix.Config.defaults
        config.rpc.maxRequestPayloadSize = WireLimits.maxChunkBytes * 4
        config.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in
            HandshakeAuditHandler.install(on: channel, notify: notify)
        }
        listener = HTTP2ServerTransport.Posix(address: .ipv4(host: host, port: port), transportSecurity: security, config: config)
        server = GRPCServer(transport: listener,
                            services: [SessionService(transport: transport, setup: setup, heartbeat: heartbeat)])
    }

    /// Starts listening; returns the bound port.
    public func start() async throws -> Int {
        let server = self.server
        serving = Task { try await server.serve() }
        let address = try await listener.listeningAddress
        guard let port = address.ipv4?.port ?? address.ipv6?.port else {
            throw DeploymentError.badCredentials("the server bound to \(address), not an IP address")
        }
        return port
    }

    /// Tells every client the run is over and stops listening.
    public func stop(_ reason: String = "the run finished") async {
        transport.closeAll(reason)
        try? await Task.sleep(for: .milliseconds(300))   // let the notices reach the clients
        server.beginGracefulShutdown()
        _ = await serving?.result
    }
}

extension CoordinatorServer {
    /// A server for `scenario`: only its clients may join, and each receives its own part of
    /// the scenario as its Setup, with the identity of the model at `modelPath`.
    public static func forScenario(_ scenario: Scenario, modelPath: String, modelConfig: LlamaConfig, host: String, port: Int,
                                   tls: TLSDirectory, deadlines: GRPCClientTransport.Deadlines = .init(), heartbeat: Double = 5,
                                   completedRounds: Int = 0,
                                   notify: @escaping @Sendable (TransportNotice) -> Void) throws -> CoordinatorServer {
        let identity = WireModelIdentity(path: modelPath, config: modelConfig, fingerprint: try ModelFingerprint.compute(path: modelPath))
        let transport = GRPCClientTransport(clients: scenario.clients.map(\.id), deadlines: deadlines, notify: notify)
        return try CoordinatorServer(host: host, port: port, tls: tls, transport: transport, heartbeat: heartbeat) { id in
            SetupCoding.setup(for: id, scenario: scenario, model: identity, heartbeat: heartbeat, completedRounds: completedRounds)
        }
    }
}
