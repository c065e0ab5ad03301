import Federation
import Foundation

/// The coordinator's side of a network deployment: a `ClientTransport` that relays each
/// request to the named client's live gRPC session and waits, up to the request kind's
/// deadline, for its answer. A client that is not connected, disconnects, or misses the
/// deadline makes the call throw, which the coordinator counts as that client failing or
/// dropping out of the round.
public final class GRPCClientTransport: ClientTransport, @unchecked Sendable {
    /// How long each kind of request may take before the client counts as gone.
    public struct Deadlines: Sendable, Equatable {
        public var roundTask: Double
        public var evaluation: Double
        public var secureAggregation: Double
        public init(roundTask: Double = 600, evaluation: Double = 300, secureAggregation: Double = 60) {
            self.roundTask = roundTask; self.evaluation = evaluation; self.secureAggregation = secureAggregation
        }
    }

    public let clients: [String]
    public var deadlines: Deadlines
    /// Clients asked to train or evaluate at once. Each client computes on its own machine, so
    /// by default every selected client works in parallel; a lower number spares a coordinator
    /// whose clients share one host.
    public var parallelClients: Int
    let notify: @Sendable (TransportNotice) -> Void
    private let condition = NSCondition()
    private var sessions: [String: ClientSession] = [:]
    private var sessionCounts: [String: Int] = [:]
    private var counts: [String: (train: Int, validation: Int)] = [:]
    /// Ids answered or abandoned per client, to refuse replays and late answers.
    private var answered: [String: Set<UInt64>] = [:]
    private var abandoned: [String: Set<UInt64>] = [:]
    private var nextID: UInt64
    private var currentRound = 0

    /// - Parameters:
    ///   - clients: the scenario's client ids; no other name may join.
    ///   - notify: receives joins, departures and refusals (from any thread).
    public init(clients: [String], deadlines: Deadlines = .init(), notify: @escaping @Sendable (TransportNotice) -> Void = { _ in }) {
        self.clients = clients
        self.deadlines = deadlines
        self.parallelClients = max(1, clients.count)
        self.notify = notify
        // Ids of different coordinator runs differ, so an answer meant for a previous run is never taken for a new request.
        nextID = UInt64.random(in: 1..<(1 << 40)) << 20
    }

    // MARK: ClientTransport

    public func exchange(client: String, task: Data) throws -> Data {
        let round = (try? RoundTask.round(of: task)) ?? currentRoundValue
        setRound(round)
        return try request(client, kind: .roundTask, round: round, payload: task, timeout: deadlines.roundTask)
    }

    public func evaluate(client: String, request payload: Data) throws -> Double? {
        let answer = try request(client, kind: .evaluation, round: round(ofEvaluation: payload), payload: payload, timeout: deadlines.evaluation)
        return try LossCoding.decode(answer)
    }

    /// The client's confusion counts, checked against the labels asked for and the validation
    /// examples it announced when it joined.
    public func scoreLabels(client: String, request payload: Data, labels: [String]) throws -> TaskScore? {
        let answer = try request(client, kind: .labelScore, round: round(ofEvaluation: payload),
                                 payload: LabelScoreRequest(evaluation: payload, labels: labels).encoded(), timeout: deadlines.evaluation)
        return answer.isEmpty ? nil : try TaskScore(decoding: answer, labels: labels, examples: validationCount(client))
    }

    public func scoreGeneration(client: String, request payload: Data) throws -> GenerationScore? {
        let answer = try request(client, kind: .generationScore, round: round(ofEvaluation: payload), payload: payload, timeout: deadlines.evaluation)
        return answer.isEmpty ? nil : try GenerationScore(decoding: answer, examples: validationCount(client))
    }

    /// The round an evaluation request is for (the current one if it cannot be read; the client
    /// then refuses the request).
    private func round(ofEvaluation payload: Data) -> Int {
        (try? EvaluationRequest.round(of: payload)) ?? currentRoundValue
    }

    private func validationCount(_ client: String) -> Int { condition.withLock { counts[client]?.validation ?? 0 } }

    public func secureAggregation(client: String, message: Data) throws -> Data {
        try request(client, kind: .secureAggregation, round: currentRoundValue, payload: message, timeout: deadlines.secureAggregation)
    }

    // MARK: Clients

    /// Clients with a live session.
    public var connected: [String] {
        condition.withLock { sessions.filter { $0.value.isOpen }.keys.sorted() }
    }

    /// Training-example counts the clients reported when they joined (counts only, no text).
    public var trainCounts: [String: Int] {
        condition.withLock { counts.mapValues(\.train) }
    }

    /// Training and validation counts per joined client.
    public var exampleCounts: [String: (train: Int, validation: Int)] {
        condition.withLock { counts }
    }

    /// Blocks until `count` clients are connected and ready (their trainers built), or `timeout`
    /// seconds pass; returns those ready.
    public func waitForClients(_ count: Int, timeout: Double) -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while sessions.values.filter(\.isReady).count < count {
            if !condition.wait(until: deadline) { break }
        }
        return sessions.filter { $0.value.isReady }.keys.sorted()
    }

    /// Clients whose trainers are built and that take requests.
    public var ready: [String] {
        condition.withLock { sessions.filter { $0.value.isReady }.keys.sorted() }
    }

    /// Marks a session ready and wakes those waiting for clients.
    func markReady(_ session: ClientSession) {
        session.markReady()
        condition.withLock { condition.broadcast() }
    }

    /// Ends every session (when the run is over), telling each client why.
    public func closeAll(_ reason: String, code: String = "run_finished") {
        let all = condition.withLock { Array(sessions.values) }
        for session in all {
            var m = CoordinatorMessage()
            m.notice.code = code
            m.notice.message = reason
            session.send(m)
            session.close(reason)
        }
    }

    // MARK: Sessions (used by the gRPC service)

    /// Opens a session for an authenticated client, replacing (and ending) an older one.
    func open(client: String, peer: String, train: Int, validation: Int) -> ClientSession {
        let (session, old) = condition.withLock { () -> (ClientSession, ClientSession?) in
            sessionCounts[client, default: 0] += 1
            let session = ClientSession(client: client, peer: peer, number: sessionCounts[client]!)
            let old = sessions[client]
            sessions[client] = session
            counts[client] = (train, validation)
            condition.broadcast()
            return (session, old)
        }
        old?.close("replaced by a new session from \(peer)")
        notify(.joined(client: client, peer: peer, session: session.number))
        return session
    }

    /// Ends a session and forgets it unless a newer one replaced it.
    func close(_ session: ClientSession, reason: String) {
        let wasOpen = session.isOpen
        session.close(reason)
        condition.withLock {
            if sessions[session.client] === session { sessions[session.client] = nil }
            condition.broadcast()
        }
        if wasOpen { notify(.left(client: session.client, reason: reason)) }
    }

    /// Why an answer with no waiting request is refused.
    func refusal(client: String, id: UInt64, round: Int) -> String {
        condition.withLock {
            if answered[client]?.contains(id) == true {
                return "replayed submission: request \(id) (round \(round)) was already answered"
            }
            if abandoned[client]?.contains(id) == true {
                return "late submission: request \(id) (round \(round)) passed its deadline"
            }
            return "submission for unknown request \(id) (round \(round))"
        }
    }

    func markAnswered(client: String, id: UInt64) {
        condition.withLock { _ = answered[client, default: []].insert(id) }
    }

    // MARK: Requests

    private var currentRoundValue: Int { condition.withLock { currentRound } }
    private func setRound(_ r: Int) { condition.withLock { currentRound = r } }

    private func request(_ client: String, kind: RequestKind, round: Int, payload: Data, timeout: Double) throws -> Data {
        let (session, id) = try condition.withLock { () -> (ClientSession, UInt64) in
            guard clients.contains(client) else { throw TransportError.unknownClient(client) }
            guard let s = sessions[client], s.isOpen else {
                throw DeploymentError.disconnected("client '\(client)' is not connected")
            }
            nextID += 1
            return (s, nextID)
        }
        let pending = PendingRequest(id: id, kind: kind, round: round)
        try session.start(pending, payload: payload)
        guard let result = pending.wait(until: Date().addingTimeInterval(timeout)) else {
            session.abandon(id)
            condition.withLock { _ = abandoned[client, default: []].insert(id) }
            throw DeploymentError.deadlineExceeded(
                "client '\(client)' did not answer the \(kind.label) of round \(round) within \(Int(timeout)) s")
        }
        if case .success = result { markAnswered(client: client, id: id) }
        return try result.get()
    }
}
