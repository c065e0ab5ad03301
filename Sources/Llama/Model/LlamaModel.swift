import Foundation
import TensorMath

/// A Llama-family causal language model for inference: embedding, blocks of
/// (RMSNorm, grouped-query attention with RoPE, RMSNorm, SwiGLU MLP), final norm, LM head.
public final class LlamaModel: Sendable {
    public let config: LlamaConfig
    public let weights: LlamaWeights
    let rope: RoPE

    /// Wraps validated weights.
    public init(config: LlamaConfig, weights: LlamaWeights, source: String = "model") throws {
        if let problem = config.validationProblem {
            throw ModelFileError.invalidMetadata(file: source, key: "config", reason: problem)
        }
        try weights.validate(against: config, source: source)
        self.config = config
        self.weights = weights
        self.rope = RoPE(headDim: config.headDim, theta: config.ropeTheta, maxPositions: config.maxPositions)
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
        precondition(!tokens.isEmpty, "next: no tokens")
        precondition(cache.length + tokens.count <= cache.capacity,
                     "KV cache of \(cache.capacity) positions is full")
        let hidden = forwardHidden(tokens, batch: 1, positionsFrom: cache.length, cache: cache)
        let last = Array(hidden.data[((tokens.count - 1) * config.hiddenSize)...])
        return project(Tensor(shape: [1, config.hiddenSize], data: last), rows: 1).data
    }

    /// Final RMSNorm then the LM head.
    private func project(_ hidden: Tensor, rows: Int) -> Tensor {
        let normed = RMSNorm.forward(hidden, weight: weights.finalNorm, eps: config.rmsNormEps)
        return Matmul.linear(normed, weights.outputProjection)
    }

    /// Hidden states `[B * T, D]` after the last block (before the final norm).
    /// With a cache (batch 1), keys and values are appended to it and attention
    /// sees every cached position.
    private func forwardHidden(_ tokens: [Int], batch: Int, positionsFrom start: Int, cache: KVCache?) -> Tensor {
        let c = config
        let n = tokens.count, t = n / batch
        let d = c.hiddenSize, qw = c.queryWidth, kvw = c.kvWidth, inter = c.intermediateSize
        precondition(tokens.allSatisfy { $0 >= 0 && $0 < c.vocabSize }, "token id outside the vocabulary of \(c.vocabSize)")
        var x = Tensor(zeros: [n, d])
        weights.embedding.data.withUnsafeBufferPointer { e in
            x.data.withUnsafeMutableBufferPointer { xp in
                for (i, token) in tokens.enumerated() {
                    (xp.baseAddress! + i * d).update(from: e.baseAddress! + token * d, count: d)
                }
            }
        }
        let positions = (0..<n).map { Int32(start + $0 % t) }
        let shape = AttentionShape(batch: batch, queries: t, keys: start + t, heads: c.headCount,
                                   kvHeads: c.kvHeadCount, headDim: c.headDim)
        let scratch = Scratch(sizes: [n * d, n * qw, n * kvw, n * kvw, n * qw, n * inter, n * inter])
        defer { scratch.free() }
        let (h, q, k, v, attn, g, u) = (scratch[0], scratch[1], scratch[2], scratch[3], scratch[4], scratch[5], scratch[6])
        x.data.withUnsafeMutableBufferPointer { xb in
            let xp = xb.baseAddress!
            positions.withUnsafeBufferPointer { pos in
                for (li, lw) in weights.layers.enumerated() {
                    // Attention sub-block: x += Wo · attention(rope(Wq h), rope(Wk h), Wv h), h = norm(x).
                    lw.attentionNorm.withUnsafeBufferPointer {
                        RMSNorm.forward(xp, weight: $0.baseAddress!, out: h, rows: n, dim: d, eps: c.rmsNormEps)
                    }
                    Self.linear(h, rows: n, lw.wq, out: q)
                    Self.linear(h, rows: n, lw.wk, out: k)
                    Self.linear(h, rows: n, lw.wv, out: v)
                    rope.apply(q, rows: n, heads: c.headCount, positions: pos.baseAddress!)
                    rope.apply(k, rows: n, heads: c.kvHeadCount, positions: pos.baseAddress!)
                    if let cache {
                        cache.keys[li].withUnsafeMutableBufferPointer { kc in
                            cache.values[li].withUnsafeMutableBufferPointer { vc in
                                (kc.baseAddress! + start * kvw).update(from: k, count: n * kvw)
                                (vc.baseAddress! + start * kvw).update(from: v, count: n * kvw)
                                Attention.forward(q: q, k: kc.baseAddress!, v: vc.baseAddress!, out: attn, shape: shape)
                            }
                        }
                    } else {
                        Attention.forward(q: q, k: k, v: v, out: attn, shape: shape)
                    }
                    Self.linear(attn, rows: n, lw.wo, out: xp, accumulate: true)
                    // MLP sub-block: x += Wdown · (silu(Wgate h) * Wup h), h = norm(x).
                    lw.mlpNorm.withUnsafeBufferPointer {
                        RMSNorm.forward(xp, weight: $0.baseAddress!, out: h, rows: n, dim: d, eps: c.rmsNormEps)
                    }
                    Self.linear(h, rows: n, lw.gate, out: g)
                    Self.linear(h, rows: n, lw.up, out: u)
                    Activation.swiGLU(gate: g, up: u, out: g, count: n * inter)
                    Self.linear(g, rows: n, lw.down, out: xp, accumulate: true)
                }
            }
        }
        cache?.length = start + t
        return x
    }

    /// `out[rows, out] (+)= input[rows, in] · W[out, in]^T`.
    static func linear(_ input: UnsafePointer<Float>, rows: Int, _ w: Tensor,
                       out: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        let (outF, inF) = (w.shape[0], w.shape[1])
        w.data.withUnsafeBufferPointer { wp in
            Matmul.gemm(transA: false, transB: true, m: rows, n: outF, k: inF, a: input, lda: inF,
                        b: wp.baseAddress!, ldb: inF, beta: accumulate ? 1 : 0, c: out, ldc: outF)
        }
    }
}
