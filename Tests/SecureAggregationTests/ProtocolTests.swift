import Foundation
import XCTest
@testable import SecureAggregation

/// Whole rounds: exact sums under dropouts at every phase, aborts with no output, audit events.
final class ProtocolTests: XCTestCase {
    /// Many random rounds (n, d, k, t, drop sets at each phase): whenever the round completes, the
    /// unmasked sum equals the plain sum of the survivors' quantized updates exactly (mod 2^32);
    /// whenever the graph-level prediction says it cannot complete, it aborts with no output.
    func testRandomizedRoundsSumExactlyOrAbort() throws {
        var rng = SecAggSeededRandom(seed: 2024)
        var completed = 0, aborted = 0, completedWithDrops = 0
        var dropsSeen = Set<SecAggDropPoint>()
        for roundIndex in 0..<150 {
            let n = 2 + Int(rng.below(13))              // 2...14
            let d = 1 + Int(rng.below(40))              // 1...40
            let p: SecAggParameters
            if rng.below(2) == 0 {
                p = try SecAggParameters.choose(clientCount: n, dropoutRate: rng.unit() * 0.3)
            } else {
                let k = 1 + Int(rng.below(UInt64(n - 1)))
                let kMax = SecAggParameters.maximumDegree(n: n, k: k)
                let lo = kMax / 2 + 1
                guard lo <= k else { continue }         // odd k, odd n, t = k is too small for the k+1 node
                let t = lo + Int(rng.below(UInt64(k - lo + 1)))
                p = try SecAggParameters.fixed(clientCount: n, degree: k, threshold: t, dropoutRate: 0.1)
            }
            let config = try SecAggConfig(round: UInt64(roundIndex), dimension: d, parameters: p, graphSeed: rng.next(), clipBound: 1)
            let dropRate = rng.unit() * 0.4
            var drops: [SecAggClientID: SecAggDropPoint] = [:]
            for i in 0..<SecAggClientID(n) where rng.unit() < dropRate {
                drops[i] = SecAggTestSupport.dropPoints[Int(rng.below(4))]
            }
            dropsSeen.formUnion(drops.values)
            let updates = SecAggTestSupport.updates(n: n, d: d, range: 1.5, seed: rng.next()) // some values clipped
            let roundingSeed = rng.next()
            let outcome = try SecAggSimulation.run(config: config, updates: updates, roundingSeed: roundingSeed, drops: drops, threads: 1)
            let predicted = SecAggTestSupport.predict(config: config, drops: drops)
            let context = "round \(roundIndex): n=\(n) d=\(d) k=\(config.degree) t=\(config.threshold) drops=\(drops.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.rawValue)" })"
            XCTAssertTrue(outcome.rejections.isEmpty, "\(context): \(outcome.rejections)")
            for (_, e) in outcome.clientErrors {
                guard case .tooFewNeighbours = e else { return XCTFail("\(context): unexpected client error \(e)") }
            }
            if let survivors = predicted.survivors {
                let sum = try XCTUnwrap(outcome.aggregate, "\(context): expected a sum, got \(String(describing: outcome.error))")
                XCTAssertEqual(sum.survivors, survivors, context)
                let q = try SecAggTestSupport.quantized(updates, config: config, roundingSeed: roundingSeed)
                XCTAssertEqual(sum.integerSum, SecAggTestSupport.integerSum(q, of: survivors, d: d), context)
                XCTAssertTrue(Set(sum.dropped).isDisjoint(with: survivors), context)
                XCTAssertTrue(sum.dropped.allSatisfy { drops[$0] == .afterSharing }, context)
                completed += 1
                if !drops.isEmpty { completedWithDrops += 1 }
            } else {
                XCTAssertNil(outcome.aggregate, context)
                let error = try XCTUnwrap(outcome.error, context)
                switch error {
                case .insufficientShares, .tooFewClients:
                    XCTAssertTrue(error.description.hasPrefix("round aborted: only "), error.description)
                default: XCTFail("\(context): unexpected abort \(error)")
                }
                aborted += 1
            }
        }
        XCTAssertEqual(dropsSeen, Set(SecAggDropPoint.allCases))
        XCTAssertGreaterThan(completedWithDrops, 40, "completed \(completed), aborted \(aborted)")
        XCTAssertGreaterThan(aborted, 5, "some random rounds should be unrecoverable")
    }

    /// The acceptance run: 100 rounds, n = 50, 20% of clients drop at a random phase, default
    /// parameters, d = 64. Every round completes with the exact sum.
    func testHundredRoundsOfFiftyClientsWithTwentyPercentDropoutsAllComplete() throws {
        let n = 50, d = 64
        let p = try SecAggParameters.choose(clientCount: n, dropoutRate: 0.2)
        struct Plan: Sendable {
            let config: SecAggConfig
            let drops: [SecAggClientID: SecAggDropPoint]
            let updates: [PlainUpdate]
            let roundingSeed: UInt64
        }
        var rng = SecAggSeededRandom(seed: 50)
        let plans = try (0..<100).map { round -> Plan in
            let config = try SecAggConfig(round: UInt64(round), dimension: d, parameters: p, graphSeed: rng.next(), clipBound: 1)
            var drops: [SecAggClientID: SecAggDropPoint] = [:]
            for i in 0..<SecAggClientID(n) where rng.unit() < 0.2 { drops[i] = SecAggTestSupport.dropPoints[Int(rng.below(4))] }
            return Plan(config: config, drops: drops, updates: SecAggTestSupport.updates(n: n, d: d, seed: rng.next()), roundingSeed: rng.next())
        }
        // Rounds are independent: run them on all cores (X25519 dominates, ~5,000 per round).
        let results = Locked([Int: Result<SecAggRoundOutcome, Error>]())
        DispatchQueue.concurrentPerform(iterations: plans.count) { r in
            let plan = plans[r]
            let outcome = Result { try SecAggSimulation.run(config: plan.config, updates: plan.updates, roundingSeed: plan.roundingSeed,
                                                            drops: plan.drops, threads: 1) }
            results.withLock { $0[r] = outcome }
        }
        var totalDropped = 0
        for (round, plan) in plans.enumerated() {
            totalDropped += plan.drops.count
            let outcome = try results.withLock { $0[round]! }.get()
            let sum = try XCTUnwrap(outcome.aggregate, "round \(round) aborted: \(String(describing: outcome.error))")
            let survivors = (0..<SecAggClientID(n)).filter { plan.drops[$0] == nil || plan.drops[$0] == .afterMaskedInput }
            XCTAssertEqual(sum.survivors, survivors)
            let q = try SecAggTestSupport.quantized(plan.updates, config: plan.config, roundingSeed: plan.roundingSeed)
            XCTAssertEqual(sum.integerSum, SecAggTestSupport.integerSum(q, of: survivors, d: d), "round \(round)")
            // Float error against the plain sum of the survivors' updates.
            var worst = 0.0
            for j in 0..<d {
                let plain = survivors.reduce(0.0) { $0 + Double(plan.updates[Int($1)].values[j]) }
                worst = max(worst, abs(sum.doubleValues[j] - plain))
            }
            XCTAssertLessThanOrEqual(worst, Double(survivors.count) * plan.config.quantization.step)
        }
        XCTAssertEqual(Double(totalDropped) / 5000, 0.2, accuracy: 0.02)
    }

    /// Fewer survivors than t: the round aborts with a clear error and produces nothing.
    func testFewerThanThresholdSurvivorsAbortsWithNoOutput() throws {
        let config = try SecAggConfig(round: 7, clientCount: 8, dimension: 16, degree: 7, threshold: 4, graphSeed: 1, clipBound: 1)
        let updates = SecAggTestSupport.updates(n: 8, d: 16, seed: 3)
        let log = SecAggTestSupport.AuditLog()
        let drops: [SecAggClientID: SecAggDropPoint] = [0: .afterSharing, 1: .afterSharing, 2: .afterSharing, 3: .afterSharing, 4: .afterSharing]
        let outcome = try SecAggSimulation.run(config: config, updates: updates, drops: drops, audit: log.record)
        XCTAssertNil(outcome.aggregate)
        XCTAssertEqual(outcome.error, .tooFewClients(after: .maskedInput, have: 3, need: 4))
        XCTAssertEqual(outcome.error?.description, "round aborted: only 3 clients left after masked-input, need at least 4")
        XCTAssertEqual(log.count("secret_reconstructed"), 0, "nothing is rebuilt in an aborted round")
        XCTAssertEqual(log.count("shares_revealed"), 0, "no survivor is asked to reveal anything")
        XCTAssertEqual(log.count("round_aborted"), 1)
    }

    /// Enough survivors but too few unmask responses for one client: "only x of t shares".
    func testFewerThanThresholdSharesAbortsNamingTheClient() throws {
        let config = try SecAggConfig(round: 8, clientCount: 8, dimension: 16, degree: 7, threshold: 4, graphSeed: 1, clipBound: 1)
        let updates = SecAggTestSupport.updates(n: 8, d: 16, seed: 4)
        let log = SecAggTestSupport.AuditLog()
        // All 8 send masked inputs; 4 never answer, so a responder has only 3 responding neighbours.
        let drops: [SecAggClientID: SecAggDropPoint] = [0: .afterMaskedInput, 1: .afterMaskedInput, 2: .afterMaskedInput, 3: .afterMaskedInput]
        let outcome = try SecAggSimulation.run(config: config, updates: updates, drops: drops, audit: log.record)
        XCTAssertNil(outcome.aggregate)
        XCTAssertEqual(outcome.error, .insufficientShares(client: 4, kind: .selfMaskSeed, have: 3, need: 4))
        XCTAssertEqual(outcome.error?.description, "round aborted: only 3 of 4 shares for client 4 (self-mask seed)")
        XCTAssertEqual(log.count("secret_reconstructed"), 0, "counts are checked before any secret is rebuilt")

        // With one fewer drop, the same round completes.
        let ok = try SecAggSimulation.run(config: config, updates: updates, drops: [0: .afterMaskedInput, 1: .afterMaskedInput, 2: .afterMaskedInput])
        XCTAssertNotNil(ok.aggregate)
        XCTAssertEqual(ok.aggregate?.survivors.count, 8)
    }

    /// After an abort the server refuses everything.
    func testAbortedServerRefusesFurtherCalls() throws {
        let config = try SecAggConfig(round: 1, clientCount: 4, dimension: 4, degree: 3, threshold: 2, graphSeed: 1, clipBound: 1)
        let server = SecAggServer(config: config)
        let client = try SecAggClient(id: 0, config: config)
        try server.receive(try client.advertiseKeys())
        XCTAssertThrowsError(try server.closeAdvertiseKeys()) { e in
            XCTAssertEqual(e as? SecAggError, .tooFewClients(after: .advertiseKeys, have: 0, need: 2))
        }
        XCTAssertEqual(server.phase, .aborted)
        XCTAssertThrowsError(try server.finish()) { e in
            guard case .roundAborted = e as? SecAggError else { return XCTFail("\(e)") }
        }
    }

    /// Clients that drop before sharing are left out of everyone's masks; clients that drop after
    /// sharing have their pairwise masks removed from their neighbours' inputs.
    func testDropsAtEachPhaseWithClassicSecAgg() throws {
        let n = 10, d = 33
        let config = try SecAggConfig(round: 3, clientCount: n, dimension: d, degree: n - 1, threshold: 5, graphSeed: 9, clipBound: 2)
        XCTAssertEqual(config.degree, 9, "k = n - 1 is the complete graph")
        let updates = SecAggTestSupport.updates(n: n, d: d, range: 2, seed: 5)
        let drops: [SecAggClientID: SecAggDropPoint] = [1: .beforeAdvertise, 3: .afterAdvertise, 5: .afterSharing, 7: .afterMaskedInput]
        let outcome = try SecAggSimulation.run(config: config, updates: updates, roundingSeed: 77, drops: drops)
        let sum = try XCTUnwrap(outcome.aggregate, "\(String(describing: outcome.error))")
        XCTAssertEqual(sum.survivors, [0, 2, 4, 6, 7, 8, 9])
        XCTAssertEqual(sum.dropped, [5])
        let q = try SecAggTestSupport.quantized(updates, config: config, roundingSeed: 77)
        XCTAssertEqual(sum.integerSum, SecAggTestSupport.integerSum(q, of: sum.survivors, d: d))
    }

    /// Audit events: keys generated, shared, revealed and used for recovery, with no secrets.
    func testAuditEventsRecordKeyLifecycle() throws {
        let n = 6
        let config = try SecAggConfig(round: 42, clientCount: n, dimension: 8, degree: 5, threshold: 3, graphSeed: 2, clipBound: 1)
        let log = SecAggTestSupport.AuditLog()
        let outcome = try SecAggSimulation.run(config: config, updates: SecAggTestSupport.updates(n: n, d: 8, seed: 1),
                                               drops: [2: .afterSharing], audit: log.record)
        XCTAssertNotNil(outcome.aggregate)
        XCTAssertEqual(log.count("keys_generated"), 6)
        XCTAssertEqual(log.count("shares_distributed"), 6)
        XCTAssertEqual(log.count("masked_input_sent"), 5)
        XCTAssertEqual(log.count("shares_revealed"), 5)
        let rebuilt = log.events.compactMap { e -> (SecAggClientID, SecAggSecretKind)? in
            if case let .secretReconstructed(_, owner, kind, holders) = e {
                XCTAssertGreaterThanOrEqual(holders.count, 3)
                return (owner, kind)
            }
            return nil
        }
        XCTAssertEqual(rebuilt.filter { $0.1 == .maskingKey }.map(\.0), [2], "only the dropped client's masking key is rebuilt")
        XCTAssertEqual(rebuilt.filter { $0.1 == .selfMaskSeed }.map(\.0), [0, 1, 3, 4, 5])
        XCTAssertEqual(log.events.last?.name, "aggregate_produced")
        for e in log.events {
            XCTAssertEqual(e.fields["round"], "42")
            if case let .keysGenerated(_, _, enc, mask) = e {
                XCTAssertEqual(enc.count, 16); XCTAssertEqual(mask.count, 16) // fingerprints only
            }
        }
        if case let .sharesRevealed(_, client, seeds, keys) = log.events.first(where: { $0.name == "shares_revealed" })! {
            XCTAssertFalse(seeds.contains(client))
            XCTAssertEqual(keys, [2])
            XCTAssertTrue(Set(seeds).isDisjoint(with: keys), "never both secrets of one client")
        }
    }

    /// The server's API only ever sees masked vectors; a client's masked vector alone differs
    /// from its quantized update in essentially every coordinate.
    func testServerSeesOnlyMaskedVectors() throws {
        let n = 4, d = 256
        let config = try SecAggConfig(round: 1, clientCount: n, dimension: d, degree: 3, threshold: 2, graphSeed: 1, clipBound: 1)
        let updates = SecAggTestSupport.updates(n: n, d: d, seed: 8)
        var seen: [SecAggClientID: [UInt32]] = [:]
        let outcome = try SecAggSimulation.run(config: config, updates: updates, roundingSeed: 5, relay: { type, client, bytes in
            if type == "masked-input" { seen[client] = try! MaskedInputMessage(encoded: bytes).vector.words }
        })
        XCTAssertNotNil(outcome.aggregate)
        let q = try SecAggTestSupport.quantized(updates, config: config, roundingSeed: 5)
        for i in 0..<SecAggClientID(n) {
            let equal = zip(seen[i]!, q[Int(i)].words).filter { $0 == $1 }.count
            XCTAssertLessThan(equal, 3, "client \(i)'s masked vector reveals its update")
        }
    }
}
