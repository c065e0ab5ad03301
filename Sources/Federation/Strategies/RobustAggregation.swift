// Byzantine-robust rules on the clients' deltas: coordinate-wise median, coordinate-wise trimmed
// mean (Yin et al. 2018), Krum and Multi-Krum (Blanchard et al. 2017). Each computes a robust
// aggregate R of the deltas and returns global + R (no server learning rate, no example weights).
// NaN coordinates are treated as +∞ by the median and trimmed mean, and a NaN distance as +∞ by
// Krum, so a client sending NaNs is an outlier rather than a poison.

/// Coordinate-wise median of the deltas (mean of the two middle values when n is even); global += median.
///
/// `weights` reports the nominal 1/n per client; `rejected` is always empty.
public struct CoordinateMedianStrategy: AggregationStrategy {
    /// Always `.median`.
    public var kind: StrategyKind { .median }

    /// A coordinate-wise median server.
    public init() {}

    /// global += per-coordinate median of the deltas.
    public mutating func aggregate(global: [Float], updates: [ClientUpdate]) throws -> AggregationOutcome {
        try StrategyKernels.validate(global: global, updates: updates, strategy: kind)
        let median = StrategyKernels.columnwise(updates, dimension: global.count) { col, n in
            let hi = n / 2
            StrategyKernels.nthElement(col, from: 0, to: n, k: hi)
            if n % 2 == 1 { return col[hi] }
            var lower = col[0]                 // max of the lower half = the other middle value
            for i in 1..<hi where col[i] > lower { lower = col[i] }
            return (lower + col[hi]) / 2
        }
        let n = updates.count
        return AggregationOutcome(global: StrategyKernels.step(global, by: median, scale: 1), rejected: [],
                                  weights: weightMap(updates, [Double](repeating: 1 / Double(n), count: n)))
    }
}

/// Coordinate-wise trimmed mean: per coordinate drop the ⌊β n⌋ smallest and largest values, average the rest.
///
/// β = `trimFraction` is clamped to [0, 0.5]; the cut shrinks so that at least one value is kept
/// (the rule then degenerates to the median of odd n, or the mean of the two middles).
/// `weights` reports the nominal 1/n per client; `rejected` is always empty (trimming is per coordinate).
public struct TrimmedMeanStrategy: AggregationStrategy {
    /// Always `.trimmedMean`.
    public var kind: StrategyKind { .trimmedMean }
    /// Fraction β cut from each end, per coordinate.
    public var trimFraction: Double

    /// A trimmed-mean server cutting β from each end.
    public init(trimFraction: Double = 0.1) { self.trimFraction = trimFraction }

    /// The number of values cut from each end for n clients: ⌊β n⌋, capped so that n − 2·cut ≥ 1.
    public func cutCount(clients n: Int) -> Int {
        let beta = trimFraction.isNaN ? 0 : min(max(trimFraction, 0), 0.5)
        let cut = Int((beta * Double(n)).rounded(.down))
        return min(cut, (n - 1) / 2)
    }

    /// global += per-coordinate trimmed mean of the deltas.
    public mutating func aggregate(global: [Float], updates: [ClientUpdate]) throws -> AggregationOutcome {
        try StrategyKernels.validate(global: global, updates: updates, strategy: kind)
        let n = updates.count
        let cut = cutCount(clients: n)
        let kept = n - 2 * cut
        let invKept = 1 / Float(kept)
        let mean = StrategyKernels.columnwise(updates, dimension: global.count) { col, n in
            if cut > 0 {
                StrategyKernels.nthElement(col, from: 0, to: n, k: cut)              // [0, cut) = the cut smallest
                StrategyKernels.nthElement(col, from: cut, to: n, k: n - cut)        // [n−cut, n) = the cut largest
            }
            var sum: Float = 0
            for i in cut..<(n - cut) { sum += col[i] }
            return sum * invKept
        }
        return AggregationOutcome(global: StrategyKernels.step(global, by: mean, scale: 1), rejected: [],
                                  weights: weightMap(updates, [Double](repeating: 1 / Double(n), count: n)))
    }
}

/// Krum (select 1) and Multi-Krum (select m): keep the deltas closest to their neighbours, global += their plain mean.
///
/// Score of client i = sum of squared Euclidean distances from Δ_i to its n − f − 2 nearest other
/// deltas (f = `byzantine`; the count is clamped to [1, n − 1], as Flower does for small rounds).
/// The m = `select` lowest scores are kept (ties: earlier update first) and averaged with equal
/// weights 1/m; the others are `rejected` with weight 0. With select = 1 this is Krum.
public struct KrumStrategy: AggregationStrategy {
    /// `.krum` or `.multiKrum`, by initializer.
    public let kind: StrategyKind
    /// Assumed number of Byzantine clients f.
    public var byzantine: Int
    /// How many updates are averaged (1 = Krum); clamped to [1, n].
    public var select: Int

    /// Krum: keep the single best-scored delta, assuming f Byzantine clients.
    public init(byzantine: Int = 1) {
        self.byzantine = byzantine; self.select = 1; self.kind = .krum
    }

    /// Multi-Krum: average the `multiKrumSelect` best-scored deltas, assuming f Byzantine clients.
    public init(byzantine: Int = 1, multiKrumSelect: Int) {
        self.byzantine = byzantine; self.select = multiKrumSelect; self.kind = .multiKrum
    }

    /// Krum scores of the deltas, in update order (NaN distances count as +∞).
    public func scores(_ updates: [ClientUpdate]) -> [Double] {
        let n = updates.count
        guard n > 1 else { return [Double](repeating: 0, count: n) }
        let dist = Self.pairwiseSquaredDistances(updates)
        let neighbours = min(max(n - byzantine - 2, 1), n - 1)
        var row = [Double](repeating: 0, count: n - 1)
        var scores = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var k = 0
            for j in 0..<n where j != i { row[k] = dist[i * n + j]; k += 1 }
            row.sort()
            var s = 0.0
            for k in 0..<neighbours { s += row[k] }
            scores[i] = s
        }
        return scores
    }

    /// Keeps the `select` best-scored deltas and adds their mean to the global parameters.
    public mutating func aggregate(global: [Float], updates: [ClientUpdate]) throws -> AggregationOutcome {
        try StrategyKernels.validate(global: global, updates: updates, strategy: kind)
        let n = updates.count
        let scores = scores(updates)
        let m = min(max(select, 1), n)
        let order = (0..<n).sorted { scores[$0] != scores[$1] ? scores[$0] < scores[$1] : $0 < $1 }
        var chosen = [Bool](repeating: false, count: n)
        for i in order.prefix(m) { chosen[i] = true }
        let weights = chosen.map { $0 ? 1 / Double(m) : 0 }
        let selected = (0..<n).filter { chosen[$0] }
        let mean = StrategyKernels.weightedSum(count: m, dimension: global.count,
                                               weights: [Double](repeating: 1 / Double(m), count: m)) {
            updates[selected[$0]].delta
        }
        let rejected = (0..<n).filter { !chosen[$0] }.map { updates[$0].client }
        return AggregationOutcome(global: StrategyKernels.step(global, by: mean, scale: 1),
                                  rejected: rejected, weights: weightMap(updates, weights))
    }

    /// n × n squared distances (row-major), computed block by block over coordinates: each block of
    /// every delta is copied into one contiguous scratch buffer, then all pairs are accumulated.
    static func pairwiseSquaredDistances(_ updates: [ClientUpdate]) -> [Double] {
        let n = updates.count
        let d = updates.first?.delta.count ?? 0
        var dist = [Double](repeating: 0, count: n * n)
        guard n > 1, d > 0 else { return dist }
        // About 256K floats (1 MB) of scratch, at least 64 coordinates per block.
        let width = max(64, min(d, 262_144 / n))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: width * n)
        defer { scratch.deallocate() }
        var start = 0
        while start < d {
            let len = min(width, d - start)
            for i in 0..<n {
                updates[i].delta.withUnsafeBufferPointer { sb in
                    (scratch + i * width).update(from: sb.baseAddress! + start, count: len)
                }
            }
            for i in 0..<n {
                let a = UnsafePointer(scratch + i * width)
                for j in (i + 1)..<n {
                    let part = Double(StrategyKernels.squaredDistance(a, scratch + j * width, count: len))
                    dist[i * n + j] += part
                }
            }
            start += len
        }
        for i in 0..<n {
            for j in (i + 1)..<n {
                let v = dist[i * n + j].isNaN ? Double.infinity : dist[i * n + j]
                dist[i * n + j] = v
                dist[j * n + i] = v
            }
        }
        return dist
    }
}
