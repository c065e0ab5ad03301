// The server-side state of a strategy, for saving after a round and restoring on resume.

/// A strategy's buffers: named server vectors (FedAvgM's velocity, the adaptive optimizers'
/// moments, SCAFFOLD's server control), per-client vectors (SCAFFOLD's c_i) and the clients
/// seen so far. Empty for the stateless strategies.
public struct StrategyState: Sendable, Equatable {
    public var vectors: [String: [Float]]
    public var clientVectors: [String: [Float]]
    public var clients: [String]

    public init(vectors: [String: [Float]] = [:], clientVectors: [String: [Float]] = [:], clients: [String] = []) {
        self.vectors = vectors; self.clientVectors = clientVectors; self.clients = clients
    }

    public static let empty = StrategyState()
    public var isEmpty: Bool { vectors.isEmpty && clientVectors.isEmpty && clients.isEmpty }
}

/// A saved strategy state that does not fit the strategy it is restored into.
public struct StrategyStateError: Error, CustomStringConvertible, Equatable {
    /// The state's field at fault (`second_moment`, `client_control[bank]`, ...).
    public var field: String
    public var reason: String
    public var description: String { "\(field): \(reason)" }
}

extension AggregationStrategy {
    /// The state to save after a round (empty for stateless strategies).
    public var savedState: StrategyState {
        switch self {
        case let s as FedAvgMStrategy:
            return s.velocity.isEmpty ? .empty : StrategyState(vectors: ["velocity": s.velocity])
        case let s as AdaptiveFedOptStrategy:
            return s.firstMoment.isEmpty ? .empty
                : StrategyState(vectors: ["first_moment": s.firstMoment, "second_moment": s.secondMoment])
        case let s as ScaffoldStrategy:
            var vectors: [String: [Float]] = [:]
            if !s.serverControl.isEmpty { vectors["server_control"] = s.serverControl }
            return StrategyState(vectors: vectors, clientVectors: s.clientControls, clients: s.seenClients.sorted())
        default:
            return .empty
        }
    }

    /// This strategy with `state` restored; every vector must have `dimension` values.
    public func restoring(_ state: StrategyState, dimension d: Int) throws -> any AggregationStrategy {
        func vector(_ name: String) throws -> [Float] {
            guard let v = state.vectors[name] else {
                throw StrategyStateError(field: name, reason: "missing (the \(kind.rawValue) state needs it)")
            }
            guard v.count == d else {
                throw StrategyStateError(field: name, reason: "has \(v.count) values, the global adapter has \(d)")
            }
            return v
        }
        func only(_ names: Set<String>, clients allowed: Bool) throws {
            if let extra = Set(state.vectors.keys).subtracting(names).sorted().first {
                throw StrategyStateError(field: extra, reason: "is not part of the \(kind.rawValue) state")
            }
            if !allowed, let c = (state.clientVectors.keys.sorted().first ?? state.clients.first) {
                throw StrategyStateError(field: "client_control[\(c)]", reason: "is not part of the \(kind.rawValue) state")
            }
        }
        switch self {
        case var s as FedAvgMStrategy:
            try only(["velocity"], clients: false)
            if !state.isEmpty { s.velocity = try vector("velocity") }
            return s
        case var s as AdaptiveFedOptStrategy:
            try only(["first_moment", "second_moment"], clients: false)
            if !state.isEmpty {
                s.firstMoment = try vector("first_moment")
                s.secondMoment = try vector("second_moment")
            }
            return s
        case var s as ScaffoldStrategy:
            try only(["server_control"], clients: true)
            if !state.vectors.isEmpty { s.serverControl = try vector("server_control") }
            for (client, c) in state.clientVectors where c.count != d {
                throw StrategyStateError(field: "client_control[\(client)]", reason: "has \(c.count) values, the global adapter has \(d)")
            }
            s.clientControls = state.clientVectors
            s.seenClients = Set(state.clients)
            return s
        default:
            try only([], clients: false)
            return self
        }
    }
}
