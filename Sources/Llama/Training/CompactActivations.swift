import TensorMath

/// How a training step keeps each layer's activations (`BlockActivations`) for the backward pass.
public enum SavedActivations: String, Sendable, CaseIterable {
    /// Every field in F32 as the forward pass wrote it: the backward pass sees exactly the
    /// forward's values.
    case f32
    /// About a third of the memory (`CompactLayer`): the large tensors in bfloat16, the
    /// attention probabilities in IEEE half, the cheap ones (norm outputs, the gated
    /// activation) recomputed from them layer by layer during the backward pass. The forward
    /// pass and the loss are unchanged; the gradient carries the 16-bit rounding
    /// (`TrainingMemoryTests`, `LoRAGradientTests`).
    case bf16

    /// The default for a model: bf16 with the int8 products (which already trade exactness
    /// for speed and memory), f32 otherwise.
    public static func defaultFor(_ model: LlamaModel) -> SavedActivations {
        model.frozenGemm == .int8 ? .bf16 : .f32
    }
}

/// How `CompactLayer` keeps one field.
enum KeptPrecision {
    /// bfloat16: F32's range, 8 bits of precision.
    case bfloat16
    /// IEEE half, only the entries attention reads (`IEEEHalf.storeVisible`): the attention
    /// probabilities, in [0, 1], with 11 bits of precision.
    case visibleProbabilities
    /// F32, exactly as the forward pass wrote it.
    case single
}

extension BlockActivations {
    /// The fields `CompactLayer` keeps, with their float counts and precision (a nil field is
    /// one this block does not have):
    /// - bfloat16: the block input, q, k and v, the attention output, the residual after
    ///   attention, gate and up, and Gemma's pre-norm values. With the probabilities kept, the
    ///   attention backward only multiplies by q and k, so they can be bfloat16 too (the real
    ///   model's worst gradient tensor went from 1.47% to 1.62% off PEFT's, `LoRAGradientTests`;
    ///   when the probabilities were recomputed from bfloat16 q and k it was 3.2%);
    /// - IEEE half: the attention probabilities, only the causally visible blocks. Kept rather
    ///   than recomputed from q, k and v: that attention forward took ~1.3 ms of each layer's
    ///   backward on two cores (SmolLM2, 4 x 128). In bfloat16 they put the worst gradient
    ///   tensor 1.95% off PEFT's;
    /// - F32: the saved 1/rms values and the adapter's products (with dropout, its masked
    ///   inputs and masks too).
    func keptFields(rows n: Int, shape: AttentionShape, _ c: LlamaConfig, lora config: LoRAConfig)
        -> [(field: UnsafeMutablePointer<Float>?, count: Int, precision: KeptPrecision)] {
        let d = c.hiddenSize, qw = c.queryWidth, kvw = c.kvWidth, inter = c.intermediateSize
        let reduced: [(UnsafeMutablePointer<Float>?, Int)] = [
            (xIn, n * d), (q, n * qw), (k, n * kvw), (v, n * kvw), (attn, n * qw), (xMid, n * d), (gate, n * inter), (up, n * inter),
            (qPre, n * qw), (kPre, n * kvw), (oOut, n * d), (downOut, n * d),
        ]
        var exact: [(UnsafeMutablePointer<Float>?, Int)] = [
            (inv1, n), (inv2, n), (invQ, n * c.headCount), (invK, n * c.kvHeadCount),
            (invPostA, n), (invPostM, n),
        ]
        for target in config.targets {
            let width = target.dimensions(c).input
            exact += [(lora[target]?.u, n * config.rank), (lora[target]?.input, n * width), (lora[target]?.mask, n * width)]
        }
        return reduced.map { ($0.0, $0.1, .bfloat16) } + [(probs, shape.visibleProbabilityCount, .visibleProbabilities)]
            + exact.map { ($0.0, $0.1, .single) }
    }
}

/// One layer's activations between the forward and the backward pass of a `.bf16` training
/// step. The forward pass of every layer runs in one F32 `BlockActivations` (the working set);
/// `save` then copies what the backward pass needs out of it, and `restore` plus
/// `TransformerBlock.recompute` rebuild the working set before that layer's backward pass.
struct CompactLayer {
    /// 16-bit storage (bfloat16 and half), those `keptFields` one after another.
    let halves: UnsafeMutableRawPointer
    /// F32 storage, the F32 `keptFields` one after another.
    let exact: UnsafeMutablePointer<Float>

    /// Floats of workspace one layer takes (its 16-bit half rounded up to whole floats).
    static func floats(working a: BlockActivations, rows n: Int, shape: AttentionShape, _ c: LlamaConfig, lora: LoRAConfig) -> (halves: Int, exact: Int) {
        var halves = 0, exact = 0
        for kept in a.keptFields(rows: n, shape: shape, c, lora: lora) where kept.field != nil {
            if kept.precision == .single { exact += kept.count } else { halves += kept.count }
        }
        return ((halves + 1) / 2, exact)
    }

    /// Copies the working set's kept fields into this layer's storage.
    func save(from a: BlockActivations, rows n: Int, shape: AttentionShape, _ c: LlamaConfig, lora: LoRAConfig) {
        var at = halves, e = exact
        for case let (field?, count, precision) in a.keptFields(rows: n, shape: shape, c, lora: lora) {
            switch precision {
            case .bfloat16: BFloat16.store(field, into: at, count: count); at += 2 * count
            case .visibleProbabilities: IEEEHalf.storeVisible(field, shape: shape, into: at); at += 2 * count
            case .single: e.update(from: field, count: count); e += count
            }
        }
    }

    /// Writes this layer's kept fields back into the working set (the recomputed ones are left
    /// to `TransformerBlock.recompute`).
    func restore(into a: BlockActivations, rows n: Int, shape: AttentionShape, _ c: LlamaConfig, lora: LoRAConfig) {
        var at = UnsafeRawPointer(halves), e = UnsafePointer(exact)
        for case let (field?, count, precision) in a.keptFields(rows: n, shape: shape, c, lora: lora) {
            switch precision {
            case .bfloat16: BFloat16.load(at, into: field, count: count); at += 2 * count
            case .visibleProbabilities: IEEEHalf.loadVisible(at, shape: shape, into: field); at += 2 * count
            case .single: field.update(from: e, count: count); e += count
            }
        }
    }
}

extension TransformerBlock {
    /// Rebuilds the fields of `a` that `CompactLayer` does not keep, from the restored ones, as
    /// `forward` computed them: the attention norm's output (and 1/rms) from `xIn`, the MLP
    /// norm's output (and 1/rms) from `xMid`, and the gated activation from gate and up.
    func recompute(_ a: BlockActivations, rows n: Int) {
        let c = model.config, v = c.variant, lw = model.stored.layers[layer]
        let d = c.hiddenSize
        func norm(_ weight: [Float], _ x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
                  inverseRMS: UnsafeMutablePointer<Float>?) {
            weight.withUnsafeBufferPointer {
                RMSNorm.forward(x, weight: $0.baseAddress!, out: out, rows: n, dim: d, eps: c.rmsNormEps, inverseRMS: inverseRMS)
            }
        }
        norm(lw.attentionNorm, a.xIn, out: a.h1, inverseRMS: a.inv1)
        norm(lw.mlpNorm, a.xMid, out: a.h2, inverseRMS: a.inv2)
        switch v.activation {
        case .silu: Activation.swiGLU(gate: a.gate, up: a.up, out: a.act, count: n * c.intermediateSize)
        case .geluTanh: GELU.geGLU(gate: a.gate, up: a.up, out: a.act, count: n * c.intermediateSize)
        }
    }
}
