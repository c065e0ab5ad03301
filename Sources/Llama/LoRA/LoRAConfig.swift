/// A linear layer of the model's decoder block that can carry a LoRA adapter.
public enum LoRATarget: String, CaseIterable, Codable, Sendable, Comparable {
    case q, k, v, o, gate, up, down

    /// PEFT's module name (`q_proj`, ..., `down_proj`).
    public var moduleName: String { rawValue + "_proj" }

    /// Path of the module inside a Hugging Face decoder block (the same in every supported family).
    public var modulePath: String {
        switch self {
        case .q, .k, .v, .o: return "self_attn." + moduleName
        case .gate, .up, .down: return "mlp." + moduleName
        }
    }

    /// Input and output widths of the wrapped linear layer.
    public func dimensions(_ c: ModelConfig) -> (input: Int, output: Int) {
        switch self {
        case .q: return (c.hiddenSize, c.queryWidth)
        case .k, .v: return (c.hiddenSize, c.kvWidth)
        case .o: return (c.queryWidth, c.hiddenSize)
        case .gate, .up: return (c.hiddenSize, c.intermediateSize)
        case .down: return (c.intermediateSize, c.hiddenSize)
        }
    }

    /// Parses `q` or `q_proj`, and the shorthands `all` and `qv` for lists.
    public static func parseList(_ text: String) throws -> [LoRATarget] {
        switch text {
        case "all": return allCases
        case "qv": return [.q, .v]
        default:
            return try text.split(separator: ",").map { part in
                let name = part.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_proj", with: "")
                guard let t = LoRATarget(rawValue: name) else { throw LoRAError.unknownTarget(String(part)) }
                return t
            }.sorted()
        }
    }

    public static func < (a: LoRATarget, b: LoRATarget) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// LoRA hyper-parameters: rank r, alpha (the update is scaled by alpha / r),
/// dropout on the adapter's input, and the wrapped modules.
public struct LoRAConfig: Codable, Sendable, Equatable {
    public var rank: Int
    public var alpha: Float
    public var dropout: Float
    public var targets: [LoRATarget]

    public init(rank: Int = 8, alpha: Float = 16, dropout: Float = 0, targets: [LoRATarget] = LoRATarget.allCases) {
        self.rank = rank
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets.sorted()
    }

    /// The factor applied to `B · A`.
    public var scale: Float { alpha / Float(rank) }

    /// The largest rank accepted before the model is known; `validationProblem(for:)` then
    /// bounds it by the adapted matrices themselves.
    public static let maximumRank = 1024

    /// A description of the first bad value, or nil.
    public var validationProblem: String? {
        if rank <= 0 { return "rank must be positive, got \(rank)" }
        if rank > Self.maximumRank { return "rank must be at most \(Self.maximumRank), got \(rank)" }
        if !(alpha > 0) { return "alpha must be positive, got \(alpha)" }
        if !(dropout >= 0 && dropout < 1) { return "dropout must be in [0, 1), got \(dropout)" }
        if targets.isEmpty { return "targets must name at least one of q, k, v, o, gate, up, down" }
        if Set(targets).count != targets.count { return "targets lists a module twice" }
        return nil
    }

    /// The first problem of this configuration on `model`, or nil: every value check above, and
    /// a rank no larger than min(input, output) of each adapted matrix (a larger rank adds
    /// parameters but no expressiveness, and a hostile one would exhaust memory).
    public func validationProblem(for model: ModelConfig) -> String? {
        validationProblem ?? rankProblem(for: model)
    }

    /// The rank's problem on `model` alone (see `validationProblem(for:)`), or nil.
    public func rankProblem(for model: ModelConfig) -> String? {
        for t in targets {
            let (input, output) = t.dimensions(model)
            if rank > min(input, output) {
                return "rank must be at most \(min(input, output)) for target \(t.rawValue) (its matrix is \(output) x \(input)), got \(rank)"
            }
        }
        return nil
    }
}

/// Errors from building, combining or reading adapters.
public enum LoRAError: Error, CustomStringConvertible, Equatable {
    case unknownTarget(String)
    case invalidConfig(String)
    case layoutMismatch(String)
    case missingTensor(file: String, name: String)
    case badTensorShape(file: String, name: String, expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .unknownTarget(let t): return "unknown LoRA target '\(t)' (use q, k, v, o, gate, up, down, all or qv)"
        case .invalidConfig(let r): return "invalid LoRA config: \(r)"
        case .layoutMismatch(let r): return "adapters do not match: \(r)"
        case .missingTensor(let f, let n): return "\(f): adapter tensor '\(n)' is missing"
        case .badTensorShape(let f, let n, let e, let found): return "\(f): adapter tensor '\(n)' has shape \(found), expected \(e)"
        }
    }
}
