import Foundation
import Llama
import Privacy
import XCTest
@testable import Federation
@testable import Journal

/// A run stopped after k rounds and resumed from its journal ends exactly where the
/// uninterrupted run does: the strategy's buffers, the privacy ledger and the operator's
/// settings are restored, and each round selects the same clients (its RNG is derived from
/// the seed and the round number). With DP the noise is deliberately not reproducible (it comes
/// from a cryptographic generator), so DP runs are compared by their privacy ledger.
final class ResumeTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func temporaryPath(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedpilot-resume-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir.appendingPathComponent(name).path
    }

    /// Four clients on the tiny model: without DP three sampled per round; with DP all of them
    /// (q = 1, so that no round comes up empty).
    func scenario(strategy: String, rounds: Int, dp: Bool = true) throws -> Scenario {
        var toml = """
        name = "resume-test"
        seed = 11
        rounds = 6
        payload = "fp32"
        [model]
        path = "tiny"
        [lora]
        rank = 4
        alpha = 8.0
        targets = "all"
        [training]
        steps = 2
        batch_size = 2
        sequence_length = 32
        learning_rate = 1e-2
        [selection]
        fraction = \(dp ? 1 : 0.75)
        [evaluation]
        max_examples_per_client = 4
        [strategy]
        name = "\(strategy)"

        """
        if dp { toml += "[privacy]\ndifferential_privacy = true\nnoise_multiplier = 0.5\nclip_norm = 0.5\n" }
        let clients = [("hospital-a", "clinical-hospital-a.jsonl"), ("bank", "aml-alerts.jsonl"),
                       ("legal", "legal-clauses.jsonl"), ("support", "support-tickets.jsonl")]
        for (id, file) in clients {
            toml += "[[clients]]\nid = \"\(id)\"\ndomain = \"test\"\ndata = \"\(Self.root.appendingPathComponent("data/\(file)").path)\"\n"
        }
        return try ScenarioLoader.parse(toml, path: "resume-test.toml", overrides: ScenarioOverrides(rounds: rounds))
    }

    struct Outcome {
        var global: [Float]
        var epsilon: Double?
        var events: [FederationEvent]
    }

    /// One run (or part of one) recorded in `journal`; `resume` continues the journal's run.
    func run(_ scenario: Scenario, journal path: String, resume: Bool, restore: Bool = true,
             commands: [OperatorCommand] = []) throws -> Outcome {
        let journal = try RunJournal(path: path)
        let model = try EngineModel.load(path: "tiny")
        let point = resume ? try journal.resumePoint(model: model.model.config, lora: scenario.lora) : ResumePoint()
        let recorder = Recorder()
        let pilot = try PilotBuilder.build(scenario, start: point.adapter, startRound: point.startRound, model: model) { e in
            journal.record(e)
            recorder.record(e)
        }
        if restore, let state = point.state { try pilot.coordinator.restore(state) }
        journal.attach(to: pilot.coordinator)
        for c in commands { pilot.coordinator.commands.send(c) }
        pilot.coordinator.run()
        return Outcome(global: pilot.coordinator.global.values, epsilon: pilot.coordinator.epsilon, events: recorder.events)
    }

    func assertResumeIsExact(strategy: String) throws {
        let commands: [OperatorCommand] = [.setNoiseMultiplier(0.7), .dropClient("legal")]
        let straight = try run(scenario(strategy: strategy, rounds: 5, dp: false), journal: temporaryPath("straight.sqlite"),
                               resume: false, commands: commands)
        let split = temporaryPath("split.sqlite")
        _ = try run(scenario(strategy: strategy, rounds: 2, dp: false), journal: split, resume: false, commands: commands)
        let resumed = try run(scenario(strategy: strategy, rounds: 5, dp: false), journal: split, resume: true)

        XCTAssertEqual(straight.global.map(\.bitPattern), resumed.global.map(\.bitPattern),
                       "\(strategy): the resumed run's global adapter is bit-for-bit the uninterrupted run's")
        // Rounds 3...5 selected the same clients, and the quality deltas (against the original baseline) agree.
        XCTAssertEqual(tail(straight), tail(resumed))
        XCTAssertFalse(tail(resumed).contains { $0.contains("legal done") }, "the operator's drop carries over")

        // Without the restored state the run drifts off: the test is not vacuous.
        let fresh = temporaryPath("fresh.sqlite")
        _ = try run(scenario(strategy: strategy, rounds: 2, dp: false), journal: fresh, resume: false, commands: commands)
        let unrestored = try run(scenario(strategy: strategy, rounds: 5, dp: false), journal: fresh, resume: true, restore: false)
        XCTAssertNotEqual(straight.global, unrestored.global, strategy)
    }

    func tail(_ o: Outcome) -> [String] {
        o.events.compactMap { e in
            switch e {
            case .roundStarted(let r, let selected) where r >= 3: return "r\(r) \(selected)"
            case .clientUpdate(let m) where m.round >= 3 && m.qualityDeltaBase != nil:
                return "r\(m.round) \(m.client) \(m.status) \(m.qualityDeltaBase!.bitPattern)"
            case .alert(let a) where a.round >= 3: return "r\(a.round) \(a.client ?? "") \(a.reason)"
            default: return nil
            }
        }
    }

    func testFedAdamResumesExactly() throws { try assertResumeIsExact(strategy: "fedadam") }
    func testScaffoldResumesExactly() throws { try assertResumeIsExact(strategy: "scaffold") }
    func testFedAvgMResumesExactly() throws { try assertResumeIsExact(strategy: "fedavgm") }

    /// The privacy ledger and the operator's noise change survive a resume: 2 rounds + 3 resumed
    /// spend exactly the ε of 5 straight rounds at the changed noise; a resume that forgets the
    /// state spends another amount.
    func testPrivacyLedgerResumes() throws {
        let commands: [OperatorCommand] = [.setNoiseMultiplier(0.7), .dropClient("legal")]
        let straight = try run(scenario(strategy: "fedavgm", rounds: 5), journal: temporaryPath("straight.sqlite"),
                               resume: false, commands: commands)
        let split = temporaryPath("split.sqlite")
        _ = try run(scenario(strategy: "fedavgm", rounds: 2), journal: split, resume: false, commands: commands)
        let resumed = try run(scenario(strategy: "fedavgm", rounds: 5), journal: split, resume: true)
        let expected = try RDPAccountant.epsilon(noiseMultiplier: 0.7, sampleRate: 1, steps: 5, delta: 1e-5).epsilon
        XCTAssertEqual(try XCTUnwrap(straight.epsilon), expected, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(resumed.epsilon), expected, accuracy: 1e-9)
        XCTAssertFalse(tail(resumed).contains { $0.contains("legal done") }, "the operator's drop carries over")
        let fresh = temporaryPath("fresh.sqlite")
        _ = try run(scenario(strategy: "fedavgm", rounds: 2), journal: fresh, resume: false, commands: commands)
        let unrestored = try run(scenario(strategy: "fedavgm", rounds: 5), journal: fresh, resume: true, restore: false)
        XCTAssertNotEqual(try XCTUnwrap(unrestored.epsilon), expected, accuracy: 1e-6)
    }

    func testOnlyTheLastRoundsStateIsKept() throws {
        let path = temporaryPath("kept.sqlite")
        _ = try run(scenario(strategy: "fedyogi", rounds: 3), journal: path, resume: false)
        let journal = try RunJournal(path: path)
        XCTAssertNil(try journal.serverState(round: 2))
        let state = try XCTUnwrap(try journal.serverState(round: 3))
        XCTAssertEqual(state.round, 3)
        XCTAssertEqual(state.strategy, .fedyogi)
        XCTAssertEqual(Set(state.strategyState.vectors.keys), ["first_moment", "second_moment"])
        XCTAssertEqual(state.accountant.steps, 3)
    }

    func testADamagedStateNamesTheJournalTheRoundAndTheField() throws {
        let path = temporaryPath("damaged.sqlite")
        _ = try run(scenario(strategy: "fedadam", rounds: 2), journal: path, resume: false)
        let journal = try RunJournal(path: path)
        let model = try EngineModel.load(path: "tiny")
        let lora = try scenario(strategy: "fedadam", rounds: 2).lora
        let good = try XCTUnwrap(try journal.testOnly_serverStateData(round: 2))

        func expectError(_ data: Data, _ fragments: String..., line: UInt = #line) throws {
            try journal.testOnly_setServerStateData(round: 2, data)
            XCTAssertThrowsError(try journal.resumePoint(model: model.model.config, lora: lora), line: line) { error in
                let message = "\(error)"
                XCTAssertTrue(message.hasPrefix("\(path): server state of round 2: field "), message, line: line)
                for f in fragments { XCTAssertTrue(message.contains(f), "'\(f)' not in \(message)", line: line) }
            }
        }
        try expectError(good.prefix(good.count - 10), "vectors[1] (second_moment)", "floats")
        try expectError(Data("garbage".utf8), "magic")
        var version = good
        version[4] = 9
        try expectError(version, "version", "format version 9")
        // A damaged header field, with the header's length kept consistent.
        let json = try XCTUnwrap(ServerStateTestSupport.header(of: good))
        XCTAssertTrue(String(decoding: json, as: UTF8.self).contains("\"roundsWithoutDP\":[]"))
        let broken = Data(String(decoding: json, as: UTF8.self)
            .replacingOccurrences(of: "\"roundsWithoutDP\":[]", with: "\"roundsWithoutDP\":\"0\"").utf8)
        try expectError(ServerStateTestSupport.replacingHeader(of: good, with: broken), "roundsWithoutDP", "expected")
        let noRDP = Data(String(decoding: json, as: UTF8.self).replacingOccurrences(of: "\"rdp\":", with: "\"rdq\":").utf8)
        try expectError(ServerStateTestSupport.replacingHeader(of: good, with: noRDP), "accountant.rdp", "missing")

        // The state must fit the run: another strategy is refused by name.
        try journal.testOnly_setServerStateData(round: 2, good)
        let point = try journal.resumePoint(model: model.model.config, lora: lora)
        let other = try PilotBuilder.build(scenario(strategy: "fedyogi", rounds: 3), model: model, sink: { _ in })
        XCTAssertThrowsError(try other.coordinator.restore(try XCTUnwrap(point.state))) {
            XCTAssertTrue("\($0)".contains("the state is for fedadam, the scenario uses fedyogi"), "\($0)")
        }
    }

    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [FederationEvent] = []
        var events: [FederationEvent] { lock.lock(); defer { lock.unlock() }; return list }
        func record(_ e: FederationEvent) { lock.lock(); list.append(e); lock.unlock() }
    }
}

enum ServerStateTestSupport {
    /// The JSON header of an encoded state.
    static func header(of data: Data) -> Data? {
        let b = [UInt8](data)
        guard b.count >= 12 else { return nil }
        let n = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
        return Data(b[12..<(12 + n)])
    }

    /// The encoded state with another header (its length field updated).
    static func replacingHeader(of data: Data, with header: Data) -> Data {
        let b = [UInt8](data)
        let n = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24
        var out = Data(b[0..<8])
        withUnsafeBytes(of: UInt32(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(header)
        out.append(contentsOf: b[(12 + n)...])
        return out
    }
}
