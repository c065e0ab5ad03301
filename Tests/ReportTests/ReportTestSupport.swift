import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
@testable import Federation
import Journal
@testable import Report

/// Journals for the report tests: a real run on the tiny model, and hand-made event lists
/// for the odd cases.
enum ReportFixtures {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func temporaryDirectory(_ test: XCTestCase) -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedpilot-report-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }

    /// A tiny-model run of `rounds` rounds recorded in a journal at `path`. DP is on from the
    /// start and turned off after `dpOffAfter` (when given); `dropAfter` drops law-firm
    /// after that round.
    static func tinyJournal(at path: String, rounds: Int, dpOffAfter: Int? = nil, dropAfter: Int? = nil) throws -> RunJournal {
        let journal = try RunJournal(path: path)
        let scenarioPath = root.appendingPathComponent("scenarios/tiny-test.toml").path
        let scenario = try ScenarioLoader.load(path: scenarioPath, overrides: ScenarioOverrides(rounds: rounds))
        try journal.begin(scenario: scenario, text: try String(contentsOfFile: scenarioPath, encoding: .utf8))
        let previous = FileManager.default.currentDirectoryPath
        _ = FileManager.default.changeCurrentDirectoryPath(root.path)
        defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
        let commands = CommandBox()
        let pilot = try PilotBuilder.build(scenario, sink: { event in
            journal.record(event)
            if case .roundCompleted(let m) = event {
                if m.round == dpOffAfter { commands.queue?.send(.setDifferentialPrivacy(false)) }
                if m.round == dropAfter { commands.queue?.send(.dropClient("law-firm")) }
            }
        })
        commands.queue = pilot.coordinator.commands
        pilot.coordinator.onCheckpoint = { journal.checkpoint(round: $0.round, adapter: $0.adapter) }
        if dpOffAfter != nil { pilot.coordinator.commands.send(.setDifferentialPrivacy(true)) }
        pilot.coordinator.run()
        return journal
    }

    /// Events of a hand-made run: `rounds` completed rounds over the given clients.
    static func events(clients: [String], rounds: [Int], planned: Int) -> [FederationEvent] {
        var out: [FederationEvent] = [
            .runStarted(scenario: "hand-made", model: "tiny", strategy: "fedavg", rounds: planned, clients: clients,
                        domains: Dictionary(uniqueKeysWithValues: clients.map { ($0, "clinical") })),
            .privacyBudget(round: 0, epsilon: nil, delta: 1e-5, noiseMultiplier: 1, enabled: false),
        ]
        for r in rounds {
            out.append(.roundStarted(round: r, selected: clients))
            for (i, c) in clients.enumerated() {
                var m = ClientRoundMetrics(client: c, round: r, status: .done)
                m.evalLoss = 5 - 0.1 * Double(r) - 0.01 * Double(i)
                m.qualityDeltaBase = 0.1 * Double(r)
                m.qualityDeltaLast = 0.1
                m.bytesUp = 1000; m.bytesDown = 900
                out.append(.clientUpdate(m))
            }
            out.append(.roundCompleted(RoundMetrics(round: r, selected: clients, aggregated: clients, dropped: [],
                                                    globalEvalLoss: 5 - 0.1 * Double(r), baseEvalLoss: nil,
                                                    bytesUp: 1000 * clients.count, bytesDown: 900 * clients.count,
                                                    wallSeconds: 1, simulatedSeconds: 2, strategy: "fedavg",
                                                    updateNormMean: 0.1, domainEvalLoss: [:])))
        }
        return out
    }

    /// A journal holding exactly `events`.
    static func journal(at path: String, events: [FederationEvent]) throws {
        let journal = try RunJournal(path: path)
        for e in events { journal.record(e) }
        // Events after the last round-ending event are flushed by recording a run end when there is none.
        if let last = events.last, !["round_completed", "round_failed", "run_started", "run_finished"].contains(last.type) {
            journal.record(.runFinished(rounds: 0, finalEvalLoss: nil, baseEvalLoss: nil, wallSeconds: 0, stopped: true))
        }
    }
}

/// The coordinator's command queue, for an event sink made before the coordinator.
final class CommandBox: @unchecked Sendable {
    var queue: CommandQueue?
}

/// What XMLParser saw in a document: each `<svg>`'s id, its `data-points`, and how many
/// elements of class `pt` it holds.
final class ChartCounter: NSObject, XMLParserDelegate {
    struct Chart { var id: String; var declared: Int; var marks = 0 }
    var charts: [Chart] = []
    var depthInSVG = 0
    var elements = 0
    var texts: [String] = []

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements += 1
        if name == "svg" {
            charts.append(Chart(id: attributes["id"] ?? "", declared: Int(attributes["data-points"] ?? "") ?? -1))
            depthInSVG += 1
        } else if depthInSVG > 0, (attributes["class"] ?? "").split(separator: " ").contains("pt") {
            charts[charts.count - 1].marks += 1
        }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "svg" { depthInSVG -= 1 }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { texts.append(string) }

    /// Parses `document`; fails the test with the parser's error and position when it is not well-formed.
    static func parse(_ document: String, file: StaticString = #filePath, line: UInt = #line) -> ChartCounter {
        let counter = ChartCounter()
        let parser = XMLParser(data: Data(document.utf8))
        parser.delegate = counter
        if !parser.parse() {
            XCTFail("not well-formed XML at line \(parser.lineNumber), column \(parser.columnNumber): "
                    + "\(parser.parserError.map { "\($0)" } ?? "unknown error")", file: file, line: line)
        }
        return counter
    }

    func chart(_ id: String) -> Chart? { charts.first { $0.id == id } }
}
