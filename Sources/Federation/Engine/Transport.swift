import Foundation
import Llama

/// How the coordinator reaches clients. Payloads are encoded bytes both ways, so
/// the in-process simulation and a network deployment move exactly the same data.
public protocol ClientTransport: Sendable {
    /// Sends an encoded `RoundTask` to `client` and returns its encoded `RoundReply`.
    func exchange(client: String, task: Data) throws -> Data
    /// Sends an encoded `EvaluationRequest`; the client returns its mean validation loss
    /// (nil when it holds no validation data). Text stays with the client.
    func evaluate(client: String, request: Data) throws -> Double?
    /// Relays one encoded secure-aggregation message (`SecureAggregationRequest`) to
    /// `client` and returns its encoded answer.
    func secureAggregation(client: String, message: Data) throws -> Data
}

/// The client side of every exchange: what runs next to a client's data, in this process
/// (`SimulatedClient`) or in a client process of a network deployment.
public protocol ClientEndpoint: AnyObject, Sendable {
    var clientID: String { get }
    /// Runs one round's local training for an encoded `RoundTask`; returns the encoded `RoundReply`.
    func handle(task: Data) throws -> Data
    /// Scores the global adapter of an encoded `EvaluationRequest` on the local validation split.
    func evaluate(request: Data) throws -> Double?
    /// Answers one secure-aggregation message of the current round.
    func handle(secureAggregation message: Data) throws -> Data
}

/// Clients living in this process (the embedded default and the test harness).
public final class InProcessTransport: ClientTransport, @unchecked Sendable {
    public let clients: [String: SimulatedClient]

    public init(clients: [SimulatedClient]) {
        self.clients = Dictionary(uniqueKeysWithValues: clients.map { ($0.spec.id, $0) })
    }

    private let lock = NSLock()
    private var decoded: (request: Data, adapter: LoRAAdapter)?

    func client(_ id: String) throws -> SimulatedClient {
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
        lock.lock()
        defer { lock.unlock() }
        if decoded?.request != request {
            decoded = (request, try c.globalAdapter(EvaluationRequest(decoding: request).global))
        }
        return try c.evaluate(adapter: decoded!.adapter)
    }

    public func secureAggregation(client: String, message: Data) throws -> Data {
        try self.client(client).handle(secureAggregation: message)
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
