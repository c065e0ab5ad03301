import Foundation
import TensorMath

/// Where one adapter matrix sits in an adapter's flat parameter vector.
public struct LoRASlot: Sendable, Equatable {
    public let layer: Int
    public let target: LoRATarget
    /// `A` is `[rank, input]`; `B` is `[output, rank]`.
    public let input: Int, output: Int, rank: Int
    public let aOffset: Int, bOffset: Int

    public var aCount: Int { rank * input }
    public var bCount: Int { output * rank }

    /// PEFT's tensor name for `A` or `B`.
    public func peftName(_ matrix: String) -> String {
        "base_model.model.model.layers.\(layer).\(target.modulePath).lora_\(matrix).weight"
    }
}

/// A LoRA adapter for a whole model: every `A` and `B` in one flat `Float`
/// vector, so that federated code can add, scale and measure updates cheaply.
/// It is a value: copies are independent.
public struct LoRAAdapter: Sendable, Equatable {
    public let config: LoRAConfig
    public let slots: [LoRASlot]
    public var values: [Float]

    /// An adapter initialised as PEFT does: `A` Kaiming-uniform (bound `1/sqrt(input)`,
    /// i.e. `kaiming_uniform_(a=sqrt(5))`), `B` zero, so the adapted model starts equal to the base.
    public init(model: ModelConfig, config: LoRAConfig, seed: UInt64) throws {
        try self.init(zerosFor: model, config: config)
        var rng = SeededRandom(seed: seed)
        for s in slots {
            let bound = 1 / Float(s.input).squareRoot()
            for i in 0..<s.aCount { values[s.aOffset + i] = rng.uniform(-bound, bound) }
        }
    }

    /// An all-zero adapter (both `A` and `B` zero), the identity for addition.
    public init(zerosFor model: ModelConfig, config: LoRAConfig) throws {
        if let problem = config.validationProblem(for: model) { throw LoRAError.invalidConfig(problem) }
        var slots: [LoRASlot] = []
        var offset = 0
        for layer in 0..<model.layerCount {
            for t in config.targets {
                let (i, o) = t.dimensions(model)
                slots.append(LoRASlot(layer: layer, target: t, input: i, output: o, rank: config.rank,
                                      aOffset: offset, bOffset: offset + config.rank * i))
                offset += config.rank * (i + o)
            }
        }
        self.config = config
        self.slots = slots
        self.values = [Float](repeating: 0, count: offset)
    }

    /// Number of trainable parameters.
    public var parameterCount: Int { values.count }

    /// Slot of a (layer, target), if adapted.
    public func slot(layer: Int, target: LoRATarget) -> LoRASlot? {
        let perLayer = config.targets.count
        guard let t = config.targets.firstIndex(of: target), layer >= 0, layer * perLayer < slots.count else { return nil }
        return slots[layer * perLayer + t]
    }

    /// Checks that `other` has the same layout.
    public func checkCompatible(_ other: LoRAAdapter) throws {
        guard slots == other.slots else {
            throw LoRAError.layoutMismatch("rank \(config.rank) on \(config.targets.map(\.rawValue)) vs rank \(other.config.rank) on \(other.config.targets.map(\.rawValue))")
        }
    }

    // MARK: Arithmetic on the flat parameter vector

    /// `self += factor * other`.
    public mutating func add(_ other: LoRAAdapter, scaledBy factor: Float = 1) throws {
        try checkCompatible(other)
        for i in values.indices { values[i] += factor * other.values[i] }
    }

    /// `self - other`.
    public func subtracting(_ other: LoRAAdapter) throws -> LoRAAdapter {
        var out = self
        try out.add(other, scaledBy: -1)
        return out
    }

    /// Every value multiplied by `factor`.
    public func scaled(by factor: Float) -> LoRAAdapter {
        var out = self
        for i in out.values.indices { out.values[i] *= factor }
        return out
    }

    /// Euclidean norm of all parameters.
    public var norm: Double { values.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot() }

    /// Inner product of the parameter vectors.
    public func dot(_ other: LoRAAdapter) throws -> Double {
        try checkCompatible(other)
        var s = 0.0
        for i in values.indices { s += Double(values[i]) * Double(other.values[i]) }
        return s
    }

    /// Cosine similarity of the parameter vectors (0 when either is zero).
    public func cosine(_ other: LoRAAdapter) throws -> Double {
        let d = try dot(other), n = norm * other.norm
        return n == 0 ? 0 : d / n
    }

    /// The dense weight update `scale * B · A` (`[output, input]`) of one slot.
    public func delta(_ s: LoRASlot) -> Tensor {
        var out = Tensor(zeros: [s.output, s.input])
        values.withUnsafeBufferPointer { v in
            out.data.withUnsafeMutableBufferPointer { o in
                Matmul.gemm(transA: false, transB: false, m: s.output, n: s.input, k: s.rank, alpha: config.scale,
                            a: v.baseAddress! + s.bOffset, lda: s.rank, b: v.baseAddress! + s.aOffset, ldb: s.input,
                            c: o.baseAddress!, ldc: s.input)
            }
        }
        return out
    }
}
