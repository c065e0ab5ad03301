import Foundation
import TensorMath

/// Seeded sampling helpers for the data layer, on ``SeededRandom`` so that the same seed gives
/// the same shuffles and shards on every platform and Swift version (the standard library's
/// `shuffle(using:)` algorithm is not a stable contract).
enum DataRandom {
    /// Uniform in 0..<n (n > 0), by rejection so it is unbiased.
    static func index(below n: Int, _ rng: inout SeededRandom) -> Int {
        precondition(n > 0)
        let bound = UInt64(n)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let x = rng.next()
            if x < limit { return Int(x % bound) }
        }
    }

    /// Fisher-Yates.
    static func shuffle<T>(_ items: inout [T], _ rng: inout SeededRandom) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            let j = index(below: i + 1, &rng)
            if i != j { items.swapAt(i, j) }
        }
    }

    static func shuffled<T>(_ items: [T], _ rng: inout SeededRandom) -> [T] {
        var copy = items
        shuffle(&copy, &rng)
        return copy
    }

    /// Uniform in (0, 1), double precision.
    static func openUniform(_ rng: inout SeededRandom) -> Double {
        while true {
            let u = Double(rng.next() >> 11) * 0x1p-53
            if u > 0 { return u }
        }
    }

    /// Gamma(shape, 1) by Marsaglia and Tsang; for shape < 1, Gamma(shape + 1) * U^(1/shape).
    static func gamma(shape: Double, _ rng: inout SeededRandom) -> Double {
        precondition(shape > 0 && shape.isFinite)
        if shape < 1 {
            let boosted = gamma(shape: shape + 1, &rng)
            return boosted * pow(openUniform(&rng), 1 / shape)
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            let x = Double(rng.normal())
            let v0 = 1 + c * x
            if v0 <= 0 { continue }
            let v = v0 * v0 * v0
            let u = openUniform(&rng)
            if u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)) {
                return d * v
            }
        }
    }

    /// A draw from the symmetric Dirichlet(alpha, ..., alpha) over `count` categories.
    static func dirichlet(alpha: Double, count: Int, _ rng: inout SeededRandom) -> [Double] {
        let draws = (0..<count).map { _ in gamma(shape: alpha, &rng) }
        let total = draws.reduce(0, +)
        guard total > 0, total.isFinite else {
            // All mass underflowed (only possible for tiny alpha): put it on one category.
            var oneHot = [Double](repeating: 0, count: count)
            oneHot[index(below: count, &rng)] = 1
            return oneHot
        }
        return draws.map { $0 / total }
    }

    /// Integer counts summing to `total`, proportional to `weights` (largest remainder;
    /// ties go to the lower index).
    static func apportion(_ total: Int, weights: [Double]) -> [Int] {
        let sum = weights.reduce(0, +)
        guard sum > 0 else {
            return weights.indices.map { total / weights.count + ($0 < total % weights.count ? 1 : 0) }
        }
        let exact = weights.map { Double(total) * $0 / sum }
        var counts = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { a, b in
            let ra = exact[a] - Double(counts[a]), rb = exact[b] - Double(counts[b])
            return ra != rb ? ra > rb : a < b
        }
        var left = total - counts.reduce(0, +)
        var k = 0
        while left > 0 {
            counts[order[k % order.count]] += 1
            left -= 1; k += 1
        }
        return counts
    }
}
