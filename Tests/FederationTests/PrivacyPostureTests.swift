import Foundation
import Privacy
import TensorMath
import XCTest
@testable import Federation

/// Every configuration either states a guarantee the code backs or is refused, naming the key;
/// and the DP path itself keeps the promises the accountant relies on.
final class PrivacyPostureTests: XCTestCase {
    let fourClients = [("a", "clinical-hospital-a.jsonl"), ("b", "aml-alerts.jsonl"), ("c", "legal-clauses.jsonl"),
                       ("d", "support-tickets.jsonl")]

    func dpScenario(strategy: String = "fedavg", privacy: String = "", fraction: Double = 1, rounds: Int = 2) throws -> Scenario {
        try EngineTestSupport.scenario(clients: fourClients, rounds: rounds, extra: """
            [selection]
            fraction = \(fraction)
            [privacy]
            differential_privacy = true
            noise_multiplier = 1.0
            clip_norm = 0.05
            \(privacy)

            """, strategy: strategy)
    }

    // MARK: Refused combinations

    /// SCAFFOLD's control deltas are computed from the raw update and released un-noised: refused
    /// (before, the run printed ε = 4.73).
    func testScaffoldWithDPIsRefusedAtStart() throws {
        let scenario = try dpScenario(strategy: "scaffold")
        let posture = PrivacyPosture.assess(scenario)
        XCTAssertFalse(posture.accepted)
        XCTAssertNil(posture.epsilon)
        XCTAssertTrue(posture.refusals[0].description.hasPrefix("[strategy] name: \"scaffold\""), posture.refusals[0].description)
        XCTAssertThrowsError(try PilotBuilder.build(scenario, sink: { _ in })) { error in
            XCTAssertTrue("\(error)".contains("engine-test.toml: [strategy] name"), "\(error)")
            XCTAssertTrue("\(error)".contains("control variates"), "\(error)")
        }
    }

    /// Median, trimmed mean, Krum and Multi-Krum release individual noised updates: refused.
    func testRobustAggregatorsWithDPAreRefused() throws {
        for strategy in ["median", "trimmed_mean", "krum", "multi_krum"] {
            let scenario = try dpScenario(strategy: strategy)
            XCTAssertFalse(PrivacyPosture.assess(scenario).accepted, strategy)
            XCTAssertThrowsError(try PilotBuilder.build(scenario, sink: { _ in }), strategy) { error in
                XCTAssertTrue("\(error)".contains("sensitivity"), "\(error)")
            }
        }
    }

    /// `noise = "distributed"` without secure aggregation used to be parsed and ignored.
    func testDistributedNoiseWithoutSecureAggregationIsRefused() throws {
        let scenario = try dpScenario(privacy: "noise = \"distributed\"")
        let posture = PrivacyPosture.assess(scenario)
        XCTAssertEqual(posture.refusals.map(\.key), ["[privacy] noise"])
        XCTAssertThrowsError(try PilotBuilder.build(scenario, sink: { _ in }))
    }

    /// The operator cannot turn DP on mid-run for a strategy that cannot back it.
    func testTurningDPOnForARobustStrategyHasNoEffect() throws {
        let scenario = try EngineTestSupport.scenario(clients: fourClients, rounds: 1, strategy: "median")
        let recorder = EngineTestSupport.Recorder()
        let pilot = try PilotBuilder.build(scenario, sink: recorder.record)
        pilot.coordinator.commands.send(.setDifferentialPrivacy(true))
        pilot.coordinator.run()
        XCTAssertFalse(pilot.coordinator.privacy.differentialPrivacy)
        XCTAssertTrue(recorder.events.contains { if case .operatorAction(_, _, false) = $0 { return true } else { return false } })
        XCTAssertNil(pilot.coordinator.epsilon)
    }

    /// Strategy × DP mode × secure aggregation: each combination is either accepted with a stated
    /// guarantee (finite ε when DP is on) or refused, by the loader or the posture check.
    func testMatrixOfStrategyDPModeAndSecureAggregation() throws {
        let linear: Set<StrategyKind> = [.fedavg, .fedprox, .fedavgm, .fedadam, .fedyogi, .fedadagrad]
        for strategy in StrategyKind.allCases {
            for mode in ["off", "central", "distributed"] {
                for secure in [false, true] {
                    var privacy = mode == "off" ? "" : "[privacy]\ndifferential_privacy = true\nnoise_multiplier = 1.0\nnoise = \"\(mode)\"\n"
                    if secure { privacy += (mode == "off" ? "[privacy]\n" : "") + "secure_aggregation = true\n" }
                    let label = "\(strategy.rawValue) dp=\(mode) secagg=\(secure)"
                    let expectAccepted: Bool
                    switch mode {
                    case "off": expectAccepted = !secure || linear.contains(strategy)
                    case "central": expectAccepted = !secure && linear.contains(strategy)
                    default: expectAccepted = secure && linear.contains(strategy)
                    }
                    let posture: PrivacyPosture
                    do {
                        posture = PrivacyPosture.assess(try EngineTestSupport.scenario(clients: fourClients, extra: privacy, strategy: strategy.rawValue))
                    } catch {
                        XCTAssertFalse(expectAccepted, "\(label) was refused by the loader: \(error)")
                        XCTAssertTrue("\(error)".contains("engine-test.toml"), "\(label): \(error)")
                        continue
                    }
                    XCTAssertEqual(posture.accepted, expectAccepted, "\(label): \(posture.refusals)")
                    if posture.accepted && mode != "off" {
                        XCTAssertNotNil(posture.epsilon, label)
                        XCTAssertEqual(posture.epsilonAgainstCoordinator != nil, secure, label)
                    }
                    if !posture.accepted { XCTAssertFalse(posture.refusals.isEmpty, label) }
                    if mode == "off" { XCTAssertNil(posture.epsilon, label) }
                }
            }
        }
    }

    /// Every shipped scenario passes the check; the DP ones with the ε of their planned rounds.
    func testEveryShippedScenarioIsAccepted() throws {
        let dir = EngineTestSupport.root.appendingPathComponent("scenarios")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".toml") }.sorted()
        XCTAssertGreaterThan(files.count, 5)
        for file in files {
            let scenario = try ScenarioLoader.load(path: dir.appendingPathComponent(file).path)
            let posture = PrivacyPosture.assess(scenario)
            XCTAssertTrue(posture.accepted, "\(file): \(posture.refusals)")
            if scenario.privacy.differentialPrivacy {
                let expected = try RDPAccountant.epsilon(noiseMultiplier: scenario.privacy.noiseMultiplier,
                                                         sampleRate: scenario.selection.fraction, steps: scenario.rounds,
                                                         delta: scenario.privacy.delta).epsilon
                XCTAssertEqual(try XCTUnwrap(posture.epsilon, file), expected, accuracy: 1e-9, file)
            }
        }
    }

    // MARK: The DP path

    /// Two DP runs with the same seed give different adapters (the noise has no seed to learn);
    /// without DP the same seed gives the same adapter bit for bit.
    func testDPNoiseIsNotReproducibleFromTheSeed() throws {
        func global(_ scenario: Scenario) throws -> [Float] {
            let pilot = try PilotBuilder.build(scenario, sink: { _ in })
            pilot.coordinator.run()
            return pilot.coordinator.global.values
        }
        let dp = try dpScenario(rounds: 1)
        XCTAssertNotEqual(try global(dp), try global(dp))
        let plain = try EngineTestSupport.scenario(clients: fourClients, rounds: 1)
        XCTAssertEqual(try global(plain).map(\.bitPattern), try global(plain).map(\.bitPattern))
    }

    /// Under DP the selection is secret Poisson sampling: the same seed and round do not fix it.
    func testDPSelectionIsSecretPoissonSampling() throws {
        let pilot = try PilotBuilder.build(try dpScenario(fraction: 0.5), sink: { _ in })
        var sizes: [Int] = []
        var seen = Set<[String]>()
        for _ in 0..<200 {
            var rng = SeededRandom(seed: 1)
            let chosen = pilot.coordinator.select(round: 1, rng: &rng)
            sizes.append(chosen.count)
            seen.insert(chosen)
        }
        XCTAssertGreaterThan(seen.count, 8, "the seeded generator must not fix the selection")
        XCTAssertTrue(sizes.contains(0) || sizes.contains(4) || Set(sizes).count >= 3, "Poisson sample sizes vary: \(Set(sizes))")
        let mean = Double(sizes.reduce(0, +)) / Double(sizes.count)
        XCTAssertEqual(mean, 2, accuracy: 0.4, "E[size] = q·n = 2")
        // Without DP the seeded fixed-size sample is kept (reproducible runs).
        let plain = try PilotBuilder.build(try EngineTestSupport.scenario(clients: fourClients, extra: "[selection]\nfraction = 0.5\n"),
                                           sink: { _ in })
        var a = SeededRandom(seed: 1), b = SeededRandom(seed: 1)
        XCTAssertEqual(plain.coordinator.select(round: 1, rng: &a), plain.coordinator.select(round: 1, rng: &b))
    }

    /// With DP every update weighs the same, whatever example count a client reports, and the
    /// mean is the clipped sum plus noise of std z·C over n.
    func testDPIgnoresSelfReportedExampleCountsAndClips() throws {
        let pilot = try PilotBuilder.build(try dpScenario(privacy: "", rounds: 1), sink: { _ in })
        let coordinator = pilot.coordinator
        let d = coordinator.global.values.count
        let big = [Float](repeating: 1, count: d)          // norm √d ≫ C: clipped to C
        let small = [Float](repeating: 0, count: d)
        let updates = [ClientUpdate(client: "a", delta: big, exampleCount: 1_000_000_000),
                       ClientUpdate(client: "b", delta: small, exampleCount: 1)]
        var means: [[Float]] = []
        for _ in 0..<20 { means.append(coordinator.privateMean(updates)) }
        let c = coordinator.clipNorm
        // E[mean_j] = (C/√d)/2 for every j; the noise std per coordinate is z·C/2.
        let average = (0..<d).map { j in means.reduce(0.0) { $0 + Double($1[j]) } / Double(means.count) }
        let overall = average.reduce(0, +) / Double(d)
        XCTAssertEqual(overall, c / Double(d).squareRoot() / 2, accuracy: 3 * c / 2 / Double(d * means.count).squareRoot())
        let first = means[0].map(Double.init)
        let mu = first.reduce(0, +) / Double(d)
        let std = (first.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(d)).squareRoot()
        XCTAssertEqual(std, 1.0 * c / 2, accuracy: 0.05 * c / 2, "noise std z·C/n")
    }

    /// `fedpilot privacy check`'s JSON names the fields outside checks read.
    func testPostureJSONHasTheContractFields() throws {
        let object = PrivacyPosture.assess(try dpScenario()).jsonObject
        for key in ["accepted", "epsilon", "delta", "reasons", "coordinator_sees", "client_sees", "released", "assumptions"] {
            XCTAssertNotNil(object[key], key)
        }
        XCTAssertEqual(object["accepted"] as? Bool, true)
    }
}
