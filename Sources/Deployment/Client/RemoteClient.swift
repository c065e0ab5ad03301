import Federation
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Llama
import SecureAggregation

/// A client process of a network deployment (`fedpilot join`): it dials the coordinator with
/// its certificate, joins, builds its trainer from the Setup on its own data and model, and
/// answers requests until the run finishes. When the connection drops it reconnects with
/// exponential backoff. Raw text never leaves the process: only encoded replies do.
public final class RemoteClient: @unchecked Sendable {
    public struct Options: Sendable {
        public var host: String
        public var port: Int
        public var tls: TLSDirectory
        /// The client's name: selects client-NAME.pem in the TLS directory.
        public var name: String
        public var dataPath: String
        /// The data file's format; nil takes the one the scenario names for this client.
        public var format: DataFormat?
        /// The base model; nil uses the built-in test model when the run uses it, else the default path.
        public var modelPath: String?
        public var defaultModelPath: String
        /// Give up after this many seconds without a working session.
        public var retryFor: Double = 600
        public var maxBackoff: Double = 8
        /// Test hook: wait this long before answering each round task.
        public var hold: Double = 0
        /// Test hook: send every reply twice (the coordinator must refuse the second as a replay).
        public var testOnlyReplayReplies = false
        public init(host: String, port: Int, tls: TLSDirectory, name: String, dataPath: String, format: DataFormat? = nil,
                    modelPath: String? = nil, defaultModelPath: String) {
            self.host = host; self.port = port; self.tls = tls; self.name = name; self.dataPath = dataPath
            self.format = format; self.modelPath = modelPath; self.defaultModelPath = defaultModelPath
        }
    }

    /// Why the client stopped.
    public enum Outcome: Sendable, Equatable {
        /// The coordinator said the run is over.
        case finished(String)
        /// The coordinator refused this client for good (identity, version, model).
        case refused(String)
        /// No working session for `retryFor` seconds.
        case gaveUp(String)
    }

    let options: Options
    let onEvent: @Sendable (ClientEvent) -> Void
    private var model: (path: String, engine: EngineModel, fingerprint: String)?
    private var built: (setup: Fedpilot_Deployment_V1_Setup, worker: RequestWorker)?
    private var sessions = 0

    public init(options: Options, onEvent: @escaping @Sendable (ClientEvent) -> Void) {
        self.options = options
        self.onEvent = onEvent
    }

    /// Connects, serves, reconnects; returns when the run is over or the client gives up.
    public func run() async -> Outcome {
        var attempt = 0
        var lastSuccess = Date()
        while true {
            attempt += 1
            onEvent(.connecting(attempt: attempt))
            let end = await runSession()
            switch end {
            case .finished(let why): onEvent(.finished(reason: why)); return .finished(why)
            case .refused(let why): onEvent(.finished(reason: why)); return .refused(why)
            case .lost(let why, let hadSession):
                if hadSession { lastSuccess = Date(); attempt = 1 }
                if Date().timeIntervalSince(lastSuccess) > options.retryFor {
                    let reason = "no session for \(Int(options.retryFor)) s; last error: \(why)"
                    onEvent(.finished(reason: reason))
                    return .gaveUp(reason)
                }
                let wait = min(options.maxBackoff, 0.5 * pow(2, Double(min(attempt - 1, 6)))) * Double.random(in: 0.8...1.2)
                onEvent(.disconnected(reason: why, retryIn: wait))
                try? await Task.sleep(for: .seconds(wait))
            }
        }
    }

    enum SessionEnd { case finished(String), refused(String), lost(String, hadSession: Bool) }

    /// Reason text of a gRPC error, without the type's decoration.
    static func describe(_ error: any Error) -> String {
        if let rpc = error as? RPCError {
            return "\(rpc.code): \(rpc.message)" + (rpc.cause.map { " (\(describe($0)))" } ?? "")
        }
        if let runtime = error as? RuntimeError {
            return runtime.message + (runtime.cause.map { " (\(describe($0)))" } ?? "")
        }
        return "\(error)"
    }

    private func security() -> HTTP2ClientTransport.Posix.TransportSecurity {
        let tls = options.tls, name = options.name
        return .mTLS(certificateChain: [.file(path: tls.clientCertificate(name), format: .pem)],
                     privateKey: .file(path: tls.clientKey(name), format: .pem)) { config in
            config.trustRoots = .certificates([.file(path: tls.caCertificate, format: .pem)])
            config.serverCertificateVerification = .fullVerification
        }
    }

    /// An IP address is dialled as such (and checked against the certificate's IP name, since
    /// TLS may not carry an IP as server name); anything else is resolved by DNS.
    private func target() -> any ResolvableTarget {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, options.host, &v4) == 1 { return .ipv4(address: options.host, port: options.port) }
        if inet_pton(AF_INET6, options.host, &v6) == 1 { return .ipv6(address: options.host, port: options.port) }
        return .dns(host: options.host, port: options.port)
    }

    private func runSession() async -> SessionEnd {
        let state = SessionState()
        do {
            let transport = try HTTP2ClientTransport.Posix(target: target(), transportSecurity: security())
            try await withGRPCClient(transport: transport) { grpc in
                let stub = Fedpilot_Deployment_V1_Coordinator.Client(wrapping: grpc)
                let (outbound, send) = AsyncStream.makeStream(of: ClientMessage.self)
                var callOptions = CallOptions.defaults
                callOptions.waitForReady = false
                try await stub.session(options: callOptions, requestProducer: { writer in
                    try await writer.write(self.joinMessage())
                    for await message in outbound { try await writer.write(message) }
                }) { response in
                    defer { send.finish() }
                    try await self.serve(response.messages, send: send, state: state)
                }
            }
        } catch {
            if let end = state.end { return end }
            let text = Self.describe(error)
            if let rpc = error as? RPCError, [.permissionDenied, .unauthenticated, .failedPrecondition].contains(rpc.code) {
                return .refused(text)
            }
            return .lost(text, hadSession: state.joined)
        }
        return state.end ?? .lost("the coordinator ended the session", hadSession: state.joined)
    }

    /// What one session learned, shared between its tasks.
    final class SessionState: @unchecked Sendable {
        private let lock = NSLock()
        private var _end: SessionEnd?
        private var _joined = false
        private var _heard = Date()
        private var _heartbeat = 1.0
        private var _configured = false
        private var _busy = false
        var heartbeat: Double { lock.withLock { _heartbeat } }
        /// The Setup arrived: heartbeats flow from then on, also while the trainer is built.
        var configured: Bool { lock.withLock { _configured } }
        /// Loading the model or data: messages wait unread, so silence proves nothing.
        var busy: Bool { lock.withLock { _busy } }
        func configure(heartbeat s: Double) { lock.withLock { _heartbeat = max(0.05, s); _configured = true } }
        func setBusy(_ b: Bool) { lock.withLock { _busy = b; _heard = Date() } }
        var end: SessionEnd? { lock.withLock { _end } }
        var joined: Bool { lock.withLock { _joined } }
        var heard: Date { lock.withLock { _heard } }
        func set(_ e: SessionEnd) { lock.withLock { if _end == nil { _end = e } } }
        func markJoined() { lock.withLock { _joined = true } }
        func markHeard() { lock.withLock { _heard = Date() } }
    }

    private func joinMessage() -> ClientMessage {
        var m = ClientMessage()
        m.join.protocolVersion = WireLimits.protocolVersion
        m.join.software = "fedpilot"
        m.join.capabilities = ["round_task", "evaluation", "secure_aggregation", "label_score", "generation_score"]
        // Counts only (the coordinator weights evaluation losses by them); the split's sizes do not depend on its seed.
        let known = options.format ?? built.flatMap { DataFormat(rawValue: $0.setup.dataFormat) }
        let formats = known.map { [$0] } ?? DataFormat.allCases
        if let examples = formats.lazy.compactMap({ try? DataLoader.load(path: self.options.dataPath, format: $0) }).first {
            let split = ClientDataset.split(examples, validationFraction: built?.setup.evaluation.validationFraction ?? 0.2, seed: 0)
            m.join.trainExamples = UInt32(split.train.count)
            m.join.validationExamples = UInt32(split.validation.count)
        }
        m.join.reconnects = UInt32(sessions)
        return m
    }

    /// Reads the coordinator's messages until the session ends; heartbeats run beside.
    private func serve(_ messages: RPCAsyncSequence<CoordinatorMessage, any Error>,
                       send: AsyncStream<ClientMessage>.Continuation, state: SessionState) async throws {
        let box = IteratorBox(messages.makeAsyncIterator())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.beat(send: send, state: state) }
            group.addTask {
                var assembling: [UInt64: ChunkAssembler] = [:]
                while let message = try await box.next() {
                    state.markHeard()
                    switch message.kind {
                    case .setup(let setup):
                        let began = Date()
                        try await self.apply(setup, state: state)
                        var ready = ClientMessage()
                        ready.ready.seconds = Date().timeIntervalSince(began)
                        send.yield(ready)
                    case .request(let chunk):
                        if assembling[chunk.requestID] == nil { assembling[chunk.requestID] = try ChunkAssembler(first: chunk) }
                        guard let payload = try assembling[chunk.requestID]!.add(chunk) else { continue }
                        assembling[chunk.requestID] = nil
                        self.dispatch(chunk, payload: payload, send: send)
                    case .notice(let notice):
                        self.onEvent(.notice(code: notice.code, message: notice.message))
                        if notice.code == "run_finished" { state.set(.finished(notice.message)) }
                    case .heartbeat, nil: break
                    }
                }
                if state.end == nil { state.set(.lost("the coordinator closed the session", hadSession: state.joined)) }
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Sends heartbeats once joined; fails the session when the coordinator is silent for three intervals.
    private func beat(send: AsyncStream<ClientMessage>.Continuation, state: SessionState) async throws {
        var sequence: UInt64 = 0
        while true {
            let seconds = state.heartbeat
            try await Task.sleep(for: .seconds(seconds))
            guard state.configured else { continue }
            let silent = Date().timeIntervalSince(state.heard)
            if !state.busy, silent > 3 * seconds {
                state.set(.lost("no message from the coordinator for \(Int(silent)) s", hadSession: true))
                throw DeploymentError.disconnected("coordinator silent")
            }
            sequence += 1
            var m = ClientMessage()
            m.heartbeat.sentAt = Date().timeIntervalSince1970
            m.heartbeat.sequence = sequence
            send.yield(m)
        }
    }

    /// Builds (or reuses) the trainer for a Setup, after checking the model matches.
    private func apply(_ setup: Fedpilot_Deployment_V1_Setup, state: SessionState) async throws {
        guard setup.protocolVersion == WireLimits.protocolVersion else {
            state.set(.refused("the coordinator speaks protocol version \(setup.protocolVersion), this client \(WireLimits.protocolVersion)"))
            throw DeploymentError.mismatch("protocol version")
        }
        sessions += 1
        state.configure(heartbeat: setup.heartbeatSeconds)
        state.setBusy(true)
        defer { state.setBusy(false) }
        if built?.setup != setup {
            let path = options.modelPath ?? (setup.model.name == "tiny" ? "tiny" : options.defaultModelPath)
            let compute = try SetupCoding.compute(from: setup)
            if model?.path != path || (model?.engine.model.frozenGemm == .int8) != (compute == .int8) {
                onEvent(.loadingModel(path: path))
                let loaded = try await RequestWorker.run {
                    (try EngineModel.load(path: path, compute: compute), try ModelFingerprint.compute(path: path))
                }
                model = (path, loaded.0, loaded.1)
            }
            let local = WireModelIdentity(path: path, config: model!.engine.model.config, fingerprint: model!.fingerprint)
            if let difference = setup.model.difference(from: local) {
                state.set(.refused(difference))
                throw DeploymentError.mismatch(difference)
            }
            let format = options.format ?? DataFormat(rawValue: setup.dataFormat) ?? .jsonlText
            let data = try DataLoader.load(path: options.dataPath, format: format)
            let settings = try SetupCoding.settings(from: setup, dataPath: options.dataPath, format: format)
            let engine = model!.engine
            let endpoint = try await RequestWorker.run { try PilotBuilder.buildClient(settings, examples: data, model: engine) }
            let onEvent = self.onEvent
            endpoint.secureAudit = { event in onEvent(.keyEvent(name: event.name, fields: event.fields)) }
            built = (setup, RequestWorker(endpoint: endpoint, hold: options.hold))
        }
        state.markJoined()
        onEvent(.joined(client: setup.clientID, scenario: setup.scenario, session: sessions))
    }

    private func dispatch(_ chunk: WireChunk, payload: Data, send: AsyncStream<ClientMessage>.Continuation) {
        guard let worker = built?.worker else { return }
        let id = chunk.requestID, kind = chunk.kind, round = Int(chunk.round)
        let label = kind.label, onEvent = self.onEvent, replay = options.testOnlyReplayReplies
        onEvent(.request(kind: label, round: round, bytes: payload.count))
        let began = Date()
        worker.answer(kind: kind, payload: payload, reply: { data in
            for _ in 0..<(replay ? 2 : 1) {
                for piece in makeChunks(requestID: id, kind: kind, round: round, payload: data) {
                    var m = ClientMessage()
                    m.reply = piece
                    send.yield(m)
                }
            }
            onEvent(.answered(kind: label, round: round, bytes: data.count, seconds: Date().timeIntervalSince(began)))
        }, fail: { reason in
            var m = ClientMessage()
            m.failure.requestID = id
            m.failure.reason = reason
            send.yield(m)
            onEvent(.failed(kind: label, round: round, reason: reason))
        })
    }
}
