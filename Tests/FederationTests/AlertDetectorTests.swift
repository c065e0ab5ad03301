import XCTest
@testable import Federation

/// The relative detector, one signal at a time: each client against its own history and against
/// the round's other clients, on robust scales.
final class AlertDetectorTests: XCTestCase {
    let clients = ["a", "b", "c", "d"]

    /// Healthy rounds: losses fall together, cosines and norms wobble a little.
    func healthy(round r: Int, client i: Int) -> ClientRoundMetrics {
        var m = ClientRoundMetrics(client: clients[i], round: r, status: .done)
        let wobble = Double((r * 7 + i * 3) % 5) / 5 - 0.4   // deterministic, in [-0.4, 0.4]
        m.localLossStart = 5.0 + 0.3 * Double(i) - 0.1 * Double(r) + 0.03 * wobble
        m.localLossEnd = m.localLossStart! - 0.2
        m.cosineToOthers = 0.25 + 0.05 * Double(i) + 0.02 * wobble
        m.updateNorm = 0.02 * (1 + 0.1 * Double(i)) * (1 + 0.05 * wobble)
        m.qualityDeltaLast = 0.08 + 0.01 * wobble
        return m
    }

    /// `count` rounds of every client's metrics from `make(round, client)`, each changed by
    /// `fault(round, &metrics)`, through one detector.
    func runRounds(_ count: Int, fault: (Int, inout ClientRoundMetrics) -> Void = { _, _ in },
                   make: ((Int, Int) -> ClientRoundMetrics)? = nil) -> [[ClientRoundMetrics]] {
        var detector = AlertDetector()
        return (1...count).map { r in
            var round = clients.indices.map { make?(r, $0) ?? healthy(round: r, client: $0) }
            for i in round.indices { fault(r, &round[i]) }
            _ = detector.inspect(&round, round: r)
            return round
        }
    }

    func score(_ rounds: [[ClientRoundMetrics]], round: Int, client: String) -> Double {
        rounds[round - 1].first { $0.client == client }!.anomalyScore!
    }

    func testHealthyRoundsRaiseNothing() {
        let rounds = runRounds(8)
        for round in rounds { for m in round { XCTAssertLessThan(m.anomalyScore!, AlertDetector.warningScore, "\(m.client) r\(m.round)") } }
    }

    func testStartOfTrainingLossJumpIsFlagged() {
        let rounds = runRounds(6) { r, m in if r >= 4, m.client == "b" { m.localLossStart! += 0.9; m.localLossEnd! += 0.9 } }
        XCTAssertGreaterThanOrEqual(score(rounds, round: 4, client: "b"), AlertDetector.warningScore)
        XCTAssertTrue(rounds[3].first { $0.client == "b" }!.anomalyEvidence!.contains("start-of-training loss"))
        XCTAssertLessThan(score(rounds, round: 4, client: "a"), AlertDetector.warningScore)
        // A lasting fault keeps being flagged: flagged rounds do not become the baseline.
        XCTAssertGreaterThanOrEqual(score(rounds, round: 6, client: "b"), AlertDetector.warningScore)
    }

    func testCosineDropAgainstTheOthersIsFlagged() {
        let rounds = runRounds(5) { r, m in if r >= 3, m.client == "c" { m.cosineToOthers = -0.1 } }
        XCTAssertGreaterThanOrEqual(score(rounds, round: 3, client: "c"), AlertDetector.warningScore)
        XCTAssertTrue(rounds[2].first { $0.client == "c" }!.anomalyEvidence!.contains("cosine"))
    }

    func testAnUpdatePointingAgainstTheOthersIsCriticalInTheFirstRound() {
        let rounds = runRounds(1) { _, m in if m.client == "d" { m.cosineToOthers = -0.6 } }
        XCTAssertGreaterThanOrEqual(score(rounds, round: 1, client: "d"), AlertDetector.criticalScore)
    }

    func testNormOutlierBothWaysIsFlagged() {
        for factor in [0.2, 5.0] {
            let rounds = runRounds(4) { r, m in if r >= 3, m.client == "a" { m.updateNorm! *= factor } }
            XCTAssertGreaterThanOrEqual(score(rounds, round: 3, client: "a"), AlertDetector.warningScore, "×\(factor)")
            XCTAssertTrue(rounds[2].first { $0.client == "a" }!.anomalyEvidence!.contains("norm"), "×\(factor)")
        }
    }

    func testStalledEvalGainAddsEvidence() {
        let alone = runRounds(5) { r, m in if r >= 4, m.client == "b" { m.qualityDeltaLast = 0.0 } }
        XCTAssertTrue(alone[3].first { $0.client == "b" }!.anomalyEvidence!.contains("eval gain"))
        XCTAssertGreaterThan(score(alone, round: 4, client: "b"), 1)
    }

    /// A shift every client shares (a better global model lowers every loss) is not evidence.
    func testACommonShiftIsNotAnAnomaly() {
        let rounds = runRounds(6) { r, m in if r >= 4 { m.localLossStart! -= 0.8; m.localLossEnd! -= 0.8; m.updateNorm! *= 0.5 } }
        for m in rounds[3] { XCTAssertLessThan(m.anomalyScore!, AlertDetector.warningScore, m.client) }
    }

    /// Under secure aggregation the coordinator has no cosines: the other signals still work.
    func testWithoutCosinesTheLossStillFlags() {
        let rounds = runRounds(5) { r, m in
            m.cosineToOthers = nil
            if r >= 4, m.client == "a" { m.localLossStart! += 1.0; m.localLossEnd! += 1.0 }
        }
        XCTAssertGreaterThanOrEqual(score(rounds, round: 4, client: "a"), AlertDetector.warningScore)
    }

    /// The start-of-training loss is measured on a fixed sample, so its floor is small; a rise
    /// within one and a half floors is noise, not evidence enough for a warning.
    func testALossRiseWithinTheFloorIsNotFlagged() {
        let rise = 1.5 * Signal.lossStart.floor
        let rounds = runRounds(6) { r, m in if r >= 4, m.client == "b" { m.localLossStart! += rise } }
        XCTAssertLessThan(score(rounds, round: 4, client: "b"), AlertDetector.warningScore)
        XCTAssertLessThan(score(rounds, round: 4, client: "b"), 2, "1.5 floors is at most 1.5 MADs of evidence")
    }

    /// The last local step's loss is one batch's: the detector does not read it.
    func testTheLastStepLossIsNotEvidence() {
        let rounds = runRounds(5) { r, m in if r >= 4, m.client == "c" { m.localLossEnd! += 2 } }
        XCTAssertEqual(score(rounds, round: 4, client: "c"), score(runRounds(5), round: 4, client: "c"), accuracy: 1e-12)
    }

    /// Task accuracy where the data has labels: a fall that the other clients do not share.
    func testTaskAccuracyFallIsFlagged() {
        let rounds = runRounds(6) { r, m in
            let i = Double(m.client.unicodeScalars.first!.value % 4)
            m.taskAccuracy = 0.6 + 0.02 * i + 0.01 * Double(r % 2)
            if r >= 4, m.client == "d" { m.taskAccuracy! -= 0.5 }
        }
        XCTAssertGreaterThanOrEqual(score(rounds, round: 4, client: "d"), AlertDetector.warningScore)
        XCTAssertTrue(rounds[3].first { $0.client == "d" }!.anomalyEvidence!.contains("task accuracy"))
        for m in rounds[3] where m.client != "d" { XCTAssertLessThan(m.anomalyScore!, AlertDetector.warningScore, m.client) }
    }

    /// An accuracy on 2 labelled examples moves by 0.5 from sampling alone: no anomaly evidence
    /// and no accuracy-fall warning; on 50 examples the same fall is flagged.
    func testAccuracyOnFewExamplesIsJudgedOnItsSamplingNoise() {
        func run(examples n: Int) -> ([[ClientRoundMetrics]], [Alert]) {
            var detector = AlertDetector()
            var out: [[ClientRoundMetrics]] = []
            var alerts: [Alert] = []
            for r in 1...5 {
                var round = clients.indices.map { healthy(round: r, client: $0) }
                for i in round.indices {
                    let accuracy = r >= 4 && round[i].client == "b" ? 0.5 : 1.0
                    let right = Int((accuracy * Double(n)).rounded())
                    round[i].taskAccuracy = accuracy
                    round[i].confusion = ["x": ["x": right, "y": n - right]]
                }
                alerts += detector.inspect(&round, round: r)
                out.append(round)
            }
            return (out, alerts)
        }
        let (few, fewAlerts) = run(examples: 2)
        XCTAssertLessThan(score(few, round: 4, client: "b"), AlertDetector.warningScore)
        XCTAssertTrue(fewAlerts.isEmpty, fewAlerts.map(\.reason).joined(separator: "; "))
        let (many, manyAlerts) = run(examples: 50)
        XCTAssertGreaterThanOrEqual(score(many, round: 4, client: "b"), AlertDetector.warningScore)
        XCTAssertTrue(manyAlerts.contains { $0.client == "b" && $0.reason.hasPrefix("task accuracy fell") })
    }

    /// The accuracy rule reads a whole run of falls: one example at a time (0.875 → 0.75 → 0.625
    /// on 8, a healthy hospital in `degrading-client.toml`; the same on 16) raises nothing; 0.9 → 0.8 → 0.7 on 50
    /// (0.2 in all, above two standard errors of 0.07) is warned at its second fall; a rise ends
    /// the run.
    func testTheAccuracyRuleReadsTheWholeRunOfFalls() {
        func alerts(_ accuracies: [Double], examples n: Int) -> [Alert] {
            var detector = AlertDetector()
            var out: [Alert] = []
            for (k, accuracy) in accuracies.enumerated() {
                var round = clients.indices.map { healthy(round: k + 1, client: $0) }
                for i in round.indices {
                    let a = round[i].client == "b" ? accuracy : 0.8
                    let right = Int((a * Double(n)).rounded())
                    round[i].taskAccuracy = a
                    round[i].confusion = ["x": ["x": right, "y": n - right]]
                }
                out += detector.inspect(&round, round: k + 1).filter { $0.reason.hasPrefix(AlertDetector.accuracyReason) }
            }
            return out
        }
        XCTAssertTrue(alerts([0.5, 0.875, 0.75, 0.625], examples: 8).isEmpty)
        XCTAssertTrue(alerts([0.75, 0.75, 0.6875, 0.625], examples: 16).isEmpty)
        let run = alerts([0.9, 0.8, 0.7, 0.7], examples: 50)
        XCTAssertEqual(run.map(\.round), [3])
        XCTAssertEqual(run.first?.client, "b")
        XCTAssertTrue(run.first?.reason.contains("to 0.70 from 0.90 (over 2 evaluations in a row)") == true, run.first?.reason ?? "")
        XCTAssertTrue(alerts([0.9, 0.8, 0.85, 0.75], examples: 50).isEmpty, "a rise ends the run: 0.85 → 0.75 is 0.1")
    }

    // MARK: - The probe's tail and label losses, and what the update learnt at the tails

    /// Healthy rounds with the probe's position-class losses: every client reports a tail loss
    /// that falls as the model learns, only "d" (whose text spells its labels) a label loss.
    func withProbe(round r: Int, client i: Int) -> ClientRoundMetrics {
        var m = healthy(round: r, client: i)
        let wobble = Double((r * 5 + i * 7) % 5) / 5 - 0.4
        m.localLossStartTail = 3.0 + 0.4 * Double(i) - 0.15 * Double(r) + 0.2 * Signal.lossTail.floor * wobble
        if i == 3 { m.localLossStartLabel = 10.0 + 0.3 * wobble }
        return m
    }

    func runProbeRounds(_ count: Int, fault: (Int, inout ClientRoundMetrics) -> Void) -> [[ClientRoundMetrics]] {
        runRounds(count, fault: fault, make: withProbe)
    }

    func testHealthyProbeLossesRaiseNothing() {
        for round in runProbeRounds(8, fault: { _, _ in }) {
            for m in round { XCTAssertLessThan(m.anomalyScore!, 2, "\(m.client) r\(m.round)") }
        }
    }

    /// The label loss is recorded, not read (the pilot's model never learns the labels, README):
    /// a wild value raises nothing.
    func testTheLabelLossIsNotRead() {
        let wild = runProbeRounds(6) { r, m in if r >= 4, m.client == "d" { m.localLossStartLabel! += 6 } }
        let calm = runProbeRounds(6) { _, _ in }
        XCTAssertEqual(score(wild, round: 4, client: "d"), score(calm, round: 4, client: "d"), accuracy: 1e-12)
    }

    /// A trigger appended to the examples (a backdoor) raises the loss at their ends more than
    /// the start-of-training loss: flagged from the tail alone, with the reason naming it.
    func testATailLossRiseIsFlagged() {
        let rise = 6 * Signal.lossTail.floor
        let rounds = runProbeRounds(6) { r, m in if r >= 4, m.client == "b" { m.localLossStartTail! += rise } }
        XCTAssertGreaterThanOrEqual(score(rounds, round: 4, client: "b"), AlertDetector.warningScore)
        XCTAssertTrue(rounds[3].first { $0.client == "b" }!.anomalyEvidence!.contains("loss at its examples' ends"))
        XCTAssertGreaterThanOrEqual(score(rounds, round: 6, client: "b"), AlertDetector.warningScore, "a lasting fault stays flagged")
        for m in rounds[3] where m.client != "b" { XCTAssertLessThan(m.anomalyScore!, AlertDetector.warningScore, m.client) }
        // Within one and a half floors: not evidence enough.
        let small = runProbeRounds(5) { r, m in if r >= 4, m.client == "b" { m.localLossStartTail! += 1.5 * Signal.lossTail.floor } }
        XCTAssertLessThan(score(small, round: 4, client: "b"), 2)
        // Every client's tail rising together (the model moving) is not an anomaly.
        let common = runProbeRounds(5) { r, m in if r >= 4 { m.localLossStartTail! += rise } }
        for m in common[3] { XCTAssertLessThan(m.anomalyScore!, AlertDetector.warningScore, m.client) }
    }

    // MARK: - The data checks (label disagreement, unexplained phrases)

    /// Healthy rounds with the clients' data checks: each client's shares sit at its own level
    /// (they differ by domain) and wobble by resampling noise (0.01, the pilot's measured rms).
    func withData(round r: Int, client i: Int) -> ClientRoundMetrics {
        var m = healthy(round: r, client: i)
        let wobble = Double((r * 3 + i * 5) % 5) / 5 - 0.4
        // Each client's labels disagree with their text at its own rate (0.02-0.20), its
        // held-out labels about as often (their own sampling noise, up to 0.02, apart).
        m.dataLabelDisagreement = 0.02 + 0.06 * Double(i) + 0.025 * wobble
        m.dataReferenceDisagreement = 0.02 + 0.06 * Double(i) + 0.05 * (Double(i % 2) - 0.5) * 0.8
        m.dataLabelledExamples = 80
        m.dataUnexplainedPhrases = i == 1 ? 0.05 + 0.02 * wobble : 0
        m.dataCheckedExamples = 330
        return m
    }

    func runDataRounds(_ count: Int, fault: (Int, inout ClientRoundMetrics) -> Void) -> [[ClientRoundMetrics]] {
        runRounds(count, fault: fault, make: withData)
    }

    func testHealthyDataChecksRaiseNothing() {
        for round in runDataRounds(8, fault: { _, _ in }) {
            for m in round { XCTAssertLessThan(m.anomalyScore!, 2, "\(m.client) r\(m.round)") }
        }
    }

    /// Label noise at severity 0.3 raised the pilot's disagreement by 0.26-0.30: flagged in its
    /// first round and after, with the reason naming it; the other clients stay quiet although
    /// the faulty client's share is far above theirs.
    func testALabelDisagreementRiseIsFlagged() {
        let rounds = runDataRounds(6) { r, m in if r >= 4, m.client == "c" { m.dataLabelDisagreement! += 0.26 } }
        XCTAssertGreaterThanOrEqual(score(rounds, round: 4, client: "c"), AlertDetector.warningScore)
        XCTAssertTrue(rounds[3].first { $0.client == "c" }!.anomalyEvidence!.contains("labels its held-out neighbours vote against"))
        XCTAssertGreaterThanOrEqual(score(rounds, round: 6, client: "c"), AlertDetector.warningScore, "a lasting fault stays flagged")
        for round in rounds { for m in round where m.client != "c" { XCTAssertLessThan(m.anomalyScore!, 2, "\(m.client) r\(m.round)") } }
        // Two floors of change is not evidence enough; on few examples the floor widens.
        let small = runDataRounds(5) { r, m in if r >= 4, m.client == "c" { m.dataLabelDisagreement! += 2 * Signal.shareFloor } }
        XCTAssertLessThan(score(small, round: 4, client: "c"), 3)
        let few = runDataRounds(5) { r, m in
            if m.client == "c" { m.dataLabelledExamples = 16 }
            if r >= 4, m.client == "c" { m.dataLabelDisagreement! += 0.26 }
        }
        XCTAssertLessThan(score(few, round: 4, client: "c"), AlertDetector.warningScore, "0.26 on 16 examples is 2 binomial errors")
    }

    func testAnUnexplainedPhraseRiseIsFlagged() {
        let rounds = runDataRounds(6) { r, m in if r >= 3, m.client == "b" { m.dataUnexplainedPhrases! += 0.25 } }
        XCTAssertGreaterThanOrEqual(score(rounds, round: 3, client: "b"), AlertDetector.warningScore)
        XCTAssertTrue(rounds[2].first { $0.client == "b" }!.anomalyEvidence!.contains("recurring phrase"))
        for m in rounds[2] where m.client != "b" { XCTAssertLessThan(m.anomalyScore!, 2, m.client) }
        // Measured against the client's own held-out text, the share is near 0 on clean data,
        // so a client whose training data carries such phrases from its first round is flagged
        // against the others (no history needed).
        let level = runDataRounds(3) { _, m in if m.client == "d" { m.dataUnexplainedPhrases = 0.4 } }
        XCTAssertGreaterThanOrEqual(score(level, round: 1, client: "d"), AlertDetector.warningScore)
        XCTAssertTrue(level[0].first { $0.client == "d" }!.anomalyEvidence!.contains("above the round's"))
    }

    /// The label disagreement is read in excess of the client's held-out labels' own: labels
    /// that are ambiguous in a domain (0.35 both ways) raise nothing, noisy ones from the first
    /// round are flagged against the others.
    func testTheLabelDisagreementIsReadAgainstTheClientsOwnReference() {
        let ambiguous = runDataRounds(4) { _, m in
            if m.client == "b" { m.dataLabelDisagreement! += 0.3; m.dataReferenceDisagreement! += 0.3 }
        }
        for round in ambiguous { for m in round { XCTAssertLessThan(m.anomalyScore!, 2, "\(m.client) r\(m.round)") } }
        let noisy = runDataRounds(3) { _, m in if m.client == "b" { m.dataLabelDisagreement! += 0.3 } }
        XCTAssertGreaterThanOrEqual(score(noisy, round: 1, client: "b"), AlertDetector.warningScore)
        for m in noisy[0] where m.client != "b" { XCTAssertLessThan(m.anomalyScore!, 2, m.client) }
        // Without its reference a client's disagreement is not read at all.
        let unreferenced = runDataRounds(5) { r, m in
            m.dataReferenceDisagreement = nil
            if r >= 4, m.client == "b" { m.dataLabelDisagreement! += 0.3 }
        }
        XCTAssertLessThan(score(unreferenced, round: 4, client: "b"), 2)
    }

    func testRobustStatistics() {
        XCTAssertEqual(Robust.median([3, 1, 2]), 2)
        XCTAssertEqual(Robust.median([4, 1, 2, 3]), 2.5)
        XCTAssertEqual(Robust.mad([1, 2, 3, 4, 100]), 1.4826, accuracy: 1e-12)
        XCTAssertEqual(Robust.z(100, among: [1, 2, 3, 4, 100], floor: 0.1), 97 / 1.4826, accuracy: 1e-9)
        XCTAssertEqual(Robust.z(3.05, among: [3, 3, 3.05], floor: 0.5), 0.1, accuracy: 1e-12, "the floor bounds the scale")
    }
}
