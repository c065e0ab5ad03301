import Foundation

/// How a client turns its delta into the vector it submits to secure aggregation.
///
/// The vector is `[w·clip(Δ) + noise (d values), w, (count)]`: the server recovers the weighted
/// mean as the first d sums divided by the (d+1)-th, which stays right when clients drop out
/// after masking. With adaptive clipping a last coordinate carries the clipped-count query
/// `(1[‖Δ‖ ≤ C] + noise) / m`, so the server learns only its noised sum.
public struct UpdatePreparation: Sendable, Equatable {
    /// The client's aggregation weight w (n_i / Σn without DP, 1/m with DP).
    public var weight: Float
    /// L2 clip norm C applied before weighting; 0 = no clipping.
    public var clipNorm: Float
    /// Std of the Gaussian noise each client adds to every weighted coordinate (distributed DP); 0 = none.
    public var noiseStd: Float
    /// Adaptive clipping: weight of the clipped-count coordinate (1/m); 0 = no count coordinate.
    public var countWeight: Float
    /// Std of the noise each client adds to its count coordinate.
    public var countNoiseStd: Float

    public init(weight: Float, clipNorm: Float = 0, noiseStd: Float = 0, countWeight: Float = 0, countNoiseStd: Float = 0) {
        self.weight = weight; self.clipNorm = clipNorm; self.noiseStd = noiseStd
        self.countWeight = countWeight; self.countNoiseStd = countNoiseStd
    }

    /// Length of the submitted vector for a delta of `dimension` values.
    public func vectorLength(dimension: Int) -> Int { dimension + 1 + (countWeight > 0 ? 1 : 0) }
}

/// What the coordinator relays to a client during secure aggregation. The SecAgg+ messages
/// (`SecAggConfig`, `KeyDirectory`, `ShareRelay`, `UnmaskRequest`) travel inside in their own
/// encodings; the client answers each with the next SecAgg+ message's bytes.
public struct SecureAggregationRequest: Sendable, Equatable {
    public enum Step: UInt8, Sendable {
        /// Starts the round: body = `SecAggConfig`; the client answers with its advertised keys.
        case begin = 1
        /// Body = `KeyDirectory`; the answer is the client's encrypted shares.
        case keyDirectory = 2
        /// Body = `ShareRelay`; the answer is the client's masked input.
        case shareRelay = 3
        /// Body = `UnmaskRequest`; the answer is the client's unmasking shares.
        case unmaskRequest = 4
    }

    public var round: Int
    public var step: Step
    /// The client's index among the round's SecAgg participants (begin only).
    public var clientIndex: UInt32
    /// How to build the submitted vector (begin only).
    public var preparation: UpdatePreparation
    /// The encoded SecAgg+ message.
    public var body: [UInt8]

    public init(round: Int, step: Step, clientIndex: UInt32 = 0, preparation: UpdatePreparation = .init(weight: 0), body: [UInt8]) {
        self.round = round; self.step = step; self.clientIndex = clientIndex; self.preparation = preparation; self.body = body
    }

    static let magic: UInt32 = 0x4153_5046  // "FPSA"

    public func encoded() -> Data {
        var out = Data()
        WireVersion.writeHeader(Self.magic, to: &out)
        appendInteger(UInt32(round), to: &out)
        out.append(step.rawValue)
        appendInteger(clientIndex, to: &out)
        for f in [preparation.weight, preparation.clipNorm, preparation.noiseStd, preparation.countWeight, preparation.countNoiseStd] {
            appendInteger(f.bitPattern, to: &out)
        }
        appendInteger(UInt32(body.count), to: &out)
        out.append(contentsOf: body)
        return out
    }

    public init(decoding data: Data) throws {
        var r = PayloadReader(data)
        try WireVersion.readHeader(Self.magic, "a secure-aggregation request", from: &r)
        round = Int(try r.read(UInt32.self, "round"))
        let raw = try r.read(UInt8.self, "step")
        guard let step = Step(rawValue: raw) else { throw PayloadError(offset: r.offset - 1, reason: "unknown secure-aggregation step \(raw)") }
        self.step = step
        clientIndex = try r.read(UInt32.self, "client index")
        func float(_ what: String) throws -> Float { Float(bitPattern: try r.read(UInt32.self, what)) }
        preparation = UpdatePreparation(weight: try float("weight"), clipNorm: try float("clip norm"), noiseStd: try float("noise std"),
                                        countWeight: try float("count weight"), countNoiseStd: try float("count noise std"))
        let length = Int(try r.read(UInt32.self, "body length"))
        try r.need(length, "body")
        body = Array(data[(data.startIndex + r.offset)..<(data.startIndex + r.offset + length)])
        r.skip(length)
        try r.expectEnd()
    }
}
