import Foundation
import XCTest
@testable import SecureAggregation

/// Tampered ciphertexts, shares and messages are rejected, naming the sender.
final class TamperTests: XCTestCase {
    let n = 8, d = 12
    func config(_ round: UInt64 = 1) throws -> SecAggConfig {
        try SecAggConfig(round: round, clientCount: n, dimension: d, degree: 7, threshold: 4, graphSeed: 11, clipBound: 1)
    }

    /// A flipped bit in an encrypted share relayed to client 3: client 3 rejects it, naming the
    /// sender, and stops; the round completes without client 3.
    func testTamperedShareCiphertextIsRejectedNamingTheSender() throws {
        let config = try config()
        let updates = SecAggTestSupport.updates(n: n, d: d, seed: 1)
        var victimSender: SecAggClientID?
        let outcome = try SecAggSimulation.run(config: config, updates: updates, roundingSeed: 9, relay: { type, client, bytes in
            guard type == "masked-input-in", client == 3 else { return }
            let relay = try! ShareRelay(encoded: bytes)
            var shares = relay.shares
            var sealed = shares[2].sealed
            sealed[30] ^= 0x01
            victimSender = shares[2].sender
            shares[2] = EncryptedShare(sender: shares[2].sender, recipient: 3, sealed: sealed)
            bytes = ShareRelay(round: relay.round, recipient: 3, participants: relay.participants, shares: shares).encoded()
        })
        let sender = try XCTUnwrap(victimSender)
        XCTAssertEqual(outcome.clientErrors[3], .shareDecryptionFailed(sender: sender, recipient: 3))
        XCTAssertEqual(outcome.clientErrors[3]?.description,
                       "rejected encrypted share from client \(sender) to client 3: authentication failed (tampered or mislabelled ciphertext)")
        let sum = try XCTUnwrap(outcome.aggregate)
        XCTAssertEqual(sum.survivors, [0, 1, 2, 4, 5, 6, 7])
        XCTAssertEqual(sum.dropped, [3])
        let q = try SecAggTestSupport.quantized(updates, config: config, roundingSeed: 9)
        XCTAssertEqual(sum.integerSum, SecAggTestSupport.integerSum(q, of: sum.survivors, d: d))
    }

    /// Relabelled ciphertexts (a share from one client presented as another's, or replayed from
    /// another round) fail authentication: the key and associated data bind round, sender and
    /// recipient.
    func testMislabelledAndReplayedCiphertextsAreRejected() throws {
        let config = try config()
        let updates = SecAggTestSupport.updates(n: n, d: d, seed: 2)
        let swapped = try SecAggSimulation.run(config: config, updates: updates, relay: { type, client, bytes in
            guard type == "masked-input-in", client == 5 else { return }
            let relay = try! ShareRelay(encoded: bytes)
            var shares = relay.shares
            let a = shares[0], b = shares[1]
            shares[0] = EncryptedShare(sender: a.sender, recipient: 5, sealed: b.sealed)
            shares[1] = EncryptedShare(sender: b.sender, recipient: 5, sealed: a.sealed)
            bytes = ShareRelay(round: relay.round, recipient: 5, participants: relay.participants, shares: shares).encoded()
        })
        XCTAssertEqual(swapped.clientErrors[5], .shareDecryptionFailed(sender: 0, recipient: 5))

        // A share sealed for client 6 delivered to client 5 under the right sender label.
        var forSix: EncryptedShare?
        let misdirected = try SecAggSimulation.run(config: config, updates: updates, relay: { type, client, bytes in
            guard type == "masked-input-in" else { return }
            let relay = try! ShareRelay(encoded: bytes)
            if client == 6 { forSix = relay.shares.first { $0.sender == 0 } }
        })
        XCTAssertNotNil(misdirected.aggregate)
        let stolen = try XCTUnwrap(forSix)
        let replay = try SecAggSimulation.run(config: config, updates: updates, relay: { type, client, bytes in
            guard type == "masked-input-in", client == 5 else { return }
            let relay = try! ShareRelay(encoded: bytes)
            let shares = relay.shares.map { $0.sender == 0 ? EncryptedShare(sender: 0, recipient: 5, sealed: stolen.sealed) : $0 }
            bytes = ShareRelay(round: relay.round, recipient: 5, participants: relay.participants, shares: shares).encoded()
        })
        // Fresh keys every round: the old ciphertext cannot open under this round's keys either.
        XCTAssertEqual(replay.clientErrors[5], .shareDecryptionFailed(sender: 0, recipient: 5))
    }

    /// A share revealed to the server with a changed value: the rebuilt seed fails its commitment,
    /// the bad share is found, and the round aborts naming the sender.
    func testTamperedRevealedSeedShareIsRejectedNamingTheSender() throws {
        for tamperer: SecAggClientID in [0, 6] { // first of the t shares used, and one outside them
            let outcome = try SecAggSimulation.run(config: config(), updates: SecAggTestSupport.updates(n: n, d: d, seed: 3), relay: { type, client, bytes in
                guard type == "unmask-response", client == tamperer else { return }
                bytes = Self.tamper(bytes, owner: 2) { ShamirShare(x: $0.x, y: [Field61.add($0.y[0], 1)] + $0.y.dropFirst()) }
            })
            XCTAssertNil(outcome.aggregate)
            XCTAssertEqual(outcome.error, .tamperedShare(sender: tamperer, owner: 2, kind: .selfMaskSeed))
            XCTAssertTrue(outcome.error!.description.contains("revealed by client \(tamperer)"), outcome.error!.description)
        }
    }

    /// The same for a dropped client's masking key (checked against its advertised public key).
    func testTamperedRevealedMaskingKeyShareIsRejected() throws {
        let outcome = try SecAggSimulation.run(config: config(), updates: SecAggTestSupport.updates(n: n, d: d, seed: 4),
                                               drops: [5: .afterSharing], relay: { type, client, bytes in
            guard type == "unmask-response", client == 1 else { return }
            bytes = Self.tamper(bytes, owner: 5) { ShamirShare(x: $0.x, y: $0.y.map { Field61.mul($0, 3) }) }
        })
        XCTAssertNil(outcome.aggregate)
        XCTAssertEqual(outcome.error, .tamperedShare(sender: 1, owner: 5, kind: .maskingKey))
    }

    /// With exactly t shares a bad one is detected but cannot be singled out: abort, listing senders.
    func testTamperedShareAmongExactlyThresholdSharesAborts() throws {
        // Clients 0, 1, 2 do not answer, so 3...7 respond and each responder's seed has exactly
        // t = 4 shares (from the other four responders).
        let outcome = try SecAggSimulation.run(config: config(), updates: SecAggTestSupport.updates(n: n, d: d, seed: 5),
                                               drops: [0: .afterMaskedInput, 1: .afterMaskedInput, 2: .afterMaskedInput],
                                               relay: { type, client, bytes in
            guard type == "unmask-response", client == 4 else { return }
            bytes = Self.tamper(bytes, owner: 3) { ShamirShare(x: $0.x, y: $0.y.map { Field61.add($0, 5) }) }
        })
        XCTAssertNil(outcome.aggregate)
        XCTAssertEqual(outcome.error, .inconsistentShares(owner: 3, kind: .selfMaskSeed, senders: [4, 5, 6, 7]))
        XCTAssertTrue(outcome.error!.description.hasPrefix("round aborted: shares of client 3's self-mask seed"))
    }

    /// A share carrying someone else's evaluation point is rejected on arrival (the response is
    /// dropped, the round goes on without it).
    func testShareWithWrongPointIsRejectedOnArrival() throws {
        let outcome = try SecAggSimulation.run(config: config(), updates: SecAggTestSupport.updates(n: n, d: d, seed: 6), relay: { type, client, bytes in
            guard type == "unmask-response", client == 2 else { return }
            bytes = Self.tamper(bytes, owner: 4) { ShamirShare(x: 7, y: $0.y) }
        })
        XCTAssertEqual(outcome.rejections[2], .tamperedShare(sender: 2, owner: 4, kind: .selfMaskSeed))
        XCTAssertNotNil(outcome.aggregate, "seven other responses are enough")
    }

    /// Protocol violations and malformed bytes are rejected by the server.
    func testServerRejectsMalformedAndOutOfPlaceMessages() throws {
        let config = try config()
        let server = SecAggServer(config: config)
        let clients = try (0..<SecAggClientID(n)).map { try SecAggClient(id: $0, config: config) }
        let adverts = try clients.map { try $0.advertiseKeys() }
        for a in adverts { try server.receive(a) }
        XCTAssertThrowsError(try server.receive(adverts[0])) { XCTAssertTrue("\($0)".contains("advertised keys twice")) }
        let copy = AdvertiseKeysMessage(round: 1, sender: 7, encryptionPublicKey: adverts[1].encryptionPublicKey, maskingPublicKey: adverts[1].maskingPublicKey)
        XCTAssertThrowsError(try AdvertiseKeysMessage(encoded: Array(adverts[0].encoded().dropLast()))) { e in
            guard case .malformedMessage = e as? SecAggError else { return XCTFail("\(e)") }
        }
        var wrongType = adverts[0].encoded(); wrongType[4] = SecAggMessageType.maskedInput.rawValue
        XCTAssertThrowsError(try AdvertiseKeysMessage(encoded: wrongType))
        let directories = try server.closeAdvertiseKeys()
        XCTAssertThrowsError(try server.receive(copy)) { XCTAssertTrue("\($0)".contains("arrived in phase share-keys")) }
        let shareMessages = try directories.map { try clients[Int($0.recipient)].shareKeys($0) }
        // A share-keys message that skips a neighbour is refused.
        let short = ShareKeysMessage(round: 1, sender: 0, selfMaskCommitment: shareMessages[0].selfMaskCommitment,
                                     shares: Array(shareMessages[0].shares.dropLast()))
        XCTAssertThrowsError(try server.receive(short))
        let wrongRound = ShareKeysMessage(round: 2, sender: 1, selfMaskCommitment: shareMessages[1].selfMaskCommitment, shares: shareMessages[1].shares)
        XCTAssertThrowsError(try server.receive(wrongRound)) { XCTAssertTrue("\($0)".contains("round 2")) }
        for m in shareMessages { try server.receive(m) }
        let relays = try server.closeShareKeys()
        let masked = try relays.map { try clients[Int($0.recipient)].maskedInput($0, update: PlainUpdate([Float](repeating: 0.5, count: d)), roundingSeed: 1) }
        XCTAssertThrowsError(try server.receive(MaskedInputMessage(round: 1, sender: 0, vector: MaskedVector(words: [1, 2, 3]))))
        for m in masked { try server.receive(m) }
        XCTAssertThrowsError(try server.receive(masked[0])) { XCTAssertTrue("\($0)".contains("two masked inputs")) }
        let request = try server.closeMaskedInput()
        let responses = try clients.map { try $0.unmask(request) }
        // Revealing the masking key of a survivor is refused.
        let greedy = UnmaskResponse(round: 1, sender: 0, shares: responses[0].shares.map {
            RevealedShare(owner: $0.owner, kind: .maskingKey, share: $0.share)
        })
        XCTAssertThrowsError(try server.receive(greedy)) { XCTAssertTrue("\($0)".contains("which survived")) }
        for r in responses { try server.receive(r) }
        let sum = try server.finish()
        XCTAssertEqual(sum.values.count, d)
        for v in sum.values { XCTAssertEqual(v, 4, accuracy: 1e-5) }
        // A client asked twice, or out of order, refuses.
        XCTAssertThrowsError(try clients[0].unmask(request))
    }

    /// Clients check the server's claims against the graph they rebuild from the config.
    func testClientRejectsInconsistentServerMessages() throws {
        let config = try SecAggConfig(round: 1, clientCount: 10, dimension: 4, degree: 4, threshold: 3, graphSeed: 5, clipBound: 1)
        let server = SecAggServer(config: config)
        let clients = try (0..<SecAggClientID(10)).map { try SecAggClient(id: $0, config: config) }
        for c in clients { try server.receive(try c.advertiseKeys()) }
        let directories = try server.closeAdvertiseKeys()
        // A directory that names a non-neighbour.
        let d0 = directories[0]
        let stranger = (0..<SecAggClientID(10)).first { $0 != 0 && !config.graph.areNeighbours(0, $0) }!
        let bogus = KeyDirectory(round: 1, recipient: 0, entries: d0.entries + [KeyDirectory.Entry(
            client: stranger, encryptionPublicKey: directories[Int(stranger)].entries[0].encryptionPublicKey,
            maskingPublicKey: directories[Int(stranger)].entries[0].maskingPublicKey)])
        XCTAssertThrowsError(try clients[0].shareKeys(bogus)) { XCTAssertTrue("\($0)".contains("not a neighbour")) }
        // A directory with fewer than t neighbours.
        XCTAssertThrowsError(try clients[1].shareKeys(KeyDirectory(round: 1, recipient: 1, entries: Array(directories[1].entries.prefix(2))))) {
            XCTAssertEqual($0 as? SecAggError, .tooFewNeighbours(client: 1, phase: .shareKeys, have: 2, need: 3))
        }
    }

    /// Decodes an unmask response, changes the share of `owner`, re-encodes.
    static func tamper(_ bytes: [UInt8], owner: SecAggClientID, _ change: (ShamirShare) -> ShamirShare) -> [UInt8] {
        let r = try! UnmaskResponse(encoded: bytes)
        let shares = r.shares.map { $0.owner == owner ? RevealedShare(owner: owner, kind: $0.kind, share: change($0.share)) : $0 }
        precondition(shares != r.shares, "owner \(owner) not in the response")
        return UnmaskResponse(round: r.round, sender: r.sender, shares: shares).encoded()
    }
}
