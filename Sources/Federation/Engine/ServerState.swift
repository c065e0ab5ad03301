import Foundation
import Privacy

/// What the coordinator knows after a completed round besides the global adapter: the
/// strategy's buffers, the privacy ledger and the operator's settings. A resumed run restores
/// it, so that it continues exactly as the uninterrupted run would have.
public struct ServerState: Sendable, Equatable {
    /// The completed round this state is from.
    public var round: Int
    public var strategy: StrategyKind
    public var strategyState: StrategyState
    /// The RDP ledger of every round aggregated with DP.
    public var accountant: RDPAccountant
    /// Rounds aggregated without DP (ε is unbounded once there is one).
    public var roundsWithoutDP: [Int]
    /// DP on/off, noise and clip norm as the operator last set them.
    public var privacy: OperatorPrivacy
    /// Clients the operator dropped (sorted).
    public var excluded: [String]
    /// The base model's evaluation at the start of the run (quality deltas are against it).
    public var baseEval: [String: Double]
    public var baseGlobalEval: Double?
    /// The alert detector's memory: consecutive quality falls and best local loss per client.
    public var qualityFalls: [String: Int]
    public var bestLocalLoss: [String: Double]
    /// The alert detector's baseline: each client's signals in its recent unflagged rounds.
    public var alertHistory: [String: [SignalSample]] = [:]
    /// The alert detector's memory of task accuracy: each client's last, and its consecutive falls.
    public var lastTaskAccuracy: [String: Double] = [:]
    public var taskAccuracyFalls: [String: Int] = [:]
    public var taskAccuracyBeforeFalls: [String: Double] = [:]

    public init(round: Int, strategy: StrategyKind, strategyState: StrategyState = .empty, accountant: RDPAccountant = .init(),
                roundsWithoutDP: [Int] = [], privacy: OperatorPrivacy = .init(PrivacyConfig()), excluded: [String] = [],
                baseEval: [String: Double] = [:], baseGlobalEval: Double? = nil, qualityFalls: [String: Int] = [:],
                bestLocalLoss: [String: Double] = [:], alertHistory: [String: [SignalSample]] = [:]) {
        self.round = round; self.strategy = strategy; self.strategyState = strategyState; self.accountant = accountant
        self.roundsWithoutDP = roundsWithoutDP; self.privacy = privacy; self.excluded = excluded
        self.baseEval = baseEval; self.baseGlobalEval = baseGlobalEval; self.qualityFalls = qualityFalls
        self.bestLocalLoss = bestLocalLoss; self.alertHistory = alertHistory
    }
}

/// The privacy settings the operator can change during a run.
public struct OperatorPrivacy: Sendable, Equatable, Codable {
    public var differentialPrivacy: Bool
    public var noiseMultiplier: Double
    public var clipNorm: Double
    /// The adaptive clip norm reached so far (adaptive clipping only).
    public var adaptiveClipNorm: Double?
    public init(_ p: PrivacyConfig, adaptiveClipNorm: Double? = nil) {
        differentialPrivacy = p.differentialPrivacy; noiseMultiplier = p.noiseMultiplier; clipNorm = p.clipNorm
        self.adaptiveClipNorm = adaptiveClipNorm
    }
}

/// A saved server state that cannot be read or does not fit the run.
public struct ServerStateError: Error, CustomStringConvertible, Equatable {
    /// The field at fault (`header`, `accountant.rdp`, `vectors[1]`, `second_moment`, ...).
    public var field: String
    public var reason: String
    public init(field: String, reason: String) { self.field = field; self.reason = reason }
    public var description: String { "field \(field): \(reason)" }
}

extension Coordinator {
    /// The state after the last completed round: call between rounds. `publish` builds it with
    /// the round being completed as `round` for the `onCheckpoint` callback.
    public func serverState(round: Int? = nil) -> ServerState {
        var state = ServerState(round: round ?? completedRounds, strategy: strategy.kind, strategyState: strategy.savedState, accountant: accountant,
                    roundsWithoutDP: roundsWithoutDP, privacy: OperatorPrivacy(privacy, adaptiveClipNorm: adaptiveClip?.clipNorm), excluded: excluded.sorted(),
                    baseEval: baseline?.perClient ?? baseEval, baseGlobalEval: baseline?.global,
                    qualityFalls: alerts.qualityFalls, bestLocalLoss: alerts.bestLocalLoss, alertHistory: alerts.history)
        state.lastTaskAccuracy = alerts.lastAccuracy
        state.taskAccuracyFalls = alerts.accuracyFalls
        state.taskAccuracyBeforeFalls = alerts.accuracyBeforeFalls
        return state
    }

    /// Restores a saved state before `run()`: the strategy's buffers, the privacy ledger, the
    /// operator's DP settings and exclusions, the baseline evaluation and the alert detector.
    /// Throws when the state is for another strategy, another adapter size or unknown clients.
    public func restore(_ state: ServerState) throws {
        guard state.strategy == strategy.kind else {
            throw ServerStateError(field: "strategy", reason: "the state is for \(state.strategy.rawValue), the scenario uses \(strategy.kind.rawValue)")
        }
        let ids = Set(clientSpecs.map(\.id))
        if let unknown = state.excluded.first(where: { !ids.contains($0) }) {
            throw ServerStateError(field: "excluded", reason: "client '\(unknown)' is not in the scenario")
        }
        do {
            strategy = try strategy.restoring(state.strategyState, dimension: global.values.count)
        } catch let e as StrategyStateError {
            throw ServerStateError(field: e.field, reason: e.reason)
        }
        accountant = state.accountant
        roundsWithoutDP = state.roundsWithoutDP
        privacy.differentialPrivacy = state.privacy.differentialPrivacy
        privacy.noiseMultiplier = state.privacy.noiseMultiplier
        privacy.clipNorm = state.privacy.clipNorm
        resetAdaptiveClip()
        if let c = state.privacy.adaptiveClipNorm, adaptiveClip != nil { adaptiveClip?.restore(clipNorm: c) }
        excluded = Set(state.excluded)
        baseline = (state.baseEval, state.baseGlobalEval)
        alerts.qualityFalls = state.qualityFalls
        alerts.bestLocalLoss = state.bestLocalLoss
        alerts.history = state.alertHistory
        alerts.lastAccuracy = state.lastTaskAccuracy
        alerts.accuracyFalls = state.taskAccuracyFalls
        alerts.accuracyBeforeFalls = state.taskAccuracyBeforeFalls
    }
}
