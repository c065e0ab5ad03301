import ArgumentParser
import Foundation
import Llama
import TensorMath

struct BenchTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Time LoRA training steps (forward, backward, clipping, AdamW) and evaluation on random tokens. FEDPILOT_GEMM=blas selects OpenBLAS for the frozen weights.")
    @Option(help: "A GGUF file or Hugging Face checkpoint directory.") var model: String = defaultModelPath
    @Option(help: "Sequences per batch.") var batch: Int = 4
    @Option(help: "Tokens per sequence.") var seq: Int = 128
    @Option(help: "LoRA rank (alpha is twice the rank).") var rank: Int = 8
    @Option(help: "Adapted modules: all, qv, or a list such as q,k,v,o.") var targets: String = "all"
    @Option(help: "Timed steps (after two warm-up steps).") var steps: Int = 5
    @Option(help: "Numeric threads (the project's kernels; OpenBLAS too with FEDPILOT_GEMM=blas).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Training loops run at once over the shared model (in-process clients side by side); figures are totals.")
    var parallel: Int = 1
    @Option(help: "Frozen-weight products: f32, or int8 (weights kept in the file's quantized blocks).") var compute: ComputeMode = .f32
    @Option(help: "How activations are kept for the backward pass: f32, or bf16 (large tensors in bfloat16, cheap ones recomputed). Default: bf16 with --compute int8, f32 otherwise.")
    var savedActivations: SavedActivations?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            guard batch > 0, seq > 1, rank > 0, steps > 0, threads > 0, parallel > 0 else {
                throw ValidationError("--batch, --rank, --steps, --threads and --parallel must be positive and --seq above 1")
            }
            ComputeThreads.set(threads)
            let base = try ModelLoader.load(path: model, compute: compute).model
            guard seq <= base.config.maxPositions else {
                throw ValidationError("--seq \(seq) exceeds the model's context length \(base.config.maxPositions)")
            }
            let lora = LoRAConfig(rank: rank, alpha: Float(2 * rank), targets: try LoRATarget.parseList(targets))
            let trainer = try LoRATrainingModel(base: base, config: lora, savedActivations: savedActivations)
            let start = try LoRAAdapter(model: base.config, config: lora, seed: 1)
            var rng = SeededRandom(seed: 7)
            // One training loop per lane, each with its own adapter, optimizer and batch, over the
            // shared frozen model: in-process clients training side by side.
            let lanes = (0..<parallel).map { _ in
                TrainingLane(adapter: start, rows: (0..<batch).map { _ in (0..<seq).map { _ in Int(rng.next() % UInt64(base.config.vocabSize)) } })
            }
            func everyLane(_ body: @escaping @Sendable (TrainingLane) -> Void) {
                if parallel == 1 { body(lanes[0]) } else { DispatchQueue.concurrentPerform(iterations: parallel) { body(lanes[$0]) } }
            }
            everyLane { lane in for _ in 0..<2 { lane.step(trainer) } }
            var began = Date()
            everyLane { lane in for _ in 0..<steps { lane.step(trainer) } }
            let trainSeconds = Date().timeIntervalSince(began)
            let trainPeak = ProcessStats.peakResidentBytes
            // Evaluation: the mean next-token loss of the batch (a forward pass, logits for every
            // position with a target, in chunks of rows), the adapter applied unmerged over the
            // shared frozen weights, as a client's evaluation in a run does.
            everyLane { lane in _ = try? trainer.loss(lane.adapter, batch: lane.data) }
            began = Date()
            everyLane { lane in for _ in 0..<steps { _ = try? trainer.loss(lane.adapter, batch: lane.data) } }
            let evalSeconds = Date().timeIntervalSince(began)
            let adapter = lanes[0].adapter
            let tokens = Double(batch * seq * steps * parallel)
            let result: [String: Any] = [
                "train_tokens_per_s": tokens / trainSeconds, "eval_tokens_per_s": tokens / evalSeconds,
                "peak_rss_bytes": ProcessStats.peakResidentBytes, "train_peak_rss_bytes": trainPeak,
                "saved_activations": trainer.savedActivations.rawValue, "train_step_seconds": trainSeconds / Double(steps),
                "frozen_gemm": base.frozenGemm.rawValue, "packed_weight_bytes": base.packedWeightBytes,
                "compute": compute.rawValue, "quantized_weight_bytes": base.quantizedWeightBytes,
                "transposed_weight_bytes": base.transposedWeightBytes, "int8_backward": QuantGemm.BackwardPath.fromEnvironment.rawValue, "load_average": ProcessStats.loadAverage, "int8_kernels": QuantGemm.isa.name, "f32_kernels": PackedGemm.isaName, "batch": batch, "seq": seq, "rank": rank,
                "targets": lora.targets.map(\.rawValue), "trainable_parameters": adapter.parameterCount,
                "steps": steps, "blas_threads": threads, "parallel": parallel,
            ]
            if json { try printJSON(result) } else {
                let transposedNote = base.transposedWeightBytes > 0
                    ? String(format: " + %.0f MB transposed copies", Double(base.transposedWeightBytes) / 1e6) : ""
                print(String(format: "train %.1f tokens/s (%.2f s/step\(parallel > 1 ? " per lane, \(parallel) lanes" : "")), eval %.1f tokens/s, peak RSS %.0f MB (%.0f MB before evaluation, activations \(trainer.savedActivations.rawValue)), %d trainable parameters, %.0f MB packed weights, %.0f MB quantized weights\(transposedNote), F32 kernels: \(PackedGemm.isaName), frozen GEMM: \(base.frozenGemm.rawValue)\(compute == .int8 ? " (\(QuantGemm.isa.name), input gradient: \(QuantGemm.BackwardPath.fromEnvironment.rawValue))" : ""), load average %.2f",
                             tokens / trainSeconds, trainSeconds / Double(steps), tokens / evalSeconds,
                             Double(ProcessStats.peakResidentBytes) / 1e6, Double(trainPeak) / 1e6, adapter.parameterCount,
                             Double(base.packedWeightBytes) / 1e6, Double(base.quantizedWeightBytes) / 1e6,
                             ProcessStats.loadAverage))
            }
        }
    }
}

/// One training loop of `bench train --parallel`.
private final class TrainingLane: @unchecked Sendable {
    var adapter: LoRAAdapter
    let rows: [[Int]]
    let data: TrainingBatch
    var optimizer = AdamW()

    init(adapter: LoRAAdapter, rows: [[Int]]) {
        self.adapter = adapter
        self.rows = rows
        data = TrainingBatch(sequences: rows)
    }

    func step(_ trainer: LoRATrainingModel) {
        var (_, g) = trainer.lossAndGradient(adapter, batch: data)
        clipGlobalNorm(&g.values, maxNorm: 1)
        optimizer.update(&adapter.values, grads: g.values, lr: 1e-4)
    }
}
