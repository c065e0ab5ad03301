import Foundation

/// A matrix of fault runs that measures the alert detector: for each run, whether and when the
/// faulty client was flagged, and every client-round's anomaly score, so that detection rates and
/// false alarms can be computed at any threshold (and the thresholds chosen from the matrix).
public enum AlertBench {
    /// The runs to make.
    public struct Matrix: Sendable {
        public var kinds: [FaultKind] = [.degrade, .labelNoise, .backdoor, .corruptUpdate]
        public var severities: [Double] = [0.3, 0.5, 0.7, 0.9]
        public var strategies: [StrategyKind] = [.fedavg, .trimmedMean]
        /// Fault runs per (kind, severity, strategy), each with another client, start round and seed.
        public var trials: Int = 1
        /// Runs with no fault, per strategy.
        public var cleanRuns: Int = 2
        public var rounds: Int = 6
        public var startRounds: [Int] = [3, 4]
        public init() {}
    }

    /// One run: the fault (nil for a clean run), and what the detector said.
    public struct Run: Sendable, Codable {
        public var kind: FaultKind?
        public var severity: Double
        public var strategy: StrategyKind
        public var client: String?
        public var start: Int
        public var seed: UInt64
        /// Anomaly score of every judged client in every round: [round: [client: score]].
        public var scores: [Int: [String: Double]]
        /// Alerts the detector raised: (round, client, severity).
        public var alerts: [RaisedAlert]
        /// Every client's last `client_update` of every round (what the detector read), so that
        /// the detector can be replayed on a saved matrix (`replay`).
        public var metrics: [Int: [ClientRoundMetrics]] = [:]
    }

    public struct RaisedAlert: Sendable, Codable {
        public var round: Int
        public var client: String
        public var critical: Bool
        /// The detector's rule that raised it: nil or "score" for the anomaly score,
        /// "task_accuracy" for the task-accuracy rule (`AlertDetector.accuracyAlert`).
        public var rule: String?

        /// The detector's alert as recorded, or nil for an alert the detector did not raise (a
        /// failed round, say).
        init?(_ a: Alert) {
            guard let c = a.client else { return nil }
            if a.reason.hasPrefix("anomaly score") { rule = "score" }
            else if a.reason.hasPrefix(AlertDetector.accuracyReason) { rule = "task_accuracy" }
            else { return nil }
            round = a.round; client = c; critical = a.severity == .critical
        }

        var isScore: Bool { rule == nil || rule == "score" }
    }

    /// Clients whose training text carries their labels (most labelled examples spell the label
    /// out in the text that is learned). Label noise swaps the label in that text; where the
    /// label is only metadata (the pilot's clinical notes and AML alerts), training never sees it
    /// and a "label noise" fault changes nothing the model learns, so the matrix leaves it out.
    static func labelled(_ scenario: Scenario, _ pilot: PilotBuilder.Pilot) -> [String] {
        scenario.clients.map(\.id).filter { id in
            let train = pilot.transport.clients[id]?.data.train ?? []
            let spelled = train.filter { e in e.label.map { !$0.isEmpty && e.completion.contains($0) } ?? false }.count
            return spelled > 0 && 2 * spelled >= train.filter { $0.label != nil }.count
        }
    }

    /// The runs again with the current detector on their recorded metrics: scores and alerts
    /// as a live run with this detector would have produced (the detector reads nothing else),
    /// so that thresholds and signals can be compared on one saved matrix.
    public static func replay(_ runs: [Run]) -> [Run] {
        runs.map { run in
            var out = run
            var detector = AlertDetector()
            out.scores = [:]
            out.alerts = []
            for round in run.metrics.keys.sorted() {
                var metrics = run.metrics[round]!.map { m -> ClientRoundMetrics in
                    var m = m
                    m.anomalyScore = nil
                    m.anomalyEvidence = nil
                    return m
                }
                let raised = detector.inspect(&metrics, round: round)
                out.metrics[round] = metrics
                for m in metrics { if let s = m.anomalyScore { out.scores[round, default: [:]][m.client] = s } }
                out.alerts += raised.compactMap(RaisedAlert.init)
            }
            return out
        }
    }

    /// Runs the matrix on `base` (its clients, data and training settings), reusing `model`.
    public static func run(base: Scenario, model: EngineModel, matrix: Matrix,
                           progress: (Int, Int, Run) -> Void = { _, _, _ in }) throws -> [Run] {
        // Interleaved (trial, then severity in the order given, then kind, then strategy), so that
        // a matrix stopped early has covered every kind and strategy at the first severities.
        var plans: [(FaultKind?, Double, StrategyKind, Int)] = []
        for t in 0..<matrix.cleanRuns { for strategy in matrix.strategies { plans.append((nil, 0, strategy, t)) } }
        for t in 0..<matrix.trials {
            for severity in matrix.severities {
                for kind in matrix.kinds { for strategy in matrix.strategies { plans.append((kind, severity, strategy, t)) } }
            }
        }
        let probe = try PilotBuilder.build(base, model: model, sink: { _ in })
        let everyone = base.clients.map(\.id)
        let withLabels = labelled(base, probe)
        var runs: [Run] = []
        for (index, plan) in plans.enumerated() {
            let (kind, severity, strategy, trial) = plan
            var scenario = base
            scenario.rounds = matrix.rounds
            scenario.seed = Seeds.derive(base.seed, purpose: .benchVariant, index: index)
            scenario.strategy = StrategyConfig()
            scenario.strategy.kind = strategy
            if strategy == .trimmedMean { scenario.strategy.trimFraction = 0.25 }
            scenario.faults = []
            scenario.realTimePacing = false
            var client: String?
            let start = matrix.startRounds[(trial + index / 3) % matrix.startRounds.count]
            if let kind {
                let pool = kind == .labelNoise ? withLabels : everyone
                guard !pool.isEmpty else { continue }
                client = pool[(trial + index) % pool.count]
                scenario.faults = [FaultSpec(client: client!, kind: kind, fromRound: start, severity: severity)]
            }
            let recorder = AlertRecorder()
            let pilot = try PilotBuilder.build(scenario, model: model, sink: recorder.record)
            pilot.coordinator.run()
            let run = Run(kind: kind, severity: severity, strategy: strategy, client: client, start: kind == nil ? matrix.rounds + 1 : start,
                          seed: scenario.seed, scores: recorder.scores, alerts: recorder.alerts, metrics: recorder.metrics)
            runs.append(run)
            progress(index + 1, plans.count, run)
        }
        return runs
    }

    /// Detection and false alarms at thresholds `warning` and `critical` on recorded scores.
    public struct Summary: Sendable {
        public struct Cell: Sendable {
            public var kind: FaultKind
            public var severity: Double
            public var runs: Int
            public var within1: Int
            public var within2: Int
            public var roundsToDetection: [Int]
            public var median: Double? {
                let s = roundsToDetection.sorted()
                return s.isEmpty ? nil : Double(s[(s.count - 1) / 2] + s[s.count / 2]) / 2
            }
        }
        public var cells: [Cell]
        public var cleanClientRounds: Int
        public var falseWarnings: Int
        public var falseCriticals: Int
        public var warning: Double
        public var critical: Double
        /// Warnings of the task-accuracy rule (a separate rule, not part of the score, so not in
        /// `falseWarnings` or the sweep) on healthy client-rounds and on the faulty client.
        public var accuracyWarningsOnHealthy = 0
        public var accuracyWarningsOnFaulty = 0
        public var falseWarningsPer100: Double { cleanClientRounds == 0 ? 0 : 100 * Double(falseWarnings) / Double(cleanClientRounds) }
        /// Share of fault runs with severity ≥ 0.5 flagged within 2 rounds.
        public var detectedWithin2AtHalfOrMore: Double {
            let c = cells.filter { $0.severity >= 0.5 }
            let runs = c.reduce(0) { $0 + $1.runs }
            return runs == 0 ? 0 : Double(c.reduce(0) { $0 + $1.within2 }) / Double(runs)
        }
    }

    /// Scores the runs at the given thresholds. A client-round is clean when it is in a clean
    /// run, or before the fault's first round, or a healthy client's; a detection is the faulty
    /// client's score reaching `warning` in rounds start ... start + k − 1.
    public static func summarize(_ runs: [Run], warning: Double, critical: Double) -> Summary {
        var cells: [String: Summary.Cell] = [:]
        var clean = 0, falseWarnings = 0, falseCriticals = 0, accuracyFalse = 0, accuracyTrue = 0
        for run in runs {
            for a in run.alerts where !a.isScore {
                let faulty = run.kind != nil && a.client == run.client && a.round >= run.start
                let affected = run.kind == .corruptUpdate && a.round >= run.start
                if faulty { accuracyTrue += 1 } else if !affected { accuracyFalse += 1 }
            }
            for (round, scores) in run.scores {
                for (client, score) in scores {
                    let faulty = run.kind != nil && client == run.client && round >= run.start
                    let affected = run.kind == .corruptUpdate && round >= run.start   // a bad update moves everyone's model
                    guard !faulty, !affected else { continue }
                    clean += 1
                    if score >= warning { falseWarnings += 1 }
                    if score >= critical { falseCriticals += 1 }
                }
            }
            guard let kind = run.kind, let client = run.client else { continue }
            let key = "\(kind.rawValue)@\(run.severity)"
            var cell = cells[key] ?? Summary.Cell(kind: kind, severity: run.severity, runs: 0, within1: 0, within2: 0, roundsToDetection: [])
            cell.runs += 1
            let flagged = run.scores.keys.sorted().first { r in r >= run.start && (run.scores[r]?[client] ?? 0) >= warning }
            if let r = flagged {
                let after = r - run.start + 1
                if after <= 1 { cell.within1 += 1 }
                if after <= 2 { cell.within2 += 1 }
                cell.roundsToDetection.append(after)
            }
            cells[key] = cell
        }
        let ordered = cells.values.sorted { ($0.kind.rawValue, $0.severity) < ($1.kind.rawValue, $1.severity) }
        return Summary(cells: ordered, cleanClientRounds: clean, falseWarnings: falseWarnings, falseCriticals: falseCriticals,
                       warning: warning, critical: critical, accuracyWarningsOnHealthy: accuracyFalse,
                       accuracyWarningsOnFaulty: accuracyTrue)
    }
}

/// Collects anomaly scores and alerts from a run's events.
final class AlertRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var scores: [Int: [String: Double]] = [:]
    private(set) var alerts: [AlertBench.RaisedAlert] = []
    private var last: [Int: [String: ClientRoundMetrics]] = [:]
    /// Every client's last update of every round, in client order.
    var metrics: [Int: [ClientRoundMetrics]] {
        lock.lock()
        defer { lock.unlock() }
        return last.mapValues { $0.values.sorted { $0.client < $1.client } }
    }

    func record(_ event: FederationEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .clientUpdate(let m):
            last[m.round, default: [:]][m.client] = m
            if let s = m.anomalyScore { scores[m.round, default: [:]][m.client] = s }
        case .alert(let a):
            if let raised = AlertBench.RaisedAlert(a) { alerts.append(raised) }
        default: break
        }
    }
}
