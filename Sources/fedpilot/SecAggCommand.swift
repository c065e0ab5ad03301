import ArgumentParser
import Foundation
import SecureAggregation

/// `fedpilot secagg ...`: secure aggregation (SecAgg+), where the coordinator learns only the sum.
struct SecAggCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secagg", abstract: "Secure aggregation (SecAgg+): the coordinator learns only the sum of updates.",
        subcommands: [SecAggBench.self, SecAggParams.self])
}

/// Shared options for choosing k and t.
struct SecAggParameterOptions: ParsableArguments {
    @Option(help: "Number of clients n.") var clients: Int = 100
    @Option(help: "Expected fraction of clients that drop out of a round (for choosing k and t).") var dropout: Double = 0.1
    @Option(help: "Override the neighbour degree k (n-1 = classic SecAgg).") var k: Int?
    @Option(help: "Override the Shamir threshold t (must exceed k/2).") var t: Int?
    @Option(help: "Target probability of a failed round (recovery, privacy, connectivity).") var target: Double = 1e-6

    func parameters() throws -> SecAggParameters {
        guard clients >= 2 else { throw ValidationError("--clients must be at least 2") }
        guard dropout >= 0, dropout < 1 else { throw ValidationError("--dropout must be in [0, 1)") }
        switch (k, t) {
        case (nil, nil):
            return try SecAggParameters.choose(clientCount: clients, dropoutRate: dropout, target: target)
        case let (k?, t?):
            return try SecAggParameters.fixed(clientCount: clients, degree: k, threshold: t, dropoutRate: dropout, target: target)
        case let (k?, nil):
            return try SecAggParameters.fixed(clientCount: clients, degree: k, threshold: min(k, clients - 1) / 2 + 1,
                                              dropoutRate: dropout, target: target)
        case (nil, _?):
            throw ValidationError("--t needs --k")
        }
    }

    static func describe(_ p: SecAggParameters) -> [String: Any] {
        ["k": p.degree, "t": p.threshold, "failure_probability": p.failureProbability,
         "recovery_failure_probability": p.recoveryFailureProbability,
         "connectivity_failure_probability": p.connectivityFailureProbability,
         "meets_target": p.meetsTarget, "target": p.target]
    }
}

struct SecAggParams: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "params", abstract: "Show the neighbour degree k and threshold t chosen for n clients and a dropout rate.")
    @OptionGroup var parameters: SecAggParameterOptions
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let p = try parameters.parameters()
            if json {
                var out = SecAggParameterOptions.describe(p)
                out["clients"] = p.clientCount
                out["dropout"] = p.dropoutRate
                try printJSON(out)
            } else {
                print(p)
            }
        }
    }
}

struct SecAggBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Run one in-process SecAgg+ round on random updates and time the clients and the server.")
    @OptionGroup var parameters: SecAggParameterOptions
    @Option(help: "Values per update d.") var dim: Int = 100_000
    @Option(help: "Where dropped clients stop: before-advertise, after-advertise, after-sharing, after-masked-input.")
    var dropPhase: String = SecAggDropPoint.afterSharing.rawValue
    @Option(help: "Clip bound c: values are clipped to [-c, c]; the random updates are uniform in it.") var clip: Float = 1
    @Option(help: "Seed for updates, dropouts, rounding and the graph.") var seed: UInt64 = 1
    @Option(help: "Mask-expansion threads per client and for the server.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            guard dim > 0, threads > 0, clip > 0 else { throw ValidationError("--dim, --threads and --clip must be positive") }
            guard let point = SecAggDropPoint(rawValue: dropPhase) else {
                throw ValidationError("--drop-phase must be one of \(SecAggDropPoint.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let p = try parameters.parameters()
            let n = p.clientCount
            let config = try SecAggConfig(round: 1, dimension: dim, parameters: p, graphSeed: seed, clipBound: clip)
            var rng = SecAggSeededRandom(seed: seed)
            let c = clip, d = dim
            let updates = (0..<n).map { _ in
                PlainUpdate((0..<d).map { _ in Float(rng.unit() * 2 - 1) * c })
            }
            // Exactly round(dropout * n) clients drop, chosen at random.
            var order = Array(0..<SecAggClientID(n))
            for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.below(UInt64(i + 1)))) }
            let dropCount = Int((parameters.dropout * Double(n)).rounded())
            let drops = Dictionary(uniqueKeysWithValues: order.prefix(dropCount).map { ($0, point) })

            let outcome = try SecAggSimulation.run(config: config, updates: updates, roundingSeed: seed, drops: drops, threads: threads)
            guard let sum = outcome.aggregate else { throw outcome.error ?? SecAggError.roundAborted("no output") }
            var plain = [Double](repeating: 0, count: dim)
            for i in sum.survivors {
                for (j, v) in updates[Int(i)].values.enumerated() { plain[j] += Double(v) }
            }
            // Error of the decoded sum against the exact sum of the float inputs (in double): the
            // quantization error, bounded by survivors × step. The Float32 output adds its own
            // rounding (half an ulp of the sum), reported separately.
            let decoded = sum.doubleValues, values = sum.values
            var maxError = 0.0, maxErrorFloat = 0.0
            for j in 0..<dim {
                maxError = max(maxError, abs(decoded[j] - plain[j]))
                maxErrorFloat = max(maxErrorFloat, abs(Double(values[j]) - plain[j]))
            }
            let survivorSeconds = sum.survivors.map { outcome.clientSeconds[$0] ?? 0 }
            let clientSeconds = survivorSeconds.reduce(0, +) / Double(max(1, survivorSeconds.count))
            var result: [String: Any] = [
                "clients": n, "dim": dim, "dropped": n - sum.survivors.count,
                "client_seconds": clientSeconds, "client_seconds_max": survivorSeconds.max() ?? 0,
                "server_seconds": outcome.serverSeconds, "max_abs_error": maxError,
                "max_abs_error_float32": maxErrorFloat, "quantization_step": config.quantization.step, "error_bound": Double(sum.survivors.count) * config.quantization.step,
                "scale": config.quantization.scale, "threads": threads, "drop_phase": point.rawValue,
                "bytes_up_per_client": (sum.survivors.map { outcome.bytesUp[$0] ?? 0 }.max() ?? 0),
            ]
            for (key, value) in SecAggParameterOptions.describe(p) { result[key] = value }
            // Raw mask-expansion speed on this machine (k + 1 streams, as one client expands).
            let prg = SecAggMeasurements.maskExpansionBytesPerSecond(dimension: dim, streams: p.degree + 1, threads: threads)
            result["prg_gb_per_s"] = prg / 1e9
            if json { try printJSON(result) } else {
                print(String(format: "secagg: n=%d d=%d k=%d t=%d, %d dropped (%@): client %.3f s (mean), server %.3f s; max |error| %.3g (step %.3g, bound %.3g)",
                             n, dim, p.degree, p.threshold, n - sum.survivors.count, point.rawValue, clientSeconds,
                             outcome.serverSeconds, maxError, config.quantization.step, Double(sum.survivors.count) * config.quantization.step))
            }
        }
    }
}
