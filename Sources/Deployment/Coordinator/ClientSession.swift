import Foundation

/// One client's live session on the coordinator: the stream of messages to send it, the
/// requests awaiting its answers and the answers being reassembled from chunks.
///
/// The session is bound to the name in the client's certificate; nothing the client sends
/// can change which client it speaks for.
final class ClientSession: @unchecked Sendable {
    let client: String
    let peer: String
    /// Sessions this client has opened in this run, this one included.
    let number: Int
    let outbound: AsyncStream<CoordinatorMessage>
    private let continuation: AsyncStream<CoordinatorMessage>.Continuation
    private let lock = NSLock()
    private var pending: [UInt64: PendingRequest] = [:]
    private var assembling: [UInt64: ChunkAssembler] = [:]
    private var discarding: Set<UInt64> = []
    private var closedReason: String?
    private(set) var lastHeard = Date()
    private var _ready = false

    /// The client said it built its trainer (requests sent before are answered after that).
    var isReady: Bool { lock.withLock { _ready && closedReason == nil } }
    func markReady() { lock.withLock { _ready = true } }

    init(client: String, peer: String, number: Int) {
        self.client = client
        self.peer = peer
        self.number = number
        let pair = AsyncStream.makeStream(of: CoordinatorMessage.self)
        outbound = pair.stream
        continuation = pair.continuation
    }

    var isOpen: Bool { lock.withLock { closedReason == nil } }

    func send(_ message: CoordinatorMessage) {
        continuation.yield(message)
    }

    /// Registers `request` and sends its chunks; throws when the session already ended.
    func start(_ request: PendingRequest, payload: Data) throws {
        try lock.withLock {
            if let reason = closedReason { throw DeploymentError.disconnected("client '\(client)' disconnected: \(reason)") }
            pending[request.id] = request
        }
        for chunk in makeChunks(requestID: request.id, kind: request.kind, round: request.round, payload: payload) {
            var m = CoordinatorMessage()
            m.request = chunk
            continuation.yield(m)
        }
    }

    /// Forgets a request whose deadline passed (a later answer to it is then refused as late).
    func abandon(_ id: UInt64) {
        lock.withLock {
            _ = pending.removeValue(forKey: id)
            _ = assembling.removeValue(forKey: id)
        }
    }

    /// Notes that the client was heard from.
    func heard() { lock.withLock { lastHeard = Date() } }

    /// What happened to a chunk of a reply.
    enum ReplyOutcome: Equatable {
        /// More chunks are expected.
        case partial
        /// The answer is complete and delivered to the waiting request.
        case delivered(id: UInt64, kind: RequestKind, round: Int)
        /// No request with this id is waiting: the caller decides why (replay, late, unknown).
        case notPending(id: UInt64, round: Int)
        /// Further chunks of a payload already refused.
        case ignored
    }

    /// Takes one chunk of a reply. Throws `protocolViolation` for a chunk that breaks the
    /// protocol (oversized, out of order, not matching its request); the session then ends.
    func receive(reply chunk: WireChunk) throws -> ReplyOutcome {
        try lock.withLock {
            if var assembler = assembling[chunk.requestID] {
                guard let data = try assembler.add(chunk) else {
                    assembling[chunk.requestID] = assembler
                    return .partial
                }
                assembling[chunk.requestID] = nil
                return deliver(chunk.requestID, data)
            }
            if discarding.contains(chunk.requestID) {
                guard chunk.data.count <= WireLimits.maxChunkBytes else {
                    throw DeploymentError.protocolViolation("chunk of \(chunk.data.count) bytes exceeds the \(WireLimits.maxChunkBytes)-byte limit")
                }
                if chunk.index + 1 >= chunk.count { discarding.remove(chunk.requestID) }
                return .ignored
            }
            guard let request = pending[chunk.requestID] else {
                guard chunk.data.count <= WireLimits.maxChunkBytes else {
                    throw DeploymentError.protocolViolation("chunk of \(chunk.data.count) bytes exceeds the \(WireLimits.maxChunkBytes)-byte limit")
                }
                if chunk.index + 1 < chunk.count { discarding.insert(chunk.requestID) }
                return .notPending(id: chunk.requestID, round: Int(chunk.round))
            }
            guard chunk.kind == request.kind, Int(chunk.round) == request.round, chunk.index == 0 else {
                throw DeploymentError.protocolViolation(
                    "the answer to request \(request.id) (\(request.kind.label), round \(request.round)) arrived as chunk \(chunk.index) of a \(chunk.kind.label) for round \(chunk.round)")
            }
            var assembler = try ChunkAssembler(first: chunk)
            guard let data = try assembler.add(chunk) else {
                assembling[chunk.requestID] = assembler
                return .partial
            }
            return deliver(chunk.requestID, data)
        }
    }

    /// Completes a waiting request with `data` (called under the lock).
    private func deliver(_ id: UInt64, _ data: Data) -> ReplyOutcome {
        guard let request = pending.removeValue(forKey: id) else { return .notPending(id: id, round: 0) }
        request.complete(.success(data))
        return .delivered(id: id, kind: request.kind, round: request.round)
    }

    /// The client said it could not handle a request.
    func receive(failure id: UInt64, reason: String) -> Bool {
        let request = lock.withLock { () -> PendingRequest? in
            assembling[id] = nil
            return pending.removeValue(forKey: id)
        }
        request?.complete(.failure(DeploymentError.clientFailed(reason)))
        return request != nil
    }

    /// Ends the session: every waiting request fails with `reason`, and the stream to the client ends.
    func close(_ reason: String) {
        let waiting = lock.withLock { () -> [PendingRequest] in
            guard closedReason == nil else { return [] }
            closedReason = reason
            defer { pending = [:]; assembling = [:] }
            return Array(pending.values)
        }
        for request in waiting {
            request.complete(.failure(DeploymentError.disconnected("client '\(client)' disconnected during a \(request.kind.label): \(reason)")))
        }
        continuation.finish()
    }
}
