import Foundation

/// A client's index in the round, `0..<clientCount`. The coordinator maps its own client names
/// to these dense indices; the neighbour graph and the Shamir evaluation points (`id + 1`) use them.
public typealias SecAggClientID = UInt32

/// Which of a client's two secrets a Shamir share belongs to.
public enum SecAggSecretKind: UInt8, Sendable, Equatable, CustomStringConvertible {
    /// The seed `b_i` of the client's self mask; revealed (by shares) only for survivors.
    case selfMaskSeed = 1
    /// The private masking key `s_sk_i`; revealed (by shares) only for clients that dropped
    /// after sharing, so the server can remove their pairwise masks.
    case maskingKey = 2

    public var description: String {
        switch self {
        case .selfMaskSeed: "self-mask seed"
        case .maskingKey: "masking key"
        }
    }
}

/// The protocol's phases, in order.
public enum SecAggPhase: String, Sendable, Equatable {
    case advertiseKeys = "advertise-keys"
    case shareKeys = "share-keys"
    case maskedInput = "masked-input"
    case unmask = "unmask"
    case finished = "finished"
    case aborted = "aborted"
}

/// Everything that can go wrong in a round. `description` is one line meant for an operator.
public enum SecAggError: Error, Equatable, CustomStringConvertible, Sendable {
    /// Fewer than `need` shares of a client's secret reached the server: the round has no output.
    case insufficientShares(client: SecAggClientID, kind: SecAggSecretKind, have: Int, need: Int)
    /// Fewer than `need` clients are left after a phase: the round has no output.
    case tooFewClients(after: SecAggPhase, have: Int, need: Int)
    /// A client refuses to go on: fewer than `need` of its neighbours are still in the round.
    case tooFewNeighbours(client: SecAggClientID, phase: SecAggPhase, have: Int, need: Int)
    /// An encrypted share failed authentication (tampered, replayed, or mislabelled): rejected.
    case shareDecryptionFailed(sender: SecAggClientID, recipient: SecAggClientID)
    /// A share revealed to the server is inconsistent with the other shares and with the owner's
    /// commitment (self-mask seed) or public key (masking key): rejected.
    case tamperedShare(sender: SecAggClientID, owner: SecAggClientID, kind: SecAggSecretKind)
    /// Shares of a secret are inconsistent and no single bad share explains it.
    case inconsistentShares(owner: SecAggClientID, kind: SecAggSecretKind, senders: [SecAggClientID])
    /// A message could not be decoded.
    case malformedMessage(String)
    /// A message is well formed but breaks the protocol (wrong round, phase, sender, recipient...).
    case protocolViolation(String)
    /// k, t, n, d or the clip bound are unusable.
    case invalidParameters(String)
    /// An update contains NaN.
    case nonFiniteInput(index: Int)
    /// The round was aborted earlier; nothing more can happen in it.
    case roundAborted(String)

    public var description: String {
        switch self {
        case let .insufficientShares(client, kind, have, need):
            "round aborted: only \(have) of \(need) shares for client \(client) (\(kind))"
        case let .tooFewClients(phase, have, need):
            "round aborted: only \(have) clients left after \(phase.rawValue), need at least \(need)"
        case let .tooFewNeighbours(client, phase, have, need):
            "client \(client) stops at \(phase.rawValue): only \(have) of its neighbours remain, threshold is \(need)"
        case let .shareDecryptionFailed(sender, recipient):
            "rejected encrypted share from client \(sender) to client \(recipient): authentication failed (tampered or mislabelled ciphertext)"
        case let .tamperedShare(sender, owner, kind):
            "rejected share of client \(owner)'s \(kind) revealed by client \(sender): it does not match the other shares and the owner's \(kind == .selfMaskSeed ? "commitment" : "public key")"
        case let .inconsistentShares(owner, kind, senders):
            "round aborted: shares of client \(owner)'s \(kind) from clients \(senders.map(String.init).joined(separator: ",")) are inconsistent (more than one tampered?)"
        case let .malformedMessage(m): "malformed SecAgg message: \(m)"
        case let .protocolViolation(m): "SecAgg protocol violation: \(m)"
        case let .invalidParameters(m): "invalid SecAgg parameters: \(m)"
        case let .nonFiniteInput(index): "update value \(index) is NaN"
        case let .roundAborted(m): "round was already aborted: \(m)"
        }
    }
}

extension SecAggError {
    /// `error` itself if it is a SecAggError, else a protocol violation describing it.
    static func wrapping(_ error: Error) -> SecAggError {
        (error as? SecAggError) ?? .protocolViolation("\(error)")
    }
}

/// Key events, for the run journal. No event carries secret material: public-key fingerprints
/// (first 8 bytes of SHA-256, hex) and client ids only.
public enum SecAggAuditEvent: Sendable, Equatable {
    /// A client generated its fresh key pairs for the round.
    case keysGenerated(round: UInt64, client: SecAggClientID, encryptionKey: String, maskingKey: String)
    /// A client Shamir-shared its self-mask seed and masking key and encrypted one share pair to
    /// each of these neighbours.
    case sharesDistributed(round: UInt64, client: SecAggClientID, recipients: [SecAggClientID], threshold: Int)
    /// A client decrypted and accepted the shares these neighbours sent it.
    case sharesAccepted(round: UInt64, client: SecAggClientID, senders: [SecAggClientID])
    /// A client sent its masked input, masked with these neighbours' pairwise masks.
    case maskedInputSent(round: UInt64, client: SecAggClientID, pairedWith: [SecAggClientID])
    /// A client revealed shares: of self-mask seeds of surviving neighbours and of masking keys of
    /// dropped neighbours.
    case sharesRevealed(round: UInt64, client: SecAggClientID, selfMaskSeedsOf: [SecAggClientID], maskingKeysOf: [SecAggClientID])
    /// The server reconstructed a secret for recovery from these shareholders' shares.
    case secretReconstructed(round: UInt64, owner: SecAggClientID, kind: SecAggSecretKind, shareholders: [SecAggClientID])
    /// The server left clients out of the round (they stopped, or had too few neighbours left).
    case clientsExcluded(round: UInt64, phase: SecAggPhase, clients: [SecAggClientID], reason: String)
    /// A message or share was rejected.
    case rejected(round: UInt64, phase: SecAggPhase, sender: SecAggClientID?, reason: String)
    /// The round ended without output.
    case roundAborted(round: UInt64, reason: String)
    /// The server produced the sum of the survivors' updates.
    case aggregateProduced(round: UInt64, survivors: Int, dropped: Int)

    /// A short name for the event type (`keys_generated`, ...).
    public var name: String {
        switch self {
        case .keysGenerated: "keys_generated"
        case .sharesDistributed: "shares_distributed"
        case .sharesAccepted: "shares_accepted"
        case .maskedInputSent: "masked_input_sent"
        case .sharesRevealed: "shares_revealed"
        case .secretReconstructed: "secret_reconstructed"
        case .clientsExcluded: "clients_excluded"
        case .rejected: "rejected"
        case .roundAborted: "round_aborted"
        case .aggregateProduced: "aggregate_produced"
        }
    }

    /// Flat string fields, for a journal row.
    public var fields: [String: String] {
        func list(_ ids: [SecAggClientID]) -> String { ids.map(String.init).joined(separator: ",") }
        switch self {
        case let .keysGenerated(round, client, e, m):
            return ["round": "\(round)", "client": "\(client)", "encryption_key": e, "masking_key": m]
        case let .sharesDistributed(round, client, recipients, t):
            return ["round": "\(round)", "client": "\(client)", "recipients": list(recipients), "threshold": "\(t)"]
        case let .sharesAccepted(round, client, senders):
            return ["round": "\(round)", "client": "\(client)", "senders": list(senders)]
        case let .maskedInputSent(round, client, paired):
            return ["round": "\(round)", "client": "\(client)", "paired_with": list(paired)]
        case let .sharesRevealed(round, client, b, s):
            return ["round": "\(round)", "client": "\(client)", "self_mask_seeds_of": list(b), "masking_keys_of": list(s)]
        case let .secretReconstructed(round, owner, kind, holders):
            return ["round": "\(round)", "owner": "\(owner)", "kind": "\(kind)", "shareholders": list(holders)]
        case let .clientsExcluded(round, phase, clients, reason):
            return ["round": "\(round)", "phase": phase.rawValue, "clients": list(clients), "reason": reason]
        case let .rejected(round, phase, sender, reason):
            return ["round": "\(round)", "phase": phase.rawValue, "sender": sender.map { "\($0)" } ?? "", "reason": reason]
        case let .roundAborted(round, reason):
            return ["round": "\(round)", "reason": reason]
        case let .aggregateProduced(round, survivors, dropped):
            return ["round": "\(round)", "survivors": "\(survivors)", "dropped": "\(dropped)"]
        }
    }
}

/// Receives audit events. Called synchronously on the thread that drives the client or server.
public typealias SecAggAuditSink = (SecAggAuditEvent) -> Void
