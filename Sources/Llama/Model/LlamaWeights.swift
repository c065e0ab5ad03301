import TensorMath

/// Frozen weights of one decoder block, in Hugging Face layout (`[out, in]`,
/// rotate-half RoPE order for the query and key rows).
public struct LlamaLayerWeights: Sendable {
    public var attentionNorm: [Float]   // [D]
    public var wq: Tensor               // [nH*hd, D]
    public var wk: Tensor               // [nKV*hd, D]
    public var wv: Tensor               // [nKV*hd, D]
    public var wo: Tensor               // [D, nH*hd]
    public var mlpNorm: [Float]         // [D]
    public var gate: Tensor             // [I, D]
    public var up: Tensor               // [I, D]
    public var down: Tensor             // [D, I]
    /// Per-head query / key norms (`BlockVariant.queryKeyNorm`), else empty.
    public var queryNorm: [Float] = []  // [hd]
    public var keyNorm: [Float] = []    // [hd]
    /// Norms on the attention and MLP outputs (`BlockVariant.postNorms`), else empty.
    public var postAttentionNorm: [Float] = []  // [D]
    public var postMLPNorm: [Float] = []        // [D]
    /// q/k/v projection biases (`BlockVariant.attentionBias`), else empty.
    public var queryBias: [Float] = []  // [nH*hd]
    public var keyBias: [Float] = []    // [nKV*hd]
    public var valueBias: [Float] = []  // [nKV*hd]

    /// Adds the q/k/v biases (when the block has them) to `rows` rows of q, k and v.
    func addAttentionBiases(q: UnsafeMutablePointer<Float>, k: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, rows: Int) {
        for (x, b) in [(q, queryBias), (k, keyBias), (v, valueBias)] where !b.isEmpty {
            let w = b.count
            for r in 0..<rows { for i in 0..<w { x[r * w + i] += b[i] } }
        }
    }

    /// Checks the variant's extra norms and biases (and that a plain block has none).
    func validateExtraNorms(layer i: Int, against c: LlamaConfig, source: String) throws {
        func check(_ name: String, _ v: [Float], _ n: Int) throws {
            if v.count != n { throw ModelFileError.shapeMismatch(file: source, tensor: "layer \(i) \(name)", expected: [n], found: [v.count]) }
        }
        let qk = c.variant.queryKeyNorm ? c.headDim : 0, post = c.variant.postNorms ? c.hiddenSize : 0
        try check("q norm", queryNorm, qk)
        try check("k norm", keyNorm, qk)
        try check("post-attention norm", postAttentionNorm, post)
        try check("post-MLP norm", postMLPNorm, post)
        let bias = c.variant.attentionBias
        try check("q_proj bias", queryBias, bias ? c.queryWidth : 0)
        try check("k_proj bias", keyBias, bias ? c.kvWidth : 0)
        try check("v_proj bias", valueBias, bias ? c.kvWidth : 0)
    }
}

/// All weights of a Llama model.
public struct LlamaWeights: Sendable {
    public var embedding: Tensor        // [V, D]
    public var layers: [LlamaLayerWeights]
    public var finalNorm: [Float]       // [D]
    /// Separate output projection `[V, D]`; nil when tied to `embedding`.
    public var lmHead: Tensor?

    /// The output projection actually used (the embedding when tied).
    public var outputProjection: Tensor { lmHead ?? embedding }

    /// Checks every shape against `config`; the message names the tensor.
    public func validate(against c: LlamaConfig, source: String) throws {
        func check(_ name: String, _ t: Tensor, _ shape: [Int]) throws {
            if t.shape != shape { throw ModelFileError.shapeMismatch(file: source, tensor: name, expected: shape, found: t.shape) }
        }
        func check(_ name: String, _ v: [Float], _ n: Int) throws {
            if v.count != n { throw ModelFileError.shapeMismatch(file: source, tensor: name, expected: [n], found: [v.count]) }
        }
        let d = c.hiddenSize
        try check("embedding", embedding, [c.vocabSize, d])
        try check("final norm", finalNorm, d)
        if let head = lmHead { try check("lm head", head, [c.vocabSize, d]) }
        guard layers.count == c.layerCount else {
            throw ModelFileError.shapeMismatch(file: source, tensor: "layers", expected: [c.layerCount], found: [layers.count])
        }
        for (i, l) in layers.enumerated() {
            try check("layer \(i) attention norm", l.attentionNorm, d)
            try check("layer \(i) q_proj", l.wq, [c.queryWidth, d])
            try check("layer \(i) k_proj", l.wk, [c.kvWidth, d])
            try check("layer \(i) v_proj", l.wv, [c.kvWidth, d])
            try check("layer \(i) o_proj", l.wo, [d, c.queryWidth])
            try check("layer \(i) mlp norm", l.mlpNorm, d)
            try check("layer \(i) gate_proj", l.gate, [c.intermediateSize, d])
            try check("layer \(i) up_proj", l.up, [c.intermediateSize, d])
            try check("layer \(i) down_proj", l.down, [d, c.intermediateSize])
            try l.validateExtraNorms(layer: i, against: c, source: source)
        }
    }

    /// Random weights for tests, scaled like a trained model (std 0.02, norms near 1).
    public static func random(_ c: LlamaConfig, seed: UInt64) -> LlamaWeights {
        var rng = SeededRandom(seed: seed)
        func matrix(_ rows: Int, _ cols: Int, std: Float = 0.08) -> Tensor {
            Tensor(shape: [rows, cols], data: (0..<(rows * cols)).map { _ in rng.normal() * std })
        }
        func norm(_ n: Int) -> [Float] { (0..<n).map { _ in 1 + 0.1 * rng.normal() } }
        let d = c.hiddenSize
        let layers = (0..<c.layerCount).map { _ in
            var l = LlamaLayerWeights(
                attentionNorm: norm(d), wq: matrix(c.queryWidth, d), wk: matrix(c.kvWidth, d),
                wv: matrix(c.kvWidth, d), wo: matrix(d, c.queryWidth), mlpNorm: norm(d),
                gate: matrix(c.intermediateSize, d), up: matrix(c.intermediateSize, d),
                down: matrix(d, c.intermediateSize))
            // Drawn after the Llama weights, so that a plain config's weights are unchanged.
            if c.variant.queryKeyNorm { l.queryNorm = norm(c.headDim); l.keyNorm = norm(c.headDim) }
            if c.variant.postNorms { l.postAttentionNorm = norm(d); l.postMLPNorm = norm(d) }
            if c.variant.attentionBias {
                l.queryBias = matrix(1, c.queryWidth, std: 0.3).data
                l.keyBias = matrix(1, c.kvWidth, std: 0.3).data
                l.valueBias = matrix(1, c.kvWidth, std: 0.3).data
            }
            return l
        }
        return LlamaWeights(embedding: matrix(c.vocabSize, d, std: 0.1), layers: layers, finalNorm: norm(d),
                            lmHead: c.tieWordEmbeddings ? nil : matrix(c.vocabSize, d))
    }
}
