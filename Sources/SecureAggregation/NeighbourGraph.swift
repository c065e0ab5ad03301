/// A small, fast, seeded generator (SplitMix64 seeding xoshiro256**). Not cryptographic: used for
/// the public neighbour-graph permutation and for stochastic rounding, where reproducibility is
/// what matters. Its output sequence is fixed by this file, so every party derives the same graph.
public struct SecAggSeededRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in `0..<bound` (rejection sampling, so the same on every platform).
    public mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let r = next()
            if r < limit { return r % bound }
        }
    }

    /// Uniform in [0, 1) with 53 bits.
    public mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
}

/// The SecAgg+ communication graph: a Harary graph H(k, n) whose ring positions are a seeded
/// random permutation of the clients (Bell et al. 2020). Client at ring position r is joined to
/// positions r ± 1 … r ± ⌊k/2⌋; for odd k it is also joined to the opposite position (n even:
/// r + n/2, every degree k; n odd: one client gets degree k + 1). k ≥ n − 1 gives the complete
/// graph, i.e. classic SecAgg (Bonawitz et al. 2017). The graph is a pure function of
/// (n, k, seed), so every client recomputes it and checks the server's claims against it.
public struct NeighbourGraph: Sendable, Equatable {
    public let clientCount: Int
    /// The requested degree, clamped to n − 1.
    public let degree: Int
    public let seed: UInt64
    /// Sorted neighbour lists, indexed by client id.
    public let neighbours: [[SecAggClientID]]

    /// Bounds on n and on n·k (the complete graph of 2048 clients fits; SecAgg+ keeps k near log n).
    public static let maximumClients = 1 << 14
    public static let maximumEntries = 1 << 22

    public init(clientCount n: Int, degree k: Int, seed: UInt64) throws {
        guard n >= 2 else { throw SecAggError.invalidParameters("need at least 2 clients, got \(n)") }
        guard k >= 1 else { throw SecAggError.invalidParameters("degree k must be at least 1, got \(k)") }
        guard n <= Self.maximumClients else {
            throw SecAggError.invalidParameters("at most \(Self.maximumClients) clients are supported, got \(n)")
        }
        let k = min(k, n - 1)
        // The graph holds n·k neighbour entries; a hostile config must not make a client build billions.
        guard n * k <= Self.maximumEntries else {
            throw SecAggError.invalidParameters("\(n) clients of degree \(k) exceed the \(Self.maximumEntries)-edge-end graph limit")
        }
        clientCount = n
        degree = k
        self.seed = seed
        var sets = [Set<SecAggClientID>](repeating: [], count: n)
        if k == n - 1 {
            for i in 0..<n { sets[i] = Set((0..<n).filter { $0 != i }.map { SecAggClientID($0) }) }
        } else {
            // position -> client: Fisher-Yates with the seeded generator.
            var order = (0..<n).map { SecAggClientID($0) }
            var rng = SecAggSeededRandom(seed: seed)
            for i in stride(from: n - 1, to: 0, by: -1) {
                let j = Int(rng.below(UInt64(i + 1)))
                order.swapAt(i, j)
            }
            func link(_ a: Int, _ b: Int) {
                let x = order[a % n], y = order[b % n]
                guard x != y else { return }
                sets[Int(x)].insert(y)
                sets[Int(y)].insert(x)
            }
            if k >= 2 {
                for r in 0..<n {
                    for d in 1...(k / 2) { link(r, r + d) }
                }
            }
            if k % 2 == 1 {
                if n % 2 == 0 {
                    for r in 0..<(n / 2) { link(r, r + n / 2) }
                } else {
                    for r in 0...((n - 1) / 2) { link(r, r + (n - 1) / 2) }
                }
            }
        }
        neighbours = sets.map { $0.sorted() }
    }

    public func neighbours(of client: SecAggClientID) -> [SecAggClientID] { neighbours[Int(client)] }

    public func areNeighbours(_ a: SecAggClientID, _ b: SecAggClientID) -> Bool {
        Int(a) < clientCount && neighbours[Int(a)].binarySearchContains(b)
    }

    public var minimumDegree: Int { neighbours.map(\.count).min() ?? 0 }
    public var maximumDegree: Int { neighbours.map(\.count).max() ?? 0 }
}

extension Array where Element == SecAggClientID {
    func binarySearchContains(_ v: SecAggClientID) -> Bool {
        var lo = 0, hi = count
        while lo < hi {
            let mid = (lo + hi) / 2
            if self[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo < count && self[lo] == v
    }
}
