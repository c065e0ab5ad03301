import Foundation
import XCTest
import Privacy
@testable import Federation

/// The saved server state: an exact round trip, and errors that name the field.
final class ServerStateTests: XCTestCase {
    func sample() throws -> ServerState {
        var accountant = RDPAccountant()
        try accountant.compose(noiseMultiplier: 0.9, sampleRate: 0.5, steps: 3)
        try accountant.compose(noiseMultiplier: 0.0001, sampleRate: 1, steps: 1)   // huge (even infinite) RDP at large orders
        var privacy = PrivacyConfig()
        privacy.differentialPrivacy = true
        privacy.noiseMultiplier = 0.7
        let strategy = StrategyState(vectors: ["server_control": [1.5, -0.0, .leastNonzeroMagnitude]],
                                     clientVectors: ["a": [0.1, 0.2, 0.3], "b": [-1, 2, .greatestFiniteMagnitude]], clients: ["a", "b", "c"])
        var state = ServerState(round: 7, strategy: .scaffold, strategyState: strategy, accountant: accountant, roundsWithoutDP: [2, 3],
                                privacy: OperatorPrivacy(privacy, adaptiveClipNorm: 0.031), excluded: ["c"], baseEval: ["a": 5.123456789012345, "b": 4.5],
                                baseGlobalEval: 4.9, qualityFalls: ["a": 2], bestLocalLoss: ["b": 3.25])
        state.lastTaskAccuracy = ["a": 0.75, "b": 1.0 / 3]
        state.taskAccuracyFalls = ["a": 1]
        state.taskAccuracyBeforeFalls = ["a": 0.875]
        return state
    }

    func testRoundTripIsExact() throws {
        let state = try sample()
        let data = try state.encoded()
        let back = try ServerState(encoded: data)
        XCTAssertEqual(back, state)
        XCTAssertEqual(back.strategyState.vectors["server_control"]!.map(\.bitPattern), [1.5, -0.0, Float.leastNonzeroMagnitude].map(\.bitPattern))
        XCTAssertEqual(try back.encoded(), data, "encoding is deterministic")
    }

    func testDamageNamesTheField() throws {
        let data = try sample().encoded()
        func field(_ d: Data) -> String? {
            do { _ = try ServerState(encoded: d); return nil } catch let e as ServerStateError { return e.field } catch { return "\(error)" }
        }
        XCTAssertEqual(field(Data()), "magic")
        XCTAssertEqual(field(data.prefix(20)), "header")
        XCTAssertEqual(field(data.prefix(data.count - 4)), "vectors[2] (client_control[b])")
        XCTAssertEqual(field(data + Data([0, 0, 0, 0])), "vectors")
    }

    func testRestoringChecksTheStrategysShape() throws {
        let adam = AdaptiveFedOptStrategy(rule: .adam, serverLearningRate: 0.01)
        XCTAssertThrowsError(try adam.restoring(StrategyState(vectors: ["first_moment": [0, 0]]), dimension: 2)) {
            XCTAssertEqual(($0 as? StrategyStateError)?.field, "second_moment")
        }
        XCTAssertThrowsError(try adam.restoring(StrategyState(vectors: ["first_moment": [0, 0], "second_moment": [1]]), dimension: 2)) {
            XCTAssertEqual("\($0)", "second_moment: has 1 values, the global adapter has 2")
        }
        XCTAssertThrowsError(try FedAvgStrategy().restoring(StrategyState(vectors: ["velocity": [0]]), dimension: 1)) {
            XCTAssertEqual(($0 as? StrategyStateError)?.field, "velocity")
        }
        let restored = try adam.restoring(StrategyState(vectors: ["first_moment": [1, 2], "second_moment": [3, 4]]), dimension: 2)
        XCTAssertEqual(restored.savedState.vectors["second_moment"], [3, 4])
        var scaffold = ScaffoldStrategy(globalLearningRate: 1, totalClients: 3)
        _ = try scaffold.aggregate(global: [0, 0], updates: [ClientUpdate(client: "a", delta: [1, 1], exampleCount: 1, controlDelta: [0.5, 0.5])])
        let copy = try ScaffoldStrategy(globalLearningRate: 1, totalClients: 3).restoring(scaffold.savedState, dimension: 2)
        XCTAssertEqual(copy.savedState, scaffold.savedState)
        XCTAssertEqual(copy.instructions(for: "a", dimension: 2), scaffold.instructions(for: "a", dimension: 2))
    }
}
