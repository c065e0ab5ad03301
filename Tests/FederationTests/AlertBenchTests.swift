import Foundation
import XCTest
@testable import Federation

/// A small fault matrix on the tiny model, fast enough for CI: corrupted updates, label noise and
/// backdoors are caught in their first round, and clean client-rounds raise no critical alert.
/// (The tiny model is random over bytes, so data faults barely change its losses: label noise
/// and backdoors are caught here by the clients' data checks alone, which do not depend on the
/// model; the README's matrix on the real model measures the rest.)
final class AlertBenchTests: XCTestCase {
    func testSmallMatrixOnTheTinyModel() throws {
        var base = try ScenarioLoader.load(path: EngineTestSupport.root.appendingPathComponent("scenarios/clinical-pilot.toml").path)
        base.modelPath = "tiny"
        base.training.budget = .steps(2)
        var matrix = AlertBench.Matrix()
        matrix.kinds = [.corruptUpdate, .labelNoise, .backdoor]
        matrix.severities = [0.3, 0.9]
        matrix.strategies = [.fedavg]
        matrix.trials = 1
        matrix.cleanRuns = 1
        matrix.rounds = 4
        matrix.startRounds = [2, 3]
        let runs = try AlertBench.run(base: base, model: EngineModel.load(path: "tiny"), matrix: matrix)
        XCTAssertEqual(runs.count, 7)
        let summary = AlertBench.summarize(runs, warning: AlertDetector.warningScore, critical: AlertDetector.criticalScore)
        for cell in summary.cells { XCTAssertEqual(cell.within1, cell.runs, "\(cell.kind) \(cell.severity) caught in its first round") }
        XCTAssertGreaterThan(summary.cleanClientRounds, 10)
        XCTAssertEqual(summary.falseCriticals, 0)
        XCTAssertLessThanOrEqual(summary.falseWarnings, 1, "at most one false warning in \(summary.cleanClientRounds) clean client-rounds")
        // The recorded alerts agree with the scores at the detector's thresholds.
        for run in runs {
            for alert in run.alerts {
                XCTAssertGreaterThanOrEqual(run.scores[alert.round]?[alert.client] ?? 0, AlertDetector.warningScore)
            }
        }
        // Replaying the detector on the recorded metrics gives the live run's scores and alerts
        // (what `fedpilot bench alerts --replay` relies on), also after a JSON round trip.
        let saved = try JSONDecoder().decode([AlertBench.Run].self, from: JSONEncoder().encode(runs))
        for (live, again) in zip(runs, AlertBench.replay(saved)) {
            XCTAssertFalse(live.metrics.isEmpty)
            XCTAssertEqual(again.scores.keys.sorted(), live.scores.keys.sorted())
            for (round, scores) in live.scores {
                for (client, s) in scores { XCTAssertEqual(again.scores[round]?[client] ?? -1, s, accuracy: 1e-9, "r\(round) \(client)") }
            }
            XCTAssertEqual(again.alerts.count, live.alerts.count)
        }
    }

    /// With secure aggregation the coordinator never sees an individual update: no cosine
    /// reaches the detector, which still flags a scaled update from the norm the client reports
    /// and its start-of-training loss, and raises nothing critical on healthy clients.
    func testUnderSecureAggregationTheDetectorReadsNoIndividualUpdate() throws {
        var base = try ScenarioLoader.load(path: EngineTestSupport.root.appendingPathComponent("scenarios/clinical-pilot.toml").path)
        base.modelPath = "tiny"
        base.training.budget = .steps(2)
        base.privacy.secureAggregation = true
        var matrix = AlertBench.Matrix()
        matrix.kinds = [.corruptUpdate]
        matrix.severities = [0.2]
        matrix.strategies = [.fedavg]
        matrix.trials = 1
        matrix.cleanRuns = 0
        matrix.rounds = 4
        matrix.startRounds = [3]
        let runs = try AlertBench.run(base: base, model: EngineModel.load(path: "tiny"), matrix: matrix)
        XCTAssertEqual(runs.count, 1)
        let run = runs[0]
        let judged = run.metrics.values.flatMap { $0 }.filter { $0.status == .done }
        XCTAssertGreaterThanOrEqual(judged.count, 12)
        for m in judged {
            XCTAssertNil(m.cosineToOthers, "r\(m.round) \(m.client): a cosine needs the individual update")
            XCTAssertNil(m.drift)
            XCTAssertNotNil(m.updateNorm, "the client reports its norm")
            XCTAssertNotNil(m.checkEndLoss, "the client reports its update's check on its held-out sample")
            XCTAssertNotNil(m.anomalyScore)
        }
        let faulty = run.metrics[3]!.first { $0.client == run.client }!
        XCTAssertGreaterThanOrEqual(faulty.anomalyScore!, AlertDetector.warningScore, faulty.anomalyEvidence ?? "")
        XCTAssertTrue(faulty.anomalyEvidence!.contains("norm"), faulty.anomalyEvidence!)
        let summary = AlertBench.summarize(runs, warning: AlertDetector.warningScore, critical: AlertDetector.criticalScore)
        XCTAssertEqual(summary.falseCriticals, 0)
    }

    /// The committed real-model matrix (`fedpilot bench alerts` on SmolLM2-135M in int8, 34 runs,
    /// 2026-12-05, README) replayed with the committed detector: the targets hold on it
    /// (at least 90% of faults at severity >= 0.5 within 2 rounds, at most 1 false warning per 100
    /// clean client-rounds, no false critical). A change to a signal, floor or threshold that
    /// loses them fails here, without training anything.
    func testTheRealModelMatrixMeetsTheTargetsOnReplay() throws {
        let file = EngineTestSupport.root.appendingPathComponent("Tests/FederationTests/Fixtures/alert-matrix-smollm2-int8.json")
        let runs = AlertBench.replay(try JSONDecoder().decode([AlertBench.Run].self, from: Data(contentsOf: file)))
        XCTAssertEqual(runs.count, 34)
        let s = AlertBench.summarize(runs, warning: AlertDetector.warningScore, critical: AlertDetector.criticalScore)
        let strong = s.cells.filter { $0.severity >= 0.5 }
        let caught = strong.reduce(0) { $0 + $1.within2 }, total = strong.reduce(0) { $0 + $1.runs }
        XCTAssertEqual(total, 24)
        XCTAssertGreaterThanOrEqual(Double(caught), 0.9 * Double(total), "detected within 2 rounds at severity >= 0.5")
        XCTAssertGreaterThan(s.cleanClientRounds, 400)
        XCTAssertLessThanOrEqual(Double(s.falseWarnings + s.accuracyWarningsOnHealthy), Double(s.cleanClientRounds) / 100,
                                 "false warnings, the task-accuracy rule's included")
        XCTAssertEqual(s.falseCriticals, 0)
        for kind in [FaultKind.labelNoise, .backdoor] {
            XCTAssertTrue(s.cells.filter { $0.kind == kind }.allSatisfy { $0.within1 == $0.runs }, "\(kind) caught in its first round")
        }
    }
}
