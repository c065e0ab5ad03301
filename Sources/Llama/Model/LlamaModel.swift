import Foundation
import TensorMath

/// A causal language model of any supported family for inference: embedding, decoder blocks
/// (`TransformerBlock`: RMSNorm, grouped-query attention with RoPE, RMSNorm, gated MLP), final
/// norm, LM head. `config.variant` switches the block to another family's (Gemma 3: scaled
/// embedding, q/k norms, post-norms, GeGLU, sliding-window local layers with their own RoPE base).
///
/// With the packed kernel (`FrozenGemm.packed`, the default) the blocks' projection matrices
/// are packed at construction for both product forms and kept only in that form; `weights`
/// then rebuilds them on each access.
public final class LlamaModel: Sendable {
    public let config: LlamaConfig
    /// The kernel for products with the frozen weights (`FEDPILOT_GEMM=blas` selects OpenBLAS).
    public let frozenGemm: FrozenGemm
    /// Norms, embedding and LM head; with `.packed`, the blocks' projection matrices are empty
    /// here and live in `packedLayers`.
    let stored: LlamaWeights
    /// `.packed`: each block's projections, indexed by `LoRATarget.allCases` order.
    let packedLayers: [[PackedMatrix]]?
    /// `.int8`: the frozen weights kept in quantized blocks (no F32 copy); `stored` then holds
    /// only the norms.
    let quantized: QuantizedWeights?
    /// Packed copies of the LM head, built on first use and shared by all users.
    let packedWeights = PackedWeightStore()
    let rope: RoPE
    /// RoPE of the sliding-window layers when their base differs (`BlockVariant.localRoPETheta`).
    let localRoPE: RoPE?

    /// All weights in row-major form. With the packed kernel the blocks' projections are
    /// rebuilt from their packed copy (bit-exact) on every access, a full copy: read it once.
    public var weights: LlamaWeights {
        if let quantized { return quantized.dequantized(norms: stored) }
        guard let packedLayers else { return stored }
        var w = stored
        for (i, packs) in packedLayers.enumerated() {
            for (t, target) in LoRATarget.allCases.enumerated() {
                let m = packs[t].unpacked()
                switch target {
                case .q: w.layers[i].wq = m
                case .k: w.layers[i].wk = m
                case .v: w.layers[i].wv = m
                case .o: w.layers[i].wo = m
                case .gate: w.layers[i].gate = m
                case .up: w.layers[i].up = m
                case .down: w.layers[i].down = m
                }
            }
        }
        return w
    }

    /// Wraps validated weights. With `gemm: .packed` the blocks' projections are packed here.
    public init(config: LlamaConfig, weights: LlamaWeights, source: String = "model",
                gemm: FrozenGemm = .fromEnvironment) throws {
        if let problem = config.validationProblem {
            throw ModelFileError.invalidMetadata(file: source, key: "config", reason: problem)
        }
        precondition(gemm != .int8, "LlamaModel: int8 compute needs quantized weights (init(config:norms:quantized:))")
        try weights.validate(against: config, source: source)
        self.config = config
        self.frozenGemm = gemm
        self.quantized = nil
        if gemm == .packed {
            var kept = weights
            let empty = Tensor(zeros: [0, 0])
            packedLayers = weights.layers.map { l in
                [l.wq, l.wk, l.wv, l.wo, l.gate, l.up, l.down].map { PackedMatrix($0, forms: .both) }
            }
            for i in kept.layers.indices {
                kept.layers[i].wq = empty; kept.layers[i].wk = empty; kept.layers[i].wv = empty
                kept.layers[i].wo = empty; kept.layers[i].gate = empty; kept.layers[i].up = empty
                kept.layers[i].down = empty
            }
            stored = kept
        } else {
            packedLayers = nil
            stored = weights
        }
        self.rope = RoPE(headDim: config.headDim, theta: config.ropeTheta, maxPositions: config.maxPositions)
        self.localRoPE = Self.localRoPE(config)
    }

    private static func localRoPE(_ c: LlamaConfig) -> RoPE? {
        guard c.variant.slidingWindow != nil, let theta = c.variant.localRoPETheta, theta != c.ropeTheta else { return nil }
        return RoPE(headDim: c.headDim, theta: theta, maxPositions: c.maxPositions)
    }

    /// The RoPE of layer `i`: the local one for a sliding-window layer that has its own base.
    func rope(layer i: Int) -> RoPE {
        if config.variant.isLocal(layer: i), let localRoPE { return localRoPE }
        return rope
    }

    /// The sliding window of layer `i`, nil for a global layer.
    func window(layer i: Int) -> Int? {
        config.variant.isLocal(layer: i) ? config.variant.slidingWindow : nil
    }

    /// Wraps frozen weights kept in quantized blocks (`FrozenGemm.int8`); `norms` supplies the
    /// norm vectors (its matrices are ignored and may be empty).
    public init(config: LlamaConfig, norms: LlamaWeights, quantized: QuantizedWeights, source: String = "model") throws {
        if let problem = config.validationProblem {
            throw ModelFileError.invalidMetadata(file: source, key: "config", reason: problem)
        }
        try quantized.validate(against: config, source: source)
        try norms.validateNorms(against: config, source: source)
        self.config = config
        self.frozenGemm = .int8
        self.quantized = quantized
        var kept = norms
        let empty = Tensor(zeros: [0, 0])
        kept.embedding = empty
        kept.lmHead = nil
        for i in kept.layers.indices {
            kept.layers[i].wq = empty; kept.layers[i].wk = empty; kept.layers[i].wv = empty
            kept.layers[i].wo = empty; kept.layers[i].gate = empty; kept.layers[i].up = empty
            kept.layers[i].down = empty
        }
        stored = kept
        packedLayers = nil
        self.rope = RoPE(headDim: config.headDim, theta: config.ropeTheta, maxPositions: config.maxPositions)
        self.localRoPE = Self.localRoPE(config)
    }

    /// Copies the embedding rows of `tokens` into `x` (`tokens.count × hiddenSize` floats),
    /// dequantizing them when the embedding is kept quantized.
    func embed(_ tokens: [Int], into x: UnsafeMutablePointer<Float>) {
        let d = config.hiddenSize
        if let q = quantized {
            for (i, token) in tokens.enumerated() { q.embedding.dequantizeRow(token, into: x + i * d) }
            return
        }
        stored.embedding.data.withUnsafeBufferPointer { e in
            for (i, token) in tokens.enumerated() { (x + i * d).update(from: e.baseAddress! + token * d, count: d) }
        }
    }

    /// `embed` then, for a variant that scales its embedding, × √hidden (transformers:
    /// `embedding * torch.tensor(hidden ** 0.5)` in the weights' dtype, float32): the blocks' input.
    func embedScaled(_ tokens: [Int], into x: UnsafeMutablePointer<Float>) {
        embed(tokens, into: x)
        guard config.variant.scalesEmbedding else { return }
        let scale = Float(Double(config.hiddenSize).squareRoot())
        for i in 0..<(tokens.count * config.hiddenSize) { x[i] *= scale }
    }

    /// Logits `[positions.count, V]` of one sequence at the given positions only (row `j`
    /// predicts the token after `positions[j]`): the LM head runs on those rows alone, which
    /// matters with a 262k vocabulary.
    public func logits(_ tokens: [Int], at positions: [Int]) -> Tensor {
        selectedLogits(tokens, at: positions, adapter: nil)
    }

    /// `logits(_:at:)` with `adapter` applied unmerged when given (its layout checked by the caller).
    func selectedLogits(_ tokens: [Int], at positions: [Int], adapter: LoRAAdapter?) -> Tensor {
        precondition(positions.allSatisfy { $0 >= 0 && $0 < tokens.count }, "logits: position outside the sequence")
        let hidden = forwardHidden(tokens, batch: 1, positionsFrom: 0, cache: nil, adapter: adapter)
        let d = config.hiddenSize
        var rows = Tensor(zeros: [positions.count, d])
        for (j, p) in positions.enumerated() {
            for i in 0..<d { rows.data[j * d + i] = hidden.data[p * d + i] }
        }
        return project(rows, rows: positions.count)
    }

    /// Logits for every position of `batch` sequences of equal length `T`:
    /// a `[B * T, V]` tensor, row `b * T + t` predicting the token after `t`.
    public func logits(_ tokens: [[Int]]) -> Tensor {
        let t = tokens.first?.count ?? 0
        precondition(tokens.allSatisfy { $0.count == t }, "logits: sequences must have equal length (pad them)")
        let flat = tokens.flatMap { $0 }
        let hidden = forwardHidden(flat, batch: tokens.count, positionsFrom: 0, cache: nil)
        return project(hidden, rows: flat.count)
    }

    /// Logits as `logits(_:)` for the model with `adapter` applied, computed unmerged
    /// (`x Wᵀ + scale (x Aᵀ) Bᵀ` per adapted layer) over the shared frozen weights: the same
    /// function as `merged(with: adapter).logits(_:)` up to float rounding, without a copy of
    /// the weights.
    public func logits(_ tokens: [[Int]], adapter: LoRAAdapter) throws -> Tensor {
        try checkLayout(adapter)
        let t = tokens.first?.count ?? 0
        precondition(tokens.allSatisfy { $0.count == t }, "logits: sequences must have equal length (pad them)")
        let flat = tokens.flatMap { $0 }
        let hidden = forwardHidden(flat, batch: tokens.count, positionsFrom: 0, cache: nil, adapter: adapter)
        return project(hidden, rows: flat.count)
    }

    /// Mean next-token cross-entropy over the positions with a target (`targets[b * T + t]`,
    /// negative for none), with `adapter` applied unmerged when given. Logits are computed only
    /// for positions that have a target. Nil when no position has one.
    public func meanLoss(_ tokens: [[Int]], targets: [Int], adapter: LoRAAdapter? = nil) throws -> Double? {
        let losses = try positionLosses(tokens, targets: targets, adapter: adapter)
        var total: Double = 0, counted = 0
        for (i, t) in targets.enumerated() where t >= 0 { total += losses[i]; counted += 1 }
        return counted == 0 ? nil : total / Double(counted)
    }

    /// Next-token cross-entropy at every flat position (`b * T + t`) that has a target, NaN at
    /// the others: `meanLoss` position by position, from one forward pass. Logits are computed
    /// only for positions that have a target.
    public func positionLosses(_ tokens: [[Int]], targets: [Int], adapter: LoRAAdapter? = nil) throws -> [Double] {
        if let adapter { try checkLayout(adapter) }
        let t = tokens.first?.count ?? 0
        precondition(tokens.allSatisfy { $0.count == t }, "positionLosses: sequences must have equal length (pad them)")
        let flat = tokens.flatMap { $0 }
        precondition(targets.count == flat.count, "positionLosses: \(targets.count) targets for \(flat.count) positions")
        var out = [Double](repeating: .nan, count: flat.count)
        let kept = targets.indices.filter { targets[$0] >= 0 }
        guard !kept.isEmpty else { return out }
        let hidden = forwardHidden(flat, batch: tokens.count, positionsFrom: 0, cache: nil, adapter: adapter)
        // The kept rows in chunks (`logitChunk`): 128 rows of a 49k vocabulary hold 25 MB of
        // logits where all 512 rows of a 4 x 128 batch held 100 MB. Each row's logits are the
        // same whatever the chunk (the products compute rows independently).
        let d = config.hiddenSize, vocab = config.vocabSize
        let chunk = Self.logitChunk(vocab: vocab)
        hidden.data.withUnsafeBufferPointer { h in
            for start in stride(from: 0, to: kept.count, by: chunk) {
                let part = kept[start..<min(start + chunk, kept.count)]
                var rows = Tensor(zeros: [part.count, d])
                rows.data.withUnsafeMutableBufferPointer { r in
                    for (j, i) in part.enumerated() { (r.baseAddress! + j * d).update(from: h.baseAddress! + i * d, count: d) }
                }
                let logits = project(rows, rows: part.count), indices = Array(part)
                logits.data.withUnsafeBufferPointer { l in
                    out.withUnsafeMutableBufferPointer { o in
                        ComputeThreads.parallelFor(indices.count) { j in
                            let i = indices[j]
                            o[i] = CrossEntropy.rowLoss(l.baseAddress! + j * vocab, vocab: vocab, target: targets[i])
                        }
                    }
                }
            }
        }
        return out
    }

    /// Mean next-token cross-entropy of one sequence, as Hugging Face computes
    /// it with `labels = input_ids`. Nil for sequences shorter than 2.
    public func loss(_ tokens: [Int]) -> Double? {
        guard tokens.count >= 2 else { return nil }
        let l = logits([tokens])
        let targets = Array(tokens.dropFirst()) + [-1]
        return l.data.withUnsafeBufferPointer {
            CrossEntropy.mean(logits: $0.baseAddress!, vocab: config.vocabSize, targets: targets)
        }
    }

    /// Feeds `tokens` after the cached positions and returns the logits `[V]` of the last one.
    public func next(_ tokens: [Int], cache: KVCache) -> [Float] {
        nextLogits(tokens, cache: cache, adapter: nil)
    }

    /// `next(_:cache:)` for the model with `adapter` applied unmerged over the shared frozen
    /// weights: no merged copy of the model for a few generated tokens. The cache must have
    /// been filled with the same adapter.
    public func next(_ tokens: [Int], cache: KVCache, adapter: LoRAAdapter) throws -> [Float] {
        try checkLayout(adapter)
        return nextLogits(tokens, cache: cache, adapter: adapter)
    }

    private func nextLogits(_ tokens: [Int], cache: KVCache, adapter: LoRAAdapter?) -> [Float] {
        precondition(!tokens.isEmpty, "next: no tokens")
        precondition(cache.length + tokens.count <= cache.capacity,
                     "KV cache of \(cache.capacity) positions is full")
        let hidden = forwardHidden(tokens, batch: 1, positionsFrom: cache.length, cache: cache, adapter: adapter)
        let last = Array(hidden.data[((tokens.count - 1) * config.hiddenSize)...])
        return project(Tensor(shape: [1, config.hiddenSize], data: last), rows: 1).data
    }

    /// At most this many floats of logits at once where a pass needs many rows of them (64 MB,
    /// so that a 262k vocabulary does not hold every row) ...
    public static let logitChunkFloats = 1 << 24
    /// ... and at most this many rows (25 MB for a 49k vocabulary): more rows per chunk read the
    /// head's weights fewer times but hold more logits.
    public static let logitChunkRows = 128

    /// Rows of logits computed at once for a vocabulary of `vocab` (at least one).
    static func logitChunk(vocab: Int, floats: Int = logitChunkFloats) -> Int {
        max(1, min(logitChunkRows, floats / max(1, vocab)))
    }

    /// Final RMSNorm then the LM head.
    func project(_ hidden: Tensor, rows: Int) -> Tensor {
        let normed = RMSNorm.forward(hidden, weight: stored.finalNorm, eps: config.rmsNormEps)
        var out = Tensor(zeros: [rows, config.vocabSize])
        normed.data.withUnsafeBufferPointer { x in
            out.data.withUnsafeMutableBufferPointer { o in
                frozenForward(.head, x.baseAddress!, rows: rows, out: o.baseAddress!)
            }
        }
        return out
    }

    /// Hidden states `[B * T, D]` after the last block (before the final norm): the blocks'
    /// forward pass without saving (every layer writes the same scratch buffers, and the
    /// residual stream runs in place).
    /// With a cache (batch 1), keys and values are appended to it and attention
    /// sees every cached position. With an adapter, each adapted layer adds its
    /// low-rank term to the frozen product. With `branches` (and a cache holding a prefix of
    /// `start` positions), the tokens are short continuations of that prefix side by side:
    /// each attends to the prefix and its own branch, and the cache is left as it was.
    func forwardHidden(_ tokens: [Int], batch: Int, positionsFrom start: Int, cache: KVCache?,
                       adapter: LoRAAdapter? = nil, branches: BranchLayout? = nil) -> Tensor {
        let c = config
        let n = tokens.count, t = n / batch
        let d = c.hiddenSize, qw = c.queryWidth, kvw = c.kvWidth, inter = c.intermediateSize
        precondition(tokens.allSatisfy { $0 >= 0 && $0 < c.vocabSize }, "token id outside the vocabulary of \(c.vocabSize)")
        var x = Tensor(zeros: [n, d])
        x.data.withUnsafeMutableBufferPointer { embedScaled(tokens, into: $0.baseAddress!) }
        precondition(branches == nil || (cache != nil && batch == 1 && branches!.rows == n), "branches need a prefix cache and one row per token")
        precondition(branches == nil || (c.variant.slidingWindow == nil && c.variant.attentionScale == nil),
                     "branch attention supports neither sliding windows nor a custom attention scale")
        let positions = branches.map { $0.offsetOfRow.map { Int32(start + $0) } } ?? (0..<n).map { Int32(start + $0 % t) }
        let shape = AttentionShape(batch: batch, queries: t, keys: start + t, heads: c.headCount,
                                   kvHeads: c.kvHeadCount, headDim: c.headDim)
        let keys: TransformerBlock.Keys
        if let cache, let branches { keys = .branches(cache, start: start, branches) }
        else if let cache { keys = .cache(cache, start: start, shape) }
        else { keys = .sequence(shape) }
        let rank = adapter?.config.rank ?? 0
        let buffers = Scratch(sizes: [n * d, n * qw, n * kvw, n * kvw, n * qw, n * inter, n * inter, n * rank], zeroed: false)
        defer { buffers.free() }
        let h = buffers[0]
        var rng = SeededRandom(seed: 0)   // no dropout in inference: never drawn
        x.data.withUnsafeMutableBufferPointer { xb in
            let xp = xb.baseAddress!
            // One scratch set for every layer: h serves as both norms' output and the
            // post-norms' input and output; the activation overwrites the gate.
            var a = BlockActivations(xIn: xp, h1: h, q: buffers[1], k: buffers[2], v: buffers[3], attn: buffers[4],
                                     xMid: xp, h2: h, gate: buffers[5], up: buffers[6], act: buffers[5])
            if c.variant.postNorms { (a.oOut, a.downOut) = (h, h) }
            let scratch = BlockScratch(normed: h, loraU: buffers[7])
            let values = adapter?.values ?? []
            values.withUnsafeBufferPointer { p in
                let lora = adapter.map { TransformerBlock.Adapter(adapter: $0, params: p.baseAddress!, scale: $0.config.scale) }
                positions.withUnsafeBufferPointer { pos in
                    for layer in 0..<c.layerCount {
                        TransformerBlock(model: self, layer: layer)
                            .forward(a, out: xp, rows: n, positions: pos.baseAddress!, keys: keys, adapter: lora,
                                     scratch: scratch, rng: &rng)
                    }
                }
            }
        }
        if branches == nil { cache?.length = start + t }
        return x
    }
}
