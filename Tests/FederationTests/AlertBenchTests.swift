import Foundation
import XCTest
@testable import Federation

/// A small fault matrix on the tiny model, fast enough for CI: corrupted updates are caught in
/// their first round, and clean client-rounds raise no critical alert. (The tiny model is random
/// over bytes, so data faults barely change its losses; the README's matrix on the real model
/// measures those.)
final class AlertBenchTests: XCTestCase {
    func testSmallMatrixOnTheTinyModel() throws {
        var base = try ScenarioLoader.load(path: EngineTestSupport.root.appendingPathComponent("scenarios/clinical-pilot.toml").path)
        base.modelPath = "tiny"
        base.training.budget = .steps(2)
        var matrix = AlertBench.Matrix()
        matrix.kinds = [.corruptUpdate]
        matrix.severities = [0.5, 0.9]
        matrix.strategies = [.fedavg]
        matrix.trials = 1
        matrix.cleanRuns = 1
        matrix.rounds = 4
        matrix.startRounds = [2, 3]
        let runs = try AlertBench.run(base: base, model: EngineModel.load(path: "tiny"), matrix: matrix)
        XCTAssertEqual(runs.count, 3)
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
    }
}
