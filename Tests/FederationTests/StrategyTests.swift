import Foundation
import XCTest
@testable import Federation

/// Server-side aggregation strategies, each checked against values computed by hand (in the comments).
final class StrategyTests: XCTestCase {

    // MARK: - Helpers

    private func update(_ client: String, _ delta: [Float], n: Int = 1, control: [Float]? = nil) -> ClientUpdate {
        ClientUpdate(client: client, delta: delta, exampleCount: n, controlDelta: control)
    }

    private func assertClose(_ actual: [Float], _ expected: [Float], accuracy: Float = 1e-5,
                             _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.count, expected.count, "dimension \(message)", file: file, line: line)
        for (i, (a, e)) in zip(actual, expected).enumerated() {
            XCTAssertEqual(a, e, accuracy: accuracy, "coordinate \(i) \(message): \(actual) vs \(expected)",
                           file: file, line: line)
        }
    }

    private func assertWeights(_ actual: [String: Double], _ expected: [String: Double],
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(actual.keys), Set(expected.keys), file: file, line: line)
        for (k, v) in expected {
            XCTAssertEqual(actual[k] ?? .nan, v, accuracy: 1e-9, "weight of \(k)", file: file, line: line)
        }
    }

    private func config(_ kind: StrategyKind, _ edit: (inout StrategyConfig) -> Void = { _ in }) -> StrategyConfig {
        var c = StrategyConfig(kind: kind)
        edit(&c)
        return c
    }

    // MARK: - FedAvg / FedProx

    func testFedAvgWeightsByExampleCount() throws {
        // global = [1, 2, 3]; A: Δ = [1, 0, -1], n = 1; B: Δ = [4, 2, 2], n = 3.
        // Δ̄ = (1·[1, 0, -1] + 3·[4, 2, 2]) / 4 = [13, 6, 5] / 4 = [3.25, 1.5, 1.25]
        // global' = [4.25, 3.5, 4.25]; weights A 1/4, B 3/4.
        var s = makeStrategy(config(.fedavg))
        XCTAssertEqual(s.kind, .fedavg)
        let out = try s.aggregate(global: [1, 2, 3], updates: [update("A", [1, 0, -1], n: 1), update("B", [4, 2, 2], n: 3)])
        assertClose(out.global, [4.25, 3.5, 4.25])
        assertWeights(out.weights, ["A": 0.25, "B": 0.75])
        XCTAssertEqual(out.rejected, [])
    }

    func testFedAvgServerLearningRateScalesTheStep() throws {
        // Same round with η = 0.5: global' = [1, 2, 3] + 0.5·[3.25, 1.5, 1.25] = [2.625, 2.75, 3.625].
        var s = makeStrategy(config(.fedavg) { $0.serverLearningRate = 0.5 })
        let out = try s.aggregate(global: [1, 2, 3], updates: [update("A", [1, 0, -1], n: 1), update("B", [4, 2, 2], n: 3)])
        assertClose(out.global, [2.625, 2.75, 3.625])
    }

    func testFedAvgSingleClientYieldsItsParameters() throws {
        // One client: weight 1, so global' = global + Δ exactly = the client's local parameters.
        // [0.5, -1, 2, 7] + [0.25, 0.5, -2, 1] = [0.75, -0.5, 0, 8].
        var s = FedAvgStrategy()
        let out = try s.aggregate(global: [0.5, -1, 2, 7], updates: [update("solo", [0.25, 0.5, -2, 1], n: 10)])
        XCTAssertEqual(out.global, [0.75, -0.5, 0, 8])
        XCTAssertEqual(out.weights, ["solo": 1])
        XCTAssertEqual(s.instructions(for: "solo", dimension: 4), .none)
    }

    func testFedProxAggregatesLikeFedAvgAndSendsMu() throws {
        // Instructions carry μ = config.proximalMu = 0.05; aggregation = FedAvg (see testFedAvgWeightsByExampleCount).
        var s = makeStrategy(config(.fedprox) { $0.proximalMu = 0.05 })
        XCTAssertEqual(s.kind, .fedprox)
        let ins = s.instructions(for: "A", dimension: 3)
        XCTAssertEqual(ins.proximalMu, 0.05)
        XCTAssertNil(ins.gradientCorrection)
        let out = try s.aggregate(global: [1, 2, 3], updates: [update("A", [1, 0, -1], n: 1), update("B", [4, 2, 2], n: 3)])
        assertClose(out.global, [4.25, 3.5, 4.25])
        // Plain FedAvg asks for no proximal term.
        XCTAssertEqual(makeStrategy(config(.fedavg)).instructions(for: "A", dimension: 3).proximalMu, 0)
    }

    // MARK: - FedAvgM

    func testFedAvgMTwoRounds() throws {
        // η = 0.5, β = 0.9, global = [0, 0, 0], v = 0.
        // Round 1: A [1, 2, 3] n 1, B [3, 2, 1] n 1 → Δ̄ = [2, 2, 2]; v = [2, 2, 2]; global = 0.5·v = [1, 1, 1].
        // Round 2: A [1, 0, -1] n 3, B [-1, 0, 1] n 1 → Δ̄ = ([3, 0, -3] + [-1, 0, 1]) / 4 = [0.5, 0, -0.5]
        //          v = 0.9·[2, 2, 2] + [0.5, 0, -0.5] = [2.3, 1.8, 1.3]; global = [1, 1, 1] + 0.5·v = [2.15, 1.9, 1.65].
        var s = makeStrategy(config(.fedavgm) { $0.serverLearningRate = 0.5; $0.momentum = 0.9 })
        XCTAssertEqual(s.kind, .fedavgm)
        let r1 = try s.aggregate(global: [0, 0, 0], updates: [update("A", [1, 2, 3]), update("B", [3, 2, 1])])
        assertClose(r1.global, [1, 1, 1])
        let r2 = try s.aggregate(global: r1.global, updates: [update("A", [1, 0, -1], n: 3), update("B", [-1, 0, 1], n: 1)])
        assertClose(r2.global, [2.15, 1.9, 1.65])
        assertWeights(r2.weights, ["A": 0.75, "B": 0.25])
        XCTAssertEqual((s as? FedAvgMStrategy)?.velocity.count, 3)
    }

    // MARK: - FedAdagrad / FedAdam / FedYogi
    //
    // Shared fixture: η = 1, β1 = 0.5, β2 = 0.75, τ = 1 (so v starts at τ² = 1), m starts at 0, global = 0.
    // Round 1: A [2, -2, 0] n 1, B [0, 0, 0] n 1             → Δ̄1 = [1, -1, 0]
    // Round 2: A [-2, 2, 2] n 1, B [-0.5, 0.5, 2] n 2         → Δ̄2 = ([-2, 2, 2] + [-1, 1, 4]) / 3 = [-1, 1, 2]
    // m1 = 0.5·0 + 0.5·Δ̄1 = [0.5, -0.5, 0];  m2 = 0.5·m1 + 0.5·Δ̄2 = [-0.25, 0.25, 1]   (all three rules)

    private func adaptive(_ kind: StrategyKind) -> any AggregationStrategy {
        makeStrategy(config(kind) { $0.serverLearningRate = 1; $0.beta1 = 0.5; $0.beta2 = 0.75; $0.tau = 1 })
    }
    private let adaptiveRound1 = [ClientUpdate(client: "A", delta: [2, -2, 0], exampleCount: 1),
                                  ClientUpdate(client: "B", delta: [0, 0, 0], exampleCount: 1)]
    private let adaptiveRound2 = [ClientUpdate(client: "A", delta: [-2, 2, 2], exampleCount: 1),
                                  ClientUpdate(client: "B", delta: [-0.5, 0.5, 2], exampleCount: 2)]

    func testFedAdamTwoRounds() throws {
        // v1 = 0.75·1 + 0.25·Δ̄1² = [1, 1, 0.75]
        // step1 = m1 / (√v1 + 1) = [0.5/2, -0.5/2, 0] = [0.25, -0.25, 0]   (with v0 = 0 it would be 0.5/1.5 = 0.333)
        // v2 = 0.75·v1 + 0.25·Δ̄2² = [1, 1, 0.5625 + 1] = [1, 1, 1.5625];  √v2 = [1, 1, 1.25]
        // step2 = [-0.25/2, 0.25/2, 1/2.25] = [-0.125, 0.125, 0.444444]
        // global2 = [0.125, -0.125, 0.444444]   (no bias correction)
        var s = adaptive(.fedadam)
        XCTAssertEqual(s.kind, .fedadam)
        let r1 = try s.aggregate(global: [0, 0, 0], updates: adaptiveRound1)
        assertClose(r1.global, [0.25, -0.25, 0])
        let r2 = try s.aggregate(global: r1.global, updates: adaptiveRound2)
        assertClose(r2.global, [0.125, -0.125, 0.444444])
        let state = try XCTUnwrap(s as? AdaptiveFedOptStrategy)
        assertClose(state.firstMoment, [-0.25, 0.25, 1])
        assertClose(state.secondMoment, [1, 1, 1.5625])
        assertWeights(r2.weights, ["A": 1.0 / 3, "B": 2.0 / 3])
    }

    func testFedYogiTwoRounds() throws {
        // Round 1: v0 − Δ̄1² = [0, 0, 1] → sign [0, 0, 1]; v1 = v0 − 0.25·Δ̄1²·sign = [1, 1, 1 − 0] = [1, 1, 1]
        //          step1 = [0.5/2, -0.5/2, 0] = [0.25, -0.25, 0]
        // Round 2: v1 − Δ̄2² = [0, 0, -3] → sign [0, 0, -1]; v2 = [1, 1, 1 + 0.25·4] = [1, 1, 2]
        //          step2 = [-0.25/2, 0.25/2, 1/(√2 + 1)] = [-0.125, 0.125, √2 − 1 = 0.414214]
        // global2 = [0.125, -0.125, 0.414214]
        var s = adaptive(.fedyogi)
        XCTAssertEqual(s.kind, .fedyogi)
        let r1 = try s.aggregate(global: [0, 0, 0], updates: adaptiveRound1)
        assertClose(r1.global, [0.25, -0.25, 0])
        let r2 = try s.aggregate(global: r1.global, updates: adaptiveRound2)
        assertClose(r2.global, [0.125, -0.125, 0.414214])
        assertClose(try XCTUnwrap(s as? AdaptiveFedOptStrategy).secondMoment, [1, 1, 2])
    }

    func testFedYogiShrinksSecondMomentWhenAboveDeltaSquared() throws {
        // One client, Δ = [0.8, 0, 0], τ = 1, β1 = 0.5, β2 = 0.75, η = 1 (v0 = 1).
        // v0 − Δ² = 1 − 0.64 > 0 → sign +1 → v1 = 1 − 0.25·0.64 = 0.84 (Adam would give 0.75 + 0.16 = 0.91).
        // m1 = 0.4; step = 0.4 / (√0.84 + 1) = 0.4 / 1.916515 = 0.208712.
        var s = adaptive(.fedyogi)
        let out = try s.aggregate(global: [0, 0, 0], updates: [update("A", [0.8, 0, 0])])
        assertClose(out.global, [0.208712, 0, 0])
        assertClose(try XCTUnwrap(s as? AdaptiveFedOptStrategy).secondMoment, [0.84, 1, 1])
    }

    func testFedAdagradTwoRounds() throws {
        // v1 = v0 + Δ̄1² = [2, 2, 1]; step1 = [0.5/(√2 + 1), -0.5/(√2 + 1), 0] = [0.207107, -0.207107, 0]
        // v2 = v1 + Δ̄2² = [3, 3, 5]; step2 = [-0.25/(√3 + 1), 0.25/(√3 + 1), 1/(√5 + 1)] = [-0.091506, 0.091506, 0.309017]
        // global2 = [0.115601, -0.115601, 0.309017]
        var s = adaptive(.fedadagrad)
        XCTAssertEqual(s.kind, .fedadagrad)
        let r1 = try s.aggregate(global: [0, 0, 0], updates: adaptiveRound1)
        assertClose(r1.global, [0.207107, -0.207107, 0])
        let r2 = try s.aggregate(global: r1.global, updates: adaptiveRound2)
        assertClose(r2.global, [0.115601, -0.115601, 0.309017])
        assertClose(try XCTUnwrap(s as? AdaptiveFedOptStrategy).secondMoment, [3, 3, 5])
    }

    func testAdaptiveInitialSecondMomentDefaultsToTauSquared() {
        let s = AdaptiveFedOptStrategy(rule: .adam, serverLearningRate: 0.1, tau: 1e-2)
        XCTAssertEqual(s.initialSecondMoment, 1e-4, accuracy: 1e-10)
        XCTAssertEqual(AdaptiveFedOptStrategy(rule: .adam, serverLearningRate: 0.1, initialSecondMoment: 0).initialSecondMoment, 0)
    }

    // MARK: - SCAFFOLD

    func testScaffoldTwoRoundsWithTotalClients() throws {
        // η_g = 0.5, N = 4, global0 = [1, 1]; c = 0, c_i = 0.
        // Round 1: A Δ [2, 0] Δc [1, 2] (n 1); B Δ [0, 4] Δc [3, -2] (n 100 — SCAFFOLD ignores counts)
        //   mean Δ = [1, 2] → global1 = [1, 1] + 0.5·[1, 2] = [1.5, 2]
        //   c_A = [1, 2], c_B = [3, -2]; c = (1/4)·([1, 2] + [3, -2]) = [1, 0]
        //   corrections c − c_i: A [0, -2], B [-2, 2], C (unseen) [1, 0]
        // Round 2: A Δ [-1, -1] Δc [-1, 0]; C Δ [1, 3] Δc [2, 4]
        //   mean Δ = [0, 1] → global2 = [1.5, 2.5]
        //   c_A = [0, 2], c_C = [2, 4]; c = [1, 0] + (1/4)·([-1, 0] + [2, 4]) = [1.25, 1]
        //   corrections: A [1.25, -1], B [1.25 − 3, 1 + 2] = [-1.75, 3], C [-0.75, -3]
        var s = makeStrategy(config(.scaffold) { $0.serverLearningRate = 0.5 }, totalClients: 4)
        XCTAssertEqual(s.kind, .scaffold)
        let first = s.instructions(for: "A", dimension: 2)
        XCTAssertEqual(first.gradientCorrection, [0, 0])
        XCTAssertEqual(first.serverControl, [0, 0])
        XCTAssertEqual(first.proximalMu, 0)

        let r1 = try s.aggregate(global: [1, 1], updates: [update("A", [2, 0], n: 1, control: [1, 2]),
                                                          update("B", [0, 4], n: 100, control: [3, -2])])
        assertClose(r1.global, [1.5, 2])
        assertWeights(r1.weights, ["A": 0.5, "B": 0.5])
        assertClose(try XCTUnwrap(s.instructions(for: "A", dimension: 2).gradientCorrection), [0, -2])
        assertClose(try XCTUnwrap(s.instructions(for: "B", dimension: 2).gradientCorrection), [-2, 2])
        assertClose(try XCTUnwrap(s.instructions(for: "C", dimension: 2).gradientCorrection), [1, 0])
        XCTAssertEqual(s.instructions(for: "C", dimension: 2).serverControl, [1, 0])

        let r2 = try s.aggregate(global: r1.global, updates: [update("A", [-1, -1], control: [-1, 0]),
                                                             update("C", [1, 3], control: [2, 4])])
        assertClose(r2.global, [1.5, 2.5])
        let state = try XCTUnwrap(s as? ScaffoldStrategy)
        assertClose(state.serverControl, [1.25, 1])
        assertClose(try XCTUnwrap(state.clientControls["A"]), [0, 2])
        assertClose(try XCTUnwrap(state.clientControls["C"]), [2, 4])
        assertClose(try XCTUnwrap(s.instructions(for: "A", dimension: 2).gradientCorrection), [1.25, -1])
        assertClose(try XCTUnwrap(s.instructions(for: "B", dimension: 2).gradientCorrection), [-1.75, 3])
        assertClose(try XCTUnwrap(s.instructions(for: "C", dimension: 2).gradientCorrection), [-0.75, -3])
    }

    func testScaffoldCountsClientsSeenWhenTotalUnknown() throws {
        // Same rounds, η_g = 1, N = clients seen so far.
        // Round 1: N = 2 → c = ([1, 2] + [3, -2]) / 2 = [2, 0]; global = [1, 1] + [1, 2] = [2, 3]
        // Round 2: N = 3 (A, B, C) → c = [2, 0] + ([-1, 0] + [2, 4]) / 3 = [2.333333, 1.333333]; global = [2, 4]
        var s = ScaffoldStrategy()
        let r1 = try s.aggregate(global: [1, 1], updates: [update("A", [2, 0], control: [1, 2]),
                                                          update("B", [0, 4], control: [3, -2])])
        assertClose(r1.global, [2, 3])
        assertClose(s.serverControl, [2, 0])
        let r2 = try s.aggregate(global: r1.global, updates: [update("A", [-1, -1], control: [-1, 0]),
                                                             update("C", [1, 3], control: [2, 4])])
        XCTAssertEqual(s.effectiveTotalClients, 3)
        assertClose(r2.global, [2, 4])
        assertClose(s.serverControl, [2.333333, 1.333333])
    }

    func testScaffoldClientControlUpdateOptionII() throws {
        // c_i = [1, -1], c = [0.5, 0.5], Δ = [-0.2, 0.4], K = 4, η_l = 0.1 → −Δ/(K η_l) = [0.5, -1]
        // c_i⁺ = c_i − c − Δ/(K η_l) = [1 − 0.5 + 0.5, -1 − 0.5 − 1] = [1, -2.5]; Δc = c_i⁺ − c_i = [0, -1.5]
        let (ci, dc) = try ScaffoldClient.updatedControl(old: [1, -1], serverControl: [0.5, 0.5], delta: [-0.2, 0.4],
                                                         localSteps: 4, learningRate: 0.1)
        assertClose(ci, [1, -2.5])
        assertClose(dc, [0, -1.5])
        // Empty c_i means 0: c_i⁺ = −c − Δ/(K η_l) = [0, -1.5] = Δc.
        let (ci0, dc0) = try ScaffoldClient.updatedControl(old: [], serverControl: [0.5, 0.5], delta: [-0.2, 0.4],
                                                           localSteps: 4, learningRate: 0.1)
        assertClose(ci0, [0, -1.5])
        assertClose(dc0, [0, -1.5])
    }

    func testScaffoldControlEqualsGradientForConstantGradient() throws {
        // K SGD steps with a constant gradient g, corrected by (c − c_i): Δ = −K η_l (g + c − c_i),
        // so option II gives c_i⁺ = c_i − c + (g + c − c_i) = g.
        // g = [0.3, -0.7], c = [0.1, 0.2], c_i = [0.05, -0.1], K = 5, η_l = 0.01:
        // Δ = −0.05·[0.35, -0.4] = [-0.0175, 0.02] → c_i⁺ = [0.3, -0.7].
        let (ci, dc) = try ScaffoldClient.updatedControl(old: [0.05, -0.1], serverControl: [0.1, 0.2],
                                                         delta: [-0.0175, 0.02], localSteps: 5, learningRate: 0.01)
        assertClose(ci, [0.3, -0.7])
        assertClose(dc, [0.25, -0.6])
    }

    func testScaffoldMissingControlDeltaMeansNoChange() throws {
        // N = 2, η_g = 1, global [0, 0, 0]. A: Δ [2, 0, 0], Δc [1, 1, 1]; B: Δ [0, 2, 0], no Δc (ran no step).
        // mean Δ = [1, 1, 0] → global [1, 1, 0]; c = (1/2)·[1, 1, 1] = [0.5, 0.5, 0.5]; c_A = [1, 1, 1]; c_B stays 0.
        // Corrections: A [-0.5, -0.5, -0.5], B [0.5, 0.5, 0.5]. B still counts as a participant (weight 1/2).
        var s = ScaffoldStrategy(totalClients: 2)
        let out = try s.aggregate(global: [0, 0, 0], updates: [update("A", [2, 0, 0], control: [1, 1, 1]),
                                                             update("B", [0, 2, 0])])
        assertClose(out.global, [1, 1, 0])
        assertWeights(out.weights, ["A": 0.5, "B": 0.5])
        assertClose(s.serverControl, [0.5, 0.5, 0.5])
        XCTAssertNil(s.clientControls["B"])
        XCTAssertEqual(s.seenClients, ["A", "B"])
        assertClose(try XCTUnwrap(s.instructions(for: "A", dimension: 3).gradientCorrection), [-0.5, -0.5, -0.5])
        assertClose(try XCTUnwrap(s.instructions(for: "B", dimension: 3).gradientCorrection), [0.5, 0.5, 0.5])
    }

    func testScaffoldRejectsBadControlDeltas() {
        var s = ScaffoldStrategy(totalClients: 2)
        XCTAssertThrowsError(try s.aggregate(global: [0, 0, 0], updates: [update("A", [1, 1, 1], control: [0, 0])])) { error in
            XCTAssertEqual(error as? AggregationError, .controlDimensionMismatch(client: "A", expected: 3, actual: 2))
            XCTAssertTrue("\(error)".contains("'A'"))
        }
        XCTAssertThrowsError(try ScaffoldClient.updatedControl(old: [], serverControl: [], delta: [1], localSteps: 0, learningRate: 0.1))
        XCTAssertThrowsError(try ScaffoldClient.updatedControl(old: [1, 2], serverControl: [], delta: [1], localSteps: 1, learningRate: 0.1))
    }

    // MARK: - Median / trimmed mean

    func testCoordinateMedianOddAndEven() throws {
        // Odd: A [1, 5, -1], B [2, 3, 0], C [3, 4, 10] → per coordinate sorted [1,2,3], [3,4,5], [-1,0,10]
        //      median [2, 4, 0]; global [1, 1, 1] → [3, 5, 1].
        var s = makeStrategy(config(.median))
        XCTAssertEqual(s.kind, .median)
        let odd = [update("A", [1, 5, -1]), update("B", [2, 3, 0]), update("C", [3, 4, 10])]
        let r1 = try s.aggregate(global: [1, 1, 1], updates: odd)
        assertClose(r1.global, [3, 5, 1])
        XCTAssertEqual(r1.rejected, [])
        assertWeights(r1.weights, ["A": 1.0 / 3, "B": 1.0 / 3, "C": 1.0 / 3])
        // Even: add D [10, -1, 1] → sorted [1,2,3,10], [-1,3,4,5], [-1,0,1,10]; medians [2.5, 3.5, 0.5].
        let r2 = try s.aggregate(global: [0, 0, 0], updates: odd + [update("D", [10, -1, 1])])
        assertClose(r2.global, [2.5, 3.5, 0.5])
    }

    func testTrimmedMean() throws {
        // β = 0.2, n = 5 → cut ⌊1.0⌋ = 1 from each end.
        // coord 0: [1, 2, 3, 4, 100] → [2, 3, 4] → 3;  coord 1: [-5, 0, 1, 2, 3] → [0, 1, 2] → 1;  coord 2: all 7 → 7
        var s = makeStrategy(config(.trimmedMean) { $0.trimFraction = 0.2 })
        XCTAssertEqual(s.kind, .trimmedMean)
        let out = try s.aggregate(global: [0, 0, 0], updates: [
            update("A", [100, 3, 7]), update("B", [3, -5, 7]), update("C", [1, 2, 7]),
            update("D", [4, 0, 7]), update("E", [2, 1, 7]),
        ])
        assertClose(out.global, [3, 1, 7])
        XCTAssertEqual(out.rejected, [])
    }

    func testTrimmedMeanCutKeepsAtLeastOneValue() {
        XCTAssertEqual(TrimmedMeanStrategy(trimFraction: 0.1).cutCount(clients: 4), 0)   // ⌊0.4⌋
        XCTAssertEqual(TrimmedMeanStrategy(trimFraction: 0.25).cutCount(clients: 8), 2)
        XCTAssertEqual(TrimmedMeanStrategy(trimFraction: 0.5).cutCount(clients: 3), 1)   // keeps 1 (the median)
        XCTAssertEqual(TrimmedMeanStrategy(trimFraction: 0.5).cutCount(clients: 2), 0)   // ⌊1⌋ capped: keeps both
        XCTAssertEqual(TrimmedMeanStrategy(trimFraction: 0.9).cutCount(clients: 6), 2)   // β clamped to 0.5, capped to 2
        XCTAssertEqual(TrimmedMeanStrategy(trimFraction: 0.3).cutCount(clients: 1), 0)
    }

    func testMedianAndTrimmedMeanMatchSortingOnLargerRounds() throws {
        // Quickselect path (n > 17) against a plain sort, on pseudo-random data with ties.
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int((seed >> 33) % 41) - 20) / 4   // values in [-5, 5] in steps of 0.25: many ties
        }
        for n in [1, 2, 5, 17, 18, 40, 101] {
            let d = 7
            let updates = (0..<n).map { i in update("c\(i)", (0..<d).map { _ in next() }) }
            var median = CoordinateMedianStrategy()
            var trimmed = TrimmedMeanStrategy(trimFraction: 0.2)
            let cut = trimmed.cutCount(clients: n)
            let gotMedian = try median.aggregate(global: [Float](repeating: 0, count: d), updates: updates).global
            let gotTrimmed = try trimmed.aggregate(global: [Float](repeating: 0, count: d), updates: updates).global
            for j in 0..<d {
                let col = updates.map { $0.delta[j] }.sorted()
                let m = n % 2 == 1 ? col[n / 2] : (col[n / 2 - 1] + col[n / 2]) / 2
                XCTAssertEqual(gotMedian[j], m, accuracy: 1e-6, "median n=\(n) j=\(j)")
                let kept = col[cut..<(n - cut)]
                XCTAssertEqual(gotTrimmed[j], kept.reduce(0, +) / Float(kept.count), accuracy: 1e-5, "trimmed n=\(n) j=\(j)")
            }
        }
    }

    // MARK: - Krum / Multi-Krum

    // Five clients, f = 1 → each score sums the n − f − 2 = 2 smallest squared distances to others.
    //   A [0, 0, 0], B [1, 0, 0], C [0, 2, 0], D [1, 1, 0], E [10, 10, 0]
    //   squared distances: AB 1, AC 4, AD 2, AE 200, BC 5, BD 1, BE 181, CD 2, CE 164, DE 162
    //   scores: A 1+2 = 3, B 1+1 = 2, C 2+4 = 6, D 1+2 = 3, E 162+164 = 326
    private let krumRound = [
        ClientUpdate(client: "A", delta: [0, 0, 0], exampleCount: 1),
        ClientUpdate(client: "B", delta: [1, 0, 0], exampleCount: 1),
        ClientUpdate(client: "C", delta: [0, 2, 0], exampleCount: 1),
        ClientUpdate(client: "D", delta: [1, 1, 0], exampleCount: 1),
        ClientUpdate(client: "E", delta: [10, 10, 0], exampleCount: 1),
    ]

    func testKrumScoresAndSelection() throws {
        let krum = KrumStrategy(byzantine: 1)
        let scores = krum.scores(krumRound)
        for (got, want) in zip(scores, [3.0, 2, 6, 3, 326]) { XCTAssertEqual(got, want, accuracy: 1e-9) }
        // Krum keeps B (lowest score 2): global [1, 1, 1] + [1, 0, 0] = [2, 1, 1].
        var s = makeStrategy(config(.krum) { $0.byzantine = 1 })
        XCTAssertEqual(s.kind, .krum)
        let out = try s.aggregate(global: [1, 1, 1], updates: krumRound)
        assertClose(out.global, [2, 1, 1])
        XCTAssertEqual(out.rejected, ["A", "C", "D", "E"])
        assertWeights(out.weights, ["A": 0, "B": 1, "C": 0, "D": 0, "E": 0])
    }

    func testMultiKrumAveragesBestScores() throws {
        // m = 3: B (2), A (3), D (3) → mean ([1,0,0] + [0,0,0] + [1,1,0]) / 3 = [2/3, 1/3, 0].
        var s = makeStrategy(config(.multiKrum) { $0.byzantine = 1; $0.multiKrumSelect = 3 })
        XCTAssertEqual(s.kind, .multiKrum)
        let out = try s.aggregate(global: [0, 0, 0], updates: krumRound)
        assertClose(out.global, [2.0 / 3, 1.0 / 3, 0])
        XCTAssertEqual(out.rejected, ["C", "E"])
        assertWeights(out.weights, ["A": 1.0 / 3, "B": 1.0 / 3, "C": 0, "D": 1.0 / 3, "E": 0])
        // m = 2: A and D tie at 3; the earlier update (A) wins → mean(B, A) = [0.5, 0, 0].
        var two = KrumStrategy(byzantine: 1, multiKrumSelect: 2)
        let out2 = try two.aggregate(global: [0, 0, 0], updates: krumRound)
        assertClose(out2.global, [0.5, 0, 0])
        XCTAssertEqual(out2.rejected, ["C", "D", "E"])
    }

    func testKrumWithFewClientsClampsNeighbourCount() throws {
        // n = 2, f = 1: n − f − 2 = −1 → clamped to 1 neighbour; both score 1, tie → first (A) kept.
        var s = KrumStrategy(byzantine: 1)
        let out = try s.aggregate(global: [0, 0, 0], updates: [update("A", [1, 0, 0]), update("B", [0, 0, 0])])
        assertClose(out.global, [1, 0, 0])
        XCTAssertEqual(out.rejected, ["B"])
        // A single client is always selected.
        let solo = try s.aggregate(global: [0, 0, 0], updates: [update("A", [1, 2, 3])])
        assertClose(solo.global, [1, 2, 3])
        XCTAssertEqual(solo.rejected, [])
    }

    // MARK: - Outlier: robust rules ignore it, FedAvg does not

    // Four honest clients near [1, 1, 1, 1] and an attacker sending −1e3 · [1, 1, 1, 1]; global 0, equal counts.
    //   A [1, 1, 1, 1], B [1.1, 0.9, 1, 1.2], C [0.9, 1.1, 1.2, 0.8], D [1, 1, 0.9, 1], E [-1000, -1000, -1000, -1000]
    private let poisonedRound = [
        ClientUpdate(client: "A", delta: [1, 1, 1, 1], exampleCount: 1),
        ClientUpdate(client: "B", delta: [1.1, 0.9, 1, 1.2], exampleCount: 1),
        ClientUpdate(client: "C", delta: [0.9, 1.1, 1.2, 0.8], exampleCount: 1),
        ClientUpdate(client: "D", delta: [1, 1, 0.9, 1], exampleCount: 1),
        ClientUpdate(client: "E", delta: [-1000, -1000, -1000, -1000], exampleCount: 1),
    ]

    func testFedAvgIsDraggedByOutlier() throws {
        // Mean: coord 0 = (1 + 1.1 + 0.9 + 1 − 1000) / 5 = −996 / 5 = −199.2; same for 1 and 3; coord 2 = −995.9/5 = −199.18.
        var s = FedAvgStrategy()
        let out = try s.aggregate(global: [0, 0, 0, 0], updates: poisonedRound)
        assertClose(out.global, [-199.2, -199.2, -199.18, -199.2], accuracy: 1e-3)
    }

    func testMedianIgnoresOutlier() throws {
        // Each coordinate sorted: [−1000, ≤1, 1, 1, ≥1] → median exactly 1.
        var s = CoordinateMedianStrategy()
        let out = try s.aggregate(global: [0, 0, 0, 0], updates: poisonedRound)
        assertClose(out.global, [1, 1, 1, 1])
    }

    func testTrimmedMeanIgnoresOutlier() throws {
        // β = 0.2 → cut 1 each end. coord 0: [−1000, 0.9, 1, 1, 1.1] → mean(0.9, 1, 1) = 0.966667
        // coord 1: [−1000, 0.9, 1, 1, 1.1] → 0.966667; coord 2: [−1000, 0.9, 1, 1, 1.2] → 0.966667
        // coord 3: [−1000, 0.8, 1, 1, 1.2] → mean(0.8, 1, 1) = 0.933333
        var s = TrimmedMeanStrategy(trimFraction: 0.2)
        let out = try s.aggregate(global: [0, 0, 0, 0], updates: poisonedRound)
        assertClose(out.global, [0.966667, 0.966667, 0.966667, 0.933333])
    }

    func testKrumIgnoresOutlier() throws {
        // f = 1 → 2 neighbours. AB 0.06, AC 0.10, AD 0.01, BD 0.07, CD 0.15, BC 0.28 (E ~4e6 from everyone).
        // Scores: A 0.01 + 0.06 = 0.07, B 0.06 + 0.07 = 0.13, C 0.10 + 0.15 = 0.25, D 0.01 + 0.07 = 0.08, E huge.
        // Krum keeps A → global [1, 1, 1, 1].
        var s = KrumStrategy(byzantine: 1)
        let out = try s.aggregate(global: [0, 0, 0, 0], updates: poisonedRound)
        assertClose(out.global, [1, 1, 1, 1])
        XCTAssertTrue(out.rejected.contains("E"))
        XCTAssertEqual(out.weights["E"], 0)
        // Multi-Krum with m = 3 keeps A, D, B: mean = ([1,1,1,1] + [1,1,0.9,1] + [1.1,0.9,1,1.2]) / 3
        //   = [3.1, 2.9, 2.9, 3.2] / 3 = [1.033333, 0.966667, 0.966667, 1.066667]
        var multi = KrumStrategy(byzantine: 1, multiKrumSelect: 3)
        let m = try multi.aggregate(global: [0, 0, 0, 0], updates: poisonedRound)
        assertClose(m.global, [1.033333, 0.966667, 0.966667, 1.066667])
        XCTAssertEqual(m.rejected, ["C", "E"])
    }

    func testNaNUpdateIsTreatedAsOutlier() throws {
        // A NaN-sending client counts as +∞ for the median and as infinitely far for Krum.
        var poisoned = Array(poisonedRound.prefix(4))
        poisoned.append(update("N", [.nan, .nan, .nan, .nan]))
        var median = CoordinateMedianStrategy()
        assertClose(try median.aggregate(global: [0, 0, 0, 0], updates: poisoned).global, [1, 1, 1, 1.0])
        var krum = KrumStrategy(byzantine: 1)
        let out = try krum.aggregate(global: [0, 0, 0, 0], updates: poisoned)
        assertClose(out.global, [1, 1, 1, 1])
        XCTAssertTrue(out.rejected.contains("N"))
    }

    // MARK: - Errors

    func testEveryStrategyRejectsEmptyRound() {
        for kind in StrategyKind.allCases {
            var s = makeStrategy(StrategyConfig(kind: kind), totalClients: 3)
            XCTAssertEqual(s.kind, kind)
            XCTAssertThrowsError(try s.aggregate(global: [0, 0, 0], updates: [])) { error in
                XCTAssertEqual(error as? AggregationError, .noUpdates(strategy: kind), "\(kind)")
            }
        }
    }

    func testEveryStrategyNamesClientWithMismatchedDimension() {
        for kind in StrategyKind.allCases {
            var s = makeStrategy(StrategyConfig(kind: kind), totalClients: 3)
            let updates = [update("alice", [1, 2, 3], control: [0, 0, 0]),
                           update("bob", [1, 2], control: [0, 0, 0]),
                           update("carol", [1, 2, 3], control: [0, 0, 0])]
            XCTAssertThrowsError(try s.aggregate(global: [0, 0, 0], updates: updates)) { error in
                XCTAssertEqual(error as? AggregationError, .dimensionMismatch(client: "bob", expected: 3, actual: 2), "\(kind)")
                XCTAssertTrue("\(error)".contains("'bob'"), "\(kind): \(error)")
            }
        }
    }

    func testOtherInputErrors() throws {
        var avg = FedAvgStrategy()
        XCTAssertThrowsError(try avg.aggregate(global: [0], updates: [update("A", [1]), update("A", [2])])) { error in
            XCTAssertEqual(error as? AggregationError, .duplicateClient("A"))
        }
        XCTAssertThrowsError(try avg.aggregate(global: [0], updates: [update("A", [1], n: -1)])) { error in
            XCTAssertEqual(error as? AggregationError, .negativeExampleCount(client: "A", count: -1))
        }
        XCTAssertThrowsError(try avg.aggregate(global: [0], updates: [update("A", [1], n: 0), update("B", [2], n: 0)])) { error in
            XCTAssertEqual(error as? AggregationError, .zeroTotalExamples(strategy: .fedavg))
        }
        // A zero-example client simply gets weight 0.
        let out = try avg.aggregate(global: [0], updates: [update("A", [1], n: 0), update("B", [2], n: 2)])
        XCTAssertEqual(out.global, [2])
        // Stateful strategies refuse a global vector whose dimension changed.
        var m = FedAvgMStrategy()
        _ = try m.aggregate(global: [0, 0], updates: [update("A", [1, 1])])
        XCTAssertThrowsError(try m.aggregate(global: [0, 0, 0], updates: [update("A", [1, 1, 1])])) { error in
            XCTAssertEqual(error as? AggregationError, .stateDimensionMismatch(strategy: .fedavgm, expected: 2, actual: 3))
        }
    }

    func testMakeStrategyMapsEveryKind() {
        for kind in StrategyKind.allCases {
            let s = makeStrategy(StrategyConfig(kind: kind))
            XCTAssertEqual(s.kind, kind)
            let ins = s.instructions(for: "x", dimension: 4)
            XCTAssertEqual(ins.proximalMu, kind == .fedprox ? StrategyConfig().proximalMu : 0, "\(kind)")
            XCTAssertEqual(ins.gradientCorrection, kind == .scaffold ? [0, 0, 0, 0] : nil, "\(kind)")
        }
    }

    // MARK: - Timing (not an assertion)
    //
    // FEDPILOT_STRATEGY_TIMING=<clients> (e.g. 8 or 100) prints each strategy's time at d = 2.4M; run it in
    // release: FEDPILOT_STRATEGY_TIMING=8 swift test -c release -Xswiftc -enable-testing --filter testTimingLargeAdapter

    func testTimingLargeAdapter() throws {
        guard let env = ProcessInfo.processInfo.environment["FEDPILOT_STRATEGY_TIMING"] else {
            throw XCTSkip("set FEDPILOT_STRATEGY_TIMING=<clients> to time strategies at d = 2.4M")
        }
        let d = 2_400_000, n = max(Int(env) ?? 8, 1)
        let withControls = n <= 16   // SCAFFOLD doubles the memory; time it on small rounds only
        var seed: UInt64 = 42
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed) >> 40) / Float(1 << 23) * 1e-3
        }
        let updates = (0..<n).map { i in
            ClientUpdate(client: "c\(i)", delta: (0..<d).map { _ in next() }, exampleCount: 10 + i,
                         controlDelta: withControls ? (0..<d).map { _ in next() } : nil)
        }
        let global = [Float](repeating: 0, count: d)
        var configs = StrategyKind.allCases.filter { withControls || $0 != .scaffold }.map { StrategyConfig(kind: $0) }
        var trim25 = StrategyConfig(kind: .trimmedMean)
        trim25.trimFraction = 0.25
        configs.append(trim25)
        for config in configs {
            var s = makeStrategy(config, totalClients: n)
            let t0 = Date()
            let out = try s.aggregate(global: global, updates: updates)
            let t1 = Date()
            _ = try s.aggregate(global: out.global, updates: updates)
            let t2 = Date()
            let label = config.kind == .trimmedMean ? "trimmed_mean(beta=\(config.trimFraction))" : config.kind.rawValue
            print(String(format: "strategy timing d=%d n=%d %@: %.1f ms (round 1), %.1f ms (round 2)",
                         d, n, label, t1.timeIntervalSince(t0) * 1000, t2.timeIntervalSince(t1) * 1000))
        }
    }
}
