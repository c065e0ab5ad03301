import Foundation
import TensorMath
import XCTest
@testable import Federation

/// The link model lives in `SimulatedNetwork`, not in the coordinator: a transport without it
/// (a network deployment) never loses an upload or misses a simulated deadline.
final class SimulatedNetworkTests: XCTestCase {
    /// A transport that answers nothing; only its deliveries are under test.
    struct Silent: ClientTransport {
        func exchange(client: String, task: Data) throws -> Data { Data() }
        func evaluate(client: String, request: Data) throws -> Double? { nil }
        func secureAggregation(client: String, message: Data) throws -> Data { Data() }
    }

    let receipt = ReplyReceipt(client: "a", round: 2, bytesDown: 1_000_000, bytesUp: 250_000, computeSeconds: 3, exchangeSeconds: 5)

    func network(_ link: LinkSpec, faults: [FaultSpec] = [], deadline: Double? = nil) -> SimulatedNetwork {
        SimulatedNetwork(wrapping: Silent(), links: ["a": link], faults: FaultInjector(faults), deadline: deadline)
    }

    func testARealTransportReportsArrivalWithMeasuredTimesAndDrawsNothing() {
        var draws = SeededRandom(seed: 1)
        var untouched = SeededRandom(seed: 1)
        let d = Silent().delivery(of: receipt, draws: &draws)
        XCTAssertEqual(d, Delivery(outcome: .arrived, transferSeconds: 2, computeSeconds: 3, seconds: 5))
        XCTAssertEqual(draws.next(), untouched.next(), "no random draw")
    }

    func testTheLinkGivesTransferAndComputeTimes() {
        var draws = SeededRandom(seed: 1)
        let d = network(LinkSpec(upMbps: 2, downMbps: 8, latencyMs: 50, computeFactor: 2)).delivery(of: receipt, draws: &draws)
        // down 0.05 + 1 s, up 0.05 + 1 s; compute 3 s × 2.
        XCTAssertEqual(d.outcome, .arrived)
        XCTAssertEqual(d.transferSeconds, 2.1, accuracy: 1e-12)
        XCTAssertEqual(d.computeSeconds, 6, accuracy: 1e-12)
        XCTAssertEqual(d.seconds, 8.1, accuracy: 1e-12)
    }

    func testStragglersLossyLinksAndTheDeadline() {
        let straggler = FaultSpec(client: "a", kind: .straggler, fromRound: 1, severity: 1)
        var draws = SeededRandom(seed: 3)
        let slow = network(LinkSpec(), faults: [straggler], deadline: 5).delivery(of: receipt, draws: &draws)
        XCTAssertEqual(slow.computeSeconds, 6, accuracy: 1e-12)
        XCTAssertEqual(slow.outcome, .missedDeadline)
        let lossy = FaultSpec(client: "a", kind: .lossyLink, fromRound: 1, severity: 1)
        XCTAssertEqual(network(LinkSpec(), faults: [lossy]).delivery(of: receipt, draws: &draws).outcome, .lost)
        XCTAssertEqual(network(LinkSpec(dropProbability: 1)).delivery(of: receipt, draws: &draws).outcome, .lost)
        let later = FaultSpec(client: "a", kind: .lossyLink, fromRound: 3, severity: 1)
        XCTAssertEqual(network(LinkSpec(), faults: [later]).delivery(of: receipt, draws: &draws).outcome, .arrived, "not active in round 2")
    }

    func testEveryFaultKindHasOneSite() {
        let sites = Dictionary(uniqueKeysWithValues: FaultKind.allCases.map { ($0, FaultInjector.site(of: $0)) })
        XCTAssertEqual(sites[.dropout], .selection)
        XCTAssertEqual(sites[.straggler], .link)
        XCTAssertEqual(sites[.lossyLink], .link)
        XCTAssertEqual(sites[.corruptUpdate], .update)
        for kind in [FaultKind.degrade, .labelNoise, .backdoor] { XCTAssertEqual(sites[kind], .trainingText) }
        let injector = FaultInjector([FaultSpec(client: "a", kind: .straggler, fromRound: 1, severity: 1),
                                      FaultSpec(client: "a", kind: .straggler, fromRound: 1, severity: 0.5),
                                      FaultSpec(client: "a", kind: .lossyLink, fromRound: 1, severity: 0.5),
                                      FaultSpec(client: "b", kind: .dropout, fromRound: 2, toRound: 2)])
        XCTAssertEqual(injector.slowdown(client: "a", round: 1), 3)
        XCTAssertEqual(injector.uploadLoss(client: "a", round: 1, link: 0.5), 0.75)
        XCTAssertTrue(injector.isOffline(client: "b", round: 2))
        XCTAssertFalse(injector.isOffline(client: "b", round: 3))
        XCTAssertFalse(injector.altersText(client: "a", round: 1))
    }

    /// A coordinator on the bare in-process transport (as on gRPC) ignores the scenario's links:
    /// certain loss and an impossible deadline, yet every update is aggregated.
    func testWithoutTheSimulatedNetworkNoUploadIsLostOrLate() throws {
        let extra = """
        [selection]
        deadline_seconds = 0.000001
        [link]
        drop_probability = 1.0

        """
        let scenario = try EngineTestSupport.scenario(clients: [("a", "legal-clauses.jsonl"), ("b", "aml-alerts.jsonl")], rounds: 1,
                                                      extra: extra)
        let simulated = EngineTestSupport.Recorder()
        let pilot = try PilotBuilder.build(scenario, sink: simulated.record)
        pilot.coordinator.run()
        XCTAssertEqual(simulated.clientMetrics(round: 1, client: "a")?.status, .dropped, "the simulated link loses every upload")
        let real = EngineTestSupport.Recorder()
        let coordinator = try Coordinator(scenario: scenario, base: pilot.coordinator.base, transport: pilot.transport,
                                          trainCounts: pilot.coordinator.trainCounts, sink: real.record)
        coordinator.run()
        XCTAssertEqual(real.completedRounds.first?.aggregated, ["a", "b"])
        let m = try XCTUnwrap(real.clientMetrics(round: 1, client: "a"))
        XCTAssertEqual(m.status, .done)
        XCTAssertGreaterThanOrEqual(m.simulatedSeconds, m.computeSeconds)
    }
}
