/// Fixed-point encoding of float updates into Z_{2^32}.
///
/// Values are clipped to [−c, c], multiplied by `scale` and stochastically rounded (round up with
/// probability equal to the fractional part, so the encoding is unbiased), then stored as the
/// two's-complement bit pattern of an Int32. The scale leaves headroom for n clients: every
/// encoded value has |q| ≤ ⌊(2^31 − 1)/n⌋, so the sum of n of them never wraps and decodes
/// exactly as a signed integer. One quantization step is 1/scale; the decoded sum of n updates is
/// within n steps of their exact float sum (each value is off by less than one step), for inputs
/// inside [−c, c].
public struct QuantizationScheme: Sendable, Equatable {
    public let clipBound: Float
    public let clientCount: Int
    /// Fixed-point units per 1.0.
    public let scale: Double
    /// Largest |q| of one encoded value.
    public let maximumMagnitude: Int64

    public init(clipBound: Float, clientCount: Int) throws {
        guard clipBound.isFinite, clipBound > 0 else { throw SecAggError.invalidParameters("clip bound must be positive, got \(clipBound)") }
        guard clientCount >= 1 else { throw SecAggError.invalidParameters("client count must be positive") }
        self.clipBound = clipBound
        self.clientCount = clientCount
        maximumMagnitude = Int64(Int32.max) / Int64(clientCount)
        guard maximumMagnitude >= 2 else { throw SecAggError.invalidParameters("too many clients for 32-bit fixed point") }
        // c·scale ≤ M − 1, so stochastic rounding (which may round up by one) stays ≤ M.
        scale = Double(maximumMagnitude - 1) / Double(clipBound)
    }

    /// One quantization step (1/scale) in update units.
    public var step: Double { 1 / scale }

    /// Decodes a sum of encoded vectors (at most `clientCount` of them) to floats.
    public func decode(_ words: [UInt32]) -> [Float] { words.map { Float(Double(Int32(bitPattern: $0)) / scale) } }

    /// Decodes to doubles (no float rounding of the result).
    public func decodeDouble(_ words: [UInt32]) -> [Double] { words.map { Double(Int32(bitPattern: $0)) / scale } }
}

/// A client's own update in plain floats. Only client code handles it: ``SecAggClient`` turns it
/// into a ``MaskedVector``; no ``SecAggServer`` API accepts or returns a `PlainUpdate` or a
/// ``QuantizedUpdate``.
public struct PlainUpdate: Sendable, Equatable {
    public let values: [Float]

    public init(_ values: [Float]) { self.values = values }

    /// Clips, scales and stochastically rounds with a generator seeded by `roundingSeed`.
    public func quantized(with scheme: QuantizationScheme, roundingSeed: UInt64) throws -> QuantizedUpdate {
        var rng = SecAggSeededRandom(seed: roundingSeed)
        let c = scheme.clipBound, scale = scheme.scale
        var words = [UInt32](repeating: 0, count: values.count)
        for (i, v) in values.enumerated() {
            guard !v.isNaN else { throw SecAggError.nonFiniteInput(index: i) }
            let x = Double(Swift.min(Swift.max(v, -c), c)) * scale
            let f = x.rounded(.down)
            let q = Int64(f) + (rng.unit() < x - f ? 1 : 0)
            words[i] = UInt32(truncatingIfNeeded: q)
        }
        return QuantizedUpdate(words: words)
    }
}

/// A client's quantized update in Z_{2^32}, still unmasked: client-side only, like ``PlainUpdate``.
public struct QuantizedUpdate: Sendable, Equatable {
    public let words: [UInt32]
    public init(words: [UInt32]) { self.words = words }
}

/// An update after masking: what a client sends and the server sums. Indistinguishable from
/// uniform on its own; 4 bytes per value on the wire.
public struct MaskedVector: Sendable, Equatable {
    public let words: [UInt32]
    public init(words: [UInt32]) { self.words = words }
}

/// The round's output: the sum over the surviving clients, never an individual update.
public struct AggregateSum: Sendable, Equatable {
    public let round: UInt64
    /// Clients whose updates are in the sum.
    public let survivors: [SecAggClientID]
    /// Clients that shared keys but sent no masked input (their masks were removed).
    public let dropped: [SecAggClientID]
    /// Σ quantized updates of the survivors, mod 2^32.
    public let integerSum: [UInt32]
    public let scheme: QuantizationScheme

    /// The decoded float sum.
    public var values: [Float] { scheme.decode(integerSum) }
    public var doubleValues: [Double] { scheme.decodeDouble(integerSum) }
}
