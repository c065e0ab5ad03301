import ArgumentParser
import Dispatch
import Foundation
import Llama
import TensorMath

/// `fedpilot bench ...`: benchmarks that print figures.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure speed; prints figures, never asserts.",
        subcommands: [BenchTrain.self, BenchForward.self, BenchRender.self, BenchTransport.self, BenchAlerts.self, BenchEval.self])
}

struct BenchForward: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forward",
        abstract: "Time the batched forward pass (evaluation) and compare thread strategies.")
    @Option(help: "A GGUF file or Hugging Face checkpoint directory.") var model: String = defaultModelPath
    @Option(help: "Sequences per batch.") var batch: Int = 4
    @Option(help: "Tokens per sequence.") var seq: Int = 128
    @Option(help: "Numeric threads (the project's kernels; OpenBLAS too with FEDPILOT_GEMM=blas).") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Independent forward passes run at once (Swift concurrency), each on its own batch.") var parallel: Int = 1
    @Option(help: "Timed iterations (after one warm-up).") var iterations: Int = 3
    @Option(help: "Frozen-weight products: f32, or int8 (weights kept in the file's quantized blocks).") var compute: ComputeMode = .f32
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            guard batch > 0, seq > 1, threads > 0, parallel > 0, iterations > 0 else {
                throw ValidationError("--batch, --seq, --threads, --parallel and --iterations must be positive (seq > 1)")
            }
            let m = try ModelLoader.load(path: model, compute: compute).model
            ComputeThreads.set(threads)
            var rng = SeededRandom(seed: 1)
            let tokens = (0..<batch).map { _ in (0..<seq).map { _ in Int(rng.next() % UInt64(m.config.vocabSize)) } }
            _ = m.logits(tokens)
            let start = Date()
            for _ in 0..<iterations {
                DispatchQueue.concurrentPerform(iterations: parallel) { _ in _ = m.logits(tokens) }
            }
            let seconds = Date().timeIntervalSince(start)
            let tokensPerSecond = Double(batch * seq * parallel * iterations) / seconds
            let result: [String: Any] = [
                "eval_tokens_per_s": tokensPerSecond, "seconds": seconds, "batch": batch, "seq": seq,
                "blas_threads": threads, "parallel": parallel, "iterations": iterations,
                "peak_rss_bytes": ProcessStats.peakResidentBytes, "compute": compute.rawValue,
                "frozen_gemm": m.frozenGemm.rawValue, "quantized_weight_bytes": m.quantizedWeightBytes,
                "load_average": ProcessStats.loadAverage, "int8_kernels": QuantGemm.isa.name, "f32_kernels": PackedGemm.isaName,
            ]
            if json { try printJSON(result) } else {
                print(String(format: "forward: %.1f tokens/s (batch %d x seq %d, %d numeric threads, %d in parallel), peak RSS %.0f MB, compute %@ (F32 kernels \(PackedGemm.isaName), frozen GEMM %@\(compute == .int8 ? ", \(QuantGemm.isa.name)" : "")), load average %.2f",
                             tokensPerSecond, batch, seq, threads, parallel, Double(ProcessStats.peakResidentBytes) / 1e6,
                             compute.rawValue, m.frozenGemm.rawValue, ProcessStats.loadAverage))
            }
        }
    }
}

/// Process-level measurements read from /proc.
enum ProcessStats {
    /// The 1-minute load average; 0 where /proc is unavailable.
    static var loadAverage: Double {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return 0 }
        return Double(text.split(separator: " ").first ?? "") ?? 0
    }

    /// Peak resident set size (VmHWM), in bytes; 0 where /proc is unavailable.
    static var peakResidentBytes: Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kb * 1024
        }
        return 0
    }
}
