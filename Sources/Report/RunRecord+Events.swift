import Federation
import Foundation

extension RunRecord {
    /// Folds recorded events into a record.
    ///
    /// - Parameters:
    ///   - events: the run's events in the order they happened.
    ///   - audit: the journal's audit trail; when nil, it is taken from the operator-action events.
    public init(source: String, events: [FederationEvent], audit: [AuditEntry]? = nil) {
        self.init(source: source)
        eventCount = events.count
        var byRound: [Int: RoundRow] = [:]
        var lastClient: [Int: [String: ClientRoundMetrics]] = [:]
        var clientOrder: [Int: [String]] = [:]
        var dpEnabled = false
        var epsilon: Double?
        var delta: Double?
        var noise: Double?
        var actions: [AuditEntry] = []
        var maxRound = 0

        for event in events {
            switch event {
            case .runStarted(let scenario, let model, let strategy, let rounds, let clients, let domains):
                // A resumed run starts again: keep the first description of the run.
                if self.scenario.isEmpty {
                    self.scenario = scenario; self.model = model; self.strategy = strategy
                    self.clients = clients; self.domains = domains
                }
                plannedRounds = max(plannedRounds, rounds)
            case .roundStarted(let r, let selected):
                var row = byRound[r] ?? RoundRow(round: r, status: .missing)
                row.selected = selected
                byRound[r] = row
                maxRound = max(maxRound, r)
            case .clientUpdate(let m):
                if lastClient[m.round]?[m.client] == nil { clientOrder[m.round, default: []].append(m.client) }
                lastClient[m.round, default: [:]][m.client] = m
                maxRound = max(maxRound, m.round)
            case .roundCompleted(let m):
                var row = byRound[m.round] ?? RoundRow(round: m.round, status: .completed)
                row.status = .completed
                row.selected = m.selected; row.aggregated = m.aggregated; row.dropped = m.dropped
                row.globalEvalLoss = m.globalEvalLoss
                row.taskAccuracy = m.globalTaskAccuracy; row.macroF1 = m.globalMacroF1; row.baseTaskAccuracy = m.baseTaskAccuracy
                row.bytesUp = m.bytesUp; row.bytesDown = m.bytesDown
                row.wallSeconds = m.wallSeconds; row.simulatedSeconds = m.simulatedSeconds
                row.dpEnabled = dpEnabled
                // The coordinator's ε is unbounded once any round was aggregated without DP.
                row.epsilon = dpEnabled ? epsilon : nil
                row.delta = delta; row.noiseMultiplier = noise
                if !dpEnabled { epsilon = nil }
                byRound[m.round] = row
                maxRound = max(maxRound, m.round)
            case .roundFailed(let r, let reason):
                var row = byRound[r] ?? RoundRow(round: r, status: .failed)
                row.status = .failed
                row.failureReason = reason
                row.dpEnabled = dpEnabled; row.epsilon = dpEnabled ? epsilon : nil
                row.delta = delta; row.noiseMultiplier = noise
                byRound[r] = row
                maxRound = max(maxRound, r)
            case .alert(let a):
                alerts.append(a)
            case .privacyBudget(_, let e, let d, let n, let enabled, _, _):
                dpEnabled = enabled; epsilon = e; delta = d; noise = n
            case .operatorAction(let r, let command, let applied):
                actions.append(AuditEntry(at: nil, round: r, action: command.description, applied: applied))
            case .runFinished(let r, let final, let base, let wall, let stopped):
                finish = Finish(rounds: r, finalEvalLoss: final, wallSeconds: wall, stopped: stopped)
                if let base { baseEvalLoss = base }
            case .phase, .secureAggregation, .keyAudit, .sample, .taskLabels:
                break
            }
        }
        self.audit = audit ?? actions

        // Rounds 1...last, with gaps shown as missing; global deltas against the base and the
        // previous recorded loss.
        var previous = baseEvalLoss
        for r in stride(from: 1, through: maxRound, by: 1) {
            var row = byRound[r] ?? RoundRow(round: r, status: .missing)
            if row.status == .missing { row.epsilon = nil }
            if let loss = row.globalEvalLoss, row.status == .completed {
                if let base = baseEvalLoss { row.deltaBase = base - loss }
                if let p = previous { row.deltaLast = p - loss }
                previous = loss
            }
            rounds.append(row)
        }
        for r in lastClient.keys.sorted() {
            for client in clientOrder[r] ?? [] {
                guard let m = lastClient[r]?[client] else { continue }
                clientRounds.append(ClientRoundRow(round: r, client: client, domain: domains[client] ?? "", metrics: m))
            }
        }
    }
}
