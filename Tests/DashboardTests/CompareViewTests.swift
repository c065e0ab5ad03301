import Foundation
import XCTest
@testable import Dashboard
import Federation

/// The compare view: a pure render of a plain snapshot, compared with committed text.
final class CompareViewTests: XCTestCase {
    static let clients = ["hospital-a", "hospital-b", "bank", "support"]

    func snapshot() -> CompareSnapshot {
        var s = CompareSnapshot(scenario: "clinical-pilot", model: "models/SmolLM2-135M-Instruct.Q4_1.gguf", rounds: 8,
                                clients: Self.clients, approaches: ["federated", "federated+dp", "centralized", "local-only"],
                                dpTarget: (8, 0.634))
        s.elapsedSeconds = 754
        return s
    }

    func finish(_ s: inout CompareSnapshot, _ name: String, _ losses: [Double], bytes: Int, seconds: Double, epsilon: Double? = nil) {
        let perClient = Dictionary(uniqueKeysWithValues: zip(Self.clients, losses))
        s.finish(name: name, evalLoss: losses.reduce(0, +) / Double(losses.count), perClient: perClient, bytes: bytes,
                 seconds: seconds, epsilon: epsilon, trainingTokens: 12_288)
    }

    func testRunningComparison() throws {
        var s = snapshot()
        // The federated run's events: it starts, reaches round 3, and reports the base losses through its deltas.
        s.apply(.runStarted(scenario: "clinical-pilot", model: "m", strategy: "fedavg", rounds: 8, clients: Self.clients, domains: [:]),
                approach: "federated")
        s.apply(.roundStarted(round: 3, selected: Self.clients), approach: "federated")
        var m = ClientRoundMetrics(client: "bank", round: 1, status: .done)
        m.evalLoss = 4.4; m.qualityDeltaBase = 0.1
        s.apply(.clientUpdate(m), approach: "federated")
        XCTAssertEqual(s.approaches[0].status, .running(round: 3, rounds: 8))
        XCTAssertEqual(s.basePerClient["bank"], 4.5)
        XCTAssertFalse(s.finished)
        let screen = renderCompare(s, width: 120, height: 30)
        try assertSnapshot(screen, named: "compare-running")
        XCTAssertTrue(screen.text.contains("round 3/8"))
        XCTAssertTrue(screen.text.contains("running federated"))
    }

    func testFinishedComparison() throws {
        var s = snapshot()
        s.baseEvalLoss = 4.4821
        s.basePerClient = ["hospital-a": 4.88, "hospital-b": 2.64, "bank": 4.56, "support": 5.29]
        finish(&s, "federated", [4.70, 2.41, 4.35, 5.10], bytes: 29_556_000, seconds: 402)
        finish(&s, "federated+dp", [4.86, 2.62, 4.55, 5.27], bytes: 29_556_000, seconds: 410, epsilon: 8)
        finish(&s, "centralized", [4.62, 2.35, 4.28, 5.02], bytes: 412_000, seconds: 350)
        finish(&s, "local-only", [4.66, 2.33, 4.40, 5.15], bytes: 0, seconds: 345)
        s.verdict = "federated recovers 78% of centralized's improvement over the base model (0.1950 vs 0.2500 nats); "
            + "local-only wins for hospital-b; DP at ε=8.00 costs 0.1600 nats against federated without DP"
        XCTAssertTrue(s.finished)
        let screen = renderCompare(s, width: 120, height: 30)
        try assertSnapshot(screen, named: "compare-finished")
        let text = screen.text
        XCTAssertTrue(text.contains("local-only wins for hospital-b"))
        XCTAssertTrue(text.contains("done: q or Enter closes this view"))
        // The best approach per client is bold: hospital-b's is local-only (2.33).
        let row = try XCTUnwrap((0..<screen.height).first { screen.line($0).hasPrefix(" hospital-b") })
        let column = try XCTUnwrap(screen.line(row).range(of: "2.3300")).lowerBound.utf16Offset(in: screen.line(row))
        XCTAssertTrue(screen[column, row].style.contains(.bold))

        var ascii = s
        ascii.charset = .ascii
        XCTAssertTrue(renderCompare(ascii, width: 120, height: 30).cells.allSatisfy { $0.char.isASCII })
        XCTAssertEqual(renderCompare(s, width: 120, height: 30), screen, "pure: same snapshot, same screen")
        XCTAssertTrue(renderCompare(s, width: 60, height: 10).text.contains("terminal too small"))
    }

    /// With labels: the base model and retrieval baselines, the accuracy/cost/privacy table, and
    /// accuracy per client (higher is better) with the base model as the base column.
    func testAccuracyCostAndPrivacy() throws {
        var s = CompareSnapshot(scenario: "support-triage", model: "models/SmolLM2-135M-Instruct.Q4_1.gguf", rounds: 8,
                                clients: Self.clients, approaches: ["federated", "federated+dp", "centralized", "local-only",
                                                                    "base-model", "retrieval", "knn-vote"], dpTarget: (8, 0.634))
        s.elapsedSeconds = 754
        s.baseEvalLoss = 4.4821
        s.basePerClient = ["hospital-a": 4.88, "hospital-b": 2.64, "bank": 4.56, "support": 5.29]
        let rows: [(String, [Double], Double?, Double?, Int, String)] = [
            ("federated", [0.50, 0.42, 0.33, 0.58], 0.401, 310, 29_556_000, "adapter updates; coordinator sees each"),
            ("federated+dp", [0.25, 0.33, 0.25, 0.42], 0.228, 318, 29_556_000, "adapter updates; coordinator sees each; ε 8.00"),
            ("centralized", [0.58, 0.50, 0.42, 0.58], 0.467, 280, 412_000, "raw training text pooled centrally"),
            ("local-only", [0.42, 0.58, 0.25, 0.50], 0.372, 276, 0, "nothing leaves a client"),
            ("base-model", [0.25, 0.33, 0.17, 0.33], 0.130, nil, 0, "no client data used"),
            ("retrieval", [0.50, 0.42, 0.42, 0.58], 0.419, 0.02, 560_000, "raw text pooled in a central index"),
            ("knn-vote", [0.67, 0.58, 0.50, 0.67], 0.588, 0.01, 430_000, "raw text pooled in a central index"),
        ]
        for (name, accuracy, f1, train, bytes, privacy) in rows {
            let losses: [Double] = name == "retrieval" || name == "knn-vote" ? []
                : name == "base-model" ? Self.clients.map { s.basePerClient[$0]! } : [4.70, 2.41, 4.35, 5.10]
            s.finish(name: name, evalLoss: losses.isEmpty ? .nan : name == "base-model" ? 4.4821 : losses.reduce(0, +) / 4,
                     perClient: Dictionary(uniqueKeysWithValues: zip(Self.clients, losses)), bytes: bytes, seconds: 400,
                     epsilon: name == "federated+dp" ? 8 : nil, trainingTokens: 12_288)
            s.record(.init(accuracy: accuracy.reduce(0, +) / 4, macroF1: f1, perClientAccuracy: Dictionary(uniqueKeysWithValues: zip(Self.clients, accuracy)),
                           latencySeconds: name == "knn-vote" ? 0.0004 : 0.61, trainingCPUSeconds: train, inferenceCPUSeconds: 75,
                           peakMemoryBytes: 612_000_000, privacy: privacy), name: name)
        }
        s.verdict = "best overall: knn-vote (accuracy 0.605); knn-vote beats federated's accuracy (0.605 vs 0.458) at no training cost (but the training text is pooled)"
        let screen = renderCompare(s, width: 120, height: 40)
        try assertSnapshot(screen, named: "compare-accuracy")
        let text = screen.text
        XCTAssertTrue(text.contains("task accuracy per client (higher is better; the best is bold)"))
        XCTAssertTrue(text.contains("raw text pooled in a central index"))
        XCTAssertTrue(text.contains("privacy: what leaves each client"))
        XCTAssertNil(s.approaches.first { $0.name == "retrieval" }?.evalLoss, "no eval loss: shown as a dash, not nan")
        XCTAssertFalse(text.contains("nan"))
        // The best per client is bold: knn-vote on every client here (bank 0.500).
        let row = try XCTUnwrap((0..<screen.height).first { screen.line($0).hasPrefix(" bank") })
        let column = try XCTUnwrap(screen.line(row).range(of: "0.500", options: .backwards)).lowerBound.utf16Offset(in: screen.line(row))
        XCTAssertTrue(screen[column, row].style.contains(.bold))
        var ascii = s
        ascii.charset = .ascii
        XCTAssertTrue(renderCompare(ascii, width: 120, height: 40).cells.allSatisfy { $0.char.isASCII })
    }
}
