import Foundation
import XCTest
import TensorMath
@testable import Federation

/// The clients' data checks (`DataProfile`) on the pilot's real client data: label noise raises
/// the label disagreement, a backdoor's trigger the unexplained phrases, each far above what
/// resampling the clean data moves them by; degradation and clean data raise neither.
final class DataChecksTests: XCTestCase {
    static let pilot: [String: ClientDataset] = {
        let scenario = try! ScenarioLoader.load(path: EngineTestSupport.root.appendingPathComponent("scenarios/clinical-pilot.toml").path)
        return try! PilotBuilder.loadClientData(scenario)
    }()

    func faulted(_ data: ClientDataset, _ client: String, _ kind: FaultKind, _ severity: Double, seed: UInt64 = 5) -> [TextExample] {
        FaultInjector([FaultSpec(client: client, kind: kind, fromRound: 1, severity: severity)])
            .trainingText(data.train, client: client, round: 1, seed: seed)
    }

    func testLabelNoiseRaisesTheLabelDisagreement() throws {
        for (client, data) in Self.pilot.sorted(by: { $0.key < $1.key }) {
            let checks = DataChecks(validation: data.validation)
            let clean = checks.profile(data.train)
            let base = try XCTUnwrap(clean.labelDisagreement, client)
            let reference = try XCTUnwrap(clean.referenceDisagreement, client)
            print(String(format: "%@ clean: disagreement %.3f, held-out's own %.3f (%d examples)", client, base, reference, clean.labelledExamples))
            // The clean training labels disagree with their neighbours about as often as the
            // held-out labels do among themselves: the excess compares across clients.
            XCTAssertEqual(base, reference, accuracy: 0.06, client)
            XCTAssertGreaterThanOrEqual(clean.labelledExamples, 60, client)
            for severity in [0.3, 0.5, 0.9] {
                let noisy = checks.profile(faulted(data, client, .labelNoise, severity))
                let rise = try XCTUnwrap(noisy.labelDisagreement) - base
                print(String(format: "%@ label noise %.1f: disagreement %.3f -> %.3f (%+.3f)", client, severity, base, base + rise, rise))
                // Flipped labels disagree with their neighbours about as often as the clean ones agree.
                XCTAssertGreaterThan(rise, 0.6 * severity * (1 - base), "\(client) at \(severity)")
                XCTAssertEqual(noisy.unexplainedPhrases ?? -1, clean.unexplainedPhrases ?? -1, accuracy: 0.02, "\(client): labels are not phrases")
            }
        }
    }

    func testABackdoorRaisesTheUnexplainedPhrases() throws {
        for (client, data) in Self.pilot.sorted(by: { $0.key < $1.key }) {
            let checks = DataChecks(validation: data.validation)
            let clean = try XCTUnwrap(checks.profile(data.train).unexplainedPhrases, client)
            XCTAssertLessThan(clean, 0.02, "\(client): the clean data's phrases are in its held-out text")
            for severity in [0.3, 0.5, 0.9] {
                let poisoned = try XCTUnwrap(checks.profile(faulted(data, client, .backdoor, severity)).unexplainedPhrases)
                print(String(format: "%@ backdoor %.1f: unexplained phrases %.3f -> %.3f", client, severity, clean, poisoned))
                XCTAssertGreaterThan(poisoned - clean, 0.8 * severity, "\(client) at \(severity)")
            }
            // Degradation replaces characters at random: nothing recurs.
            let degraded = try XCTUnwrap(checks.profile(faulted(data, client, .degrade, 0.9)).unexplainedPhrases)
            XCTAssertLessThan(degraded, clean + 0.05, client)
        }
    }

    /// The floor of the shares (`Signal.shareFloor`) against what a client whose training data
    /// changes every round would see: each share on 24 random halves of the clean data.
    func testResamplingMovesTheSharesLessThanTheFloor() throws {
        var rng = SeededRandom(seed: 2026)
        var worst = (label: 0.0, phrases: 0.0)
        for (client, data) in Self.pilot.sorted(by: { $0.key < $1.key }) {
            let checks = DataChecks(validation: data.validation)
            let full = checks.profile(data.train)
            var labelDiffs: [Double] = [], phraseDiffs: [Double] = []
            for _ in 0..<24 {
                let half = Array(data.train.shuffled(using: &rng).prefix(data.train.count / 2))
                let p = checks.profile(half)
                labelDiffs.append(abs((p.labelDisagreement ?? 0) - (full.labelDisagreement ?? 0)))
                phraseDiffs.append(abs((p.unexplainedPhrases ?? 0) - (full.unexplainedPhrases ?? 0)))
            }
            let sd = { (d: [Double]) in (d.reduce(0) { $0 + $1 * $1 } / Double(d.count)).squareRoot() }
            print(String(format: "%@ resampled halves: label disagreement rms %.3f max %.3f; unexplained phrases rms %.3f max %.3f",
                         client, sd(labelDiffs), labelDiffs.max()!, sd(phraseDiffs), phraseDiffs.max()!))
            worst.label = max(worst.label, sd(labelDiffs)); worst.phrases = max(worst.phrases, sd(phraseDiffs))
        }
        // A warning needs four floors of change; one floor is at least twice resampling's rms.
        XCTAssertLessThan(worst.label, Signal.shareFloor / 2)
        XCTAssertLessThan(worst.phrases, Signal.shareFloor / 2)
    }

    func testWithoutLabelsOrReferenceThereIsNoCheck() {
        let plain = (0..<30).map { TextExample(completion: "note \($0) about the ward round and the patient") }
        let checks = DataChecks(validation: Array(plain.prefix(3)))
        let p = checks.profile(plain)
        XCTAssertNil(p.labelDisagreement, "no labels")
        XCTAssertNil(p.unexplainedPhrases, "3 held-out examples cannot expect a phrase 10 times")
        XCTAssertNil(DataChecks(validation: plain).profile([]).unexplainedPhrases)
    }

    /// What the coordinator keeps of a hostile client's shares: nothing outside [0, 1].
    func testTheCoordinatorDropsImpossibleShares() {
        for bad in [Double.nan, -0.1, 1.5, .infinity] {
            let p = DataProfile(labelDisagreement: bad, referenceDisagreement: 0.1, labelledExamples: 10, unexplainedPhrases: bad, examples: 10).sanitized
            XCTAssertNil(p.labelDisagreement); XCTAssertNil(p.referenceDisagreement); XCTAssertNil(p.unexplainedPhrases)
            XCTAssertEqual(p.labelledExamples, 0); XCTAssertEqual(p.examples, 0)
        }
        XCTAssertNil(DataProfile(labelDisagreement: 0.5, referenceDisagreement: 0.1, labelledExamples: 0, unexplainedPhrases: nil,
                                 examples: 0).sanitized.labelDisagreement)
        // A share without its reference (or the reference NaN) is no evidence either.
        XCTAssertNil(DataProfile(labelDisagreement: 0.5, referenceDisagreement: .nan, labelledExamples: 9, unexplainedPhrases: nil,
                                 examples: 0).sanitized.labelDisagreement)
        let fine = DataProfile(labelDisagreement: 0.5, referenceDisagreement: 0.1, labelledExamples: 9, unexplainedPhrases: 0, examples: 9)
        XCTAssertEqual(fine.sanitized, fine)
    }

    /// The shares travel in the round reply's last optional section, with or without the
    /// sections before it, and a cut reply is refused.
    func testTheProfileRoundTripsInTheReply() throws {
        let profile = DataProfile(labelDisagreement: 0.25, referenceDisagreement: 0.03, labelledExamples: 300, unexplainedPhrases: nil, examples: 0)
        for (check, probe) in [(UpdateCheck?.none, ProbeLosses?.none),
                               (UpdateCheck(endLoss: 0.1, labelLoss: nil, textLoss: -0.2, seconds: 1), ProbeLosses(mean: 3, tail: 2, label: nil))] {
            let reply = RoundReply(client: "a", round: 2, delta: [1, 2], updateNorm: 2.2, exampleCount: 5, steps: 1, tokens: 64,
                                   lossStart: 3, lossEnd: 2.5, computeSeconds: 1, check: check, probe: probe, profile: profile)
            let data = reply.encoded(tensorSizes: [2], as: .fp32)
            let back = try RoundReply(decoding: data)
            XCTAssertEqual(back.profile, profile)
            XCTAssertEqual(back.check, check)
            XCTAssertEqual(back.probe, probe)
            XCTAssertThrowsError(try RoundReply(decoding: data.prefix(data.count - 3)))
        }
    }
}
