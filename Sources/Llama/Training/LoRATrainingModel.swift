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

    public init(base: LlamaModel, config: LoRAConfig) throws {
        if let problem = config.validationProblem(for: base.config) { throw LoRAError.invalidConfig(problem) }
        guard base.config.variant == .llama else {
            throw LoRAError.invalidConfig("LoRA training of \(base.config.architecture) models is not implemented yet (the backward pass covers the plain llama block only)")
        }
        self.base = base
        self.config = config
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

    private struct LayerActivations {
        // Offsets into one block; n = B*T rows.
        var xIn = 0, inv1 = 0, h1 = 0, q = 0, k = 0, v = 0, probs = 0, attn = 0
        var xMid = 0, inv2 = 0, h2 = 0, gate = 0, up = 0, act = 0
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
        let work = [n * vocab, n * d, n * widest, n * widest, n * widest, n * qw, n * kvw, n * kvw, n * r, n * widest].map(take)
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
        positions.withUnsafeBufferPointer { pos in
            for (li, lw) in w.layers.enumerated() {
                let a = layers[li]
                let xOut = li + 1 < c.layerCount ? s + layers[li + 1].xIn : s + xFinal
                lw.attentionNorm.withUnsafeBufferPointer {
                    RMSNorm.forward(s + a.xIn, weight: $0.baseAddress!, out: s + a.h1, rows: n, dim: d, eps: c.rmsNormEps, inverseRMS: s + a.inv1)
                }
                linearForward(a, .q, input: s + a.h1, layer: li, out: s + a.q)
                linearForward(a, .k, input: s + a.h1, layer: li, out: s + a.k)
                linearForward(a, .v, input: s + a.h1, layer: li, out: s + a.v)
                base.rope.apply(s + a.q, rows: n, heads: c.headCount, positions: pos.baseAddress!)
                base.rope.apply(s + a.k, rows: n, heads: c.kvHeadCount, positions: pos.baseAddress!)
                Attention.forward(q: s + a.q, k: s + a.k, v: s + a.v, out: s + a.attn, shape: shape, probabilities: s + a.probs)
                (s + a.xMid).update(from: s + a.xIn, count: n * d)
                linearForward(a, .o, input: s + a.attn, layer: li, out: s + a.xMid, accumulate: true)
                lw.mlpNorm.withUnsafeBufferPointer {
                    RMSNorm.forward(s + a.xMid, weight: $0.baseAddress!, out: s + a.h2, rows: n, dim: d, eps: c.rmsNormEps, inverseRMS: s + a.inv2)
                }
                linearForward(a, .gate, input: s + a.h2, layer: li, out: s + a.gate)
                linearForward(a, .up, input: s + a.h2, layer: li, out: s + a.up)
                Activation.swiGLU(gate: s + a.gate, up: s + a.up, out: s + a.act, count: n * inter)
                xOut.update(from: s + a.xMid, count: n * d)
                linearForward(a, .down, input: s + a.act, layer: li, out: xOut, accumulate: true)
            }
        }
        w.finalNorm.withUnsafeBufferPointer {
            RMSNorm.forward(s + xFinal, weight: $0.baseAddress!, out: s + normed, rows: n, dim: d, eps: c.rmsNormEps, inverseRMS: s + invF)
        }
        // LM head and loss, only for the positions that have a target (masked and padding
        // positions contribute neither loss nor gradient, so their logits are never needed).
        let kept = batch.targets.indices.filter { batch.targets[$0] >= 0 }
        let loss: Double
        if kept.count == n {
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
                // MLP: xOut = xMid + down(swiglu(gate(h2), up(h2))); dx flows to xMid unchanged.
                linearBackward(a, .down, input: s + a.act, layer: li, dOut: dx, dInput: dA, accumulate: false)
                Activation.swiGLUBackward(gate: s + a.gate, up: s + a.up, dOut: dA, dGate: dB, dUp: dC, count: n * inter)
                linearBackward(a, .gate, input: s + a.h2, layer: li, dOut: dB, dInput: dA, accumulate: false)
                linearBackward(a, .up, input: s + a.h2, layer: li, dOut: dC, dInput: dA, accumulate: true)
                lw.mlpNorm.withUnsafeBufferPointer {
                    RMSNorm.backward(x: s + a.xMid, weight: $0.baseAddress!, inverseRMS: s + a.inv2, dy: dA, dx: dx, rows: n, dim: d)
                }
                // Attention: xMid = xIn + o(attention(rope(q(h1)), rope(k(h1)), v(h1))).
                linearBackward(a, .o, input: s + a.attn, layer: li, dOut: dx, dInput: dA, accumulate: false)
                dq.initialize(repeating: 0, count: n * qw)
                dk.initialize(repeating: 0, count: n * kvw)
                dv.initialize(repeating: 0, count: n * kvw)
                Attention.backward(q: s + a.q, k: s + a.k, v: s + a.v, probabilities: s + a.probs, dOut: dA,
                                   dq: dq, dk: dk, dv: dv, shape: shape)
                base.rope.apply(dq, rows: n, heads: c.headCount, positions: pos.baseAddress!, inverse: true)
                base.rope.apply(dk, rows: n, heads: c.kvHeadCount, positions: pos.baseAddress!, inverse: true)
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
