import Foundation

/// What an operator can ask of a running pilot. The coordinator applies commands
/// between steps (never during aggregation) and reports each as an `operatorAction` event.
public enum OperatorCommand: Sendable, Equatable {
    case dropClient(String)
    case readmitClient(String)
    case setDifferentialPrivacy(Bool)
    case setNoiseMultiplier(Double)
    case setClipNorm(Double)
    case pause
    case resume
    /// Run exactly one round, then pause again.
    case step
    /// Finish the current round, then end the run cleanly.
    case stop
    /// Generate a short greedy continuation of the client's probe prompt (from the scenario)
    /// with the current global model; it arrives as a `sample` event.
    case sample(client: String)

    public var description: String {
        switch self {
        case .dropClient(let c): return "drop \(c)"
        case .readmitClient(let c): return "readmit \(c)"
        case .setDifferentialPrivacy(let on): return on ? "enable differential privacy" : "disable differential privacy"
        case .setNoiseMultiplier(let s): return String(format: "set noise multiplier %.2f", s)
        case .setClipNorm(let c): return String(format: "set clip norm %.3f", c)
        case .pause: return "pause"
        case .resume: return "resume"
        case .step: return "step one round"
        case .stop: return "stop"
        case .sample(let c): return "sample \(c)"
        }
    }
}

/// A thread-safe queue of operator commands: any thread sends, the coordinator drains.
public final class CommandQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [OperatorCommand] = []

    public init() {}

    public func send(_ command: OperatorCommand) {
        condition.lock()
        pending.append(command)
        condition.signal()
        condition.unlock()
    }

    /// Everything sent so far, oldest first.
    public func drain() -> [OperatorCommand] {
        condition.lock()
        defer { condition.unlock() }
        let out = pending
        pending = []
        return out
    }

    /// Blocks until a command arrives (or `timeout` passes), then drains.
    public func wait(timeout: TimeInterval) -> [OperatorCommand] {
        condition.lock()
        defer { condition.unlock() }
        if pending.isEmpty { _ = condition.wait(until: Date().addingTimeInterval(timeout)) }
        let out = pending
        pending = []
        return out
    }
}
