import TensorMath

extension TransformerBlock {
    /// Gradient buffers the backward pass works in (reused by every layer). Sizes: n rows,
    /// W = max(H*hd, D, I), r the LoRA rank.
    struct GradientScratch {
        var dA: UnsafeMutablePointer<Float>          // [n, W]
        var dB: UnsafeMutablePointer<Float>          // [n, W]
        var dC: UnsafeMutablePointer<Float>          // [n, W]
        var dq: UnsafeMutablePointer<Float>          // [n, H*hd]
        var dk: UnsafeMutablePointer<Float>          // [n, KV*hd]
        var dv: UnsafeMutablePointer<Float>          // [n, KV*hd]
        var t: UnsafeMutablePointer<Float>           // [n, r]
        var loraScratch: UnsafeMutablePointer<Float> // [n, W]
    }

    /// The backward pass of `forward` (which saved `a` over the rows' own sequences, `shape`):
    /// `dx [n, D]` holds the gradient of the block's output on entry and that of its input on
    /// return; the adapter's parameter gradients are added into `grads` (same layout as its
    /// values). With `inputGradient: false` (the first block, whose input is the frozen
    /// embedding) only the adapter gradients are computed and `dx` is left as it is.
    func backward(_ a: BlockActivations, dx: UnsafeMutablePointer<Float>, rows n: Int, positions: UnsafePointer<Int32>,
                  shape: AttentionShape, adapter: Adapter, grads: UnsafeMutablePointer<Float>, scratch g: GradientScratch,
                  inputGradient: Bool) {
        let c = model.config, v = c.variant, lw = model.stored.layers[layer]
        let d = c.hiddenSize, qw = c.queryWidth, kvw = c.kvWidth, inter = c.intermediateSize
        let (dA, dB, dC, dq, dk, dv) = (g.dA, g.dB, g.dC, g.dq, g.dk, g.dv)

        func linearBackward(_ target: LoRATarget, input: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                            dInput: UnsafeMutablePointer<Float>, accumulate: Bool, inputGradient: Bool = true) {
            let slot = adapter.adapter.slot(layer: layer, target: target)
            guard slot != nil || inputGradient else { return }
            let saved = a.lora[target]
            LoRALinear.backward(dOut: dOut, loraInput: saved?.input.map { UnsafePointer($0) } ?? input, n: n, base: model,
                                weight: .layer(layer, target), slot: slot, scale: adapter.scale, params: adapter.params,
                                grads: grads, u: saved.map { UnsafePointer($0.u) }, dInput: dInput, accumulate: accumulate,
                                t: g.t, dropoutMask: saved?.mask.map { UnsafePointer($0) }, loraScratch: g.loraScratch,
                                inputGradient: inputGradient)
        }
        // dx (+)= the gradient through norm `weight` of `x` (1/rms saved) given `dy`.
        func normBackward(_ weight: [Float], x: UnsafePointer<Float>, inverseRMS: UnsafeMutablePointer<Float>?,
                          dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, rows: Int, dim: Int) {
            guard let inverseRMS else { preconditionFailure("backward of a forward that did not save its norms") }
            weight.withUnsafeBufferPointer {
                RMSNorm.backward(x: x, weight: $0.baseAddress!, inverseRMS: inverseRMS, dy: dy, dx: dx, rows: rows, dim: dim)
            }
        }

        // A sub-block's output `x + [postNorm](W · input)` (`normInput` = W · input, saved for
        // the post-norm): writes the gradient of `input` into dA, through `scratch` for the post-norm.
        func outputBackward(_ target: LoRATarget, input: UnsafePointer<Float>, postNorm weight: [Float],
                            normInput: UnsafeMutablePointer<Float>?, inverseRMS: UnsafeMutablePointer<Float>?,
                            scratch: UnsafeMutablePointer<Float>) {
            guard v.postNorms else {
                linearBackward(target, input: input, dOut: dx, dInput: dA, accumulate: false)
                return
            }
            guard let normInput else { preconditionFailure("backward of a forward that did not save its post-norms") }
            scratch.initialize(repeating: 0, count: n * d)
            normBackward(weight, x: normInput, inverseRMS: inverseRMS, dy: dx, dx: scratch, rows: n, dim: d)
            linearBackward(target, input: input, dOut: scratch, dInput: dA, accumulate: false)
        }

        // MLP: out = xMid + [postNorm](down(act(gate(h2), up(h2)))); dx flows to xMid unchanged.
        outputBackward(.down, input: a.act, postNorm: lw.postMLPNorm, normInput: a.downOut, inverseRMS: a.invPostM, scratch: dB)
        switch v.activation {
        case .silu: Activation.swiGLUBackward(gate: a.gate, up: a.up, dOut: dA, dGate: dB, dUp: dC, count: n * inter)
        case .geluTanh: GELU.geGLUBackward(gate: a.gate, up: a.up, dOut: dA, dGate: dB, dUp: dC, count: n * inter)
        }
        linearBackward(.gate, input: a.h2, dOut: dB, dInput: dA, accumulate: false)
        linearBackward(.up, input: a.h2, dOut: dC, dInput: dA, accumulate: true)
        normBackward(lw.mlpNorm, x: a.xMid, inverseRMS: a.inv2, dy: dA, dx: dx, rows: n, dim: d)

        // Attention: xMid = xIn + [postNorm](o(attention(rope([norm](q(h1))), rope([norm](k(h1))), v(h1)))).
        outputBackward(.o, input: a.attn, postNorm: lw.postAttentionNorm, normInput: a.oOut, inverseRMS: a.invPostA, scratch: dC)
        guard let probs = a.probs else { preconditionFailure("backward of a forward that did not save its attention") }
        dq.initialize(repeating: 0, count: n * qw)
        dk.initialize(repeating: 0, count: n * kvw)
        dv.initialize(repeating: 0, count: n * kvw)
        Attention.backward(q: a.q, k: a.k, v: a.v, probabilities: probs, dOut: dA, dq: dq, dk: dk, dv: dv,
                           shape: shape, scale: v.attentionScale)
        let rope = model.rope(layer: layer)
        rope.apply(dq, rows: n, heads: c.headCount, positions: positions, inverse: true)
        rope.apply(dk, rows: n, heads: c.kvHeadCount, positions: positions, inverse: true)
        if v.queryKeyNorm {
            guard let qPre = a.qPre, let kPre = a.kPre else { preconditionFailure("backward of a forward that did not save its q/k norms") }
            // Through each head's norm, via dA (free again) back into dq / dk.
            for (grad, pre, inv, heads, weight) in [(dq, qPre, a.invQ, c.headCount, lw.queryNorm),
                                                    (dk, kPre, a.invK, c.kvHeadCount, lw.keyNorm)] {
                dA.initialize(repeating: 0, count: n * heads * c.headDim)
                normBackward(weight, x: pre, inverseRMS: inv, dy: grad, dx: dA, rows: n * heads, dim: c.headDim)
                grad.update(from: dA, count: n * heads * c.headDim)
            }
        }
        linearBackward(.q, input: a.h1, dOut: dq, dInput: dB, accumulate: false, inputGradient: inputGradient)
        linearBackward(.k, input: a.h1, dOut: dk, dInput: dB, accumulate: true, inputGradient: inputGradient)
        linearBackward(.v, input: a.h1, dOut: dv, dInput: dB, accumulate: true, inputGradient: inputGradient)
        if inputGradient {
            normBackward(lw.attentionNorm, x: a.xIn, inverseRMS: a.inv1, dy: dB, dx: dx, rows: n, dim: d)
        }
    }
}
