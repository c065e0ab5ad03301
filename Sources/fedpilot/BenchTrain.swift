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
    @Option(help: "OpenBLAS threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            guard batch > 0, seq > 1, rank > 0, steps > 0, threads > 0 else {
                throw ValidationError("--batch, --rank, --steps and --threads must be positive and --seq above 1")
            }
            ComputeThreads.setBLAS(threads)
            let base = try ModelLoader.load(path: model).model
            let lora = LoRAConfig(rank: rank, alpha: Float(2 * rank), targets: try LoRATarget.parseList(targets))
            let trainer = try LoRATrainingModel(base: base, config: lora)
            var adapter = try LoRAAdapter(model: base.config, config: lora, seed: 1)
            var rng = SeededRandom(seed: 7)
            let rows = (0..<batch).map { _ in (0..<seq).map { _ in Int(rng.next() % UInt64(base.config.vocabSize)) } }
            let data = TrainingBatch(sequences: rows)
            var optimizer = AdamW()
            func trainStep() {
                var (_, g) = trainer.lossAndGradient(adapter, batch: data)
                clipGlobalNorm(&g.values, maxNorm: 1)
                optimizer.update(&adapter.values, grads: g.values, lr: 1e-4)
            }
            for _ in 0..<2 { trainStep() }
            var start = Date()
            for _ in 0..<steps { trainStep() }
            let trainSeconds = Date().timeIntervalSince(start)
            // Evaluation forward (logits for every position), the adapter applied unmerged over
            // the shared frozen weights, as evaluation in a run does.
            _ = try base.logits(rows, adapter: adapter)
            start = Date()
            for _ in 0..<steps { _ = try base.logits(rows, adapter: adapter) }
            let evalSeconds = Date().timeIntervalSince(start)
            let tokens = Double(batch * seq * steps)
            let result: [String: Any] = [
                "train_tokens_per_s": tokens / trainSeconds, "eval_tokens_per_s": tokens / evalSeconds,
                "peak_rss_bytes": ProcessStats.peakResidentBytes, "train_step_seconds": trainSeconds / Double(steps),
                "frozen_gemm": base.frozenGemm.rawValue, "packed_weight_bytes": base.packedWeightBytes, "batch": batch, "seq": seq, "rank": rank,
                "targets": lora.targets.map(\.rawValue), "trainable_parameters": adapter.parameterCount,
                "steps": steps, "blas_threads": threads,
            ]
            if json { try printJSON(result) } else {
                print(String(format: "train %.1f tokens/s (%.2f s/step), eval %.1f tokens/s, peak RSS %.0f MB, %d trainable parameters, %.0f MB packed weights, frozen GEMM: \(base.frozenGemm.rawValue)",
                             tokens / trainSeconds, trainSeconds / Double(steps), tokens / evalSeconds,
                             Double(ProcessStats.peakResidentBytes) / 1e6, adapter.parameterCount,
                             Double(base.packedWeightBytes) / 1e6))
            }
        }
    }
}
