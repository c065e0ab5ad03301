import Foundation
import TensorMath
import XCTest
@testable import Llama

/// Optimizer, schedule, batching and the training loop.
final class TrainingTests: XCTestCase {
    func testAdamWMatchesHandComputedSteps() {
        // p = 1, g = 0.5 then -0.25; lr 0.1, wd 0.01, b1 0.9, b2 0.999, eps 1e-8.
        var opt = AdamW(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01)
        var p: [Float] = [1]
        opt.update(&p, grads: [0.5], lr: 0.1)
        // step 1: p = 1*(1-0.001) = 0.999; m = 0.05, v = 0.00025; mhat = 0.5, vhat = 0.25 -> p -= 0.1*0.5/0.5
        XCTAssertEqual(p[0], 0.999 - 0.1, accuracy: 1e-6)
        opt.update(&p, grads: [-0.25], lr: 0.1)
        // step 2: m = 0.045 - 0.025 = 0.02, v = 0.00024975 + 0.0000625 = 0.00031225;
        // mhat = 0.02/0.19 = 0.10526, vhat = 0.00031225/0.001999 = 0.15620 -> step 0.1*0.10526/0.39522 = 0.026634
        XCTAssertEqual(p[0], 0.899 * 0.999 - 0.026634, accuracy: 1e-5)
    }

    func testScheduleWarmsUpThenDecaysByCosine() {
        let s = LearningRateSchedule(peak: 1, warmupSteps: 4, totalSteps: 14, minimumRatio: 0.1)
        XCTAssertEqual(s.rate(at: 0), 0.25)
        XCTAssertEqual(s.rate(at: 3), 1)
        XCTAssertEqual(s.rate(at: 4), 1)
        XCTAssertEqual(s.rate(at: 9), 0.1 + 0.9 * 0.5, accuracy: 1e-6)
        XCTAssertEqual(s.rate(at: 14), 0.1, accuracy: 1e-6)
    }

    func testClippingScalesToTheMaximumNorm() {
        var g: [Float] = [3, 4]
        XCTAssertEqual(clipGlobalNorm(&g, maxNorm: 1), 5, accuracy: 1e-9)
        XCTAssertEqual(g[0], 0.6, accuracy: 1e-5)
        XCTAssertEqual(g[1], 0.8, accuracy: 1e-5)
        var small: [Float] = [0.1]
        clipGlobalNorm(&small, maxNorm: 1)
        XCTAssertEqual(small, [0.1])
    }

    func testPaddingMasksPaddingAndPrompt() {
        let b = Batcher.padded([TokenizedExample(tokens: [5, 6, 7, 8], promptLength: 2), TokenizedExample(tokens: [9, 10])],
                               length: 5, padID: 0)
        XCTAssertEqual(b.tokens, [5, 6, 7, 8, 0, 9, 10, 0, 0, 0])
        // Row 0: prompt [5,6] is context; 6->7 and 7->8 are trained. Row 1: 9->10.
        XCTAssertEqual(b.targets, [-1, 7, 8, -1, -1, 10, -1, -1, -1, -1])
    }

    func testPackingFillsRowsWithoutCrossRowTargets() {
        let rows = Batcher.packed([TokenizedExample(tokens: [1, 2, 3]), TokenizedExample(tokens: [4, 5], promptLength: 1)],
                                  length: 4, separatorID: 0)
        // stream: 1 2 3 0 | 4 5 0 ; trainable: 1 2 3 0 yes, 4 no (prompt), 5 yes, 0 yes
        XCTAssertEqual(rows.map(\.tokens), [[1, 2, 3, 0], [4, 5, 0, 0]])
        XCTAssertEqual(rows.map(\.targets), [[2, 3, 0, -1], [5, 0, -1, -1]])
    }

    /// llm.c-style regression table: the first 10 AdamW steps on the tiny model. The values were
    /// produced by this implementation after its gradients were checked against finite differences
    /// and PyTorch+PEFT; any change to the numerics shows up here.
    func testExpectedLossesOverTheFirstTenSteps() throws {
        let config = LlamaConfig.tiny
        let model = try LlamaModel(config: config, weights: .random(config, seed: 31))
        let lora = LoRAConfig(rank: 4, alpha: 8, targets: LoRATarget.allCases)
        let trainer = LocalTrainer(model: try LoRATrainingModel(base: model, config: lora),
                                   config: LocalTrainingConfig(budget: .steps(10), batchSize: 16, sequenceLength: 8,
                                                               learningRate: 1e-2, warmupSteps: 2, weightDecay: 0.01,
                                                               maxGradientNorm: 1, packing: true, seed: 3),
                                   padID: 0)
        var rng = SeededRandom(seed: 4)
        // A learnable pattern: arithmetic progressions modulo the vocabulary.
        let examples = (0..<8).map { _ -> TokenizedExample in
            let start = Int(rng.next() % 60), step = 1 + Int(rng.next() % 3)
            return TokenizedExample(tokens: (0..<12).map { 1 + (start + $0 * step) % 63 })
        }
        var events: [Double] = []
        let result = trainer.train(from: try LoRAAdapter(model: config, config: lora, seed: 1), examples: examples) { event in
            if case .step(_, _, let loss, _, _, _) = event { events.append(loss) }
            return .more
        }
        XCTAssertEqual(result.losses, events)
        let expected: [Double] = ExpectedLosses.tinyTenSteps
        print("tiny model losses over 10 steps: \(result.losses.map { String(format: "%.6f", $0) }.joined(separator: ", "))")
        XCTAssertEqual(result.losses.count, expected.count)
        for (i, (got, want)) in zip(result.losses, expected).enumerated() {
            XCTAssertEqual(got, want, accuracy: 1e-4, "step \(i + 1)")
        }
        XCTAssertLessThan(result.losses.last!, result.losses.first!)
    }

    func testCallerCanStopTraining() throws {
        let config = LlamaConfig.tiny
        let model = try LlamaModel(config: config, weights: .random(config, seed: 2))
        let lora = LoRAConfig(rank: 2, alpha: 4, targets: [.q, .v])
        let trainer = LocalTrainer(model: try LoRATrainingModel(base: model, config: lora),
                                   config: LocalTrainingConfig(budget: .steps(50), batchSize: 1, sequenceLength: 6), padID: 0)
        var seen = 0
        let result = trainer.train(from: try LoRAAdapter(model: config, config: lora, seed: 1),
                                   examples: [TokenizedExample(tokens: [1, 2, 3, 4, 5, 6, 7])]) { event in
            guard case .step = event else { return .more }
            seen += 1
            return seen == 3 ? .stop : .more
        }
        XCTAssertTrue(result.stopped)
        XCTAssertEqual(result.steps, 3)
    }
}

enum ExpectedLosses {
    static let tinyTenSteps: [Double] = [4.351287, 4.320295, 4.224359, 4.220697, 4.171622,
                                         4.009230, 3.920643, 3.910993, 3.841397, 3.841737]
}

/// Local training on the real model adapts it to a domain.
final class RealModelTrainingTests: XCTestCase {
    /// 30 AdamW steps on 40 terse clinical notes lower the loss on 8 held-out notes.
    func testThirtyStepsLowerHeldOutDomainLoss() throws {
        let model = try RealModel.model()
        let tokenizer = try RealModel.tokenizer()
        let url = Bundle.module.url(forResource: "domain_notes", withExtension: "txt", subdirectory: "Fixtures")!
        let notes = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
        let train = notes.prefix(40).map { TokenizedExample(tokens: tokenizer.encode($0)) }
        let heldOut = notes.suffix(8).map { TokenizedExample(tokens: tokenizer.encode($0)) }
        let lora = LoRAConfig(rank: 8, alpha: 16, targets: LoRATarget.allCases)
        let trainingModel = try LoRATrainingModel(base: model, config: lora)
        let trainer = LocalTrainer(model: trainingModel,
                                   config: LocalTrainingConfig(budget: .steps(30), batchSize: 2, sequenceLength: 48,
                                                               learningRate: 1e-3, warmupSteps: 3, maxGradientNorm: 1, seed: 1),
                                   padID: tokenizer.padTokenID ?? 0)
        let start = try LoRAAdapter(model: model.config, config: lora, seed: 1)
        let evalBatch = Batcher.padded(heldOut, length: 48, padID: tokenizer.padTokenID ?? 0)
        let before = try trainingModel.loss(start, batch: evalBatch)
        let result = trainer.train(from: start, examples: Array(train))
        let after = try trainingModel.loss(result.adapter, batch: evalBatch)
        print(String(format: "held-out domain loss: %.4f -> %.4f after %d steps (%.1f s); train loss %.3f -> %.3f",
                     before, after, result.steps, result.seconds, result.losses.first!, result.losses.last!))
        XCTAssertEqual(result.steps, 30)
        XCTAssertLessThan(after, before - 0.2, "training should lower the held-out domain loss clearly")
    }
}

final class BatchingTests: XCTestCase {
    func testLongInstructionExamplesKeepTheirResponse() {
        let b = Batcher.padded([TokenizedExample(tokens: [1, 2, 3, 4, 5, 6, 7, 8], promptLength: 6)], length: 4, padID: 0)
        // The first four prompt tokens go; [5, 6 | 7, 8] remains, and 6->7, 7->8 are trained.
        XCTAssertEqual(b.tokens, [5, 6, 7, 8])
        XCTAssertEqual(b.targets, [-1, 7, 8, -1])
    }
}
