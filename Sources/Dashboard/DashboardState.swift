import Federation
import Foundation

/// A client's train/validation example counts.
public struct DataStats: Sendable, Equatable {
    public var train: Int
    public var validation: Int
    public init(train: Int, validation: Int) { self.train = train; self.validation = validation }
}

/// Values of one measure by round (index = round number; nil where there is none).
public struct RoundSeries: Sendable, Equatable {
    public private(set) var values: [Double?] = []
    public init() {}

    public subscript(round: Int) -> Double? {
        get { round >= 0 && round < values.count ? values[round] : nil }
        set {
            guard round >= 0 else { return }
            if round >= values.count {
                guard newValue != nil else { return }
                values.append(contentsOf: repeatElement(nil, count: round - values.count + 1))
            }
            values[round] = newValue
        }
    }

    /// Rounds 1...last with their values (round 0 is never charted).
    public var rounds: [Double?] { values.count > 1 ? Array(values[1...]) : [] }
    public var last: Double? { values.last { $0 != nil } ?? nil }
    public var isEmpty: Bool { !values.contains { $0 != nil } }
}

/// One client's per-round history.
public struct ClientHistory: Sendable, Equatable {
    public var evalLoss = RoundSeries()
    public var deltaBase = RoundSeries()
    public var drift = RoundSeries()
    public var norm = RoundSeries()
    public var bytes = RoundSeries()
    public var taskAccuracy = RoundSeries()
    public var anomalyScore = RoundSeries()
}

/// One row of the client table: the latest metrics of a client and its history.
public struct ClientRow: Sendable, Equatable {
    public let id: String
    /// Position in the scenario.
    public let order: Int
    public var domain: String
    public var link: LinkSpec?
    public var data: DataStats?
    public var status: ClientStatus = .idle
    /// The round of the row's status.
    public var round = 0
    /// The round of its last local training (the values below); older than `round` when it sat this one out.
    public var trainedRound = 0
    /// Training examples the client reported.
    public var trainExamples = 0
    public var localLossStart: Double?
    public var localLossEnd: Double?
    public var drift: Double?
    public var updateNorm: Double?
    public var cosine: Double?
    public var cosineToAggregate: Double?
    public var weight: Double?
    /// Simulated seconds of its last participation: transfer (down + up) and compute.
    public var transferSeconds: Double?
    public var computeSeconds: Double?
    public var trainTokens = 0
    /// Payload bytes of its last participation (round `trainedRound`).
    public var bytesUpRound = 0
    public var bytesDownRound = 0
    /// The global model's last evaluation on this client's validation data.
    public var evalLoss: Double?
    public var deltaBase: Double?
    public var deltaLast: Double?
    /// The global model's last task accuracy on this client's labelled validation examples,
    /// its difference to the base model's, and that evaluation's confusion counts.
    public var taskAccuracy: Double?
    public var taskAccuracyDeltaBase: Double?
    public var confusion: TaskScore?
    /// The alert detector's combined evidence in its last judged round (0: none) and its
    /// strongest signals in words, and that round.
    public var anomalyScore: Double?
    public var anomalyEvidence: String?
    public var anomalyRound = 0
    /// Removed by the operator (until readmitted).
    public var excluded = false
    public var alerts: [Alert] = []
    /// Rounds in which its update was aggregated.
    public var roundsAggregated = 0
    /// The scenario's public probe prompt for this client (nil: none, or not known in a replay).
    public var probePrompt: String?
    /// The latest generation of the global model on the probe prompt.
    public var sample: ProbeSample?
    /// The engine reported that it could not generate the last requested sample.
    public var sampleFailed = false
    private var lastAggregatedRound = 0
    public var history = ClientHistory()

    public init(id: String, order: Int, domain: String, link: LinkSpec? = nil, data: DataStats? = nil) {
        self.id = id; self.order = order; self.domain = domain; self.link = link; self.data = data
    }

    /// Bytes moved for this client so far (each round counted once).
    public var bytesTotal: Int { Int(history.bytes.values.reduce(0) { $0 + ($1 ?? 0) }) }
    /// Whether the training values are from an earlier round than the status.
    public var trainingIsStale: Bool { trainedRound < round }

    mutating func roll(to r: Int) {
        if r > round { round = r }
    }

    mutating func apply(_ m: ClientRoundMetrics) {
        roll(to: m.round)
        if m.round < round { return }
        status = m.status
        if m.status == .excluded { excluded = true }
        if m.trainExamples > 0 { trainExamples = m.trainExamples }
        let trained = m.localLossEnd != nil || m.updateNorm != nil || m.bytesUp > 0
        if trained {
            if trainedRound < m.round {
                localLossStart = nil; localLossEnd = nil; drift = nil; updateNorm = nil; cosine = nil; weight = nil
                cosineToAggregate = nil; transferSeconds = nil; computeSeconds = nil; trainTokens = 0
            }
            trainedRound = m.round
        }
        if trainedRound == m.round {
            localLossStart = m.localLossStart ?? localLossStart
            localLossEnd = m.localLossEnd ?? localLossEnd
            drift = m.drift ?? drift
            updateNorm = m.updateNorm ?? updateNorm
            cosine = m.cosineToOthers ?? cosine
            weight = m.aggregationWeight ?? weight
            cosineToAggregate = m.cosineToAggregate ?? cosineToAggregate
            if m.transferSeconds > 0 || m.computeSeconds > 0 { transferSeconds = m.transferSeconds; computeSeconds = m.computeSeconds }
            if m.trainTokens > 0 { trainTokens = m.trainTokens }
            if m.bytesUp > 0 || m.bytesDown > 0 { bytesUpRound = m.bytesUp; bytesDownRound = m.bytesDown }
        }
        if let e = m.evalLoss { evalLoss = e; history.evalLoss[m.round] = e }
        if let d = m.qualityDeltaBase { deltaBase = d; history.deltaBase[m.round] = d }
        if let d = m.qualityDeltaLast { deltaLast = d }
        if let a = m.taskAccuracy { taskAccuracy = a; history.taskAccuracy[m.round] = a }
        if let d = m.taskAccuracyDeltaBase { taskAccuracyDeltaBase = d }
        if let c = m.confusion { confusion = TaskScore(counts: c) }
        if let a = m.anomalyScore {
            anomalyScore = a; anomalyEvidence = m.anomalyEvidence; anomalyRound = m.round; history.anomalyScore[m.round] = a
        }
        if let d = m.drift { history.drift[m.round] = d }
        if let n = m.updateNorm { history.norm[m.round] = n }
        if m.bytesUp > 0 || m.bytesDown > 0 { history.bytes[m.round] = Double(m.bytesUp + m.bytesDown) }
        if m.status == .done && lastAggregatedRound < m.round { roundsAggregated += 1; lastAggregatedRound = m.round }
    }
}

/// A short greedy generation of the global model after `round` on a client's probe prompt.
public struct ProbeSample: Sendable, Equatable {
    public var round: Int
    public var prompt: String
    public var text: String
    public var seconds: Double
}

/// A line of the event log.
public struct LogEntry: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case info, round, drop, failure, alert(Alert.Severity), operatorAction, privacy, stderr }
    public var round: Int
    public var kind: Kind
    public var text: String
}

/// The run as the events describe it (everything the engine reported).
public struct RunModel: Sendable, Equatable {
    public var scenario: String
    public var model: String
    public var strategy: String
    public var totalRounds: Int
    /// The round in progress, or the last one.
    public var round = 0
    public var completedRounds = 0
    public var phase: RunPhase = .starting
    /// The operator paused the run (it may still be finishing a round).
    public var paused = false
    public var stopping = false
    public var started = false
    public var finished = false
    public var stoppedEarly = false
    public var failedRounds = 0
    public var wallSeconds = 0.0
    public var simulatedSeconds = 0.0
    public var dpEnabled = false
    public var epsilon: Double?
    public var delta = 1e-5
    public var noiseMultiplier = 1.0
    public var clipNorm = 0.1
    public var secureAggregation = false
    /// Rounds aggregated without DP (why ε is unbounded).
    public var offRounds: [Int] = []
    /// The last secure-aggregation round.
    public var secureRound: SecureAggregationSummary?
    public var clients: [ClientRow] = []
    public var globalEvalLoss = RoundSeries()
    public var bytesPerRound = RoundSeries()
    public var baseEvalLoss: Double?
    public var finalEvalLoss: Double?
    /// The classification task's labels (empty: the run reports no task metrics).
    public var taskLabels: [String] = []
    public var globalTaskAccuracy = RoundSeries()
    public var baseTaskAccuracy: Double?
    public var log: [LogEntry] = []
    public static let logLimit = 200

    public init(scenario: String = "", model: String = "", strategy: String = "", totalRounds: Int = 0) {
        self.scenario = scenario; self.model = model; self.strategy = strategy; self.totalRounds = totalRounds
    }

    /// Whether the run reports task accuracy (its data has labels).
    public var hasTask: Bool { !taskLabels.isEmpty || !globalTaskAccuracy.isEmpty || clients.contains { $0.taskAccuracy != nil } }

    /// Bytes moved so far (every client's up and down).
    public var bytesMoved: Int { clients.reduce(0) { $0 + $1.bytesTotal } }

    public func index(of client: String) -> Int? { clients.firstIndex { $0.id == client } }

    mutating func addLog(_ round: Int, _ kind: LogEntry.Kind, _ text: String) {
        log.append(LogEntry(round: round, kind: kind, text: text))
        if log.count > Self.logLimit { log.removeFirst(log.count - Self.logLimit) }
    }

    @discardableResult
    mutating func ensureClient(_ id: String, domain: String? = nil) -> Int {
        if let i = index(of: id) {
            if let domain, clients[i].domain.isEmpty { clients[i].domain = domain }
            return i
        }
        clients.append(ClientRow(id: id, order: clients.count, domain: domain ?? ""))
        return clients.count - 1
    }
}

/// What the screen shows.
public enum DashboardView: Sendable, Equatable { case main, detail }

/// Columns the client table can be sorted by.
public enum SortColumn: String, Sendable, CaseIterable {
    case order = "scenario order", id, domain, status, samples, loss = "local loss", eval = "eval loss",
         deltaBase = "Δbase", deltaLast = "Δlast", accuracy = "task accuracy", deltaAccuracy = "Δacc vs base",
         drift, norm, cosine, anomaly = "anomaly score", bytesRound = "bytes this round", bytesTotal = "bytes total", alerts
}

/// Which columns the client table shows (`c` cycles): every column that fits, or one group.
public enum ColumnSet: String, Sendable, CaseIterable {
    case all, quality, training, network
}

/// Where a replay is, for the header.
public struct ReplayStatus: Sendable, Equatable {
    public var round: Int
    public var rounds: Int
    public var playing: Bool
    public var roundsPerSecond: Double
    public var atEnd: Bool
}

/// The operator's side: selection, sorting, scrolling, overlays and commands in flight.
public struct UIState: Sendable, Equatable {
    public var view: DashboardView = .main
    public var showHelp = false
    public var selected: String?
    public var sort: SortColumn = .order
    public var sortDescending = false
    public var columns: ColumnSet = .all
    /// First visible table row.
    public var scroll = 0
    public var width = 120
    public var height = 40
    public var charset: Charset = .unicode
    /// Commands sent to the coordinator that it has not reported applying yet.
    public var pending: [OperatorCommand] = []
    /// A one-line message for the status bar (key feedback).
    public var flash: String?
    /// The operator asked to quit; the loop ends once the coordinator has finished.
    public var quitRequested = false
    /// Set in replay mode.
    public var replay: ReplayStatus?
    /// Lines written to stderr while the dashboard ran, and the file they went to.
    public var stderrLines = 0
    public var stderrPath: String?
    public init() {}
}

/// Everything the dashboard draws: the run (folded from events) and the UI state.
/// Drawing reads it and never changes it.
public struct DashboardState: Sendable, Equatable {
    public var run: RunModel
    public var ui = UIState()

    public init() { run = RunModel() }

    /// A state for a scenario: its clients (with links and, when known, data sizes), rounds and privacy settings.
    public init(scenario: Scenario, dataStats: [String: DataStats] = [:]) {
        run = RunModel(scenario: scenario.name, model: scenario.modelPath, strategy: scenario.strategy.kind.rawValue,
                       totalRounds: scenario.rounds)
        run.clients = scenario.clients.enumerated().map { i, spec in
            var row = ClientRow(id: spec.id, order: i, domain: spec.domain, link: spec.link, data: dataStats[spec.id])
            row.probePrompt = spec.probePrompt
            return row
        }
        run.dpEnabled = scenario.privacy.differentialPrivacy
        run.noiseMultiplier = scenario.privacy.noiseMultiplier
        run.clipNorm = scenario.privacy.clipNorm
        run.delta = scenario.privacy.delta
        run.secureAggregation = scenario.privacy.secureAggregation
        ui.selected = run.clients.first?.id
    }

    // MARK: Folding events

    /// Folds one engine event into the state.
    public mutating func apply(_ event: FederationEvent) {
        run.apply(event, pending: &ui.pending)
        if ui.selected == nil || run.index(of: ui.selected!) == nil { ui.selected = sortedRows.first?.id }
    }

    public mutating func apply<S: Sequence>(_ events: S) where S.Element == FederationEvent {
        for e in events { apply(e) }
    }

    /// Lines that were written to stderr (captured in `path`): shown in the event log.
    public mutating func noteStderr(_ lines: [String], path: String) {
        ui.stderrLines += lines.count
        ui.stderrPath = path
        for line in lines { run.addLog(run.round, .stderr, "stderr: " + Fmt.oneLine(line)) }
    }

    /// Live mode: the wall clock since the run started.
    public mutating func tick(elapsed: Double) {
        if run.started && !run.finished { run.wallSeconds = elapsed }
    }

    // MARK: Derived views

    /// The client rows in the table's order.
    public var sortedRows: [ClientRow] {
        let rows = run.clients
        func key(_ r: ClientRow) -> SortKey {
            switch ui.sort {
            case .order: return .int(r.order)
            case .id: return .text(r.id)
            case .domain: return .text(r.domain)
            case .status: return .text(statusText(r))
            case .samples: return .int(r.trainExamples)
            case .loss: return .num(r.localLossEnd)
            case .eval: return .num(r.evalLoss)
            case .deltaBase: return .num(r.deltaBase)
            case .deltaLast: return .num(r.deltaLast)
            case .accuracy: return .num(r.taskAccuracy)
            case .deltaAccuracy: return .num(r.taskAccuracyDeltaBase)
            case .drift: return .num(r.drift)
            case .norm: return .num(r.updateNorm)
            case .cosine: return .num(r.cosine)
            case .anomaly: return .num(r.anomalyScore)
            case .bytesRound: return .int(r.bytesUpRound + r.bytesDownRound)
            case .bytesTotal: return .int(r.bytesTotal)
            case .alerts: return .int(r.alerts.count)
            }
        }
        let descending = ui.sortDescending
        return rows.sorted { a, b in
            let ka = key(a), kb = key(b)
            if ka == kb { return a.order < b.order }
            // Missing values always go last.
            if case .num(nil) = ka { return false }
            if case .num(nil) = kb { return true }
            return descending ? kb < ka : ka < kb
        }
    }

    /// The selected client's row.
    public var selectedRow: ClientRow? { ui.selected.flatMap { id in run.clients.first { $0.id == id } } }

    /// What the status column shows: "pending" while a drop or readmit of it is in flight.
    public func statusText(_ row: ClientRow) -> String {
        if ui.pending.contains(where: { $0 == .dropClient(row.id) || $0 == .readmitClient(row.id) }) { return "pending" }
        if row.excluded { return ClientStatus.excluded.rawValue }
        return row.status == .timedOut ? "timed out" : row.status.rawValue
    }

    /// Paused, counting a pause or resume still in flight.
    public var effectivePaused: Bool {
        for c in ui.pending.reversed() {
            if c == .pause { return true }
            if c == .resume { return false }
        }
        return run.paused
    }

    /// DP on, counting a toggle still in flight.
    public var effectiveDP: Bool {
        for c in ui.pending.reversed() { if case .setDifferentialPrivacy(let on) = c { return on } }
        return run.dpEnabled
    }

    /// The noise multiplier, counting a change still in flight.
    public var effectiveNoise: Double {
        for c in ui.pending.reversed() { if case .setNoiseMultiplier(let s) = c { return s } }
        return run.noiseMultiplier
    }

    /// Whether `client` is (or is about to be) excluded.
    public func effectiveExcluded(_ client: String) -> Bool {
        for c in ui.pending.reversed() {
            if c == .dropClient(client) { return true }
            if c == .readmitClient(client) { return false }
        }
        return run.clients.first { $0.id == client }?.excluded ?? false
    }
}

enum SortKey: Equatable, Comparable {
    case int(Int), text(String), num(Double?)
    static func < (a: SortKey, b: SortKey) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y
        case (.text(let x), .text(let y)): return x.localizedStandardCompare(y) == .orderedAscending
        case (.num(let x), .num(let y)): return (x ?? .infinity) < (y ?? .infinity)
        default: return false
        }
    }
}

extension RunModel {
    /// Folds one event. Operator actions settle the matching pending command.
    mutating func apply(_ event: FederationEvent, pending: inout [OperatorCommand]) {
        switch event {
        case .runStarted(let scenario, let model, let strategy, let rounds, let ids, let domains):
            self.scenario = scenario; self.model = model; self.strategy = strategy; totalRounds = rounds
            for id in ids { ensureClient(id, domain: domains[id]) }
            started = true
            finished = false
            addLog(round, .info, "run started: \(ids.count) clients, \(rounds) rounds, \(strategy)")

        case .phase(let r, let p):
            phase = p
            // Every client still shown training has finished once aggregation starts (recordings from
            // before the engine reported uploads say so only here).
            if p == .aggregating || p == .secureAggregation {
                for i in clients.indices where clients[i].round == r && clients[i].status == .training { clients[i].status = .uploading }
            }
            if p == .paused { paused = true }
            if p == .finished { finished = true }
            if r > round { round = r }

        case .roundStarted(let r, let selected):
            round = r
            let chosen = Set(selected)
            for i in clients.indices {
                clients[i].roll(to: r)
                if chosen.contains(clients[i].id) { clients[i].status = .selected }
                else { clients[i].status = clients[i].excluded ? .excluded : .idle }
            }
            for id in selected where index(of: id) == nil { clients[ensureClient(id)].status = .selected }

        case .clientUpdate(let m):
            let i = ensureClient(m.client)
            let before = clients[i].status
            let sameRound = clients[i].round == m.round
            clients[i].apply(m)
            let dropped: Set<ClientStatus> = [.dropped, .timedOut, .failed]
            if dropped.contains(m.status) && !(sameRound && before == m.status) {
                let why: String
                switch m.status {
                case .dropped: why = "dropped (offline or upload lost)"
                case .timedOut: why = String(format: "timed out (%.1fs simulated)", m.simulatedSeconds)
                default: why = "failed its local round"
                }
                addLog(m.round, m.status == .failed ? .failure : .drop, "\(m.client) \(why)")
            }

        case .roundCompleted(let m):
            round = max(round, m.round)
            completedRounds = max(completedRounds, m.round)
            globalEvalLoss[m.round] = m.globalEvalLoss
            globalTaskAccuracy[m.round] = m.globalTaskAccuracy
            if let b = m.baseTaskAccuracy { baseTaskAccuracy = b }
            bytesPerRound[m.round] = Double(m.bytesUp + m.bytesDown)
            simulatedSeconds += m.simulatedSeconds
            wallSeconds += m.wallSeconds
            var text = "round \(m.round) done: \(m.aggregated.count)/\(m.selected.count) aggregated"
            if let g = m.globalEvalLoss {
                text += String(format: ", eval loss %.4f", g)
                if let p = globalEvalLoss[m.round - 1] ?? previousEval(before: m.round) {
                    text += String(format: " (%+.4f)", g - p)
                }
            }
            if let a = m.globalTaskAccuracy {
                text += String(format: ", accuracy %.2f", a)
                if let b = m.baseTaskAccuracy { text += String(format: " (base %.2f)", b) }
            }
            if !m.dropped.isEmpty { text += ", dropped " + m.dropped.joined(separator: ", ") }
            text += ", " + Fmt.bytesLong(m.bytesUp + m.bytesDown)
            addLog(m.round, .round, text)

        case .roundFailed(let r, let reason):
            round = max(round, r)
            completedRounds = max(completedRounds, r)
            failedRounds += 1
            addLog(r, .failure, "round \(r) failed: \(reason)")

        case .alert(let a):
            if let c = a.client {
                let i = ensureClient(c)
                clients[i].alerts.append(a)
                if clients[i].alerts.count > 100 { clients[i].alerts.removeFirst() }
            }
            addLog(a.round, .alert(a.severity), "\(a.severity.rawValue.uppercased()) \(a.client ?? "run"): \(a.reason)")

        case .privacyBudget(let r, let e, let d, let noise, let enabled, let off, let clip):
            let changed = enabled != dpEnabled || noise != noiseMultiplier || e != epsilon || d != delta || !loggedPrivacy
                || off != offRounds
            dpEnabled = enabled; epsilon = e; delta = d; noiseMultiplier = noise; offRounds = off
            if let clip { clipNorm = clip }
            if changed {
                var eps = e.map { String(format: "%.3g", $0) } ?? "unbounded"
                if e == nil, !off.isEmpty { eps += " (DP off in round\(off.count == 1 ? "" : "s") \(Coordinator.describeRounds(off)))" }
                addLog(r, .privacy, "privacy: DP \(enabled ? "on" : "off"), noise \(String(format: "%.2f", noise)), ε \(eps), δ \(String(format: "%.0e", d))")
            }

        case .secureAggregation(let summary):
            secureAggregation = true
            secureRound = summary
            var text = "secure aggregation: k=\(summary.degree) t=\(summary.threshold), \(summary.included.count)/\(summary.clients.count) in the sum"
            let dropped = summary.dropped.sorted { $0.key < $1.key }.map { "\($0.value.joined(separator: ",")) at \($0.key)" }
            if !dropped.isEmpty { text += ", dropped " + dropped.joined(separator: "; ") }
            if let why = summary.aborted { text = "secure aggregation aborted: \(why)" }
            addLog(summary.round, summary.aborted == nil ? .privacy : .failure, text)

        case .keyAudit:
            break

        case .taskLabels(let r, let labels, let source):
            taskLabels = labels
            addLog(r, .info, "task: \(labels.count) labels (\(source == "scenario" ? "from the scenario" : "from the validation data")): "
                   + labels.joined(separator: ", "))

        case .operatorAction(let r, let command, let applied):
            if let i = pending.firstIndex(of: command) { pending.remove(at: i) }
            if applied { effect(of: command) }
            if case .sample(let c) = command {
                if let i = index(of: c) { clients[i].sampleFailed = !applied }
                if applied { break }   // the sample event has its own log line
            }
            addLog(r, .operatorAction, "operator: \(command)" + (applied ? "" : " (no effect)"))

        case .sample(let r, let client, let prompt, let text, let seconds):
            let i = ensureClient(client)
            clients[i].sample = ProbeSample(round: r, prompt: prompt, text: text, seconds: seconds)
            clients[i].sampleFailed = false
            addLog(r, .info, "sample \(client) after round \(r) (\(String(format: "%.1f", seconds))s): " + Fmt.oneLine(text))

        case .runFinished(let rounds, let final, let base, let wall, let stopped):
            finished = true
            phase = .finished
            stoppedEarly = stopped
            completedRounds = max(completedRounds, rounds)
            finalEvalLoss = final; baseEvalLoss = base
            wallSeconds = wall
            pending.removeAll()
            let f = final.map { String(format: "%.4f", $0) } ?? "—", b = base.map { String(format: "%.4f", $0) } ?? "—"
            addLog(rounds, .info, "run \(stopped ? "stopped" : "finished") after \(rounds) rounds: eval loss \(f) (base \(b))")
        }
    }

    private var loggedPrivacy: Bool { log.contains { $0.kind == .privacy } }

    private func previousEval(before r: Int) -> Double? {
        var k = r - 1
        while k > 0 { if let v = globalEvalLoss[k] { return v }; k -= 1 }
        return nil
    }

    /// What an applied operator command changes on screen before the next round reports it.
    mutating func effect(of command: OperatorCommand) {
        switch command {
        case .dropClient(let c):
            if let i = index(of: c) {
                clients[i].excluded = true
                if [.idle, .selected].contains(clients[i].status) { clients[i].status = .excluded }
            }
        case .readmitClient(let c):
            if let i = index(of: c) {
                clients[i].excluded = false
                if ![.selected, .training, .uploading].contains(clients[i].status) { clients[i].status = .idle }
            }
        case .setDifferentialPrivacy(let on): dpEnabled = on
        case .setNoiseMultiplier(let s): noiseMultiplier = s
        case .setClipNorm(let c): clipNorm = c
        case .pause: paused = true
        case .resume: paused = false
        case .step: break
        case .stop: stopping = true
        case .sample: break
        }
    }
}
