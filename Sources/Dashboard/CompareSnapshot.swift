import Federation
import Foundation

/// What the compare screen shows: plain values, filled in as `fedpilot compare` runs.
public struct CompareSnapshot: Sendable, Equatable {
    public enum Status: Sendable, Equatable {
        case waiting
        /// Running; `round` of `rounds` when it is a federated run.
        case running(round: Int, rounds: Int)
        case done
    }

    public struct Approach: Sendable, Equatable {
        public var name: String
        public var status: Status = .waiting
        public var evalLoss: Double?
        public var perClient: [String: Double] = [:]
        public var bytes: Int?
        public var seconds: Double?
        /// ε of a DP run; nil when no differential privacy applies.
        public var epsilon: Double?
        public var trainingTokens: Int?
        /// Task quality, cost and privacy (nil until the approach reports them).
        public var details: Details?
        public init(name: String) { self.name = name }
    }

    /// An approach's task quality, cost and privacy posture.
    public struct Details: Sendable, Equatable {
        public var accuracy: Double?
        public var macroF1: Double?
        public var perClientAccuracy: [String: Double] = [:]
        /// Wall seconds per prediction.
        public var latencySeconds: Double?
        public var trainingCPUSeconds: Double?
        public var inferenceCPUSeconds: Double?
        public var peakMemoryBytes: Int?
        /// What leaves each client and who sees it, in a few words.
        public var privacy: String
        public init(accuracy: Double? = nil, macroF1: Double? = nil, perClientAccuracy: [String: Double] = [:],
                    latencySeconds: Double? = nil, trainingCPUSeconds: Double? = nil, inferenceCPUSeconds: Double? = nil,
                    peakMemoryBytes: Int? = nil, privacy: String) {
            self.accuracy = accuracy; self.macroF1 = macroF1; self.perClientAccuracy = perClientAccuracy
            self.latencySeconds = latencySeconds; self.trainingCPUSeconds = trainingCPUSeconds
            self.inferenceCPUSeconds = inferenceCPUSeconds; self.peakMemoryBytes = peakMemoryBytes; self.privacy = privacy
        }
    }

    public var scenario: String
    public var model: String
    public var rounds: Int
    public var clients: [String]
    /// The target ε of the federated + DP run and its calibrated noise (nil when there is none).
    public var dpTarget: (epsilon: Double, noise: Double)?
    public var baseEvalLoss: Double?
    public var basePerClient: [String: Double] = [:]
    public var approaches: [Approach]
    public var verdict: String?
    public var elapsedSeconds: Double = 0
    public var charset: Charset = .unicode

    public init(scenario: String, model: String, rounds: Int, clients: [String], approaches: [String],
                dpTarget: (epsilon: Double, noise: Double)? = nil) {
        self.scenario = scenario; self.model = model; self.rounds = rounds; self.clients = clients
        self.approaches = approaches.map(Approach.init(name:))
        self.dpTarget = dpTarget
    }

    public static func == (a: CompareSnapshot, b: CompareSnapshot) -> Bool {
        a.scenario == b.scenario && a.model == b.model && a.rounds == b.rounds && a.clients == b.clients
            && a.dpTarget?.epsilon == b.dpTarget?.epsilon && a.dpTarget?.noise == b.dpTarget?.noise
            && a.baseEvalLoss == b.baseEvalLoss && a.basePerClient == b.basePerClient && a.approaches == b.approaches
            && a.verdict == b.verdict && a.elapsedSeconds == b.elapsedSeconds && a.charset == b.charset
    }

    public var finished: Bool { approaches.allSatisfy { $0.status == .done } }

    /// Takes an approach's event: its round progress, and the base model's loss from the first run.
    public mutating func apply(_ event: FederationEvent, approach name: String) {
        guard let i = approaches.firstIndex(where: { $0.name == name }) else { return }
        switch event {
        case .runStarted(_, _, _, let rounds, _, _):
            approaches[i].status = .running(round: 0, rounds: rounds)
        case .roundStarted(let r, _):
            if case .running(_, let n) = approaches[i].status { approaches[i].status = .running(round: r, rounds: n) }
        case .clientUpdate(let m) where m.round >= 1 && basePerClient[m.client] == nil:
            if let l = m.evalLoss, let d = m.qualityDeltaBase { basePerClient[m.client] = l + d }
        case .runFinished(_, _, let base, _, _):
            if baseEvalLoss == nil, let base { baseEvalLoss = base }
        default: break
        }
    }

    /// Records an approach's result.
    public mutating func finish(name: String, evalLoss: Double, perClient: [String: Double], bytes: Int, seconds: Double,
                                epsilon: Double?, trainingTokens: Int) {
        guard let i = approaches.firstIndex(where: { $0.name == name }) else { return }
        approaches[i].status = .done
        approaches[i].evalLoss = evalLoss.isFinite ? evalLoss : nil
        approaches[i].perClient = perClient
        approaches[i].bytes = bytes
        approaches[i].seconds = seconds
        approaches[i].epsilon = epsilon
        approaches[i].trainingTokens = trainingTokens
    }

    /// Records an approach's task quality, cost and privacy posture.
    public mutating func record(_ details: Details, name: String) {
        guard let i = approaches.firstIndex(where: { $0.name == name }) else { return }
        approaches[i].details = details
    }

    /// Drops approaches that never started (the retrieval baselines of data without labels).
    public mutating func dropUnstarted() { approaches.removeAll { $0.status == .waiting } }

    /// The details of a result of the engine.
    public static func details(_ r: ApproachResult) -> Details {
        let pooled = r.pooledTask
        return Details(accuracy: pooled.accuracy, macroF1: pooled.macroF1, perClientAccuracy: r.tasks.compactMapValues(\.accuracy),
                       latencySeconds: r.latencySeconds, trainingCPUSeconds: r.training?.cpuSeconds,
                       inferenceCPUSeconds: r.inference?.cpuSeconds,
                       peakMemoryBytes: [r.training, r.inference].compactMap { $0?.peakMemoryBytes }.max(),
                       privacy: r.privacy?.summary ?? "")
    }
}

/// The compare screen's snapshot, shared between the thread running the comparison and
/// the UI loop. Every change bumps a version, so the loop redraws only when needed.
public final class CompareFeed: @unchecked Sendable {
    private let lock = NSLock()
    private var snapshot: CompareSnapshot
    private var version = 0

    public init(_ snapshot: CompareSnapshot) { self.snapshot = snapshot }

    public func update(_ change: (inout CompareSnapshot) -> Void) {
        lock.lock()
        change(&snapshot)
        version += 1
        lock.unlock()
    }

    public func read() -> (snapshot: CompareSnapshot, version: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (snapshot, version)
    }
}
