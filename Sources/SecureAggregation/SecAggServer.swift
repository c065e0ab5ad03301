import Crypto
import Foundation

/// The coordinator's side of a round. It relays messages, sums ``MaskedVector``s as they arrive
/// and, once shares are revealed, removes the masks and returns an ``AggregateSum``. Its API takes
/// and returns only protocol messages and the aggregate: it never receives a ``PlainUpdate`` or
/// ``QuantizedUpdate``, and holds at most the running sum of masked vectors.
///
/// `receive` methods reject a bad message (throwing, with an audit event) without ending the
/// round; `close…` methods end a phase (at the coordinator's deadline) and `finish` produces the
/// sum. When a round cannot complete they throw and the round is over: no output.
public final class SecAggServer {
    public let config: SecAggConfig
    public private(set) var phase: SecAggPhase = .advertiseKeys

    private let audit: SecAggAuditSink
    private let threads: Int
    private var abortReason: String?

    private var advertised: [SecAggClientID: AdvertiseKeysMessage] = [:]
    private var advertisedKeys: Set<[UInt8]> = []
    /// U1 after pruning.
    private var keyHolders: Set<SecAggClientID> = []
    private var commitments: [SecAggClientID: [UInt8]] = [:]
    private var inbox: [SecAggClientID: [EncryptedShare]] = [:] // by recipient
    /// U2 after pruning.
    private var sharers: Set<SecAggClientID> = []
    /// U3.
    private var survivors: Set<SecAggClientID> = []
    private var sum: [UInt32] = []
    private var responders: Set<SecAggClientID> = []
    private var revealed: [SecAggSecretKind: [SecAggClientID: [(sender: SecAggClientID, share: ShamirShare)]]] = [.selfMaskSeed: [:], .maskingKey: [:]]

    public init(config: SecAggConfig, threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                audit: @escaping SecAggAuditSink = { _ in }) {
        self.config = config
        self.threads = threads
        self.audit = audit
    }

    private var round: UInt64 { config.round }
    private var graph: NeighbourGraph { config.graph }

    /// Clients whose update is in the sum (valid once the masked-input phase is closed).
    public var survivingClients: [SecAggClientID] { survivors.sorted() }

    // MARK: helpers

    private func abort(_ error: SecAggError) -> SecAggError {
        phase = .aborted
        abortReason = error.description
        sum = []
        revealed = [:]
        audit(.roundAborted(round: round, reason: error.description))
        return error
    }

    private func checkPhase(_ expected: SecAggPhase, _ what: String, sender: SecAggClientID? = nil) throws {
        if let reason = abortReason { throw SecAggError.roundAborted(reason) }
        guard phase == expected else {
            let e = SecAggError.protocolViolation("\(what)\(sender.map { " from client \($0)" } ?? "") arrived in phase \(phase.rawValue)")
            audit(.rejected(round: round, phase: phase, sender: sender, reason: e.description))
            throw e
        }
    }

    private func reject(_ sender: SecAggClientID?, _ error: SecAggError) -> SecAggError {
        audit(.rejected(round: round, phase: phase, sender: sender, reason: error.description))
        return error
    }

    private func checkRound(_ r: UInt64, _ sender: SecAggClientID) throws {
        guard r == round else { throw reject(sender, .protocolViolation("message from client \(sender) is for round \(r), not \(round)")) }
        guard Int(sender) < config.clientCount else { throw reject(sender, .protocolViolation("unknown client \(sender)")) }
    }

    /// Removes, until none is left, clients with fewer than t neighbours in `set`: their shares
    /// could never be rebuilt.
    private func prune(_ set: inout Set<SecAggClientID>) -> [SecAggClientID] {
        var removed: [SecAggClientID] = []
        var changed = true
        while changed {
            changed = false
            for i in set.sorted() where graph.neighbours(of: i).filter({ set.contains($0) }).count < config.threshold {
                set.remove(i)
                removed.append(i)
                changed = true
            }
        }
        return removed.sorted()
    }

    private func requireEnough(_ count: Int, after p: SecAggPhase) throws {
        guard count >= config.minimumSurvivors else {
            throw abort(.tooFewClients(after: p, have: count, need: config.minimumSurvivors))
        }
    }

    // MARK: step 1

    public func receive(_ m: AdvertiseKeysMessage) throws {
        try checkPhase(.advertiseKeys, "advertise-keys", sender: m.sender)
        try checkRound(m.round, m.sender)
        guard advertised[m.sender] == nil else { throw reject(m.sender, .protocolViolation("client \(m.sender) advertised keys twice")) }
        guard m.encryptionPublicKey != m.maskingPublicKey,
              !advertisedKeys.contains(m.encryptionPublicKey), !advertisedKeys.contains(m.maskingPublicKey) else {
            throw reject(m.sender, .protocolViolation("client \(m.sender) advertised a public key already in use"))
        }
        guard (try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: m.maskingPublicKey)) != nil,
              (try? Curve25519.KeyAgreement.PublicKey(rawRepresentation: m.encryptionPublicKey)) != nil else {
            throw reject(m.sender, .protocolViolation("client \(m.sender) advertised an invalid public key"))
        }
        advertised[m.sender] = m
        advertisedKeys.insert(m.encryptionPublicKey)
        advertisedKeys.insert(m.maskingPublicKey)
    }

    /// Ends step 1: returns each remaining client's key directory (its neighbours' keys).
    public func closeAdvertiseKeys() throws -> [KeyDirectory] {
        try checkPhase(.advertiseKeys, "closeAdvertiseKeys")
        var set = Set(advertised.keys)
        let missing = (0..<SecAggClientID(config.clientCount)).filter { !set.contains($0) }
        if !missing.isEmpty { audit(.clientsExcluded(round: round, phase: .advertiseKeys, clients: missing, reason: "no keys advertised")) }
        let pruned = prune(&set)
        if !pruned.isEmpty {
            audit(.clientsExcluded(round: round, phase: .advertiseKeys, clients: pruned, reason: "fewer than t=\(config.threshold) neighbours advertised keys"))
        }
        try requireEnough(set.count, after: .advertiseKeys)
        keyHolders = set
        phase = .shareKeys
        return set.sorted().map { i in
            KeyDirectory(round: round, recipient: i, entries: graph.neighbours(of: i).filter { set.contains($0) }.map { j in
                let a = advertised[j]!
                return KeyDirectory.Entry(client: j, encryptionPublicKey: a.encryptionPublicKey, maskingPublicKey: a.maskingPublicKey)
            })
        }
    }

    // MARK: step 2

    public func receive(_ m: ShareKeysMessage) throws {
        try checkPhase(.shareKeys, "share-keys", sender: m.sender)
        try checkRound(m.round, m.sender)
        guard keyHolders.contains(m.sender) else { throw reject(m.sender, .protocolViolation("client \(m.sender) is not in the round")) }
        guard commitments[m.sender] == nil else { throw reject(m.sender, .protocolViolation("client \(m.sender) shared keys twice")) }
        let expected = Set(graph.neighbours(of: m.sender).filter { keyHolders.contains($0) })
        let recipients = m.shares.map(\.recipient)
        guard Set(recipients) == expected, recipients.count == expected.count,
              m.shares.allSatisfy({ $0.sender == m.sender && $0.sealed.count == EncryptedShare.sealedSize }) else {
            throw reject(m.sender, .protocolViolation("client \(m.sender) did not send exactly one well-sized share to each neighbour in its directory"))
        }
        commitments[m.sender] = m.selfMaskCommitment
        for s in m.shares { inbox[s.recipient, default: []].append(s) }
    }

    /// Ends step 2: returns each remaining client's relay (its neighbours still in, and their
    /// encrypted shares for it).
    public func closeShareKeys() throws -> [ShareRelay] {
        try checkPhase(.shareKeys, "closeShareKeys")
        var set = Set(commitments.keys)
        let missing = keyHolders.subtracting(set).sorted()
        if !missing.isEmpty { audit(.clientsExcluded(round: round, phase: .shareKeys, clients: missing, reason: "no shares sent")) }
        let pruned = prune(&set)
        if !pruned.isEmpty {
            audit(.clientsExcluded(round: round, phase: .shareKeys, clients: pruned, reason: "fewer than t=\(config.threshold) neighbours shared keys"))
        }
        try requireEnough(set.count, after: .shareKeys)
        sharers = set
        sum = [UInt32](repeating: 0, count: config.dimension)
        phase = .maskedInput
        let relays = set.sorted().map { i in
            ShareRelay(round: round, recipient: i, participants: graph.neighbours(of: i).filter { set.contains($0) },
                       shares: (inbox[i] ?? []).filter { set.contains($0.sender) }.sorted { $0.sender < $1.sender })
        }
        inbox = [:]
        return relays
    }

    // MARK: step 3

    /// Adds a masked input to the running sum.
    public func receive(_ m: MaskedInputMessage) throws {
        try checkPhase(.maskedInput, "masked-input", sender: m.sender)
        try checkRound(m.round, m.sender)
        guard sharers.contains(m.sender) else { throw reject(m.sender, .protocolViolation("client \(m.sender) did not share keys")) }
        guard !survivors.contains(m.sender) else { throw reject(m.sender, .protocolViolation("client \(m.sender) sent two masked inputs")) }
        guard m.vector.words.count == config.dimension else {
            throw reject(m.sender, .protocolViolation("masked input from client \(m.sender) has \(m.vector.words.count) values, expected \(config.dimension)"))
        }
        MaskExpander.add(m.vector.words, into: &sum)
        survivors.insert(m.sender)
    }

    /// Ends step 3: the request every survivor gets.
    public func closeMaskedInput() throws -> UnmaskRequest {
        try checkPhase(.maskedInput, "closeMaskedInput")
        let dropped = sharers.subtracting(survivors).sorted()
        if !dropped.isEmpty { audit(.clientsExcluded(round: round, phase: .maskedInput, clients: dropped, reason: "no masked input")) }
        try requireEnough(survivors.count, after: .maskedInput)
        phase = .unmask
        return UnmaskRequest(round: round, survivors: survivors.sorted(), dropped: dropped)
    }

    // MARK: step 4

    public func receive(_ m: UnmaskResponse) throws {
        try checkPhase(.unmask, "unmask-response", sender: m.sender)
        try checkRound(m.round, m.sender)
        guard survivors.contains(m.sender) else { throw reject(m.sender, .protocolViolation("client \(m.sender) is not a survivor")) }
        guard !responders.contains(m.sender) else { throw reject(m.sender, .protocolViolation("client \(m.sender) answered twice")) }
        var owners = Set<SecAggClientID>()
        for s in m.shares {
            guard sharers.contains(s.owner), graph.areNeighbours(m.sender, s.owner), owners.insert(s.owner).inserted else {
                throw reject(m.sender, .protocolViolation("client \(m.sender) revealed a share of client \(s.owner), which it does not hold"))
            }
            let expectedKind: SecAggSecretKind = survivors.contains(s.owner) ? .selfMaskSeed : .maskingKey
            guard s.kind == expectedKind else {
                throw reject(m.sender, .protocolViolation("client \(m.sender) revealed the \(s.kind) of client \(s.owner), which \(expectedKind == .selfMaskSeed ? "survived" : "dropped")"))
            }
            guard s.share.x == UInt64(m.sender) + 1, Shamir.wellFormed(s.share) else {
                throw reject(m.sender, .tamperedShare(sender: m.sender, owner: s.owner, kind: s.kind))
            }
        }
        responders.insert(m.sender)
        for s in m.shares { revealed[s.kind]![s.owner, default: []].append((m.sender, s.share)) }
    }

    /// Ends step 4: rebuilds the survivors' self-mask seeds and the dropped clients' masking keys,
    /// removes all masks and returns the sum. Throws (and the round has no output) if some secret
    /// has fewer than t shares or a share is tampered with.
    public func finish() throws -> AggregateSum {
        try checkPhase(.unmask, "finish")
        let dropped = sharers.subtracting(survivors).sorted()
        // Dropped clients with no surviving neighbour left no mask in the sum.
        let droppedWithMasks = dropped.filter { j in graph.neighbours(of: j).contains { survivors.contains($0) } }
        // Check every count before rebuilding anything.
        for j in survivors.sorted() {
            let have = revealed[.selfMaskSeed]![j]?.count ?? 0
            if have < config.threshold { throw abort(.insufficientShares(client: j, kind: .selfMaskSeed, have: have, need: config.threshold)) }
        }
        for j in droppedWithMasks {
            let have = revealed[.maskingKey]![j]?.count ?? 0
            if have < config.threshold { throw abort(.insufficientShares(client: j, kind: .maskingKey, have: have, need: config.threshold)) }
        }
        var streams: [MaskStream] = []
        for j in survivors.sorted() {
            let seed = try rebuild(owner: j, kind: .selfMaskSeed) { candidate in
                SecAggKDF.seedCommitment(seed: candidate, round: self.round, owner: j) == self.commitments[j]
            }
            streams.append(MaskStream(key: SecAggKDF.selfMaskKey(seed: seed, round: round, owner: j), subtract: true))
        }
        for j in droppedWithMasks {
            let publicKey = advertised[j]!.maskingPublicKey
            let raw = try rebuild(owner: j, kind: .maskingKey) { candidate in
                (try? Curve25519.KeyAgreement.PrivateKey(rawRepresentation: candidate)).map { Array($0.publicKey.rawRepresentation) == publicKey } ?? false
            }
            let key = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: raw)
            for l in graph.neighbours(of: j) where survivors.contains(l) {
                let peer = try Curve25519.KeyAgreement.PublicKey(rawRepresentation: advertised[l]!.maskingPublicKey)
                let secret = try key.sharedSecretFromKeyAgreement(with: peer)
                // Survivor l added +PRG(s_lj) if j > l, −PRG(s_lj) if j < l: undo it.
                streams.append(MaskStream(key: SecAggKDF.pairwiseMaskKey(secret: secret, round: round, l, j), subtract: j > l))
            }
        }
        var result = sum
        MaskExpander.apply(streams, to: &result, threads: threads)
        sum = []
        revealed = [:]
        phase = .finished
        audit(.aggregateProduced(round: round, survivors: survivors.count, dropped: dropped.count))
        return AggregateSum(round: round, survivors: survivors.sorted(), dropped: dropped, integerSum: result, scheme: config.quantization)
    }

    private func rebuild(owner j: SecAggClientID, kind: SecAggSecretKind, verify: ([UInt8]) -> Bool) throws -> [UInt8] {
        let entries = revealed[kind]![j]!.sorted { $0.sender < $1.sender }
        switch Shamir.reconstruct(entries.map(\.share), threshold: config.threshold, verify: verify) {
        case let .success(secret):
            audit(.secretReconstructed(round: round, owner: j, kind: kind, shareholders: entries.map(\.sender)))
            return secret
        case let .failure(.badShare(x)):
            throw abort(.tamperedShare(sender: SecAggClientID(x - 1), owner: j, kind: kind))
        case .failure(.inconsistent):
            throw abort(.inconsistentShares(owner: j, kind: kind, senders: entries.map(\.sender)))
        }
    }
}
