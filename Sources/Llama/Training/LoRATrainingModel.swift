import Foundation
import TensorMath

/// Forward and backward passes of a frozen Llama with LoRA adapters, down to the
/// adapter parameters only: the base weights receive no gradient buffers.
///
/// The backward pass is the forward pass in reverse, block by block. Activations
/// the backward pass needs are kept in one allocation per step (`Activations`).
public final class LoRATrainingModel: Sendable {
    public let base: LlamaModel
    public let config: LoRAConfig
    /// Activation memory kept between steps, so that a step does not fault in fresh pages.
    private let workspaces = WorkspacePool()

    /// Floats of logits computed at once (see `headChunkFloats`).
    let headChunk: Int

    public init(base: LlamaModel, config: LoRAConfig, headChunkFloats: Int = LoRATrainingModel.headChunkFloats) throws {
        if let problem = config.validationProblem(for: base.config) { throw LoRAError.invalidConfig(problem) }
        self.base = base
        self.config = config
        self.headChunk = max(1, headChunkFloats)
    }

    /// Mean next-token loss of `batch` under `adapter`, and its gradient with respect to
    /// every adapter parameter (same layout as `adapter`). `dropoutSeed` drives the
    /// adapter-input dropout when `config.dropout > 0`.
    public func lossAndGradient(_ adapter: LoRAAdapter, batch: TrainingBatch, dropoutSeed: UInt64 = 0) -> (loss: Double, gradient: LoRAAdapter) {
        var grads = LoRAAdapter(zerosLike: adapter)
        let loss = adapter.values.withUnsafeBufferPointer { p in
            grads.values.withUnsafeMutableBufferPointer { g in
                run(adapter: adapter, params: p.baseAddress!, grads: g.baseAddress!, batch: batch, dropoutSeed: dropoutSeed)
            }
        }
        return (loss, grads)
    }

    /// Mean next-token loss without gradients: the adapter applied unmerged over the shared
    /// frozen weights, with logits only for the positions that have a target.
    public func loss(_ adapter: LoRAAdapter, batch: TrainingBatch) throws -> Double {
        let rows = stride(from: 0, to: batch.tokens.count, by: batch.length).map {
            Array(batch.tokens[$0..<($0 + batch.length)])
        }
        return try base.meanLoss(rows, targets: batch.targets, adapter: adapter) ?? 0
    }

    // MARK: - The pass

    /// Rows of logits computed at once: the LM head and its softmax run over chunks of at most
    /// this many floats (64 MB), so that a 262k vocabulary does not hold `B*T` full rows.
    public static let headChunkFloats = 1 << 24

    /// The activations one block saves for its backward pass: offsets (in floats) into the
    /// step's workspace. n = B*T rows, D hidden, H/KV heads of hd, I intermediate.
    private struct LayerActivations {
        var xIn = 0     // [n, D]  block input (residual stream)
        var inv1 = 0    // [n]     1/rms of xIn (attention norm)
        var h1 = 0      // [n, D]  normed xIn, the q/k/v input
        var q = 0       // [n, H*hd]  queries after q-norm and RoPE
        var k = 0       // [n, KV*hd] keys after k-norm and RoPE
        var v = 0       // [n, KV*hd] values
        var probs = 0   // [B, H, T, T] attention probabilities
        var attn = 0    // [n, H*hd]  attention output, the o input
        var xMid = 0    // [n, D]  residual after attention
        var inv2 = 0    // [n]     1/rms of xMid (MLP norm)
        var h2 = 0      // [n, D]  normed xMid, the gate/up input
        var gate = 0    // [n, I]  gate projection
        var up = 0      // [n, I]  up projection
        var act = 0     // [n, I]  act(gate) * up, the down input
        // Gemma switches (unused, 0, for the plain block):
        var qPre = 0, kPre = 0    // [n, H*hd], [n, KV*hd] queries/keys before their per-head norm
        var invQ = 0, invK = 0    // [n*H], [n*KV] 1/rms of each head's query / key
        var oOut = 0, invPostA = 0      // [n, D], [n] o output before the post-attention norm, its 1/rms
        var downOut = 0, invPostM = 0   // [n, D], [n] down output before the post-MLP norm, its 1/rms
        var loraU: [LoRATarget: Int] = [:]
        var loraInput: [LoRATarget: Int] = [:]   // dropped-out inputs, when dropout > 0
        var mask: [LoRATarget: Int] = [:]
    }

    private func run(adapter: LoRAAdapter, params: UnsafePointer<Float>, grads: UnsafeMutablePointer<Float>,
                     batch: TrainingBatch, dropoutSeed: UInt64) -> Double {
        let c = base.config, w = base.stored
        let n = batch.tokens.count, t = batch.length
        let d = c.hiddenSize, qw = c.queryWidth, kvw = c.kvWidth, inter = c.intermediateSize, vocab = c.vocabSize
        let r = config.rank, scale = config.scale, dropout = config.dropout
        let variant = c.variant
        let headChunk = max(1, min(n, self.headChunk / vocab))
        let shape = AttentionShape(batch: batch.rows, queries: t, keys: t, heads: c.headCount, kvHeads: c.kvHeadCount, headDim: c.headDim)
        let probCount = batch.rows * c.headCount * t * t

        // Lay out the saved activations of every layer in one allocation.
        var total = 0
        func take(_ count: Int) -> Int { defer { total += (count + 15) / 16 * 16 }; return total }
        var layers: [LayerActivations] = []
        for _ in 0..<c.layerCount {
            var a = LayerActivations()
            a.xIn = take(n * d); a.inv1 = take(n); a.h1 = take(n * d)
            a.q = take(n * qw); a.k = take(n * kvw); a.v = take(n * kvw); a.probs = take(probCount); a.attn = take(n * qw)
            a.xMid = take(n * d); a.inv2 = take(n); a.h2 = take(n * d)
            a.gate = take(n * inter); a.up = take(n * inter); a.act = take(n * inter)
            if variant.queryKeyNorm {
                a.qPre = take(n * qw); a.kPre = take(n * kvw); a.invQ = take(n * c.headCount); a.invK = take(n * c.kvHeadCount)
            }
            if variant.postNorms {
                a.oOut = take(n * d); a.invPostA = take(n); a.downOut = take(n * d); a.invPostM = take(n)
            }
            for target in config.targets {
                a.loraU[target] = take(n * r)
                if dropout > 0 {
                    let width = target.dimensions(c).input
                    a.loraInput[target] = take(n * width)
                    a.mask[target] = take(n * width)
                }
            }
            layers.append(a)
        }
        let xFinal = take(n * d), invF = take(n), normed = take(n * d)
        // Gradient and scratch buffers (reused by every layer) follow the saved activations.
        let widest = max(qw, d, inter)
        let work = [headChunk * vocab, n * d, n * widest, n * widest, n * widest, n * qw, n * kvw, n * kvw, n * r, n * widest].map(take)
        let workspace = workspaces.checkOut(floats: total)
        defer { workspaces.checkIn(workspace) }
        let s = workspace.base
        let (logits, dx, dA, dB, dC, dq, dk, dv, tBuf, loraScratch) =
            (s + work[0], s + work[1], s + work[2], s + work[3], s + work[4], s + work[5], s + work[6], s + work[7], s + work[8], s + work[9])

        var rng = SeededRandom(seed: dropoutSeed)
        let positions = (0..<n).map { Int32($0 % t) }

        // Adapter input for a target: the layer input, or a dropped-out copy of it.
        func adapterInput(_ a: LayerActivations, _ target: LoRATarget, _ input: UnsafePointer<Float>, width: Int) -> UnsafePointer<Float> {
            guard dropout > 0, let off = a.loraInput[target], let m = a.mask[target] else { return input }
            let keep = 1 / (1 - dropout)
            for i in 0..<(n * width) {
                let mv: Float = rng.uniform() < dropout ? 0 : keep
                s[m + i] = mv
                s[off + i] = input[i] * mv
            }
            return UnsafePointer(s + off)
        }
        func linearForward(_ a: LayerActivations, _ target: LoRATarget, input: UnsafePointer<Float>,
                           layer: Int, out: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
            let slot = adapter.slot(layer: layer, target: target)
            let loraIn = slot == nil ? input : adapterInput(a, target, input, width: target.dimensions(c).input)
            LoRALinear.forward(input: input, loraInput: loraIn, n: n, base: base, weight: .layer(layer, target), slot: slot, scale: scale,
                               params: params, u: a.loraU[target].map { s + $0 }, out: out, accumulate: accumulate)
        }
        func linearBackward(_ a: LayerActivations, _ target: LoRATarget, input: UnsafePointer<Float>,
                            layer: Int, dOut: UnsafePointer<Float>, dInput: UnsafeMutablePointer<Float>, accumulate: Bool,
                            inputGradient: Bool = true) {
            let slot = adapter.slot(layer: layer, target: target)
            guard slot != nil || inputGradient else { return }
            let loraIn = a.loraInput[target].map { UnsafePointer(s + $0) } ?? input
            LoRALinear.backward(dOut: dOut, loraInput: loraIn, n: n, base: base, weight: .layer(layer, target), slot: slot, scale: scale,
                                params: params, grads: grads, u: a.loraU[target].map { UnsafePointer(s + $0) },
                                dInput: dInput, accumulate: accumulate, t: tBuf,
                                dropoutMask: a.mask[target].map { UnsafePointer(s + $0) }, loraScratch: loraScratch,
                                inputGradient: inputGradient)
        }

        // Forward. The residual stream lives in each layer's xIn / xMid slot.
        base.embed(batch.tokens, into: s + layers[0].xIn)
        if variant.scalesEmbedding {
            let embedScale = Float(Double(d).squareRoot())
            for i in 0..<(n * d) { s[layers[0].xIn + i] *= embedScale }
        }
        // out = x + postNorm(y) (saving its 1/rms), with dA as scratch: the Gemma post-norms.
        func addPostNorm(_ y: Int, _ weight: [Float], inverseRMS: Int, x: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
            weight.withUnsafeBufferPointer {
                RMSNorm.forward(s + y, weight: $0.baseAddress!, out: dA, rows: n, dim: d, eps: c.rmsNormEps, inverseRMS: s + inverseRMS)
            }
            for i in 0..<(n * d) { out[i] = x[i] + dA[i] }
        }
        // Per-head norm of `rows` vectors of hd floats in place, the input saved at `pre`.
        func headNorm(_ x: Int, pre: Int, _ weight: [Float], rows: Int, inverseRMS: Int) {
            (s + pre).update(from: s + x, count: rows * c.headDim)
            weight.withUnsafeBufferPointer {
                RMSNorm.forward(s + pre, weight: $0.baseAddress!, out: s + x, rows: rows, dim: c.headDim, eps: c.rmsNormEps,
                                inverseRMS: s + inverseRMS)
            }
        }
        positions.withUnsafeBufferPointer { pos in
            for (li, lw) in w.layers.enumerated() {
                let a = layers[li]
                let rope = base.rope(layer: li)
                let xOut = li + 1 < c.layerCount ? s + layers[li + 1].xIn : s + xFinal
                lw.attentionNorm.withUnsafeBufferPointer {
                    RMSNorm.forward(s + a.xIn, weight: $0.baseAddress!, out: s + a.h1, rows: n, dim: d, eps: c.rmsNormEps, inverseRMS: s + a.inv1)
                }
                linearForward(a, .q, input: s + a.h1, layer: li, out: s + a.q)
                linearForward(a, .k, input: s + a.h1, layer: li, out: s + a.k)
                linearForward(a, .v, input: s + a.h1, layer: li, out: s + a.v)
                if variant.attentionBias { lw.addAttentionBiases(q: s + a.q, k: s + a.k, v: s + a.v, rows: n) }
                if variant.queryKeyNorm {
                    headNorm(a.q, pre: a.qPre, lw.queryNorm, rows: n * c.headCount, inverseRMS: a.invQ)
                    headNorm(a.k, pre: a.kPre, lw.keyNorm, rows: n * c.kvHeadCount, inverseRMS: a.invK)
                }
                rope.apply(s + a.q, rows: n, heads: c.headCount, positions: pos.baseAddress!)
                rope.apply(s + a.k, rows: n, heads: c.kvHeadCount, positions: pos.baseAddress!)
                Attention.forward(q: s + a.q, k: s + a.k, v: s + a.v, out: s + a.attn, shape: shape, probabilities: s + a.probs,
                                  scale: variant.attentionScale, window: base.window(layer: li))
                if variant.postNorms {
                    linearForward(a, .o, input: s + a.attn, layer: li, out: s + a.oOut)
                    addPostNorm(a.oOut, lw.postAttentionNorm, inverseRMS: a.invPostA, x: s + a.xIn, out: s + a.xMid)
                } else {
                    (s + a.xMid).update(from: s + a.xIn, count: n * d)
                    linearForward(a, .o, input: s + a.attn, layer: li, out: s + a.xMid, accumulate: true)
                }
                lw.mlpNorm.withUnsafeBufferPointer {
                    RMSNorm.forward(s + a.xMid, weight: $0.baseAddress!, out: s + a.h2, rows: n, dim: d, eps: c.rmsNormEps, inverseRMS: s + a.inv2)
                }
                linearForward(a, .gate, input: s + a.h2, layer: li, out: s + a.gate)
                linearForward(a, .up, input: s + a.h2, layer: li, out: s + a.up)
                switch variant.activation {
                case .silu: Activation.swiGLU(gate: s + a.gate, up: s + a.up, out: s + a.act, count: n * inter)
                case .geluTanh: GELU.geGLU(gate: s + a.gate, up: s + a.up, out: s + a.act, count: n * inter)
                }
                if variant.postNorms {
                    linearForward(a, .down, input: s + a.act, layer: li, out: s + a.downOut)
                    addPostNorm(a.downOut, lw.postMLPNorm, inverseRMS: a.invPostM, x: s + a.xMid, out: xOut)
                } else {
                    xOut.update(from: s + a.xMid, count: n * d)
                    linearForward(a, .down, input: s + a.act, layer: li, out: xOut, accumulate: true)
                }
            }
        }
        w.finalNorm.withUnsafeBufferPointer {
            RMSNorm.forward(s + xFinal, weight: $0.baseAddress!, out: s + normed, rows: n, dim: d, eps: c.rmsNormEps, inverseRMS: s + invF)
        }
        // LM head and loss, only for the positions that have a target (masked and padding
        // positions contribute neither loss nor gradient, so their logits are never needed).
        let kept = batch.targets.indices.filter { batch.targets[$0] >= 0 }
        let loss: Double
        if kept.count > headChunk {
            // Chunks of `headChunk` kept rows: gather them (into dB), project, softmax and its
            // gradient (scaled to the mean over all kept rows), and scatter the input gradient
            // (from dC) into dA.
            dA.initialize(repeating: 0, count: n * d)
            var total = 0.0
            for start in stride(from: 0, to: kept.count, by: headChunk) {
                let rows = Array(kept[start..<min(start + headChunk, kept.count)])
                for (j, i) in rows.enumerated() { (dB + j * d).update(from: s + normed + i * d, count: d) }
                base.frozenForward(.head, dB, rows: rows.count, out: logits)
                let part = CrossEntropy.forwardBackward(logits: logits, vocab: vocab, targets: rows.map { batch.targets[$0] },
                                                        dLogits: logits, scale: Float(rows.count) / Float(kept.count))
                total += part.loss * Double(rows.count)
                base.frozenBackward(.head, logits, rows: rows.count, dInput: dC)
                for (j, i) in rows.enumerated() { (dA + i * d).update(from: dC + j * d, count: d) }
            }
            loss = total / Double(kept.count)
        } else if kept.count == n {
            base.frozenForward(.head, s + normed, rows: n, out: logits)
            loss = CrossEntropy.forwardBackward(logits: logits, vocab: vocab, targets: batch.targets, dLogits: logits).loss
            // Backward: LM head, final norm, then the blocks in reverse.
            base.frozenBackward(.head, logits, rows: n, dInput: dA)
        } else {
            // Gather the kept rows (into dB), project them, and scatter their gradient (from dC) into dA.
            for (j, i) in kept.enumerated() { (dB + j * d).update(from: s + normed + i * d, count: d) }
            base.frozenForward(.head, dB, rows: kept.count, out: logits)
            loss = CrossEntropy.forwardBackward(logits: logits, vocab: vocab, targets: kept.map { batch.targets[$0] },
                                                dLogits: logits).loss
            base.frozenBackward(.head, logits, rows: kept.count, dInput: dC)
            dA.initialize(repeating: 0, count: n * d)
            for (j, i) in kept.enumerated() { (dA + i * d).update(from: dC + j * d, count: d) }
        }
        dx.initialize(repeating: 0, count: n * d)
        w.finalNorm.withUnsafeBufferPointer {
            RMSNorm.backward(x: s + xFinal, weight: $0.baseAddress!, inverseRMS: s + invF, dy: dA, dx: dx, rows: n, dim: d)
        }
        positions.withUnsafeBufferPointer { pos in
            for li in stride(from: c.layerCount - 1, through: 0, by: -1) {
                let a = layers[li], lw = w.layers[li]
                let rope = base.rope(layer: li)
                // MLP: xOut = xMid + [postNorm](down(act(gate(h2), up(h2)))); dx flows to xMid unchanged.
                if variant.postNorms {
                    dB.initialize(repeating: 0, count: n * d)
                    lw.postMLPNorm.withUnsafeBufferPointer {
                        RMSNorm.backward(x: s + a.downOut, weight: $0.baseAddress!, inverseRMS: s + a.invPostM, dy: dx, dx: dB, rows: n, dim: d)
                    }
                    linearBackward(a, .down, input: s + a.act, layer: li, dOut: dB, dInput: dA, accumulate: false)
                } else {
                    linearBackward(a, .down, input: s + a.act, layer: li, dOut: dx, dInput: dA, accumulate: false)
                }
                switch variant.activation {
                case .silu: Activation.swiGLUBackward(gate: s + a.gate, up: s + a.up, dOut: dA, dGate: dB, dUp: dC, count: n * inter)
                case .geluTanh: GELU.geGLUBackward(gate: s + a.gate, up: s + a.up, dOut: dA, dGate: dB, dUp: dC, count: n * inter)
                }
                linearBackward(a, .gate, input: s + a.h2, layer: li, dOut: dB, dInput: dA, accumulate: false)
                linearBackward(a, .up, input: s + a.h2, layer: li, dOut: dC, dInput: dA, accumulate: true)
                lw.mlpNorm.withUnsafeBufferPointer {
                    RMSNorm.backward(x: s + a.xMid, weight: $0.baseAddress!, inverseRMS: s + a.inv2, dy: dA, dx: dx, rows: n, dim: d)
                }
                // Attention: xMid = xIn + [postNorm](o(attention(rope([norm](q(h1))), rope([norm](k(h1))), v(h1)))).
                if variant.postNorms {
                    dC.initialize(repeating: 0, count: n * d)
                    lw.postAttentionNorm.withUnsafeBufferPointer {
                        RMSNorm.backward(x: s + a.oOut, weight: $0.baseAddress!, inverseRMS: s + a.invPostA, dy: dx, dx: dC, rows: n, dim: d)
                    }
                    linearBackward(a, .o, input: s + a.attn, layer: li, dOut: dC, dInput: dA, accumulate: false)
                } else {
                    linearBackward(a, .o, input: s + a.attn, layer: li, dOut: dx, dInput: dA, accumulate: false)
                }
                dq.initialize(repeating: 0, count: n * qw)
                dk.initialize(repeating: 0, count: n * kvw)
                dv.initialize(repeating: 0, count: n * kvw)
                Attention.backward(q: s + a.q, k: s + a.k, v: s + a.v, probabilities: s + a.probs, dOut: dA,
                                   dq: dq, dk: dk, dv: dv, shape: shape, scale: variant.attentionScale)
                rope.apply(dq, rows: n, heads: c.headCount, positions: pos.baseAddress!, inverse: true)
                rope.apply(dk, rows: n, heads: c.kvHeadCount, positions: pos.baseAddress!, inverse: true)
                if variant.queryKeyNorm {
                    // Through each head's norm, via dA (free again) back into dq / dk.
                    for (grad, pre, inv, heads, weight) in [(dq, a.qPre, a.invQ, c.headCount, lw.queryNorm),
                                                            (dk, a.kPre, a.invK, c.kvHeadCount, lw.keyNorm)] {
                        dA.initialize(repeating: 0, count: n * heads * c.headDim)
                        weight.withUnsafeBufferPointer {
                            RMSNorm.backward(x: s + pre, weight: $0.baseAddress!, inverseRMS: s + inv, dy: grad, dx: dA,
                                             rows: n * heads, dim: c.headDim)
                        }
                        grad.update(from: dA, count: n * heads * c.headDim)
                    }
                }
                // The first block's input is the frozen embedding: no gradient flows below its
                // projections, so only their adapter gradients are needed there.
                let below = li > 0
                linearBackward(a, .q, input: s + a.h1, layer: li, dOut: dq, dInput: dB, accumulate: false, inputGradient: below)
                linearBackward(a, .k, input: s + a.h1, layer: li, dOut: dk, dInput: dB, accumulate: true, inputGradient: below)
                linearBackward(a, .v, input: s + a.h1, layer: li, dOut: dv, dInput: dB, accumulate: true, inputGradient: below)
                if below {
                    lw.attentionNorm.withUnsafeBufferPointer {
                        RMSNorm.backward(x: s + a.xIn, weight: $0.baseAddress!, inverseRMS: s + a.inv1, dy: dB, dx: dx, rows: n, dim: d)
                    }
                }
            }
        }
        return loss
    }
}

extension LoRAAdapter {
    /// A zero adapter with the same layout.
    public init(zerosLike other: LoRAAdapter) {
        self = other
        for i in values.indices { values[i] = 0 }
    }
}

/// Reusable float blocks for training steps. A step checks one out and returns it;
/// concurrent steps each get their own block. Nothing in a block is assumed zero.
final class WorkspacePool: @unchecked Sendable {
    final class Block {
        let base: UnsafeMutablePointer<Float>
        let capacity: Int
        init(capacity: Int) {
            self.capacity = capacity
            base = .allocate(capacity: capacity)
        }
        deinit { base.deallocate() }
    }

    private let lock = NSLock()
    private var idle: [Block] = []
    private let kept = ComputeThreads.cores

    func checkOut(floats: Int) -> Block {
        lock.lock()
        defer { lock.unlock() }
        if let i = idle.firstIndex(where: { $0.capacity >= floats }) { return idle.remove(at: i) }
        if !idle.isEmpty { idle.removeFirst() }   // too small: let it go
        return Block(capacity: floats)
    }

    /// Keeps at most `kept` blocks: the steady state of one training loop per lane.
    func checkIn(_ block: Block) {
        lock.lock()
        idle.append(block)
        if idle.count > kept { idle.removeFirst(idle.count - kept) }
        lock.unlock()
    }
}
