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
}

/// Clients living in this process (the embedded default and the test harness).
public final class InProcessTransport: ClientTransport, @unchecked Sendable {
    public let clients: [String: SimulatedClient]

    public init(clients: [SimulatedClient]) {
        self.clients = Dictionary(uniqueKeysWithValues: clients.map { ($0.spec.id, $0) })
    }

    private let lock = NSLock()
    private var merged: (request: Data, model: LlamaModel)?

    public func exchange(client: String, task: Data) throws -> Data {
        guard let c = clients[client] else { throw TransportError.unknownClient(client) }
        return try c.handle(task: task)
    }

    /// Every in-process client shares the base model, so the adapter is merged into
    /// it once per request and each client scores its own validation batch.
    public func evaluate(client: String, request: Data) throws -> Double? {
        guard let c = clients[client] else { throw TransportError.unknownClient(client) }
        lock.lock()
        defer { lock.unlock() }
        if merged?.request != request {
            let decoded = try EvaluationRequest(decoding: request)
            merged = (request, try c.mergedModel(decoded.global))
        }
        return try c.evaluate(with: merged!.model)
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
