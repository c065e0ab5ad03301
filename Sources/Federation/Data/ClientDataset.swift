import TensorMath

/// One client's examples, split into what it trains on and what it is evaluated on.
public struct ClientDataset: Sendable, Equatable {
    public var train: [TextExample]
    public var validation: [TextExample]

    public init(train: [TextExample], validation: [TextExample]) {
        self.train = train; self.validation = validation
    }

    public var count: Int { train.count + validation.count }

    /// Shuffles `examples` with `seed` and holds out `round(count × validationFraction)` of them
    /// for validation, but at least 1 and at most count − 1 when there are ≥ 2 examples (so
    /// both sides are non-empty); with 0 or 1 example everything is training data. The fraction
    /// is clamped to 0...1 (NaN counts as 0). Same examples and seed, same split.
    public static func split(_ examples: [TextExample], validationFraction: Double, seed: UInt64) -> ClientDataset {
        var rng = SeededRandom(seed: seed)
        let order = DataRandom.shuffled(examples, &rng)
        guard order.count >= 2 else { return ClientDataset(train: order, validation: []) }
        let fraction = validationFraction.isNaN ? 0 : min(max(validationFraction, 0), 1)
        let held = min(max(Int((Double(order.count) * fraction).rounded()), 1), order.count - 1)
        return ClientDataset(train: Array(order[held...]), validation: Array(order[..<held]))
    }
}
