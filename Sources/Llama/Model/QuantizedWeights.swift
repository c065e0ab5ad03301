import TensorMath

/// A model's frozen matrices kept in quantized blocks (`FrozenGemm.int8`): each block's seven
/// projections, the embedding (also the LM head when tied) and an untied LM head.
public struct QuantizedWeights: Sendable {
    /// Per block, the projections in `LoRATarget.allCases` order (q, k, v, o, gate, up, down),
    /// in Hugging Face row order.
    public var layers: [[QuantizedMatrix]]
    public var embedding: QuantizedMatrix
    public var lmHead: QuantizedMatrix?

    public init(layers: [[QuantizedMatrix]], embedding: QuantizedMatrix, lmHead: QuantizedMatrix?) {
        self.layers = layers
        self.embedding = embedding
        self.lmHead = lmHead
    }

    /// The output projection actually used (the embedding when tied).
    public var outputProjection: QuantizedMatrix { lmHead ?? embedding }

    /// Bytes of all blocks held.
    public var byteCount: Int {
        layers.joined().reduce(0) { $0 + $1.byteCount } + embedding.byteCount + (lmHead?.byteCount ?? 0)
    }

    /// Bytes of the transposed Q8_0 copies built so far for input gradients (training only;
    /// `QuantGemm.BackwardPath.transposed`).
    public var transposedByteCount: Int {
        layers.joined().reduce(0) { $0 + $1.transposedByteCount } + embedding.transposedByteCount + (lmHead?.transposedByteCount ?? 0)
    }

    /// Checks every shape against `config`; the message names the tensor.
    func validate(against c: LlamaConfig, source: String) throws {
        func check(_ name: String, _ m: QuantizedMatrix, _ shape: [Int]) throws {
            if [m.rows, m.cols] != shape {
                throw ModelFileError.shapeMismatch(file: source, tensor: name, expected: shape, found: [m.rows, m.cols])
            }
        }
        let d = c.hiddenSize
        try check("embedding", embedding, [c.vocabSize, d])
        if let lmHead { try check("lm head", lmHead, [c.vocabSize, d]) }
        guard layers.count == c.layerCount else {
            throw ModelFileError.shapeMismatch(file: source, tensor: "layers", expected: [c.layerCount], found: [layers.count])
        }
        for (i, l) in layers.enumerated() {
            guard l.count == LoRATarget.allCases.count else {
                throw ModelFileError.shapeMismatch(file: source, tensor: "layer \(i) projections",
                                                   expected: [LoRATarget.allCases.count], found: [l.count])
            }
            for (m, target) in zip(l, LoRATarget.allCases) {
                let dims = target.dimensions(c)
                try check("layer \(i) \(target.rawValue)", m, [dims.output, dims.input])
            }
        }
    }

    /// F32 weights with the norms of `norms` (a full dequantized copy: export and inspection only).
    func dequantized(norms: LlamaWeights) -> LlamaWeights {
        var w = norms
        w.embedding = embedding.dequantized()
        w.lmHead = lmHead?.dequantized()
        for (i, l) in layers.enumerated() {
            w.layers[i].wq = l[0].dequantized(); w.layers[i].wk = l[1].dequantized()
            w.layers[i].wv = l[2].dequantized(); w.layers[i].wo = l[3].dequantized()
            w.layers[i].gate = l[4].dequantized(); w.layers[i].up = l[5].dequantized()
            w.layers[i].down = l[6].dequantized()
        }
        return w
    }
}

extension LlamaWeights {
    /// Checks the norm vectors only (the matrices of an int8 model live in `QuantizedWeights`).
    func validateNorms(against c: LlamaConfig, source: String) throws {
        func check(_ name: String, _ v: [Float], _ n: Int) throws {
            if v.count != n { throw ModelFileError.shapeMismatch(file: source, tensor: name, expected: [n], found: [v.count]) }
        }
        try check("final norm", finalNorm, c.hiddenSize)
        guard layers.count == c.layerCount else {
            throw ModelFileError.shapeMismatch(file: source, tensor: "layers", expected: [c.layerCount], found: [layers.count])
        }
        for (i, l) in layers.enumerated() {
            try check("layer \(i) attention norm", l.attentionNorm, c.hiddenSize)
            try check("layer \(i) mlp norm", l.mlpNorm, c.hiddenSize)
            try l.validateExtraNorms(layer: i, against: c, source: source)
        }
    }
}

extension LlamaModel {
    /// Bytes of the transposed copies of the quantized weights built so far (`.int8` training; 0 otherwise).
    public var transposedWeightBytes: Int { quantized?.transposedByteCount ?? 0 }

    /// This model for `ComputeMode.int8`, its F32 matrices quantized to Q8_0 (for models that
    /// exist in F32 already: Hugging Face checkpoints, the tiny test model). Itself if int8.
    public func quantizedToQ8_0() throws -> LlamaModel {
        if frozenGemm == .int8 { return self }
        let c = config
        for (name, width) in [("hidden size", c.hiddenSize), ("query width", c.queryWidth), ("intermediate size", c.intermediateSize)]
        where width % 32 != 0 {
            throw ModelFileError.invalidMetadata(file: "model", key: name,
                                                 reason: "int8 compute needs matrix widths that are multiples of 32, got \(width)")
        }
        let w = weights
        let layers = w.layers.map { l in
            [l.wq, l.wk, l.wv, l.wo, l.gate, l.up, l.down].map { QuantizedMatrix(quantizingToQ8_0: $0) }
        }
        let q = QuantizedWeights(layers: layers, embedding: QuantizedMatrix(quantizingToQ8_0: w.embedding),
                                 lmHead: w.lmHead.map { QuantizedMatrix(quantizingToQ8_0: $0) })
        return try LlamaModel(config: config, norms: w, quantized: q)
    }
}
