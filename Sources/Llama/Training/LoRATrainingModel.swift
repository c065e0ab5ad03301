import Foundation
import TensorMath

/// Forward and backward passes of a frozen model with LoRA adapters, down to the
/// adapter parameters only: the base weights receive no gradient buffers.
///
/// Each `TransformerBlock` saves its activations (`BlockActivations`) during the forward pass;
/// the backward pass runs the blocks in reverse over them. With `SavedActivations.bf16` every
/// layer's forward runs in one F32 working set and keeps a `CompactLayer` of it. All of a step's
/// activations live in one allocation (a `WorkspacePool` block, reused across steps).
public final class LoRATrainingModel: Sendable {
    public let base: LlamaModel
    public let config: LoRAConfig
    /// Activation memory kept between steps, so that a step does not fault in fresh pages.
    private let workspaces = WorkspacePool()

    /// Floats of logits computed at once (see `headChunkFloats`).
    let headChunk: Int
    /// How the activations are kept for the backward pass.
    public let savedActivations: SavedActivations

    /// `savedActivations` nil: `SavedActivations.defaultFor(base)`.
    public init(base: LlamaModel, config: LoRAConfig, headChunkFloats: Int = LoRATrainingModel.headChunkFloats,
                savedActivations: SavedActivations? = nil) throws {
        if let problem = config.validationProblem(for: base.config) { throw LoRAError.invalidConfig(problem) }
        self.base = base
        self.config = config
        self.headChunk = max(1, headChunkFloats)
        self.savedActivations = savedActivations ?? .defaultFor(base)
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

    /// Floats of logits computed at once by default: the LM head and its softmax run over
    /// chunks of rows (`LlamaModel.logitChunk`).
    public static let headChunkFloats = LlamaModel.logitChunkFloats

    private func run(adapter: LoRAAdapter, params: UnsafePointer<Float>, grads: UnsafeMutablePointer<Float>,
                     batch: TrainingBatch, dropoutSeed: UInt64) -> Double {
        let c = base.config, w = base.stored
        let n = batch.tokens.count, t = batch.length
        let d = c.hiddenSize, qw = c.queryWidth, kvw = c.kvWidth, inter = c.intermediateSize, vocab = c.vocabSize
        let r = config.rank
        let headChunk = min(n, LlamaModel.logitChunk(vocab: vocab, floats: self.headChunk))
        let shape = AttentionShape(batch: batch.rows, queries: t, keys: t, heads: c.headCount, kvHeads: c.kvHeadCount, headDim: c.headDim)

        // Lay out the saved activations of every layer (`BlockActivations`) in one allocation,
        // then the final norm's, then the gradient and scratch buffers reused by every layer.
        var total = 0
        func take(_ count: Int) -> Int { defer { total += (count + 15) / 16 * 16 }; return total }
        let compact = savedActivations == .bf16
        let layerViews = (0..<(compact ? 1 : c.layerCount)).map { _ in
            BlockActivations.layOut(c, lora: config, batch: batch.rows, length: t, take: take)
        }
        // bf16: the one working set above, the next block's input, and every layer's CompactLayer
        // (sized from the working set's fields, read at a placeholder address).
        let compactSize = compact ? CompactLayer.floats(working: layerViews[0](UnsafeMutablePointer(bitPattern: 64)!),
                                                        rows: n, shape: shape, c, lora: config) : (halves: 0, exact: 0)
        let nextInput = compact ? take(n * d) : 0
        let compactOffsets = compact ? (0..<c.layerCount).map { _ in (take(compactSize.halves), take(compactSize.exact)) } : []
        let xFinal = take(n * d), invF = take(n), normed = take(n * d)
        let widest = max(qw, d, inter)
        let work = [headChunk * vocab, n * d, n * widest, n * widest, n * widest, n * qw, n * kvw, n * kvw, n * r, n * widest].map(take)
        let workspace = workspaces.checkOut(floats: total)
        defer { workspaces.checkIn(workspace) }
        let s = workspace.base
        var layers = layerViews.map { $0(s) }
        let compactLayers = compactOffsets.map { CompactLayer(halves: UnsafeMutableRawPointer(s + $0.0), exact: s + $0.1) }
        let (logits, dx, dA, dB, dC) = (s + work[0], s + work[1], s + work[2], s + work[3], s + work[4])
        let gradientScratch = TransformerBlock.GradientScratch(dA: dA, dB: dB, dC: dC, dq: s + work[5], dk: s + work[6],
                                                               dv: s + work[7], t: s + work[8], loraScratch: s + work[9])

        var rng = SeededRandom(seed: dropoutSeed)
        let positions = (0..<n).map { Int32($0 % t) }
        let lora = TransformerBlock.Adapter(adapter: adapter, params: params, scale: config.scale, dropout: config.dropout)

        // Forward: each block reads its input from its own xIn and writes the next one's
        // (the last into xFinal); bf16: the working set's xIn and `next` take turns, and each
        // layer is saved compactly after its forward. dA serves as the post-norms' scratch.
        base.embedScaled(batch.tokens, into: layers[0].xIn)
        let scratch = BlockScratch(normed: dA, loraU: s + work[8])
        positions.withUnsafeBufferPointer { pos in
            var next = s + nextInput
            for li in 0..<c.layerCount {
                let last = li + 1 == c.layerCount
                let out = last ? s + xFinal : compact ? next : layers[li + 1].xIn
                TransformerBlock(model: base, layer: li)
                    .forward(layers[compact ? 0 : li], out: out, rows: n, positions: pos.baseAddress!, keys: .sequence(shape),
                             adapter: lora, scratch: scratch, rng: &rng)
                if compact {
                    compactLayers[li].save(from: layers[0], rows: n, shape: shape, c, lora: config)
                    if !last { swap(&layers[0].xIn, &next) }
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
                // The first block's input is the frozen embedding: no gradient flows below its
                // projections, so only their adapter gradients are needed there.
                let block = TransformerBlock(model: base, layer: li)
                if compact {
                    compactLayers[li].restore(into: layers[0], rows: n, shape: shape, c, lora: config)
                    block.recompute(layers[0], rows: n)
                }
                block.backward(layers[compact ? 0 : li], dx: dx, rows: n, positions: pos.baseAddress!, shape: shape, adapter: lora,
                              grads: grads, scratch: gradientScratch, inputGradient: li > 0)
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
