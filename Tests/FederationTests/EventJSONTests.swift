import Foundation
import XCTest
@testable import Federation

/// The JSON of events is a contract: headless output, the journal, reports and replays read it.
/// `EventJSONFixture.lines` holds one line per sample event below, as the encoder wrote it when the
/// fixture was made; these tests check the encoder still writes the same keys and values and that
/// those lines (as old journals hold them) still decode to the same events.
///
/// To write the fixture again after a deliberate change of the format, run
/// `FEDPILOT_PRINT_EVENT_FIXTURE=1 swift test --filter EventJSONTests` and paste the printed lines.
final class EventJSONTests: XCTestCase {
    /// One instance of every event kind, with optional fields both set and left out, and one
    /// operator action per command.
    static var samples: [FederationEvent] {
        var full = ClientRoundMetrics(client: "hospital-a", round: 3, status: .done)
        full.trainExamples = 12; full.trainTokens = 4096
        full.localLossStart = 2.5; full.localLossEnd = 2.25; full.evalLoss = 2.125
        full.qualityDeltaBase = 0.375; full.qualityDeltaLast = -0.0625; full.drift = 0.5; full.updateNorm = 0.015625
        full.cosineToOthers = -0.25; full.cosineToAggregate = 0.75
        full.bytesUp = 1234; full.bytesDown = 5678; full.simulatedSeconds = 42.5
        full.transferSeconds = 1.5; full.computeSeconds = 41; full.trainSeconds = 0.75
        full.aggregationWeight = 0.125
        full.anomalyScore = 3.5; full.anomalyEvidence = "loss rose 2.1σ"
        full.taskAccuracy = 0.625; full.taskAccuracyDeltaBase = 0.125; full.taskMacroF1 = 0.5
        full.confusion = ["refund": ["refund": 3, "billing": 1], "billing": ["billing": 4]]
        full.rougeL = 0.25
        var anomalyWithoutWords = ClientRoundMetrics(client: "bank", round: 3, status: .rejected)
        anomalyWithoutWords.anomalyScore = 0; anomalyWithoutWords.anomalyEvidence = ""
        let idle = ClientRoundMetrics(client: "idle one", round: 3, status: .idle)

        var completed = RoundMetrics(
            round: 3, selected: ["hospital-a", "bank"], aggregated: ["hospital-a"], dropped: ["bank"],
            globalEvalLoss: 2.5, baseEvalLoss: 3.25, bytesUp: 10, bytesDown: 20, wallSeconds: 1.25, simulatedSeconds: 3.5,
            strategy: "krum", updateNormMean: 0.5, domainEvalLoss: ["clinical": 2.25, "finance": 3])
        completed.globalTaskAccuracy = 0.75; completed.globalMacroF1 = 0.625
        completed.baseTaskAccuracy = 0.5; completed.baseMacroF1 = 0.375
        completed.globalRougeL = 0.3125; completed.baseRougeL = 0.1875
        let bare = RoundMetrics(
            round: 4, selected: [], aggregated: [], dropped: [], globalEvalLoss: nil, baseEvalLoss: nil, bytesUp: 0, bytesDown: 0,
            wallSeconds: 0.5, simulatedSeconds: 0, strategy: "fedavg", updateNormMean: nil, domainEvalLoss: [:])

        var secure = SecureAggregationSummary(round: 5, clients: ["a", "b", "c"], degree: 2, threshold: 2, chosenAutomatically: true,
                                              failureProbability: 1e-9, quantizationBound: 4, quantizationStep: 0.0009765625)
        secure.included = ["a", "c"]; secure.dropped = ["masked_input": ["b"]]
        secure.bytesUp = 300; secure.bytesDown = 200; secure.serverSeconds = 0.25; secure.wallSeconds = 1.5
        var aborted = SecureAggregationSummary(round: 6, clients: ["a"], degree: 0, threshold: 1, chosenAutomatically: false,
                                               failureProbability: 0, quantizationBound: 8, quantizationStep: 0.5)
        aborted.aborted = "1 of 3 clients answered, fewer than the threshold 2"

        return [
            .runStarted(scenario: "demo", model: "models/m.gguf", strategy: "fedavg", rounds: 8,
                        clients: ["hospital-a", "bank"], domains: ["hospital-a": "clinical", "bank": "finance"]),
            .phase(round: 2, .secureAggregation),
            .phase(round: 1, .training),
            .roundStarted(round: 3, selected: ["hospital-a", "bank"]),
            .clientUpdate(full),
            .clientUpdate(anomalyWithoutWords),
            .clientUpdate(idle),
            .roundCompleted(completed),
            .roundCompleted(bare),
            .roundFailed(round: 4, reason: "only 0 updates arrived"),
            .alert(Alert(round: 4, client: "bank", severity: .critical, reason: "local training loss rose")),
            .alert(Alert(round: 4, client: nil, severity: .info, reason: "run-level")),
            .privacyBudget(round: 4, epsilon: nil, delta: 1e-5, noiseMultiplier: 1.25, enabled: true),
            .privacyBudget(round: 5, epsilon: 3.5, delta: 1e-6, noiseMultiplier: 0.5, enabled: false, offRounds: [2, 3], clipNorm: 0.75),
            .secureAggregation(secure),
            .secureAggregation(aborted),
            .keyAudit(round: 5, actor: "coordinator", event: "keys_shared", fields: ["client": "a", "fingerprint": "ab12"]),
            .runFinished(rounds: 5, finalEvalLoss: 2.0, baseEvalLoss: nil, wallSeconds: 9.5, stopped: true),
            .runFinished(rounds: 8, finalEvalLoss: nil, baseEvalLoss: 3.25, wallSeconds: 12, stopped: false),
            .taskLabels(round: 0, labels: ["billing", "refund"], source: "scenario"),
            .sample(round: 2, client: "hospital-a", prompt: "Patient presents with", text: " chest pain.\n/ok", seconds: 0.5),
        ] + commands.enumerated().map { i, command in operatorAction(round: i, command, applied: i % 3 != 2) }
    }

    /// Every operator command (values a two-decimal description writes exactly).
    static let commands: [OperatorCommand] = [
        .dropClient("hospital-b"), .readmitClient("a b"), .setDifferentialPrivacy(true), .setDifferentialPrivacy(false),
        .setNoiseMultiplier(1.25), .setClipNorm(0.5), .pause, .resume, .step, .stop, .sample(client: "bank"),
    ]

    /// The `operator_action` event of a command.
    static func operatorAction(round: Int, _ command: OperatorCommand, applied: Bool) -> FederationEvent {
        .operatorAction(round: round, command: command, applied: applied)
    }

    /// Keys the current encoding writes beyond the fixture's (by event type): the typed command.
    static let addedKeys: [String: Set<String>] = ["operator_action": ["command"]]

    static func object(_ line: String, file: StaticString = #filePath, line l: UInt = #line) throws -> NSDictionary {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? NSDictionary, line, file: file, line: l)
    }

    func testPrintFixture() throws {
        guard ProcessInfo.processInfo.environment["FEDPILOT_PRINT_EVENT_FIXTURE"] != nil else { return }
        print("--- event fixture ---")
        for e in Self.samples { print(e.jsonLine) }
        print("--- end ---")
    }

    func testEncodingWritesTheFixturesKeysAndValues() throws {
        let fixture = EventJSONFixture.lines
        let samples = Self.samples
        XCTAssertEqual(fixture.count, samples.count, "one fixture line per sample event")
        for (expectedLine, event) in zip(fixture, samples) {
            let expected = try Self.object(expectedLine)
            let got = try Self.object(event.jsonLine)
            let type = try XCTUnwrap(expected["type"] as? String)
            let added = Set(got.allKeys as! [String]).subtracting(expected.allKeys as! [String])
            XCTAssertEqual(added, Self.addedKeys[type] ?? [], "keys added to \(type): \(event.jsonLine)")
            for key in expected.allKeys as! [String] {
                XCTAssertEqual(got[key] as? NSObject, expected[key] as? NSObject, "\(type).\(key): \(event.jsonLine) vs \(expectedLine)")
            }
        }
    }

    func testFixtureLinesDecodeToTheSameEvents() throws {
        for (line, event) in zip(EventJSONFixture.lines, Self.samples) {
            XCTAssertEqual(FederationEvent(jsonLine: line), event, line)
        }
        XCTAssertEqual(try FederationEvent.decode(jsonLines: EventJSONFixture.lines.joined(separator: "\n")), Self.samples)
    }

    /// Lines as the first journals wrote them, before fields such as `train_tokens`, the transfer
    /// and compute seconds, `off_rounds` and `clip_norm` existed: the missing fields take their defaults.
    func testFirstJournalFormatStillDecodes() throws {
        let update = #"{"aggregation_weight":null,"bytes_down":20,"bytes_up":10,"client":"bank","cosine_to_others":null,"drift":null,"eval_loss":2.5,"local_loss_end":2.25,"local_loss_start":2.75,"quality_delta_base":null,"quality_delta_last":null,"round":1,"simulated_seconds":1.5,"status":"done","train_examples":4,"train_seconds":0.25,"type":"client_update","update_norm":0.5}"#
        guard case .clientUpdate(let m)? = FederationEvent(jsonLine: update) else { return XCTFail(update) }
        var expected = ClientRoundMetrics(client: "bank", round: 1, status: .done)
        expected.trainExamples = 4; expected.evalLoss = 2.5; expected.localLossEnd = 2.25; expected.localLossStart = 2.75
        expected.bytesDown = 20; expected.bytesUp = 10; expected.simulatedSeconds = 1.5; expected.trainSeconds = 0.25
        expected.updateNorm = 0.5
        XCTAssertEqual(m, expected)

        let budget = #"{"delta":1e-05,"enabled":true,"epsilon":2.5,"noise_multiplier":1.1,"round":2,"type":"privacy_budget"}"#
        XCTAssertEqual(FederationEvent(jsonLine: budget),
                       .privacyBudget(round: 2, epsilon: 2.5, delta: 1e-5, noiseMultiplier: 1.1, enabled: true, offRounds: [], clipNorm: nil))

        let action = #"{"action":"set noise multiplier 1.10","applied":true,"round":2,"type":"operator_action"}"#
        XCTAssertEqual(FederationEvent(jsonLine: action), Self.operatorAction(round: 2, .setNoiseMultiplier(1.1), applied: true))
    }

    /// An operator action carries its command as an object with a `type`; the value is exact,
    /// where the action's text rounds it.
    func testOperatorActionsCarryTheTypedCommand() throws {
        let expected: [(OperatorCommand, NSDictionary)] = [
            (.dropClient("hospital-b"), ["type": "drop_client", "client": "hospital-b"]),
            (.readmitClient("a b"), ["type": "readmit_client", "client": "a b"]),
            (.setDifferentialPrivacy(true), ["type": "set_differential_privacy", "enabled": true]),
            (.setNoiseMultiplier(1.2345), ["type": "set_noise_multiplier", "noise_multiplier": 1.2345]),
            (.setClipNorm(0.0625), ["type": "set_clip_norm", "clip_norm": 0.0625]),
            (.pause, ["type": "pause"]), (.resume, ["type": "resume"]), (.step, ["type": "step"]), (.stop, ["type": "stop"]),
            (.sample(client: "bank"), ["type": "sample", "client": "bank"]),
        ]
        for (command, json) in expected {
            let event = Self.operatorAction(round: 4, command, applied: true)
            let object = try Self.object(event.jsonLine)
            XCTAssertEqual(object["command"] as? NSDictionary, json, event.jsonLine)
            XCTAssertEqual(object["action"] as? String, command.description)
            XCTAssertEqual(FederationEvent(jsonLine: event.jsonLine), event, event.jsonLine)
            XCTAssertEqual(try JSONDecoder().decode(OperatorCommand.self, from: JSONEncoder().encode(command)), command)
        }
        XCTAssertEqual(Set(expected.map(\.0.type)).count, Self.commands.count - 1, "every kind of command (DP on and off are one)")

        // A command the decoder does not know, and an old action text nothing reads, are refused, naming the field.
        let unknown = #"{"action":"fly","applied":true,"command":{"type":"fly"},"round":1,"type":"operator_action"}"#
        XCTAssertThrowsError(try FederationEvent.decode(jsonLines: unknown)) { XCTAssertTrue("\($0)".contains("command.type: unknown operator command"), "\($0)") }
        let oldUnknown = #"{"action":"fly","applied":true,"round":1,"type":"operator_action"}"#
        XCTAssertThrowsError(try FederationEvent.decode(jsonLines: oldUnknown)) { XCTAssertTrue("\($0)".contains("action: no operator command reads"), "\($0)") }
    }

    func testNotAnEventIsRefused() {
        XCTAssertThrowsError(try FederationEvent.decode(jsonLines: "{\"type\":\"round_started\",\"round\":1}\n{\"type\":\"nope\",\"round\":1}")) {
            XCTAssertTrue("\($0)".contains("line 2"), "\($0)")
        }
        XCTAssertNil(FederationEvent(jsonLine: "not json"))
        XCTAssertNil(FederationEvent(jsonLine: "{\"round\":1}"))
        XCTAssertNil(FederationEvent(jsonLine: "{\"type\":\"client_update\",\"round\":1}"), "a client update names its client")
        XCTAssertThrowsError(try FederationEvent.decode(jsonLines: "{\"type\":\"client_update\",\"round\":1,\"status\":\"done\"}")) {
            XCTAssertTrue("\($0)".contains("no client field"), "\($0)")
        }
    }
}
