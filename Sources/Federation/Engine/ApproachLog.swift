import Foundation
import Llama

/// The events of a comparison approach that is not a federated run (centralized, local-only),
/// so that it is journaled, reported and replayed like one: the run's start, one round that
/// spends the whole training budget, and the run's end.
struct ApproachLog: Sendable {
    let name: String
    let scenario: Scenario
    let recorder: ApproachRecorder?
    let observe: (@Sendable (String, FederationEvent) -> Void)?

    var clients: [String] { scenario.clients.map(\.id) }

    func emit(_ event: FederationEvent) {
        recorder?.record(event)
        observe?(name, event)
    }

    func start() {
        emit(.runStarted(scenario: scenario.name, model: scenario.modelPath, strategy: name, rounds: 1, clients: clients,
                         domains: Dictionary(uniqueKeysWithValues: scenario.clients.map { ($0.id, $0.domain) })))
        emit(.privacyBudget(round: 0, epsilon: nil, delta: scenario.privacy.delta, noiseMultiplier: scenario.privacy.noiseMultiplier,
                            enabled: false))
        emit(.roundStarted(round: 1, selected: clients))
        emit(.phase(round: 1, .training))
    }

    /// - Parameters:
    ///   - adapter: the one adapter this approach trained (nil for local-only, which trains one per client).
    ///   - bytesUp: bytes each client sent (centralized: its raw training text).
    func finish(_ r: ApproachResult, base: [String: Double], baseOverall: Double, adapter: LoRAAdapter?, bytesUp: [String: Int]) {
        for client in clients {
            var m = ClientRoundMetrics(client: client, round: 1, status: .done)
            m.evalLoss = r.perClient[client]
            if let loss = m.evalLoss, let b = base[client] {
                m.qualityDeltaBase = b - loss
                m.qualityDeltaLast = b - loss
            }
            m.bytesUp = bytesUp[client] ?? 0
            emit(.clientUpdate(m))
        }
        if let adapter { recorder?.checkpoint(1, adapter) }
        emit(.roundCompleted(RoundMetrics(
            round: 1, selected: clients, aggregated: clients, dropped: [], globalEvalLoss: r.overall.isFinite ? r.overall : nil,
            baseEvalLoss: baseOverall, bytesUp: r.bytesMoved, bytesDown: 0, wallSeconds: r.wallSeconds, simulatedSeconds: 0,
            strategy: name, updateNormMean: nil, domainEvalLoss: [:])))
        emit(.runFinished(rounds: 1, finalEvalLoss: r.overall.isFinite ? r.overall : nil, baseEvalLoss: baseOverall,
                          wallSeconds: r.wallSeconds, stopped: false))
    }
}
