import Crypto
import Foundation

/// One client's side of a round. Holds the client's secrets and its ``PlainUpdate``; everything
/// it emits is a message whose content the server may see. Methods must be called in protocol
/// order, once each; any error leaves the client stopped (it then counts as dropped).
public final class SecAggClient {
    public let id: SecAggClientID
    public let config: SecAggConfig
    public private(set) var phase: SecAggPhase = .advertiseKeys

    private let audit: SecAggAuditSink
    private let threads: Int
    private let encryptionKey = Curve25519.KeyAgreement.PrivateKey()
    private var maskingKey: Curve25519.KeyAgreement.PrivateKey? = Curve25519.KeyAgreement.PrivateKey()
    private var selfMaskSeed: [UInt8]?
    /// Neighbours' public keys from the key directory.
    private var directory: [SecAggClientID: KeyDirectory.Entry] = [:]
    /// Neighbours still in after ShareKeys (the ones this client masked with).
    private var participants: [SecAggClientID] = []
    /// Shares this client holds for its neighbours.
    private var held: [SecAggClientID: SharePlaintext] = [:]
    /// X25519(c_sk_i, c_pk_j) per neighbour, computed once in step 2 and reused in step 3 to open
    /// the shares j sent (the direction is bound by the HKDF info, not the DH).
    private var encryptionSecrets: [SecAggClientID: SharedSecret] = [:]

    /// - Parameters:
    ///   - threads: threads for mask expansion (defaults to all cores).
    public init(id: SecAggClientID, config: SecAggConfig, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                audit: @escaping SecAggAuditSink = { _ in }) throws {
        guard Int(id) < config.clientCount else {
            throw SecAggError.invalidParameters("client id \(id) is outside 0..<\(config.clientCount)")
        }
        self.id = id
        self.config = config
        self.threads = threads
        self.audit = audit
    }

    private var round: UInt64 { config.round }

    private func fail(_ error: SecAggError) -> SecAggError {
        phase = .aborted
        selfMaskSeed = nil
        maskingKey = nil
        held = [:]
        encryptionSecrets = [:]
        return error
    }

    private func expect(_ p: SecAggPhase, _ what: String) throws {
        guard phase == p else {
            throw SecAggError.protocolViolation("client \(id): \(what) called in phase \(phase.rawValue)")
        }
    }

    // MARK: step 1

    /// Step 1: the client's fresh public keys.
    public func advertiseKeys() throws -> AdvertiseKeysMessage {
        try expect(.advertiseKeys, "advertiseKeys")
        let e = Array(encryptionKey.publicKey.rawRepresentation)
        let m = Array(maskingKey!.publicKey.rawRepresentation)
        audit(.keysGenerated(round: round, client: id, encryptionKey: SecAggKDF.fingerprint(e), maskingKey: SecAggKDF.fingerprint(m)))
        phase = .shareKeys
        return AdvertiseKeysMessage(round: round, sender: id, encryptionPublicKey: e, maskingPublicKey: m)
    }

    // MARK: step 2

    /// Step 2: draws the self-mask seed, Shamir-shares it and the masking key t-of-m among the
    /// neighbours in `directory`, and seals one share pair for each.
    public func shareKeys(_ directory: KeyDirectory) throws -> ShareKeysMessage {
        try expect(.shareKeys, "shareKeys")
        do {
            return try shareKeysChecked(directory)
        } catch { throw fail(SecAggError.wrapping(error)) }
    }

    private func shareKeysChecked(_ dir: KeyDirectory) throws -> ShareKeysMessage {
        guard dir.round == round, dir.recipient == id else {
            throw SecAggError.protocolViolation("client \(id): key directory for round \(dir.round), client \(dir.recipient)")
        }
        var seenKeys: Set<[UInt8]> = [Array(encryptionKey.publicKey.rawRepresentation), Array(maskingKey!.publicKey.rawRepresentation)]
        var entries: [SecAggClientID: KeyDirectory.Entry] = [:]
        for e in dir.entries {
            guard config.graph.areNeighbours(id, e.client) else {
                throw SecAggError.protocolViolation("client \(id): key directory lists client \(e.client), which is not a neighbour in the round's graph")
            }
            guard entries[e.client] == nil else {
                throw SecAggError.protocolViolation("client \(id): key directory lists client \(e.client) twice")
            }
            guard seenKeys.insert(e.encryptionPublicKey).inserted, seenKeys.insert(e.maskingPublicKey).inserted else {
                throw SecAggError.protocolViolation("client \(id): key directory repeats a public key (client \(e.client))")
            }
            guard (try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: e.encryptionPublicKey)) != nil,
                  (try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: e.maskingPublicKey)) != nil else {
                throw SecAggError.protocolViolation("client \(id): invalid public key for client \(e.client)")
            }
            entries[e.client] = e
        }
        guard entries.count >= config.threshold else {
            throw SecAggError.tooFewNeighbours(client: id, phase: .shareKeys, have: entries.count, need: config.threshold)
        }
        directory = entries
        let recipients = entries.keys.sorted()
        let seed = SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }
        selfMaskSeed = seed
        var rng = SystemRandomNumberGenerator()
        let points = recipients.map { UInt64($0) + 1 }
        let keyShares = Shamir.split(secret: Array(maskingKey!.rawRepresentation), threshold: config.threshold, points: points, using: &rng)
        let seedShares = Shamir.split(secret: seed, threshold: config.threshold, points: points, using: &rng)
        let myEncryptionKey = Array(encryptionKey.publicKey.rawRepresentation)
        var sealed: [EncryptedShare] = []
        sealed.reserveCapacity(recipients.count)
        for (i, j) in recipients.enumerated() {
            let entry = entries[j]!
            let peer = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: entry.encryptionPublicKey)
            let secret = try encryptionKey.sharedSecretFromKeyAgreement(with: peer)
            encryptionSecrets[j] = secret
            let key = SecAggKDF.shareKey(secret: secret, round: round, sender: id, recipient: j,
                                         senderKey: myEncryptionKey, recipientKey: entry.encryptionPublicKey)
            let plaintext = SharePlaintext(round: round, sender: id, recipient: j, maskingKey: keyShares[i], selfMaskSeed: seedShares[i])
            let box = try ChaChaPoly.seal(plaintext.encoded(), using: key,
                                          authenticating: SharePlaintext.header(round: round, sender: id, recipient: j))
            sealed.append(EncryptedShare(sender: id, recipient: j, sealed: Array(box.combined)))
        }
        audit(.sharesDistributed(round: round, client: id, recipients: recipients, threshold: config.threshold))
        phase = .maskedInput
        return ShareKeysMessage(round: round, sender: id, selfMaskCommitment: SecAggKDF.seedCommitment(seed: seed, round: round, owner: id),
                                shares: sealed)
    }

    // MARK: step 3

    /// Step 3: decrypts and checks the shares neighbours sent, quantizes `update` (stochastic
    /// rounding seeded by `roundingSeed`) and masks it.
    public func maskedInput(_ relay: ShareRelay, update: PlainUpdate, roundingSeed: UInt64) throws -> MaskedInputMessage {
        try expect(.maskedInput, "maskedInput")
        let q: QuantizedUpdate
        do { q = try update.quantized(with: config.quantization, roundingSeed: roundingSeed) } catch { throw fail(SecAggError.wrapping(error)) }
        return try maskedInput(relay, quantized: q)
    }

    /// Step 3 with an already quantized update.
    public func maskedInput(_ relay: ShareRelay, quantized: QuantizedUpdate) throws -> MaskedInputMessage {
        try expect(.maskedInput, "maskedInput")
        do {
            return try maskedInputChecked(relay, quantized: quantized)
        } catch { throw fail(SecAggError.wrapping(error)) }
    }

    private func maskedInputChecked(_ relay: ShareRelay, quantized: QuantizedUpdate) throws -> MaskedInputMessage {
        guard relay.round == round, relay.recipient == id else {
            throw SecAggError.protocolViolation("client \(id): share relay for round \(relay.round), client \(relay.recipient)")
        }
        guard quantized.words.count == config.dimension else {
            throw SecAggError.invalidParameters("update has \(quantized.words.count) values, the round's dimension is \(config.dimension)")
        }
        var members = Set<SecAggClientID>()
        for j in relay.participants {
            guard directory[j] != nil else {
                throw SecAggError.protocolViolation("client \(id): relay lists client \(j), which was not in its key directory")
            }
            guard members.insert(j).inserted else { throw SecAggError.protocolViolation("client \(id): relay lists client \(j) twice") }
        }
        guard members.count >= config.threshold else {
            throw SecAggError.tooFewNeighbours(client: id, phase: .maskedInput, have: members.count, need: config.threshold)
        }
        let myEncryptionKey = Array(encryptionKey.publicKey.rawRepresentation)
        var accepted: [SecAggClientID: SharePlaintext] = [:]
        for s in relay.shares {
            guard s.recipient == id, members.contains(s.sender) else {
                throw SecAggError.protocolViolation("client \(id): relay carries a share from \(s.sender) to \(s.recipient)")
            }
            guard accepted[s.sender] == nil else {
                throw SecAggError.protocolViolation("client \(id): relay carries two shares from client \(s.sender)")
            }
            let entry = directory[s.sender]!
            let plaintext: [UInt8]
            do {
                let secret = try encryptionSecrets[s.sender] ?? encryptionKey.sharedSecretFromKeyAgreement(
                    with: Curve25519.KeyAgreement.PublicKey(rawRepresentation: entry.encryptionPublicKey))
                let key = SecAggKDF.shareKey(secret: secret, round: round, sender: s.sender, recipient: id,
                                             senderKey: entry.encryptionPublicKey, recipientKey: myEncryptionKey)
                let box = try ChaChaPoly.SealedBox(combined: s.sealed)
                plaintext = Array(try ChaChaPoly.open(box, using: key,
                                                      authenticating: SharePlaintext.header(round: round, sender: s.sender, recipient: id)))
            } catch {
                throw SecAggError.shareDecryptionFailed(sender: s.sender, recipient: id)
            }
            let p: SharePlaintext
            do { p = try SharePlaintext(encoded: plaintext) } catch {
                throw SecAggError.protocolViolation("client \(id): authenticated share from client \(s.sender) is malformed")
            }
            let x = UInt64(id) + 1
            guard p.round == round, p.sender == s.sender, p.recipient == id,
                  p.maskingKey.x == x, p.selfMaskSeed.x == x,
                  Shamir.wellFormed(p.maskingKey), Shamir.wellFormed(p.selfMaskSeed) else {
                throw SecAggError.protocolViolation("client \(id): share from client \(s.sender) is for another round, client or point")
            }
            accepted[s.sender] = p
        }
        guard accepted.count == members.count else {
            let missing = members.subtracting(accepted.keys).sorted()
            throw SecAggError.protocolViolation("client \(id): relay lacks shares from clients \(missing.map(String.init).joined(separator: ","))")
        }
        held = accepted
        encryptionSecrets = [:]
        participants = members.sorted()
        audit(.sharesAccepted(round: round, client: id, senders: participants))

        var streams: [MaskStream] = [MaskStream(key: SecAggKDF.selfMaskKey(seed: selfMaskSeed!, round: round, owner: id), subtract: false)]
        for j in participants {
            let peer = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: directory[j]!.maskingPublicKey)
            let secret = try maskingKey!.sharedSecretFromKeyAgreement(with: peer)
            // +PRG(s_ij) for j > i, −PRG(s_ij) for j < i: the pair's masks cancel in the sum.
            streams.append(MaskStream(key: SecAggKDF.pairwiseMaskKey(secret: secret, round: round, id, j), subtract: j < id))
        }
        var words = quantized.words
        MaskExpander.apply(streams, to: &words, threads: threads)
        // Neither secret is needed again by this client; its neighbours hold the shares.
        selfMaskSeed = nil
        maskingKey = nil
        audit(.maskedInputSent(round: round, client: id, pairedWith: participants))
        phase = .unmask
        return MaskedInputMessage(round: round, sender: id, vector: MaskedVector(words: words))
    }

    // MARK: step 4

    /// Step 4: reveals, for each neighbour that shared keys, the share of its self-mask seed if the
    /// server says it survived, or of its masking key if it dropped. Refuses if the request is
    /// inconsistent with what this client saw or if fewer than t neighbours survived.
    public func unmask(_ request: UnmaskRequest) throws -> UnmaskResponse {
        try expect(.unmask, "unmask")
        do {
            return try unmaskChecked(request)
        } catch { throw fail(SecAggError.wrapping(error)) }
    }

    private func unmaskChecked(_ request: UnmaskRequest) throws -> UnmaskResponse {
        guard request.round == round else {
            throw SecAggError.protocolViolation("client \(id): unmask request for round \(request.round)")
        }
        let survivors = Set(request.survivors), dropped = Set(request.dropped)
        guard survivors.count == request.survivors.count, dropped.count == request.dropped.count, survivors.isDisjoint(with: dropped) else {
            throw SecAggError.protocolViolation("client \(id): unmask request lists a client twice or as both survivor and dropped")
        }
        guard survivors.contains(id) else {
            throw SecAggError.protocolViolation("client \(id): unmask request does not list this client as a survivor")
        }
        let participantSet = Set(participants)
        for j in config.graph.neighbours(of: id) {
            let listed = survivors.contains(j) || dropped.contains(j)
            if participantSet.contains(j) && !listed {
                throw SecAggError.protocolViolation("client \(id): unmask request omits neighbour \(j)")
            }
            if !participantSet.contains(j) && listed {
                throw SecAggError.protocolViolation("client \(id): unmask request lists neighbour \(j), which did not share keys with it")
            }
        }
        let survivingNeighbours = participants.filter { survivors.contains($0) }
        guard survivingNeighbours.count >= config.threshold else {
            throw SecAggError.tooFewNeighbours(client: id, phase: .unmask, have: survivingNeighbours.count, need: config.threshold)
        }
        var shares: [RevealedShare] = []
        var seedsOf: [SecAggClientID] = [], keysOf: [SecAggClientID] = []
        for j in participants {
            let p = held[j]!
            if survivors.contains(j) {
                shares.append(RevealedShare(owner: j, kind: .selfMaskSeed, share: p.selfMaskSeed))
                seedsOf.append(j)
            } else {
                shares.append(RevealedShare(owner: j, kind: .maskingKey, share: p.maskingKey))
                keysOf.append(j)
            }
        }
        held = [:]
        audit(.sharesRevealed(round: round, client: id, selfMaskSeedsOf: seedsOf, maskingKeysOf: keysOf))
        phase = .finished
        return UnmaskResponse(round: round, sender: id, shares: shares)
    }
}
