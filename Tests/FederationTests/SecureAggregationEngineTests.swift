import Foundation
import XCTest
@testable import Federation

/// The coordinator's secure-aggregation path on the tiny model: it must give FedAvg's result
/// (up to fixed-point rounding) while the coordinator sees only the sum.
final class SecureAggregationEngineTests: XCTestCase {
    let clients = [("a", "clinical-hospital-a.jsonl"), ("b", "aml-alerts.jsonl"), ("c", "support-tickets.jsonl"),
                   ("d", "legal-clauses.jsonl")]

    func run(_ extra: String, rounds: Int = 1) throws -> (Coordinator, EngineTestSupport.Recorder) {
        let scenario = try EngineTestSupport.scenario(clients: clients, rounds: rounds, extra: extra)
        let recorder = EngineTestSupport.Recorder()
        let pilot = try PilotBuilder.build(scenario, sink: recorder.record)
        pilot.coordinator.run()
        return (pilot.coordinator, recorder)
    }

    func testSecureAggregationGivesFedAvgsAdapterAndHidesUpdates() throws {
        let (plain, _) = try run("")
        let (secure, events) = try run("[privacy]\nsecure_aggregation = true\n")
        XCTAssertEqual(secure.completedRounds, 1)
        let worst = zip(plain.global.values, secure.global.values).map { abs($0 - $1) }.max() ?? 0
        XCTAssertGreaterThan(plain.global.values.map(abs).max() ?? 0, 1e-4, "the round moved the adapter")
        XCTAssertLessThan(worst, 1e-6, "secure FedAvg differs from plain FedAvg by \(worst)")
        let summaries = events.events.compactMap { if case .secureAggregation(let s) = $0 { return s } else { return nil } }
        XCTAssertEqual(summaries.count, 1)
        XCTAssertEqual(summaries[0].included.sorted(), ["a", "b", "c", "d"])
        XCTAssertNil(summaries[0].aborted)
        // Per-client norms come from the clients; the coordinator cannot compute cosines it has no vectors for.
        let m = try XCTUnwrap(events.clientMetrics(round: 1, client: "a"))
        XCTAssertNotNil(m.updateNorm)
        XCTAssertNil(m.cosineToOthers)
        XCTAssertEqual(m.status, .done)
        // Key events reach the audit trail: each client generated keys, the server produced the sum.
        let audit = events.events.compactMap { if case .keyAudit(_, let actor, let name, _) = $0 { return "\(actor):\(name)" } else { return nil } }
        for c in ["a", "b", "c", "d"] { XCTAssertTrue(audit.contains("\(c):keys_generated"), "\(audit)") }
        XCTAssertTrue(audit.contains("coordinator:aggregate_produced"), "\(audit)")
    }

    func testDropsDuringTheProtocolAreRecoveredOrAbortTheRoundCleanly() throws {
        // Drops at every phase with k = 3, t = 2 (complete graph of 4): some rounds recover, none corrupt the model.
        let (coordinator, events) = try run("""
            [privacy]
            secure_aggregation = true
            phase_drop_probability = 0.25
            degree = 3
            threshold = 2
            """, rounds: 6)
        XCTAssertEqual(coordinator.completedRounds, 6)
        let summaries = events.events.compactMap { if case .secureAggregation(let s) = $0 { return s } else { return nil } }
        XCTAssertFalse(summaries.isEmpty)
        XCTAssertTrue(summaries.contains { !$0.dropped.isEmpty }, "a 25% drop rate over 6 rounds dropped someone")
        for s in summaries where s.aborted == nil {
            // Whoever is in the sum sent its masked input; a client dropped only at unmask is still in it.
            XCTAssertTrue(Set(s.included).isSubset(of: Set(s.clients)))
            XCTAssertTrue(Set(s.dropped["advertise_keys", default: []] + s.dropped["share_keys", default: []]
                              + s.dropped["masked_input", default: []]).isDisjoint(with: s.included), "\(s)")
        }
        for case .roundFailed(_, let why) in events.events {
            XCTAssertTrue(why.contains("secure aggregation failed") && why.contains("unchanged"), why)
        }
    }

    func testTooFewSurvivorsAbortsAndLeavesTheModelUnchanged() throws {
        let scenario = try EngineTestSupport.scenario(clients: clients, rounds: 1, extra: """
            [privacy]
            secure_aggregation = true
            phase_drop_probability = 0.95
            """)
        let recorder = EngineTestSupport.Recorder()
        let pilot = try PilotBuilder.build(scenario, sink: recorder.record)
        let before = pilot.coordinator.global.values
        pilot.coordinator.run()
        XCTAssertEqual(pilot.coordinator.global.values, before)
        let reasons = recorder.events.compactMap { if case .roundFailed(_, let why) = $0 { return why } else { return nil } }
        XCTAssertEqual(reasons.count, 1)
        XCTAssertTrue(reasons[0].contains("secure aggregation failed"), reasons[0])
        XCTAssertTrue(reasons[0].contains("unchanged"), reasons[0])
    }

    func testDistributedNoiseIsAccountedAndEpsilonIsPublished() throws {
        let (coordinator, events) = try run("""
            [privacy]
            secure_aggregation = true
            differential_privacy = true
            noise_multiplier = 1.0
            clip_norm = 0.05
            adaptive_clipping = true
            """, rounds: 2)
        XCTAssertEqual(coordinator.completedRounds, 2)
        let budgets = events.events.compactMap { e -> (Double?, Double?)? in
            if case .privacyBudget(_, let eps, _, _, _, _, let clip) = e { return (eps, clip) } else { return nil }
        }
        let last = try XCTUnwrap(budgets.last)
        let eps = try XCTUnwrap(last.0, "ε is finite when every round ran with DP")
        XCTAssertGreaterThan(eps, 0)
        // Adaptive clipping moved C away from its initial value.
        XCTAssertNotEqual(try XCTUnwrap(last.1), 0.05, accuracy: 1e-9)
    }

    func testScenarioRejectsSecureAggregationWithCentralNoiseOrRobustStrategies() {
        XCTAssertThrowsError(try EngineTestSupport.scenario(clients: clients, extra: """
            [privacy]
            secure_aggregation = true
            differential_privacy = true
            noise = "central"
            """)) { XCTAssertTrue("\($0)".contains("privacy.noise"), "\($0)") }
        XCTAssertThrowsError(try EngineTestSupport.scenario(clients: clients, extra: "[privacy]\nsecure_aggregation = true\n",
                                                            strategy: "median")) {
            XCTAssertTrue("\($0)".contains("privacy.secure_aggregation"), "\($0)")
        }
        XCTAssertThrowsError(try EngineTestSupport.scenario(clients: clients, extra: "[privacy]\nphase_drop_probability = 0.1\n")) {
            XCTAssertTrue("\($0)".contains("no effect"), "\($0)")
        }
    }

    func testSecureAggregationRequestRoundTripsAndRejectsTruncation() throws {
        let r = SecureAggregationRequest(round: 3, step: .begin, clientIndex: 2,
                                         preparation: UpdatePreparation(weight: 0.25, clipNorm: 0.5, noiseStd: 0.01), body: [1, 2, 3])
        let data = r.encoded()
        XCTAssertEqual(try SecureAggregationRequest(decoding: data), r)
        XCTAssertThrowsError(try SecureAggregationRequest(decoding: data.prefix(data.count - 1))) {
            XCTAssertTrue("\($0)".contains("truncated"), "\($0)")
        }
    }
}
