import Foundation
import XCTest
@testable import Federation

/// Clients training side by side: the run must not depend on how many lanes there are.
final class ParallelLanesTests: XCTestCase {
    let clients = [("hospital-a", "clinical-hospital-a.jsonl"), ("bank", "aml-alerts.jsonl"), ("legal", "legal-clauses.jsonl")]

    /// One client at a time and two or three at once give the same adapter, losses, statuses
    /// and random draws (lossy links), bit for bit.
    func testLanesDoNotChangeTheRun() throws {
        let extra = """
        [[faults]]
        client = "bank"
        kind = "lossy_link"
        from_round = 1
        severity = 0.5
        [[faults]]
        client = "legal"
        kind = "dropout"
        from_round = 2
        to_round = 2

        """
        let scenario = try EngineTestSupport.scenario(clients: clients, rounds: 3, extra: extra, strategy: "fedadam")
        var runs: [(global: [Float], rounds: [RoundMetrics], statuses: [String])] = []
        for lanes in [1, 2, 3] {
            let recorder = EngineTestSupport.Recorder()
            let pilot = try PilotBuilder.build(scenario, parallelClients: lanes, sink: recorder.record)
            XCTAssertEqual(pilot.transport.parallelClients, lanes)
            _ = pilot.coordinator.run()
            let statuses = (1...3).flatMap { round in
                clients.map { "\(round):\($0.0):\(recorder.clientMetrics(round: round, client: $0.0)?.status.rawValue ?? "-")" }
            }
            runs.append((pilot.coordinator.global.values, recorder.completedRounds, statuses))
        }
        XCTAssertTrue(runs[0].statuses.contains { $0.hasSuffix("dropped") } || runs[0].rounds.contains { !$0.dropped.isEmpty },
                      "the lossy link should lose at least one upload: \(runs[0].statuses)")
        for run in runs.dropFirst() {
            XCTAssertEqual(run.global, runs[0].global, "final global adapter")
            XCTAssertEqual(run.rounds.map(\.globalEvalLoss), runs[0].rounds.map(\.globalEvalLoss))
            XCTAssertEqual(run.rounds.map(\.dropped), runs[0].rounds.map(\.dropped))
            XCTAssertEqual(run.statuses, runs[0].statuses)
        }
    }

    /// A client's reply is reported as soon as it arrives (in selection order): uploading, with its
    /// training figures, before aggregation starts.
    func testUploadsAreReportedBeforeAggregation() throws {
        let scenario = try EngineTestSupport.scenario(clients: clients, rounds: 1)
        let recorder = EngineTestSupport.Recorder()
        _ = try PilotBuilder.build(scenario, parallelClients: 2, sink: recorder.record).coordinator.run()
        let events = recorder.events
        let aggregating = try XCTUnwrap(events.firstIndex { if case .phase(1, .aggregating) = $0 { return true } else { return false } })
        let uploads = events[..<aggregating].compactMap { event -> ClientRoundMetrics? in
            if case .clientUpdate(let m) = event, m.status == .uploading { return m } else { return nil }
        }
        XCTAssertEqual(uploads.map(\.client), clients.map(\.0))
        for m in uploads {
            XCTAssertNotNil(m.localLossEnd)
            XCTAssertGreaterThan(m.bytesUp, 0)
            XCTAssertGreaterThan(m.updateNorm ?? 0, 0)
        }
    }

    /// Jobs are prepared in order on the calling thread, never more than `lanes` run at once,
    /// skipped jobs give nil, and results come back in job order.
    func testClientLanesOrderAndLimit() {
        let caller = Thread.current
        let state = LaneProbe()
        var prepared: [Int] = [], finished: [Int] = []
        let out = ClientLanes(lanes: 2).run(7, prepare: { i -> Int? in
            XCTAssertTrue(Thread.current == caller)
            prepared.append(i)
            return i == 3 ? nil : i
        }, work: { i in
            state.enter()
            Thread.sleep(forTimeInterval: 0.02 * Double(7 - i))   // later jobs finish first
            state.leave()
            return i * 10
        }, finished: { i, output in
            XCTAssertTrue(Thread.current == caller)
            XCTAssertEqual(output, i * 10)
            finished.append(i)
        })
        XCTAssertEqual(prepared, Array(0..<7))
        XCTAssertEqual(finished, [0, 1, 2, 4, 5, 6], "handed over in job order, whatever order they finished in")
        XCTAssertEqual(out, [0, 10, 20, nil, 40, 50, 60])
        XCTAssertEqual(state.peak, 2)
    }
}

/// Counts jobs in flight.
private final class LaneProbe: @unchecked Sendable {
    private let lock = NSLock()
    private var running = 0
    private(set) var peak = 0
    func enter() { lock.withLock { running += 1; peak = max(peak, running) } }
    func leave() { lock.withLock { running -= 1 } }
}
