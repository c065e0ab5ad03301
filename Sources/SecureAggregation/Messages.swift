import Foundation

/// A protocol message with a byte encoding. Every message starts with the 4-byte magic
/// "SA+\u{1}" and a type byte; integers are little-endian.
public protocol SecAggMessage: Sendable, Equatable {
    func encoded() -> [UInt8]
    init(encoded bytes: [UInt8]) throws
}

/// The round's public settings, announced by the server to every client before step 1. Clients
/// rebuild the neighbour graph from it and check the server's later claims against that graph.
public struct SecAggConfig: SecAggMessage {
    public let round: UInt64
    public let clientCount: Int
    public let dimension: Int
    /// k (clamped to n − 1).
    public let degree: Int
    /// t.
    public let threshold: Int
    public let graphSeed: UInt64
    /// The server aborts when fewer clients than this are left after any phase.
    public let minimumSurvivors: Int
    public let quantization: QuantizationScheme
    public let graph: NeighbourGraph

    public init(round: UInt64, clientCount: Int, dimension: Int, degree: Int, threshold: Int, graphSeed: UInt64,
                clipBound: Float, minimumSurvivors: Int? = nil) throws {
        guard clientCount >= 2 else { throw SecAggError.invalidParameters("need at least 2 clients, got \(clientCount)") }
        guard dimension >= 1, dimension <= MaskExpander.maximumWords else {
            throw SecAggError.invalidParameters("dimension must be in 1...\(MaskExpander.maximumWords), got \(dimension)")
        }
        let graph = try NeighbourGraph(clientCount: clientCount, degree: degree, seed: graphSeed)
        guard threshold >= 1, threshold <= graph.minimumDegree else {
            throw SecAggError.invalidParameters("threshold t=\(threshold) must be in 1...\(graph.minimumDegree) (the smallest degree)")
        }
        guard 2 * threshold > graph.maximumDegree else {
            throw SecAggError.invalidParameters("threshold t=\(threshold) must exceed half the largest degree \(graph.maximumDegree)")
        }
        let minimum = minimumSurvivors ?? max(threshold, 2)
        guard minimum >= 1, minimum <= clientCount else {
            throw SecAggError.invalidParameters("minimum survivors must be in 1...\(clientCount), got \(minimum)")
        }
        self.round = round
        self.clientCount = clientCount
        self.dimension = dimension
        self.degree = graph.degree
        self.threshold = threshold
        self.graphSeed = graphSeed
        self.minimumSurvivors = minimum
        self.quantization = try QuantizationScheme(clipBound: clipBound, clientCount: clientCount)
        self.graph = graph
    }

    /// With k and t from ``SecAggParameters``.
    public init(round: UInt64, dimension: Int, parameters: SecAggParameters, graphSeed: UInt64, clipBound: Float,
                minimumSurvivors: Int? = nil) throws {
        try self.init(round: round, clientCount: parameters.clientCount, dimension: dimension, degree: parameters.degree,
                      threshold: parameters.threshold, graphSeed: graphSeed, clipBound: clipBound,
                      minimumSurvivors: minimumSurvivors)
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.header(.config)
        w.u64(round)
        w.u32(UInt32(clientCount))
        w.u64(UInt64(dimension))
        w.u32(UInt32(degree))
        w.u32(UInt32(threshold))
        w.u64(graphSeed)
        w.u32(UInt32(minimumSurvivors))
        w.u32(quantization.clipBound.bitPattern)
        return w.bytes
    }

    public init(encoded bytes: [UInt8]) throws {
        var r = ByteReader(bytes, context: "config")
        try r.header(.config)
        let round = try r.u64()
        let n = try r.int32("client count", in: 2...NeighbourGraph.maximumClients)
        let d = try r.int64("dimension", in: 1...MaskExpander.maximumWords)
        let k = Int(try r.u32()), t = Int(try r.u32())
        let seed = try r.u64()
        let minimum = Int(try r.u32())
        let clip = Float(bitPattern: try r.u32())
        try r.finish()
        try self.init(round: round, clientCount: n, dimension: d, degree: k, threshold: t, graphSeed: seed, clipBound: clip,
                      minimumSurvivors: minimum)
    }

    public static func == (a: SecAggConfig, b: SecAggConfig) -> Bool { a.encoded() == b.encoded() }
}

/// Step 1, client → server: the client's two fresh X25519 public keys (raw, 32 bytes each).
/// Not signed: with no PKI, clients trust the server to relay keys faithfully (the
/// honest-but-curious server model). A server that substitutes keys could read shares; signing
/// these with long-term identity keys is what Bonawitz et al.'s active-security variant adds.
public struct AdvertiseKeysMessage: SecAggMessage {
    public let round: UInt64
    public let sender: SecAggClientID
    public let encryptionPublicKey: [UInt8]
    public let maskingPublicKey: [UInt8]

    public init(round: UInt64, sender: SecAggClientID, encryptionPublicKey: [UInt8], maskingPublicKey: [UInt8]) {
        self.round = round
        self.sender = sender
        self.encryptionPublicKey = encryptionPublicKey
        self.maskingPublicKey = maskingPublicKey
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.header(.advertiseKeys)
        w.u64(round)
        w.u32(sender)
        w.raw(encryptionPublicKey)
        w.raw(maskingPublicKey)
        return w.bytes
    }

    public init(encoded bytes: [UInt8]) throws {
        var r = ByteReader(bytes, context: "advertise-keys")
        try r.header(.advertiseKeys)
        round = try r.u64()
        sender = try r.u32()
        encryptionPublicKey = try r.raw(32)
        maskingPublicKey = try r.raw(32)
        try r.finish()
    }
}

/// Step 1 → 2, server → one client: the public keys of its neighbours that advertised keys.
public struct KeyDirectory: SecAggMessage {
    public struct Entry: Sendable, Equatable {
        public let client: SecAggClientID
        public let encryptionPublicKey: [UInt8]
        public let maskingPublicKey: [UInt8]

        public init(client: SecAggClientID, encryptionPublicKey: [UInt8], maskingPublicKey: [UInt8]) {
            self.client = client
            self.encryptionPublicKey = encryptionPublicKey
            self.maskingPublicKey = maskingPublicKey
        }
    }

    public let round: UInt64
    public let recipient: SecAggClientID
    public let entries: [Entry]

    public init(round: UInt64, recipient: SecAggClientID, entries: [Entry]) {
        self.round = round
        self.recipient = recipient
        self.entries = entries
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 17 + entries.count * 68)
        w.header(.keyDirectory)
        w.u64(round)
        w.u32(recipient)
        w.u32(UInt32(entries.count))
        for e in entries {
            w.u32(e.client)
            w.raw(e.encryptionPublicKey)
            w.raw(e.maskingPublicKey)
        }
        return w.bytes
    }

    public init(encoded bytes: [UInt8]) throws {
        var r = ByteReader(bytes, context: "key-directory")
        try r.header(.keyDirectory)
        round = try r.u64()
        recipient = try r.u32()
        let n = try r.count(elementSize: 68)
        entries = try (0..<n).map { _ in Entry(client: try r.u32(), encryptionPublicKey: try r.raw(32), maskingPublicKey: try r.raw(32)) }
        try r.finish()
    }
}

/// One neighbour's pair of shares (of the sender's masking key and self-mask seed), sealed with
/// ChaCha20-Poly1305 for the recipient: `sealed` is nonce ‖ ciphertext ‖ tag.
public struct EncryptedShare: Sendable, Equatable {
    public let sender: SecAggClientID
    public let recipient: SecAggClientID
    public let sealed: [UInt8]

    public init(sender: SecAggClientID, recipient: SecAggClientID, sealed: [UInt8]) {
        self.sender = sender
        self.recipient = recipient
        self.sealed = sealed
    }

    /// 12-byte nonce + plaintext (20-byte header + two shares) + 16-byte tag.
    static let sealedSize = 12 + SharePlaintext.encodedSize + 16

    func encode(into w: inout ByteWriter) {
        w.u32(sender)
        w.u32(recipient)
        w.blob(sealed)
    }

    static func decode(from r: inout ByteReader) throws -> EncryptedShare {
        EncryptedShare(sender: try r.u32(), recipient: try r.u32(), sealed: try r.blob(maximum: 4096))
    }
}

/// Step 2, client → server: a commitment to the self-mask seed (SHA-256, checked when the seed is
/// rebuilt) and one encrypted share pair per neighbour in the key directory.
public struct ShareKeysMessage: SecAggMessage {
    public let round: UInt64
    public let sender: SecAggClientID
    public let selfMaskCommitment: [UInt8]
    public let shares: [EncryptedShare]

    public init(round: UInt64, sender: SecAggClientID, selfMaskCommitment: [UInt8], shares: [EncryptedShare]) {
        self.round = round
        self.sender = sender
        self.selfMaskCommitment = selfMaskCommitment
        self.shares = shares
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 53 + shares.count * (12 + EncryptedShare.sealedSize))
        w.header(.shareKeys)
        w.u64(round)
        w.u32(sender)
        w.raw(selfMaskCommitment)
        w.u32(UInt32(shares.count))
        for s in shares { s.encode(into: &w) }
        return w.bytes
    }

    public init(encoded bytes: [UInt8]) throws {
        var r = ByteReader(bytes, context: "share-keys")
        try r.header(.shareKeys)
        round = try r.u64()
        sender = try r.u32()
        selfMaskCommitment = try r.raw(32)
        let n = try r.count(elementSize: 12)
        shares = try (0..<n).map { _ in try EncryptedShare.decode(from: &r) }
        try r.finish()
    }
}

/// Step 2 → 3, server → one client: which of its neighbours are still in (shared keys), and the
/// encrypted shares they sent it. The client masks with exactly these neighbours.
public struct ShareRelay: SecAggMessage {
    public let round: UInt64
    public let recipient: SecAggClientID
    public let participants: [SecAggClientID]
    public let shares: [EncryptedShare]

    public init(round: UInt64, recipient: SecAggClientID, participants: [SecAggClientID], shares: [EncryptedShare]) {
        self.round = round
        self.recipient = recipient
        self.participants = participants
        self.shares = shares
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 21 + participants.count * 4 + shares.count * (12 + EncryptedShare.sealedSize))
        w.header(.shareRelay)
        w.u64(round)
        w.u32(recipient)
        w.ids(participants)
        w.u32(UInt32(shares.count))
        for s in shares { s.encode(into: &w) }
        return w.bytes
    }

    public init(encoded bytes: [UInt8]) throws {
        var r = ByteReader(bytes, context: "share-relay")
        try r.header(.shareRelay)
        round = try r.u64()
        recipient = try r.u32()
        participants = try r.ids()
        let n = try r.count(elementSize: 12)
        shares = try (0..<n).map { _ in try EncryptedShare.decode(from: &r) }
        try r.finish()
    }
}

/// Step 3, client → server: the masked, quantized update (4 bytes per value).
public struct MaskedInputMessage: SecAggMessage {
    public let round: UInt64
    public let sender: SecAggClientID
    public let vector: MaskedVector

    public init(round: UInt64, sender: SecAggClientID, vector: MaskedVector) {
        self.round = round
        self.sender = sender
        self.vector = vector
    }

    public func encoded() -> [UInt8] {
        let words = vector.words
        var bytes = [UInt8](repeating: 0, count: 21 + 4 * words.count)
        var w = ByteWriter()
        w.header(.maskedInput)
        w.u64(round)
        w.u32(sender)
        w.u32(UInt32(words.count))
        bytes.replaceSubrange(0..<21, with: w.bytes)
        bytes.withUnsafeMutableBytes { out in
            words.withUnsafeBufferPointer { src in
                let dst = out.baseAddress! + 21
                for i in 0..<src.count { dst.storeBytes(of: src[i].littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
            }
        }
        return bytes
    }

    public init(encoded bytes: [UInt8]) throws {
        var r = ByteReader(bytes, context: "masked-input")
        try r.header(.maskedInput)
        round = try r.u64()
        sender = try r.u32()
        let n = try r.count(elementSize: 4)
        guard r.remaining == 4 * n else { throw SecAggError.malformedMessage("masked-input: \(r.remaining - 4 * n) trailing bytes") }
        var words = [UInt32](repeating: 0, count: n)
        bytes.withUnsafeBytes { raw in
            for i in 0..<n { words[i] = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 21 + 4 * i, as: UInt32.self)) }
        }
        vector = MaskedVector(words: words)
    }
}

/// Step 3 → 4, server → survivors: who sent a masked input (survivors) and who shared keys but did
/// not (dropped). Survivors answer with shares of survivors' self-mask seeds and of dropped
/// clients' masking keys, never both for one client.
public struct UnmaskRequest: SecAggMessage {
    public let round: UInt64
    public let survivors: [SecAggClientID]
    public let dropped: [SecAggClientID]

    public init(round: UInt64, survivors: [SecAggClientID], dropped: [SecAggClientID]) {
        self.round = round
        self.survivors = survivors
        self.dropped = dropped
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.header(.unmaskRequest)
        w.u64(round)
        w.ids(survivors)
        w.ids(dropped)
        return w.bytes
    }

    public init(encoded bytes: [UInt8]) throws {
        var r = ByteReader(bytes, context: "unmask-request")
        try r.header(.unmaskRequest)
        round = try r.u64()
        survivors = try r.ids()
        dropped = try r.ids()
        try r.finish()
    }
}

/// A share revealed to the server in step 4.
public struct RevealedShare: Sendable, Equatable {
    public let owner: SecAggClientID
    public let kind: SecAggSecretKind
    public let share: ShamirShare

    public init(owner: SecAggClientID, kind: SecAggSecretKind, share: ShamirShare) {
        self.owner = owner
        self.kind = kind
        self.share = share
    }
}

/// Step 4, survivor → server.
public struct UnmaskResponse: SecAggMessage {
    public let round: UInt64
    public let sender: SecAggClientID
    public let shares: [RevealedShare]

    public init(round: UInt64, sender: SecAggClientID, shares: [RevealedShare]) {
        self.round = round
        self.sender = sender
        self.shares = shares
    }

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 21 + shares.count * (5 + ShamirShare.encodedSize))
        w.header(.unmaskResponse)
        w.u64(round)
        w.u32(sender)
        w.u32(UInt32(shares.count))
        for s in shares {
            w.u32(s.owner)
            w.u8(s.kind.rawValue)
            s.share.encode(into: &w)
        }
        return w.bytes
    }

    public init(encoded bytes: [UInt8]) throws {
        var r = ByteReader(bytes, context: "unmask-response")
        try r.header(.unmaskResponse)
        round = try r.u64()
        sender = try r.u32()
        let n = try r.count(elementSize: 5 + ShamirShare.encodedSize)
        shares = try (0..<n).map { _ in
            let owner = try r.u32()
            let k = try r.u8()
            guard let kind = SecAggSecretKind(rawValue: k) else { throw SecAggError.malformedMessage("unmask-response: secret kind \(k)") }
            return RevealedShare(owner: owner, kind: kind, share: try ShamirShare.decode(from: &r))
        }
        try r.finish()
    }
}

/// The plaintext sealed in an ``EncryptedShare``: header (round, sender, recipient) then the
/// shares of the sender's masking key and self-mask seed. The header is also the AEAD's
/// associated data.
struct SharePlaintext {
    static let encodedSize = 20 + 2 * ShamirShare.encodedSize
    let round: UInt64
    let sender: SecAggClientID
    let recipient: SecAggClientID
    let maskingKey: ShamirShare
    let selfMaskSeed: ShamirShare

    static func header(round: UInt64, sender: SecAggClientID, recipient: SecAggClientID) -> [UInt8] {
        var w = ByteWriter()
        w.raw(Array("SAsh".utf8))
        w.u64(round)
        w.u32(sender)
        w.u32(recipient)
        return w.bytes
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter()
        w.raw(Self.header(round: round, sender: sender, recipient: recipient))
        maskingKey.encode(into: &w)
        selfMaskSeed.encode(into: &w)
        return w.bytes
    }

    init(round: UInt64, sender: SecAggClientID, recipient: SecAggClientID, maskingKey: ShamirShare, selfMaskSeed: ShamirShare) {
        self.round = round
        self.sender = sender
        self.recipient = recipient
        self.maskingKey = maskingKey
        self.selfMaskSeed = selfMaskSeed
    }

    init(encoded bytes: [UInt8]) throws {
        var r = ByteReader(bytes, context: "share plaintext")
        guard try r.raw(4) == Array("SAsh".utf8) else { throw SecAggError.malformedMessage("share plaintext: bad magic") }
        round = try r.u64()
        sender = try r.u32()
        recipient = try r.u32()
        maskingKey = try ShamirShare.decode(from: &r)
        selfMaskSeed = try ShamirShare.decode(from: &r)
        try r.finish()
    }
}
