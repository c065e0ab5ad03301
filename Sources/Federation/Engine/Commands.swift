import Foundation

/// What an operator can ask of a running pilot. The coordinator applies commands
/// between steps (and once more just before aggregation) and reports each as an
/// `operatorAction` event, which carries the command itself.
public enum OperatorCommand: Sendable, Equatable, Codable, CustomStringConvertible {
    case dropClient(String)
    case readmitClient(String)
    case setDifferentialPrivacy(Bool)
    case setNoiseMultiplier(Double)
    case setClipNorm(Double)
    case pause
    case resume
    /// Run exactly one round, then pause again.
    case step
    /// End the run: no further round starts. Within a round, clients that have not started yet
    /// are left out of it (status `excluded`) and the round aggregates the updates already under
    /// way (or fails, when too few arrive). While paused, the run ends at once.
    case stop
    /// Generate a short greedy continuation of the client's probe prompt (from the scenario)
    /// with the current global model; it arrives as a `sample` event.
    case sample(client: String)

    /// The command in words, for the log and the audit trail (numbers rounded: the command
    /// itself, not this text, is what events carry).
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

    // MARK: JSON: `{"type": "drop_client", "client": "bank"}`, `{"type": "set_noise_multiplier", "noise_multiplier": 1.1}`, ...

    /// The command's `type` in JSON.
    public var type: String {
        switch self {
        case .dropClient: return "drop_client"
        case .readmitClient: return "readmit_client"
        case .setDifferentialPrivacy: return "set_differential_privacy"
        case .setNoiseMultiplier: return "set_noise_multiplier"
        case .setClipNorm: return "set_clip_norm"
        case .pause: return "pause"
        case .resume: return "resume"
        case .step: return "step"
        case .stop: return "stop"
        case .sample: return "sample"
        }
    }

    enum CodingKeys: String, CodingKey { case type, client, enabled, noiseMultiplier = "noise_multiplier", clipNorm = "clip_norm" }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        switch self {
        case .dropClient(let id), .readmitClient(let id), .sample(let id): try c.encode(id, forKey: .client)
        case .setDifferentialPrivacy(let on): try c.encode(on, forKey: .enabled)
        case .setNoiseMultiplier(let s): try c.encodeOrNull(s, forKey: .noiseMultiplier)
        case .setClipNorm(let v): try c.encodeOrNull(v, forKey: .clipNorm)
        case .pause, .resume, .step, .stop: break
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // A value that was not a number was written as null (JSON has no NaN); it reads back as NaN.
        func number(_ key: CodingKeys) throws -> Double { try c.decodeNil(forKey: key) ? .nan : c.decode(Double.self, forKey: key) }
        switch try c.decode(String.self, forKey: .type) {
        case "drop_client": self = .dropClient(try c.decode(String.self, forKey: .client))
        case "readmit_client": self = .readmitClient(try c.decode(String.self, forKey: .client))
        case "set_differential_privacy": self = .setDifferentialPrivacy(try c.decode(Bool.self, forKey: .enabled))
        case "set_noise_multiplier": self = .setNoiseMultiplier(try number(.noiseMultiplier))
        case "set_clip_norm": self = .setClipNorm(try number(.clipNorm))
        case "pause": self = .pause
        case "resume": self = .resume
        case "step": self = .step
        case "stop": self = .stop
        case "sample": self = .sample(client: try c.decode(String.self, forKey: .client))
        case let other: throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown operator command \"\(other)\"")
        }
    }

    /// The command an `operator_action` event's `action` text names, for journals written before
    /// events carried the command itself (their numbers are as rounded as the text).
    init?(legacyActionText text: String) {
        let whole: [String: OperatorCommand] = [
            "enable differential privacy": .setDifferentialPrivacy(true), "disable differential privacy": .setDifferentialPrivacy(false),
            "pause": .pause, "resume": .resume, "step one round": .step, "stop": .stop,
        ]
        if let command = whole[text] { self = command; return }
        func argument(after prefix: String) -> String? { text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : nil }
        if let c = argument(after: "drop ") { self = .dropClient(c) }
        else if let c = argument(after: "readmit ") { self = .readmitClient(c) }
        else if let c = argument(after: "sample ") { self = .sample(client: c) }
        else if let v = argument(after: "set noise multiplier ").flatMap(Double.init) { self = .setNoiseMultiplier(v) }
        else if let v = argument(after: "set clip norm ").flatMap(Double.init) { self = .setClipNorm(v) }
        else { return nil }
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
