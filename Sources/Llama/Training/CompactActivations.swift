import TensorMath

/// How a training step keeps each layer's activations (`BlockActivations`) for the backward pass.
public enum SavedActivations: String, Sendable, CaseIterable {
    /// Every field in F32 as the forward pass wrote it: the backward pass sees exactly the
    /// forward's values.
    case f32
    /// About a third of the memory (`CompactLayer`): the large tensors the backward pass cannot
    /// rebuild cheaply in bfloat16 (but q and k in F32), the cheap ones (norm outputs, attention
    /// probabilities and output, the gated activation) recomputed from them layer by layer
    /// during the backward pass. The forward pass and the loss are unchanged; the gradient
    /// carries bfloat16 rounding (`TrainingMemoryTests`, `LoRAGradientTests`).
    case bf16

    /// The default for a model: bf16 with the int8 products (which already trade exactness
    /// for speed and memory), f32 otherwise.
    public static func defaultFor(_ model: LlamaModel) -> SavedActivations {
        model.frozenGemm == .int8 ? .bf16 : .f32
    }
}

extension BlockActivations {
    /// The fields `CompactLayer` stores in bfloat16 with their float counts (nil where this
    /// block has no such field): the block input, v, the residual after attention, gate and up,
    /// and Gemma's pre-norm values.
    func compactFields(rows n: Int, _ c: LlamaConfig) -> [(UnsafeMutablePointer<Float>?, Int)] {
        let d = c.hiddenSize, qw = c.queryWidth, kvw = c.kvWidth, inter = c.intermediateSize
        return [(xIn, n * d), (v, n * kvw), (xMid, n * d), (gate, n * inter), (up, n * inter),
                (qPre, n * qw), (kPre, n * kvw), (oOut, n * d), (downOut, n * d)]
    }

    /// The fields `CompactLayer` keeps in F32: q and k as attention saw them (the attention
    /// probabilities are recomputed from them: with q and k in bfloat16 the real model's worst
    /// gradient tensor was 3.2% off PEFT's, with them in F32 1.4%), the saved
    /// 1/rms values and the adapter's products (with dropout, its masked inputs and masks too).
    func exactFields(rows n: Int, _ c: LlamaConfig, lora config: LoRAConfig) -> [(UnsafeMutablePointer<Float>?, Int)] {
        var fields: [(UnsafeMutablePointer<Float>?, Int)] = [(q, n * c.queryWidth), (k, n * c.kvWidth), (inv1, n), (inv2, n), (invQ, n * c.headCount),
                                                            (invK, n * c.kvHeadCount), (invPostA, n), (invPostM, n)]
        for target in config.targets {
            let width = target.dimensions(c).input
            fields += [(lora[target]?.u, n * config.rank), (lora[target]?.input, n * width), (lora[target]?.mask, n * width)]
        }
        return fields
    }
}

/// One layer's activations between the forward and the backward pass of a `.bf16` training
/// step. The forward pass of every layer runs in one F32 `BlockActivations` (the working set);
/// `save` then copies what the backward pass needs out of it, and `restore` plus
/// `TransformerBlock.recompute` rebuild the working set before that layer's backward pass.
struct CompactLayer {
    /// bfloat16 storage, `compactFields` one after another.
    let halves: UnsafeMutableRawPointer
    /// F32 storage, `exactFields` one after another.
    let exact: UnsafeMutablePointer<Float>

    /// Floats of workspace one layer takes (its 16-bit half rounded up to whole floats).
    static func floats(working a: BlockActivations, rows n: Int, _ c: LlamaConfig, lora: LoRAConfig) -> (halves: Int, exact: Int) {
        let halves = a.compactFields(rows: n, c).reduce(0) { $0 + ($1.0 == nil ? 0 : $1.1) }
        let exact = a.exactFields(rows: n, c, lora: lora).reduce(0) { $0 + ($1.0 == nil ? 0 : $1.1) }
        return ((halves + 1) / 2, exact)
    }

    /// Copies the working set's kept fields into this layer's storage.
    func save(from a: BlockActivations, rows n: Int, _ c: LlamaConfig, lora: LoRAConfig) {
        var at = halves
        for case let (field?, count) in a.compactFields(rows: n, c) {
            BFloat16.store(field, into: at, count: count)
            at += 2 * count
        }
        var e = exact
        for case let (field?, count) in a.exactFields(rows: n, c, lora: lora) {
            e.update(from: field, count: count)
            e += count
        }
    }

    /// Writes this layer's kept fields back into the working set (the recomputed ones are left
    /// to `TransformerBlock.recompute`).
    func restore(into a: BlockActivations, rows n: Int, _ c: LlamaConfig, lora: LoRAConfig) {
        var at = UnsafeRawPointer(halves)
        for case let (field?, count) in a.compactFields(rows: n, c) {
            BFloat16.load(at, into: field, count: count)
            at += 2 * count
        }
        var e = UnsafePointer(exact)
        for case let (field?, count) in a.exactFields(rows: n, c, lora: lora) {
            field.update(from: e, count: count)
            e += count
        }
    }
}

extension TransformerBlock {
    /// Rebuilds the fields of `a` that `CompactLayer` does not keep, from the restored ones, as
    /// `forward` computed them: the attention norm's output (and 1/rms) from `xIn`, the
    /// attention probabilities and output from q/k/v, the MLP norm's output (and 1/rms) from
    /// `xMid`, and the gated activation from gate and up.
    func recompute(_ a: BlockActivations, rows n: Int, shape: AttentionShape) {
        let c = model.config, v = c.variant, lw = model.stored.layers[layer]
        let d = c.hiddenSize
        func norm(_ weight: [Float], _ x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                  inverseRMS: UnsafeMutablePointer<Float>?) {
            weight.withUnsafeBufferPointer {
                RMSNorm.forward(x, weight: $0.baseAddress!, out: out, rows: n, dim: d, eps: c.rmsNormEps, inverseRMS: inverseRMS)
            }
        }
        norm(lw.attentionNorm, a.xIn, out: a.h1, inverseRMS: a.inv1)
        Attention.forward(q: a.q, k: a.k, v: a.v, out: a.attn, shape: shape, probabilities: a.probs,
                          scale: v.attentionScale, window: model.window(layer: layer))
        norm(lw.mlpNorm, a.xMid, out: a.h2, inverseRMS: a.inv2)
        switch v.activation {
        case .silu: Activation.swiGLU(gate: a.gate, up: a.up, out: a.act, count: n * c.intermediateSize)
        case .geluTanh: GELU.geGLU(gate: a.gate, up: a.up, out: a.act, count: n * c.intermediateSize)
        }
    }
}
