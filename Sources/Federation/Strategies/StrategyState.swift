// The server-side state of a strategy, for saving after a round and restoring on resume.
// Each stateful strategy says what its state is (`savedState`, `restore(_:dimension:)`, in its
// own file); the stateless ones keep the defaults below.

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

    /// The vector `name`, which `strategy`'s state must have, with `dimension` values.
    public func vector(_ name: String, dimension: Int, strategy: StrategyKind) throws -> [Float] {
        guard let v = vectors[name] else {
            throw StrategyStateError(field: name, reason: "missing (the \(strategy.rawValue) state needs it)")
        }
        guard v.count == dimension else {
            throw StrategyStateError(field: name, reason: "has \(v.count) values, the global adapter has \(dimension)")
        }
        return v
    }

    /// Refuses vectors other than `names`, and per-client state unless `clients` allows it.
    public func check(only names: Set<String>, clients allowed: Bool, strategy: StrategyKind) throws {
        if let extra = Set(vectors.keys).subtracting(names).sorted().first {
            throw StrategyStateError(field: extra, reason: "is not part of the \(strategy.rawValue) state")
        }
        if !allowed, let c = (clientVectors.keys.sorted().first ?? clients.first) {
            throw StrategyStateError(field: "client_control[\(c)]", reason: "is not part of the \(strategy.rawValue) state")
        }
    }
}

/// A saved strategy state that does not fit the strategy it is restored into.
public struct StrategyStateError: Error, CustomStringConvertible, Equatable {
    /// The state's field at fault (`second_moment`, `client_control[bank]`, ...).
    public var field: String
    public var reason: String
    public var description: String { "\(field): \(reason)" }
}

extension AggregationStrategy {
    /// A stateless strategy saves nothing.
    public var savedState: StrategyState { .empty }

    /// A stateless strategy accepts only an empty state.
    public mutating func restore(_ state: StrategyState, dimension: Int) throws {
        try state.check(only: [], clients: false, strategy: kind)
    }

    /// This strategy with `state` restored; every vector must have `dimension` values.
    public func restoring(_ state: StrategyState, dimension: Int) throws -> any AggregationStrategy {
        var copy = self
        try copy.restore(state, dimension: dimension)
        return copy
    }
}
