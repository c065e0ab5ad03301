import Foundation

/// What the coordinator sends a selected client: the global adapter and the
/// strategy's instructions for local training.
public struct RoundTask: Sendable, Equatable {
    public var round: Int
    public var global: [Float]
    public var localSteps: Int
    public var proximalMu: Float
    /// SCAFFOLD's correction `c - c_i`, added to each local gradient.
    public var gradientCorrection: [Float]?
    /// SCAFFOLD's server control `c`, from which the client derives its new control variate.
    public var serverControl: [Float]?
    /// The update goes through secure aggregation: the client keeps it and replies without it.
    public var secureAggregation: Bool

    public init(round: Int, global: [Float], localSteps: Int, proximalMu: Float = 0,
                gradientCorrection: [Float]? = nil, serverControl: [Float]? = nil, secureAggregation: Bool = false) {
        self.round = round; self.global = global; self.localSteps = localSteps
        self.proximalMu = proximalMu; self.gradientCorrection = gradientCorrection; self.serverControl = serverControl
        self.secureAggregation = secureAggregation
    }

    static let magic: UInt32 = 0x5452_5046  // "FPRT"

    /// The round of an encoded task, without decoding its adapter.
    public static func round(of data: Data) throws -> Int { try WireVersion.round(of: data, magic, "a round task") }

    public func encoded(tensorSizes: [Int], as encoding: PayloadEncoding) -> Data {
        var out = Data()
        WireVersion.writeHeader(Self.magic, to: &out)
        appendInteger(UInt32(round), to: &out)
        appendInteger(UInt32(localSteps), to: &out)
        appendInteger(proximalMu.bitPattern, to: &out)
        out.append(secureAggregation ? 1 : 0)
        TensorCodec.encode(global, tensorSizes: tensorSizes, as: encoding, into: &out)
        for vector in [gradientCorrection, serverControl] {
            out.append(vector == nil ? 0 : 1)
            if let v = vector { TensorCodec.encode(v, tensorSizes: tensorSizes, as: .fp32, into: &out) }
        }
        return out
    }

    public init(decoding data: Data) throws {
        var r = PayloadReader(data)
        try WireVersion.readHeader(Self.magic, "a round task", from: &r)
        round = Int(try r.read(UInt32.self, "round"))
        localSteps = Int(try r.read(UInt32.self, "local steps"))
        proximalMu = Float(bitPattern: try r.read(UInt32.self, "proximal mu"))
        secureAggregation = try r.read(UInt8.self, "flags") & 1 == 1
        global = try TensorCodec.decode(&r)
        gradientCorrection = try r.read(UInt8.self, "correction flag") == 1 ? try TensorCodec.decode(&r) : nil
        serverControl = try r.read(UInt8.self, "server control flag") == 1 ? try TensorCodec.decode(&r) : nil
        try r.expectEnd()
    }
}

/// What a client sends back: its adapter update and local measurements.
public struct RoundReply: Sendable, Equatable {
    public var client: String
    public var round: Int
    /// Local adapter minus the global adapter it received; empty when the update travels
    /// through secure aggregation instead.
    public var delta: [Float]
    /// L2 norm of the client's delta, measured by the client (before any clipping).
    public var updateNorm: Double
    public var exampleCount: Int
    public var steps: Int
    /// Token positions processed by local training (rows × length over all steps).
    public var tokens: Int
    public var lossStart: Double
    public var lossEnd: Double
    /// Seconds of local compute, measured.
    public var computeSeconds: Double
    /// SCAFFOLD: change of the client's control variate.
    public var controlDelta: [Float]?
    /// What the update does on the client's held-out sample (nil from a client that did not check).
    public var check: UpdateCheck?
    /// The received global model's losses on the client's probe sample by position class (its
    /// mean is `lossStart`); nil from a client that did not report them.
    public var probe: ProbeLosses?
    /// The client's checks of the text it trained on against its held-out examples (nil from a
    /// client that did not report them).
    public var profile: DataProfile?

    public init(client: String, round: Int, delta: [Float], updateNorm: Double, exampleCount: Int, steps: Int, tokens: Int,
                lossStart: Double, lossEnd: Double, computeSeconds: Double, controlDelta: [Float]? = nil,
                check: UpdateCheck? = nil, probe: ProbeLosses? = nil, profile: DataProfile? = nil) {
        self.check = check; self.probe = probe; self.profile = profile
        self.client = client; self.round = round; self.delta = delta; self.updateNorm = updateNorm
        self.exampleCount = exampleCount; self.steps = steps
        self.tokens = tokens
        self.lossStart = lossStart; self.lossEnd = lossEnd; self.computeSeconds = computeSeconds; self.controlDelta = controlDelta
    }

    static let magic: UInt32 = 0x5055_5046  // "FPUP"

    /// Throws unless every number a client reports is finite: the update, its norm, the control
    /// delta, and the local losses when training ran. The coordinator checks this where a reply
    /// enters, so a diverged or hostile client cannot push NaN into the aggregate or the events.
    public func checkFinite() throws {
        func bad(_ what: String) -> NonFiniteReply { NonFiniteReply(client: client, round: round, what: what) }
        if let i = delta.firstIndex(where: { !$0.isFinite }) {
            throw bad("update value \(i) of \(delta.count) is \(delta[i]) (\(delta.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }) non-finite)")
        }
        if let c = controlDelta, let i = c.firstIndex(where: { !$0.isFinite }) { throw bad("control delta value \(i) is \(c[i])") }
        if !updateNorm.isFinite { throw bad("update norm is \(updateNorm)") }
        if steps > 0, !lossStart.isFinite || !lossEnd.isFinite { throw bad("local loss went from \(lossStart) to \(lossEnd)") }
        if exampleCount < 0 || steps < 0 || tokens < 0 { throw bad("negative counts (examples \(exampleCount), steps \(steps), tokens \(tokens))") }
    }

    public func encoded(tensorSizes: [Int], as encoding: PayloadEncoding) -> Data {
        var out = Data()
        WireVersion.writeHeader(Self.magic, to: &out)
        appendString(client, to: &out)
        appendInteger(UInt32(round), to: &out)
        appendInteger(UInt32(exampleCount), to: &out)
        appendInteger(UInt32(steps), to: &out)
        appendInteger(UInt32(tokens), to: &out)
        appendInteger(lossStart.bitPattern, to: &out)
        appendInteger(lossEnd.bitPattern, to: &out)
        appendInteger(computeSeconds.bitPattern, to: &out)
        appendInteger(updateNorm.bitPattern, to: &out)
        out.append(delta.isEmpty ? 0 : 1)
        if !delta.isEmpty { TensorCodec.encode(delta, tensorSizes: tensorSizes, as: encoding, into: &out) }
        out.append(controlDelta == nil ? 0 : 1)
        if let c = controlDelta { TensorCodec.encode(c, tensorSizes: tensorSizes, as: .fp32, into: &out) }
        // Optional trailing sections, each behind a flag byte, in this order; a section's flag
        // is written when it or a later section is present (a reply without them, from an
        // older client, still decodes).
        let written = ([check != nil, probe != nil, profile != nil].lastIndex(of: true) ?? -1) + 1
        if written > 0 {
            out.append(check == nil ? 0 : 1)
            if let check {
                for v in [check.endLoss, check.labelLoss ?? .nan, check.textLoss, check.seconds] { appendInteger(v.bitPattern, to: &out) }
            }
        }
        if written > 1 {
            out.append(probe == nil ? 0 : 1)
            if let probe {
                for v in [probe.tail, probe.label] { appendInteger((v ?? .nan).bitPattern, to: &out) }
            }
        }
        if let profile {
            out.append(1)
            appendInteger((profile.labelDisagreement ?? .nan).bitPattern, to: &out)
            appendInteger((profile.referenceDisagreement ?? .nan).bitPattern, to: &out)
            appendInteger(UInt32(clamping: profile.labelledExamples), to: &out)
            appendInteger((profile.unexplainedPhrases ?? .nan).bitPattern, to: &out)
            appendInteger(UInt32(clamping: profile.examples), to: &out)
        }
        return out
    }

    public init(decoding data: Data) throws {
        var r = PayloadReader(data)
        try WireVersion.readHeader(Self.magic, "a round reply", from: &r)
        client = try r.readString("client id")
        round = Int(try r.read(UInt32.self, "round"))
        exampleCount = Int(try r.read(UInt32.self, "example count"))
        steps = Int(try r.read(UInt32.self, "steps"))
        tokens = Int(try r.read(UInt32.self, "tokens"))
        lossStart = Double(bitPattern: try r.read(UInt64.self, "first loss"))
        lossEnd = Double(bitPattern: try r.read(UInt64.self, "last loss"))
        computeSeconds = Double(bitPattern: try r.read(UInt64.self, "compute seconds"))
        updateNorm = Double(bitPattern: try r.read(UInt64.self, "update norm"))
        delta = try r.read(UInt8.self, "delta flag") == 1 ? try TensorCodec.decode(&r) : []
        controlDelta = try r.read(UInt8.self, "control flag") == 1 ? try TensorCodec.decode(&r) : nil
        if !r.isAtEnd, try r.read(UInt8.self, "update check flag") == 1 {
            func value(_ what: String) throws -> Double { Double(bitPattern: try r.read(UInt64.self, what)) }
            let end = try value("update check end loss"), label = try value("update check label loss")
            let text = try value("update check text loss"), seconds = try value("update check seconds")
            check = UpdateCheck(endLoss: end, labelLoss: label.isNaN ? nil : label, textLoss: text, seconds: seconds)
        }
        if !r.isAtEnd, try r.read(UInt8.self, "probe losses flag") == 1 {
            let tail = try Self.optional(&r, "probe tail loss"), label = try Self.optional(&r, "probe label loss")
            probe = ProbeLosses(mean: lossStart, tail: tail, label: label)
        }
        if !r.isAtEnd, try r.read(UInt8.self, "data checks flag") == 1 {
            let label = try Self.optional(&r, "label disagreement")
            let reference = try Self.optional(&r, "held-out label disagreement")
            let labelled = Int(try r.read(UInt32.self, "labelled examples"))
            let phrases = try Self.optional(&r, "unexplained phrases")
            let examples = Int(try r.read(UInt32.self, "checked examples"))
            profile = DataProfile(labelDisagreement: label, referenceDisagreement: reference, labelledExamples: labelled, unexplainedPhrases: phrases, examples: examples)
        }
        try r.expectEnd()
    }

    /// A double of an optional trailing section; NaN stands for "not measured".
    static func optional(_ r: inout PayloadReader, _ what: String) throws -> Double? {
        let v = Double(bitPattern: try r.read(UInt64.self, what))
        return v.isNaN ? nil : v
    }
}

/// The wire format's version; a peer with another major version is refused with a clear error.
public enum WireVersion {
    /// 2: round tasks carry flags (secure aggregation), replies carry the client-measured update norm
    /// and may omit the delta (it then travels masked through secure aggregation).
    public static let current = 2
    static func check(_ v: UInt16, at offset: Int) throws {
        guard Int(v) == current else {
            throw PayloadError(offset: offset, reason: "wire version \(v) is not supported (this build speaks \(current))")
        }
    }

    /// Every message starts with its magic and the wire version.
    static func writeHeader(_ magic: UInt32, to out: inout Data) {
        appendInteger(magic, to: &out)
        appendInteger(UInt16(current), to: &out)
    }

    /// Reads and checks a message's magic and version; `what` names the message in errors.
    static func readHeader(_ magic: UInt32, _ what: String, from r: inout PayloadReader) throws {
        guard try r.read(UInt32.self, "magic") == magic else { throw PayloadError(offset: 0, reason: "not \(what)") }
        try check(try r.read(UInt16.self, "version"), at: 4)
    }

    /// The round that follows the header (as in round tasks and evaluation requests), read
    /// without decoding the adapter after it.
    static func round(of data: Data, _ magic: UInt32, _ what: String) throws -> Int {
        var r = PayloadReader(data)
        try readHeader(magic, what, from: &r)
        return Int(try r.read(UInt32.self, "round"))
    }
}

extension PayloadReader {
    /// Fails unless every byte was read.
    func expectEnd() throws {
        guard isAtEnd else { throw PayloadError(offset: offset, reason: "\(data.count - offset) trailing bytes") }
    }
}

/// Asks a client to evaluate a global adapter on its own validation split.
public struct EvaluationRequest: Sendable, Equatable {
    public var round: Int
    public var global: [Float]
    static let magic: UInt32 = 0x5645_5046  // "FPEV"

    public init(round: Int, global: [Float]) { self.round = round; self.global = global }

    /// The round of an encoded request, without decoding its adapter.
    public static func round(of data: Data) throws -> Int { try WireVersion.round(of: data, magic, "an evaluation request") }

    public func encoded(tensorSizes: [Int], as encoding: PayloadEncoding) -> Data {
        var out = Data()
        WireVersion.writeHeader(Self.magic, to: &out)
        appendInteger(UInt32(round), to: &out)
        TensorCodec.encode(global, tensorSizes: tensorSizes, as: encoding, into: &out)
        return out
    }

    public init(decoding data: Data) throws {
        var r = PayloadReader(data)
        try WireVersion.readHeader(Self.magic, "an evaluation request", from: &r)
        round = Int(try r.read(UInt32.self, "round"))
        global = try TensorCodec.decode(&r)
        try r.expectEnd()
    }
}

/// A client's reply (or its own training) produced a non-finite number; the update is rejected.
public struct NonFiniteReply: Error, CustomStringConvertible {
    public var client: String
    public var round: Int
    public var what: String
    public var description: String { "non-finite numbers from \(client) in round \(round): \(what); update rejected" }
}
