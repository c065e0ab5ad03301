import Foundation
import TensorMath

/// Picks the next token from logits: greedy at temperature 0, otherwise
/// temperature-scaled nucleus (top-p) sampling from a seeded generator.
public struct Sampler: Sendable {
    public var temperature: Float
    public var topP: Float
    private var rng: SeededRandom

    public init(temperature: Float, topP: Float = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topP = topP
        self.rng = SeededRandom(seed: seed)
    }

    /// Chooses a token id.
    public mutating func sample(_ logits: [Float]) -> Int {
        guard temperature > 0 else { return Self.argmax(logits) }
        let m = logits.max() ?? 0
        var probs = logits.map { expf(($0 - m) / temperature) }
        let z = probs.reduce(0, +)
        for i in probs.indices { probs[i] /= z }
        var order = Array(probs.indices)
        order.sort { probs[$0] > probs[$1] }
        var kept = 0, mass: Float = 0
        while kept < order.count && (kept == 0 || mass < topP) { mass += probs[order[kept]]; kept += 1 }
        var r = rng.uniform() * mass
        for i in order.prefix(kept) {
            r -= probs[i]
            if r <= 0 { return i }
        }
        return order[kept - 1]
    }

    /// Index of the largest logit (the first one on ties).
    public static func argmax(_ x: [Float]) -> Int {
        var best = 0
        for i in x.indices where x[i] > x[best] { best = i }
        return best
    }
}
