/// Arithmetic in the prime field GF(p), p = 2^61 − 1 (a Mersenne prime: reduction is shifts
/// and adds).
enum Field61 {
    static let p: UInt64 = (1 << 61) - 1

    @inline(__always) static func reduce(_ x: UInt64) -> UInt64 {
        let r = (x & p) &+ (x >> 61)
        return r >= p ? r &- p : r
    }
    @inline(__always) static func add(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let s = a &+ b // < 2^62, no overflow
        return s >= p ? s &- p : s
    }
    @inline(__always) static func sub(_ a: UInt64, _ b: UInt64) -> UInt64 {
        a >= b ? a &- b : a &+ p &- b
    }
    @inline(__always) static func mul(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let (hi, lo) = a.multipliedFullWidth(by: b) // a, b < 2^61, product < 2^122
        // product = hi * 2^64 + lo = (hi << 3 | lo >> 61) * 2^61 + (lo & p), and 2^61 ≡ 1.
        let high = (hi << 3) | (lo >> 61)
        return reduce((lo & p) &+ high)
    }
    static func pow(_ a: UInt64, _ e: UInt64) -> UInt64 {
        var result: UInt64 = 1, base = a, e = e
        while e > 0 {
            if e & 1 == 1 { result = mul(result, base) }
            base = mul(base, base)
            e >>= 1
        }
        return result
    }
    /// Multiplicative inverse (Fermat); `a` must be nonzero.
    static func inverse(_ a: UInt64) -> UInt64 {
        precondition(a % p != 0, "inverse of zero")
        return pow(a, p - 2)
    }
    /// A uniform element from a cryptographically secure generator (rejection sampling).
    static func random<G: RandomNumberGenerator>(using rng: inout G) -> UInt64 {
        while true {
            let r = rng.next() & p
            if r < p { return r }
        }
    }
}

/// One Shamir share of a 32-byte secret: the evaluation point `x` (a shareholder's id + 1) and
/// one field element per secret chunk.
public struct ShamirShare: Sendable, Equatable {
    public let x: UInt64
    public let y: [UInt64]

    public init(x: UInt64, y: [UInt64]) {
        self.x = x
        self.y = y
    }

    static let encodedSize = 8 + 8 * Shamir.elementsPerSecret

    func encode(into w: inout ByteWriter) {
        w.u64(x)
        for v in y { w.u64(v) }
    }

    static func decode(from r: inout ByteReader) throws -> ShamirShare {
        let x = try r.u64()
        let y = try (0..<Shamir.elementsPerSecret).map { _ in try r.u64() }
        return ShamirShare(x: x, y: y)
    }
}

/// t-of-m Shamir secret sharing of 32-byte secrets over GF(2^61 − 1). The secret is split into
/// five chunks (4 × 7 bytes + 4 bytes, each < 2^56), and each chunk is shared with its own random
/// polynomial of degree t − 1; a share is the five evaluations at the shareholder's point.
/// Reconstruction from fewer than t shares is information-theoretically independent of the secret.
enum Shamir {
    static let secretBytes = 32
    static let elementsPerSecret = 5
    static let chunkBytes = 7

    static func elements(of secret: [UInt8]) -> [UInt64] {
        precondition(secret.count == secretBytes)
        return (0..<elementsPerSecret).map { c in
            let start = c * chunkBytes, end = min(start + chunkBytes, secretBytes)
            var v: UInt64 = 0
            for b in secret[start..<end].reversed() { v = v << 8 | UInt64(b) }
            return v
        }
    }

    /// The bytes back from chunk elements; nil when an element is out of its chunk's range (which
    /// only happens when shares were tampered with).
    static func bytes(of elements: [UInt64]) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(secretBytes)
        for (c, e) in elements.enumerated() {
            let n = min(chunkBytes, secretBytes - c * chunkBytes)
            guard e >> UInt64(8 * n) == 0 else { return nil }
            for k in 0..<n { out.append(UInt8(truncatingIfNeeded: e >> UInt64(8 * k))) }
        }
        return out
    }

    /// Shares `secret` so that any `threshold` of the returned shares (one per point in `points`)
    /// reconstruct it. Points must be distinct and nonzero.
    static func split<G: RandomNumberGenerator>(secret: [UInt8], threshold: Int, points: [UInt64], using rng: inout G) -> [ShamirShare] {
        precondition(threshold >= 1 && threshold <= max(points.count, 1))
        let constants = elements(of: secret)
        // coefficients[c] = [a0 = secret chunk, a1, ..., a_{t-1}]
        let coefficients: [[UInt64]] = constants.map { a0 in
            [a0] + (1..<threshold).map { _ in Field61.random(using: &rng) }
        }
        return points.map { x in
            ShamirShare(x: x, y: coefficients.map { evaluate($0, at: x) })
        }
    }

    static func evaluate(_ coefficients: [UInt64], at x: UInt64) -> UInt64 {
        var acc: UInt64 = 0
        for a in coefficients.reversed() { acc = Field61.add(Field61.mul(acc, x), a) }
        return acc
    }

    /// Coefficients, per chunk element, of the polynomial of degree < m through the m `basis`
    /// shares (Lagrange in coefficient form: O(m²) field operations and m inversions).
    static func coefficients(_ basis: [ShamirShare]) -> [[UInt64]] {
        let xs = basis.map(\.x)
        let m = xs.count
        // master(x) = Π (x − x_j), degree m, coefficients low to high.
        var master = [UInt64](repeating: 0, count: m + 1)
        master[0] = 1
        for (d, a) in xs.enumerated() {
            for k in stride(from: d + 1, through: 1, by: -1) {
                master[k] = Field61.sub(master[k - 1], Field61.mul(a, master[k]))
            }
            master[0] = Field61.sub(0, Field61.mul(a, master[0]))
        }
        var result = [[UInt64]](repeating: [UInt64](repeating: 0, count: m), count: elementsPerSecret)
        var q = [UInt64](repeating: 0, count: m)
        for (i, a) in xs.enumerated() {
            // q(x) = master(x) / (x − a), synthetic division; q(a) = Π_{j≠i} (a − x_j).
            q[m - 1] = master[m]
            for k in stride(from: m - 1, through: 1, by: -1) { q[k - 1] = Field61.add(master[k], Field61.mul(a, q[k])) }
            let weight = Field61.inverse(evaluate(q, at: a))
            for c in 0..<elementsPerSecret {
                let f = Field61.mul(basis[i].y[c], weight)
                for k in 0..<m { result[c][k] = Field61.add(result[c][k], Field61.mul(f, q[k])) }
            }
        }
        return result
    }

    /// Interpolates the chunk elements at `target` (0 for the secret) from exactly these shares.
    static func interpolate(_ shares: [ShamirShare], at target: UInt64 = 0) -> [UInt64] {
        coefficients(shares).map { evaluate($0, at: target) }
    }

    /// Whether shares are well formed: right length, elements in the field, distinct nonzero points.
    static func wellFormed(_ share: ShamirShare) -> Bool {
        share.y.count == elementsPerSecret && share.x != 0 && share.x < Field61.p && share.y.allSatisfy { $0 < Field61.p }
    }

    /// Reconstructs a secret from `shares` (at least `threshold`, distinct points), checking it
    /// with `verify` (a commitment or a public key). Every share must lie on the polynomial that
    /// gives the verified secret; a single inconsistent share is identified by its point.
    ///
    /// - Returns: the secret, or the point of the one bad share, or `nil` when the shares are
    ///   inconsistent in a way no single bad share explains.
    static func reconstruct(_ shares: [ShamirShare], threshold: Int, verify: ([UInt8]) -> Bool) -> Result<[UInt8], ReconstructionFailure> {
        precondition(shares.count >= threshold && threshold >= 1)
        /// The polynomial through `basis` if its secret verifies.
        func attempt(_ basis: [ShamirShare]) -> (secret: [UInt8], polynomial: [[UInt64]])? {
            let poly = coefficients(basis)
            guard let s = bytes(of: poly.map { $0[0] }), verify(s) else { return nil }
            return (s, poly)
        }
        func firstInconsistent(_ polynomial: [[UInt64]], among all: [ShamirShare]) -> ShamirShare? {
            all.first { s in (0..<elementsPerSecret).contains { evaluate(polynomial[$0], at: s.x) != s.y[$0] } }
        }
        if let (secret, poly) = attempt(Array(shares.prefix(threshold))) {
            if let bad = firstInconsistent(poly, among: shares) { return .failure(.badShare(x: bad.x)) }
            return .success(secret)
        }
        // The first t shares do not give the committed secret: find one share whose exclusion does.
        guard shares.count > threshold else { return .failure(.inconsistent) }
        for excluded in shares.indices {
            var rest = shares
            let candidate = rest.remove(at: excluded)
            if let (_, poly) = attempt(Array(rest.prefix(threshold))), firstInconsistent(poly, among: rest) == nil {
                return .failure(.badShare(x: candidate.x))
            }
        }
        return .failure(.inconsistent)
    }

    enum ReconstructionFailure: Error, Equatable {
        case badShare(x: UInt64)
        case inconsistent
    }
}
