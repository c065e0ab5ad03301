import Foundation
import XCTest
@testable import Dashboard
import Federation

enum TestSupport {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")

    /// Four organisations with different links (as in scenarios/degrading-client.toml), on the tiny model.
    static func scenario(rounds: Int = 8, dp: Bool = false) throws -> Scenario {
        var toml = """
        name = "dashboard-test"
        seed = 42
        rounds = \(rounds)
        [model]
        path = "tiny"
        [lora]
        rank = 4
        alpha = 8.0
        targets = ["q", "v"]
        [training]
        steps = 2
        batch_size = 2
        sequence_length = 32
        learning_rate = 2e-3
        [strategy]
        name = "trimmed_mean"
        trim_fraction = 0.25

        """
        if dp {
            toml += """
            [privacy]
            differential_privacy = true
            noise_multiplier = 0.8
            clip_norm = 0.05

            """
        }
        let clients: [(String, String, String, (Double, Double, Double))] = [
            ("hospital-a", "clinical", "clinical-hospital-a.jsonl", (50, 10, 10)),
            ("hospital-b", "clinical", "clinical-hospital-b.jsonl", (8, 2, 80)),
            ("bank", "aml", "aml-alerts.jsonl", (20, 5, 30)),
            ("support", "support", "support-tickets.jsonl", (100, 50, 5)),
        ]
        for (id, domain, file, link) in clients {
            toml += """
            [[clients]]
            id = "\(id)"
            domain = "\(domain)"
            data = "\(root.appendingPathComponent("data/\(file)").path)"
            [clients.link]
            down_mbps = \(link.0)
            up_mbps = \(link.1)
            latency_ms = \(link.2)

            """
        }
        // Probe prompts for the clinical and AML clients; support has none.
        toml += """
            [probe_prompts]
            clinical = "DISCHARGE SUMMARY\\nHISTORY OF PRESENT ILLNESS:"
            aml = "ALERT 2024-100042 | Rule: CASH-03 Structured cash deposits | Customer:"

            """
        return try ScenarioLoader.parse(toml, path: "dashboard-test.toml")
    }

    static let stats: [String: DataStats] = [
        "hospital-a": DataStats(train: 96, validation: 24), "hospital-b": DataStats(train: 80, validation: 20),
        "bank": DataStats(train: 120, validation: 30), "support": DataStats(train: 64, validation: 16),
    ]

    static func alert(_ round: Int, _ client: String?, _ severity: Alert.Severity, _ reason: String) -> Alert {
        Alert.make(round: round, client: client, severity: severity, reason: reason)
    }
}

/// Builds scripted event sequences that look like the coordinator's.
struct EventScript {
    var events: [FederationEvent] = []
    let clients: [String]
    var base: [String: Double] = [:]
    var last: [String: Double] = [:]
    var globalBase = 5.6

    init(scenario: Scenario) {
        clients = scenario.clients.map(\.id)
        events.append(.runStarted(scenario: scenario.name, model: scenario.modelPath, strategy: scenario.strategy.kind.rawValue,
                                  rounds: scenario.rounds, clients: clients,
                                  domains: Dictionary(uniqueKeysWithValues: scenario.clients.map { ($0.id, $0.domain) })))
        events.append(.phase(round: 0, .evaluating))
        for (i, c) in clients.enumerated() { base[c] = 5.5 + Double(i) * 0.05; last[c] = base[c] }
        if scenario.privacy.differentialPrivacy {
            events.append(.privacyBudget(round: 0, epsilon: nil, delta: scenario.privacy.delta,
                                         noiseMultiplier: scenario.privacy.noiseMultiplier, enabled: true))
        }
    }

    /// The per-client values of a normal round: losses fall a little each round.
    func metrics(_ client: String, round r: Int) -> ClientRoundMetrics {
        let i = Double(clients.firstIndex(of: client)!)
        var m = ClientRoundMetrics(client: client, round: r, status: .done)
        m.trainExamples = [96, 80, 120, 64][Int(i) % 4]
        m.localLossStart = 5.4 - 0.06 * Double(r) + 0.01 * i
        m.localLossEnd = m.localLossStart! - 0.12
        m.evalLoss = base[client]! - 0.035 * Double(r) - 0.004 * i * Double(r)
        m.drift = 0.30 + 0.05 * i
        m.updateNorm = 0.0120 + 0.0010 * i
        m.cosineToOthers = 0.62 - 0.04 * i
        m.bytesDown = 24_600
        m.bytesUp = 6_150
        m.simulatedSeconds = 0.4 + 0.3 * i
        m.transferSeconds = 0.1 + 0.2 * i
        m.computeSeconds = 0.3 + 0.1 * i
        m.cosineToAggregate = 0.8 - 0.05 * i
        m.trainTokens = 128
        m.trainSeconds = 0.05
        m.aggregationWeight = 0.25
        return m
    }

    /// One round as the coordinator reports it. `adjust` changes a client's metrics (or returns nil to leave it idle).
    mutating func round(_ r: Int, global: Double? = nil, alerts: [Alert] = [], excluded: Set<String> = [],
                        adjust: (inout ClientRoundMetrics) -> Void = { _ in }, before: [FederationEvent] = []) {
        events.append(.phase(round: r, .selecting))
        let selected = clients.filter { !excluded.contains($0) }
        events.append(.roundStarted(round: r, selected: selected))
        events.append(.phase(round: r, .training))
        events.append(contentsOf: before)
        var final: [ClientRoundMetrics] = []
        for c in clients {
            if excluded.contains(c) {
                final.append(ClientRoundMetrics(client: c, round: r, status: .excluded))
                continue
            }
            events.append(.clientUpdate(ClientRoundMetrics(client: c, round: r, status: .training)))
            var m = metrics(c, round: r)
            adjust(&m)
            events.append(.clientUpdate(Self.afterTraining(m)))
            final.append(m)
        }
        events.append(.phase(round: r, .aggregating))
        events.append(.phase(round: r, .evaluating))
        for var m in final {
            if let e = m.evalLoss ?? (m.status == .excluded ? base[m.client]! - 0.03 * Double(r) : nil) {
                m.evalLoss = e
                m.qualityDeltaBase = base[m.client]! - e
                m.qualityDeltaLast = last[m.client]! - e
                last[m.client] = e
            }
            if [.dropped, .timedOut, .failed].contains(m.status) { m.drift = nil; m.cosineToOthers = nil; m.aggregationWeight = nil }
            events.append(.clientUpdate(m))
        }
        events.append(contentsOf: alerts.map { .alert($0) })
        let done = final.filter { $0.status == .done }
        let g = global ?? (globalBase - 0.04 * Double(r))
        events.append(.roundCompleted(RoundMetrics(
            round: r, selected: selected, aggregated: done.map(\.client),
            dropped: final.filter { [.dropped, .timedOut, .failed].contains($0.status) }.map(\.client).sorted(),
            globalEvalLoss: g, baseEvalLoss: nil, bytesUp: final.reduce(0) { $0 + $1.bytesUp },
            bytesDown: final.reduce(0) { $0 + $1.bytesDown }, wallSeconds: 1.5, simulatedSeconds: final.map(\.simulatedSeconds).max() ?? 0,
            strategy: "trimmed_mean", updateNormMean: 0.013, domainEvalLoss: [:])))
    }

    /// The start of a round, up to the given client training.
    mutating func partialRound(_ r: Int, trainingUpTo client: String) {
        events.append(.phase(round: r, .selecting))
        events.append(.roundStarted(round: r, selected: clients))
        events.append(.phase(round: r, .training))
        for c in clients {
            events.append(.clientUpdate(ClientRoundMetrics(client: c, round: r, status: .training)))
            if c == client { break }
            events.append(.clientUpdate(Self.afterTraining(metrics(c, round: r))))
        }
    }

    /// What the coordinator reports when a client's reply arrives: uploading (or dropped, timed
    /// out, failed) with its training figures, before aggregation and evaluation.
    static func afterTraining(_ m: ClientRoundMetrics) -> ClientRoundMetrics {
        var partial = m
        if ![.dropped, .timedOut, .failed].contains(m.status) { partial.status = .uploading }
        partial.evalLoss = nil; partial.qualityDeltaBase = nil; partial.qualityDeltaLast = nil
        partial.drift = nil; partial.cosineToOthers = nil; partial.aggregationWeight = nil
        return partial
    }
}

/// Compares a rendered screen with Tests/DashboardTests/Snapshots/<name>.txt (characters only).
/// RECORD_SNAPSHOTS=1 writes the files instead.
func assertSnapshot(_ buffer: ScreenBuffer, named name: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let url = TestSupport.snapshots.appendingPathComponent("\(name).txt")
    let text = buffer.text + "\n"
    if ProcessInfo.processInfo.environment["RECORD_SNAPSHOTS"] == "1" {
        try FileManager.default.createDirectory(at: TestSupport.snapshots, withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
        XCTFail("no snapshot \(url.path); run with RECORD_SNAPSHOTS=1 to record it", file: file, line: line)
        return
    }
    if expected != text {
        let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let b = text.split(separator: "\n", omittingEmptySubsequences: false)
        var diff: [String] = []
        for i in 0..<max(a.count, b.count) {
            let x = i < a.count ? String(a[i]) : "<none>", y = i < b.count ? String(b[i]) : "<none>"
            if x != y { diff.append("line \(i + 1):\n  expected: \(x)\n  actual:   \(y)") }
        }
        XCTFail("snapshot \(name) differs (RECORD_SNAPSHOTS=1 re-records it):\n" + diff.prefix(8).joined(separator: "\n")
                + "\n--- actual ---\n" + text, file: file, line: line)
    }
}
