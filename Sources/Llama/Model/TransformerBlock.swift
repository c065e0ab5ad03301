import TensorMath

/// The one decoder block of every family (`BlockVariant` switches it): attention sub-block
/// `x += [postNorm](Wo · attention(rope([norm](Wq h)), rope([norm](Wk h)), Wv h))`, h = norm(x),
/// then MLP sub-block `x += [postNorm](Wdown · (act(Wgate h) * Wup h))`, h = norm(x).
///
/// `forward` writes what it computes into a `BlockActivations`: training gives each layer its
/// own (kept for `backward`, in TransformerBlock+Backward.swift), inference the same scratch
/// set for every layer. Inference is the same forward without saving.
struct TransformerBlock {
    let model: LlamaModel
    let layer: Int

    /// Where attention finds its keys and values.
    enum Keys {
        /// The rows' own sequences (`shape.keys == shape.queries`).
        case sequence(AttentionShape)
        /// Appended to `cache` at position `start`; attention sees every cached position.
        case cache(KVCache, start: Int, AttentionShape)
        /// Short continuations of the `start` positions held in `cache`, side by side: each
        /// row attends to that prefix and its own branch; the cache is left as it was.
        case branches(KVCache, start: Int, BranchLayout)
    }

    /// An adapter applied unmerged: `out += scale · (input' Aᵀ) Bᵀ` per adapted layer, where
    /// `input'` is the input after dropout (training with `dropout > 0` only).
    struct Adapter {
        let adapter: LoRAAdapter
        let params: UnsafePointer<Float>
        let scale: Float
        var dropout: Float = 0
    }

    /// One forward pass over `n` rows from `a.xIn` into `out` (which may be `a.xIn`: inference
    /// runs the residual stream in place). `rng` draws the dropout masks, in target order.
    func forward(_ a: BlockActivations, out: UnsafeMutablePointer<Float>, rows n: Int, positions: UnsafePointer<Int32>,
                 keys: Keys, adapter: Adapter?, scratch: BlockScratch, rng: inout SeededRandom) {
        let c = model.config, v = c.variant, lw = model.stored.layers[layer]
        let d = c.hiddenSize, kvw = c.kvWidth, inter = c.intermediateSize

        // out (+)= input W^T, plus the adapter's term when the layer is adapted.
        // `quantized`: `input` already quantized for the int8 products (shared by q, k and v, and by gate and up).
        func linear(_ target: LoRATarget, _ input: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, accumulate: Bool = false,
                    quantized: QuantGemm.QuantizedRows? = nil) {
            let slot = adapter?.adapter.slot(layer: layer, target: target)
            guard let adapter, let slot else {
                model.frozenForward(.layer(layer, target), input, rows: n, out: out, accumulate: accumulate, quantized: quantized)
                return
            }
            let saved = a.lora[target]
            var loraInput = input
            if adapter.dropout > 0, let dropped = saved?.input, let mask = saved?.mask {
                let keep = 1 / (1 - adapter.dropout)
                for i in 0..<(n * slot.input) {
                    let m: Float = rng.uniform() < adapter.dropout ? 0 : keep
                    mask[i] = m
                    dropped[i] = input[i] * m
                }
                loraInput = UnsafePointer(dropped)
            }
            LoRALinear.forward(input: input, loraInput: loraInput, n: n, base: model, weight: .layer(layer, target), slot: slot,
                               scale: adapter.scale, params: adapter.params, u: saved?.u ?? scratch.loraU,
                               out: out, accumulate: accumulate, quantized: quantized)
        }
        func norm(_ weight: [Float], _ x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, rows: Int, dim: Int,
                  inverseRMS: UnsafeMutablePointer<Float>?) {
            weight.withUnsafeBufferPointer {
                RMSNorm.forward(x, weight: $0.baseAddress!, out: out, rows: rows, dim: dim, eps: c.rmsNormEps, inverseRMS: inverseRMS)
            }
        }

        // Attention sub-block.
        norm(lw.attentionNorm, a.xIn, out: a.h1, rows: n, dim: d, inverseRMS: a.inv1)
        let qRaw = a.qPre ?? a.q, kRaw = a.kPre ?? a.k
        let h1 = model.quantizedInput(a.h1, rows: n, cols: d)
        linear(.q, a.h1, out: qRaw, quantized: h1)
        linear(.k, a.h1, out: kRaw, quantized: h1)
        linear(.v, a.h1, out: a.v, quantized: h1)
        if v.attentionBias { lw.addAttentionBiases(q: qRaw, k: kRaw, v: a.v, rows: n) }
        if v.queryKeyNorm {
            norm(lw.queryNorm, qRaw, out: a.q, rows: n * c.headCount, dim: c.headDim, inverseRMS: a.invQ)
            norm(lw.keyNorm, kRaw, out: a.k, rows: n * c.kvHeadCount, dim: c.headDim, inverseRMS: a.invK)
        }
        let rope = model.rope(layer: layer), window = model.window(layer: layer)
        rope.apply(a.q, rows: n, heads: c.headCount, positions: positions)
        rope.apply(a.k, rows: n, heads: c.kvHeadCount, positions: positions)
        switch keys {
        case .sequence(let shape):
            Attention.forward(q: a.q, k: a.k, v: a.v, out: a.attn, shape: shape, probabilities: a.probs,
                              scale: v.attentionScale, window: window)
        case .cache(let cache, let start, let shape):
            cache.keys[layer].withUnsafeMutableBufferPointer { kc in
                cache.values[layer].withUnsafeMutableBufferPointer { vc in
                    (kc.baseAddress! + start * kvw).update(from: a.k, count: n * kvw)
                    (vc.baseAddress! + start * kvw).update(from: a.v, count: n * kvw)
                    Attention.forward(q: a.q, k: kc.baseAddress!, v: vc.baseAddress!, out: a.attn, shape: shape,
                                      probabilities: a.probs, scale: v.attentionScale, window: window)
                }
            }
        case .branches(let cache, let start, let layout):
            precondition(a.probs == nil && window == nil && v.attentionScale == nil,
                         "branch attention saves no probabilities and supports neither sliding windows nor a custom scale")
            cache.keys[layer].withUnsafeBufferPointer { kc in
                cache.values[layer].withUnsafeBufferPointer { vc in
                    BranchAttention.forward(q: a.q, k: a.k, v: a.v, prefixK: kc.baseAddress!, prefixV: vc.baseAddress!,
                                            prefixLength: start, layout: layout, heads: c.headCount,
                                            kvHeads: c.kvHeadCount, headDim: c.headDim, out: a.attn)
                }
            }
        }
        if v.postNorms {
            guard let oOut = a.oOut else { preconditionFailure("post-norm block without an o-output buffer") }
            // xMid = xIn + postNorm(Wo · attention).
            linear(.o, a.attn, out: oOut)
            norm(lw.postAttentionNorm, oOut, out: scratch.normed, rows: n, dim: d, inverseRMS: a.invPostA)
            for i in 0..<(n * d) { a.xMid[i] = a.xIn[i] + scratch.normed[i] }
        } else {
            if a.xMid != a.xIn { a.xMid.update(from: a.xIn, count: n * d) }
            linear(.o, a.attn, out: a.xMid, accumulate: true)
        }

        // MLP sub-block.
        norm(lw.mlpNorm, a.xMid, out: a.h2, rows: n, dim: d, inverseRMS: a.inv2)
        let h2 = model.quantizedInput(a.h2, rows: n, cols: d)
        linear(.gate, a.h2, out: a.gate, quantized: h2)
        linear(.up, a.h2, out: a.up, quantized: h2)
        switch v.activation {
        case .silu: Activation.swiGLU(gate: a.gate, up: a.up, out: a.act, count: n * inter)
        case .geluTanh: GELU.geGLU(gate: a.gate, up: a.up, out: a.act, count: n * inter)
        }
        if v.postNorms {
            guard let downOut = a.downOut else { preconditionFailure("post-norm block without a down-output buffer") }
            // out = xMid + postNorm(Wdown · act).
            linear(.down, a.act, out: downOut)
            norm(lw.postMLPNorm, downOut, out: scratch.normed, rows: n, dim: d, inverseRMS: a.invPostM)
            for i in 0..<(n * d) { out[i] = a.xMid[i] + scratch.normed[i] }
        } else {
            if out != a.xMid { out.update(from: a.xMid, count: n * d) }
            linear(.down, a.act, out: out, accumulate: true)
        }
    }
}
