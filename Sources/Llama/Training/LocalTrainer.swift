import Foundation
import TensorMath

/// Settings of one client's local training.
public struct LocalTrainingConfig: Sendable, Codable, Equatable {
    /// Either a number of optimizer steps, or a number of passes over the data.
    public enum Budget: Sendable, Codable, Equatable {
        case steps(Int)
        case epochs(Int)
    }

    public var budget: Budget
    public var batchSize: Int
    public var sequenceLength: Int
    public var learningRate: Float
    public var warmupSteps: Int
    public var minimumLearningRateRatio: Float
    public var weightDecay: Float
    /// Global gradient-norm clip; 0 disables clipping.
    public var maxGradientNorm: Float
    /// Pack examples into full rows (true) or pad one example per row (false).
    public var packing: Bool
    public var seed: UInt64

    /// The largest batch accepted from a scenario or a coordinator.
    public static let maximumBatchSize = 4096
    /// The longest rows accepted before the model is known (the model's context bounds them further).
    public static let maximumSequenceLength = LlamaConfig.maximumPositions

    /// The first setting that `model` cannot run, as (field, problem), or nil. Rows longer than the
    /// model's context have no rotary position to use.
    public func validationProblem(for model: LlamaConfig) -> (field: String, problem: String)? {
        if batchSize < 1 || batchSize > Self.maximumBatchSize {
            return ("batch_size", "must be in 1...\(Self.maximumBatchSize), got \(batchSize)")
        }
        if sequenceLength < 2 || sequenceLength > model.maxPositions {
            return ("sequence_length", "must be in 2...\(model.maxPositions) (the model's context length), got \(sequenceLength)")
        }
        return nil
    }

    public init(budget: Budget = .steps(10), batchSize: Int = 4, sequenceLength: Int = 128, learningRate: Float = 2e-4,
                warmupSteps: Int = 0, minimumLearningRateRatio: Float = 0.1, weightDecay: Float = 0.01,
                maxGradientNorm: Float = 1, packing: Bool = true, seed: UInt64 = 0) {
        self.budget = budget
        self.batchSize = batchSize
        self.sequenceLength = sequenceLength
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.minimumLearningRateRatio = minimumLearningRateRatio
        self.weightDecay = weightDecay
        self.maxGradientNorm = maxGradientNorm
        self.packing = packing
        self.seed = seed
    }
}

/// Progress reported by the training loop; it never prints.
public enum TrainingEvent: Sendable {
    case step(step: Int, of: Int, loss: Double, learningRate: Float, gradientNorm: Double, tokensPerSecond: Double)
    case epoch(Int)
}

/// The caller's answer to each event.
public enum TrainingControl: Sendable { case more, stop }

/// What a local training run produced.
public struct LocalTrainingResult: Sendable {
    public var adapter: LoRAAdapter
    public var steps: Int
    public var losses: [Double]
    public var tokens: Int
    public var stopped: Bool
    public var seconds: Double
}

/// Trains a LoRA adapter on one client's examples with AdamW, gradient clipping
/// and a warmup + cosine schedule.
public struct LocalTrainer: Sendable {
    public let model: LoRATrainingModel
    public let config: LocalTrainingConfig
    public let padID: Int

    public init(model: LoRATrainingModel, config: LocalTrainingConfig, padID: Int) {
        self.model = model
        self.config = config
        self.padID = padID
    }

    /// The fixed-shape batches of one pass over `examples`, in a seeded shuffled order
    /// (`seed` defaults to the configured one).
    public func batches(_ examples: [TokenizedExample], epoch: Int, seed: UInt64? = nil) -> [TrainingBatch] {
        var rng = SeededRandom(seed: (seed ?? config.seed) &+ UInt64(epoch) &* 0x9E37)
        var order = Array(examples.indices)
        order.shuffle(using: &rng)
        let shuffled = order.map { examples[$0] }
        let rows: [(tokens: [Int], targets: [Int])]
        if config.packing {
            rows = Batcher.packed(shuffled, length: config.sequenceLength, separatorID: padID)
        } else {
            let b = Batcher.padded(shuffled, length: config.sequenceLength, padID: padID)
            rows = (0..<b.rows).map { r in
                (Array(b.tokens[(r * b.length)..<((r + 1) * b.length)]), Array(b.targets[(r * b.length)..<((r + 1) * b.length)]))
            }
        }
        return stride(from: 0, to: rows.count, by: config.batchSize).map { start in
            let chunk = rows[start..<min(start + config.batchSize, rows.count)]
            return TrainingBatch(tokens: chunk.map(\.tokens), targets: chunk.map(\.targets))
        }.filter { $0.targetCount > 0 }
    }

    /// Runs local training from `start`. `onEvent` is called after every step and may stop the run.
    ///
    /// - Parameters:
    ///   - steps: overrides the configured budget with a number of steps.
    ///   - proximalMu: FedProx: adds `mu * (w - start)` to every gradient, keeping the client near the global model.
    ///   - gradientCorrection: SCAFFOLD: added to every gradient (`c - c_i`).
    ///   - seed: batch order and dropout seed for this run (the configured seed when nil); a
    ///     federated client passes one per round, so that successive rounds see other batches.
    public func train(from start: LoRAAdapter, examples: [TokenizedExample], steps: Int? = nil,
                      proximalMu: Float = 0, gradientCorrection: [Float]? = nil, seed: UInt64? = nil,
                      onEvent: (TrainingEvent) -> TrainingControl = { _ in .more }) -> LocalTrainingResult {
        let seed = seed ?? config.seed
        var adapter = start
        var optimizer = AdamW(weightDecay: config.weightDecay)
        let began = Date()
        var losses: [Double] = []
        var tokens = 0
        var epoch = 0
        var queue: [TrainingBatch] = []
        let totalSteps: Int
        switch (steps, config.budget) {
        case (let override?, _): totalSteps = override
        case (nil, .steps(let n)): totalSteps = n
        case (nil, .epochs(let e)): totalSteps = e * max(1, batches(examples, epoch: 0, seed: seed).count)
        }
        let schedule = LearningRateSchedule(peak: config.learningRate, warmupSteps: config.warmupSteps,
                                            totalSteps: totalSteps, minimumRatio: config.minimumLearningRateRatio)
        var stopped = false
        for step in 0..<totalSteps {
            if queue.isEmpty {
                queue = batches(examples, epoch: epoch, seed: seed)
                if queue.isEmpty { break }
                if step > 0, onEvent(.epoch(epoch)) == .stop { stopped = true; break }
                epoch += 1
            }
            let batch = queue.removeFirst()
            let stepStart = Date()
            var (loss, gradient) = model.lossAndGradient(adapter, batch: batch, dropoutSeed: seed &+ UInt64(step))
            if proximalMu > 0 {
                for i in gradient.values.indices { gradient.values[i] += proximalMu * (adapter.values[i] - start.values[i]) }
            }
            if let correction = gradientCorrection {
                for i in gradient.values.indices { gradient.values[i] += correction[i] }
            }
            let norm = clipGlobalNorm(&gradient.values, maxNorm: config.maxGradientNorm)
            let lr = schedule.rate(at: step)
            optimizer.update(&adapter.values, grads: gradient.values, lr: lr)
            losses.append(loss)
            tokens += batch.tokens.count
            let rate = Double(batch.tokens.count) / max(Date().timeIntervalSince(stepStart), 1e-9)
            if onEvent(.step(step: step + 1, of: totalSteps, loss: loss, learningRate: lr, gradientNorm: norm, tokensPerSecond: rate)) == .stop {
                stopped = true
                break
            }
        }
        return LocalTrainingResult(adapter: adapter, steps: losses.count, losses: losses, tokens: tokens,
                                   stopped: stopped, seconds: Date().timeIntervalSince(began))
    }
}
