import Foundation
import Llama
import TensorMath

/// How the coordinator reaches clients. Payloads are encoded bytes both ways, so
/// the in-process simulation and a network deployment move exactly the same data.
public protocol ClientTransport: Sendable {
    /// Sends an encoded `RoundTask` to `client` and returns its encoded `RoundReply`.
    func exchange(client: String, task: Data) throws -> Data
    /// Sends an encoded `EvaluationRequest`; the client returns its mean validation loss
    /// (nil when it holds no validation data). Text stays with the client.
    func evaluate(client: String, request: Data) throws -> Double?
    /// The labels in `client`'s validation split (empty without labelled data), for the run's label set.
    func validationLabels(client: String) throws -> [String]
    /// Scores the adapter of an encoded `EvaluationRequest` on `client`'s labelled validation
    /// examples over the candidate `labels`: its confusion counts, nil without labelled data.
    func scoreLabels(client: String, request: Data, labels: [String]) throws -> TaskScore?
    /// Mean ROUGE-L F1 of the request's adapter generating on `client`'s instruction examples (nil: none, or not asked for).
    func scoreGeneration(client: String, request: Data) throws -> GenerationScore?
    /// How the reply to a round task reached the coordinator (see `SimulatedNetwork.swift`):
    /// a real transport reports it arrived, with the client's compute time; `SimulatedNetwork`
    /// applies the scenario's links, drawing upload losses from `draws`, the round's random stream.
    func delivery(of receipt: ReplyReceipt, draws: inout SeededRandom) -> Delivery
    /// Relays one encoded secure-aggregation message (`SecureAggregationRequest`) to
    /// `client` and returns its encoded answer.
    func secureAggregation(client: String, message: Data) throws -> Data
    /// The most `exchange` or `evaluate` calls the coordinator may have in flight at once
    /// (each for a different client). 1 means one client at a time.
    var parallelClients: Int { get }
    /// Runs `body`, during which up to `lanes` calls are in flight: in-process clients share
    /// this machine's cores, so each lane gets its share of the numeric threads.
    func withParallelCalls<T>(lanes: Int, _ body: () throws -> T) rethrows -> T
}

extension ClientTransport {
    /// Transports without label scoring report no task metrics. The network deployment scores
    /// labels but never asks a client which labels its data holds: its runs take the candidate
    /// labels from the scenario (`[evaluation] labels`).
    public func validationLabels(client: String) throws -> [String] { [] }
    public func scoreLabels(client: String, request: Data, labels: [String]) throws -> TaskScore? { nil }
    public func scoreGeneration(client: String, request: Data) throws -> GenerationScore? { nil }
    public var parallelClients: Int { 1 }
    public func withParallelCalls<T>(lanes: Int, _ body: () throws -> T) rethrows -> T { try body() }
}

/// The client side of every exchange: what runs next to a client's data, in this process
/// (`ClientWorker`) or in a client process of a network deployment.
public protocol ClientEndpoint: AnyObject, Sendable {
    var clientID: String { get }
    /// Runs one round's local training for an encoded `RoundTask`; returns the encoded `RoundReply`.
    func handle(task: Data) throws -> Data
    /// Scores the global adapter of an encoded `EvaluationRequest` on the local validation split.
    func evaluate(request: Data) throws -> Double?
    /// Answers one secure-aggregation message of the current round.
    func handle(secureAggregation message: Data) throws -> Data
    /// Answers an encoded `LabelScoreRequest` with its encoded `TaskScore` (empty: no labelled data).
    func scoreLabels(request: Data) throws -> Data
    /// Answers an encoded `EvaluationRequest` with its encoded `GenerationScore` (empty: none).
    func scoreGeneration(request: Data) throws -> Data
}

/// Clients living in this process (the embedded default and the test harness).
///
/// Clients can train at the same time, one per lane: with a lane per core and one numeric
/// thread per lane, small batches keep every core busy without the hand-over between
/// threads that splitting each product across cores costs.
public final class InProcessTransport: ClientTransport, @unchecked Sendable {
    public let clients: [String: ClientWorker]
    public let parallelClients: Int

    /// - Parameter parallelClients: clients that may train or evaluate at once (at least 1);
    ///   nil: one per core.
    public init(clients: [ClientWorker], parallelClients: Int? = nil) {
        self.clients = Dictionary(uniqueKeysWithValues: clients.map { ($0.spec.id, $0) })
        self.parallelClients = max(1, parallelClients ?? ComputeThreads.cores)
    }

    /// With several lanes, each gets its share of the numeric threads (`numeric / lanes`, at least one) until `body` returns.
    public func withParallelCalls<T>(lanes: Int, _ body: () throws -> T) rethrows -> T {
        guard lanes > 1 else { return try body() }
        let threads = ComputeThreads.numeric
        ComputeThreads.set(max(1, threads / lanes))
        defer { ComputeThreads.set(threads) }
        return try body()
    }

    private let lock = NSLock()
    private var decoded: (request: Data, adapter: LoRAAdapter)?

    func client(_ id: String) throws -> ClientWorker {
        guard let c = clients[id] else { throw TransportError.unknownClient(id) }
        return c
    }

    public func exchange(client: String, task: Data) throws -> Data {
        try self.client(client).handle(task: task)
    }

    /// Every in-process client shares the base model (and its packed weights); the request
    /// is decoded once and each client scores its own validation batch with the adapter.
    public func evaluate(client: String, request: Data) throws -> Double? {
        let c = try self.client(client)
        return try c.evaluate(adapter: decodedAdapter(request, for: c))
    }

    public func validationLabels(client: String) throws -> [String] { try self.client(client).labelScorer.validationLabels }

    public func scoreGeneration(client: String, request: Data) throws -> GenerationScore? {
        let c = try self.client(client)
        guard c.generationScorer != nil else { return nil }
        return try c.scoreGeneration(adapter: decodedAdapter(request, for: c))
    }

    public func scoreLabels(client: String, request: Data, labels: [String]) throws -> TaskScore? {
        try self.client(client).scoreLabels(adapter: decodedAdapter(request, for: self.client(client)), labels: labels)
    }

    public func secureAggregation(client: String, message: Data) throws -> Data {
        try self.client(client).handle(secureAggregation: message)
    }

    /// The adapter of an encoded `EvaluationRequest`, decoded once for all clients.
    private func decodedAdapter(_ request: Data, for c: ClientWorker) throws -> LoRAAdapter {
        try lock.withLock {
            if let d = decoded, d.request == request { return d.adapter }
            let adapter = try c.globalAdapter(EvaluationRequest(decoding: request).global)
            decoded = (request, adapter)
            return adapter
        }
    }
}

public enum TransportError: Error, CustomStringConvertible, Equatable {
    case unknownClient(String)
    public var description: String {
        switch self {
        case .unknownClient(let c): return "no client named '\(c)' is connected"
        }
    }
}
