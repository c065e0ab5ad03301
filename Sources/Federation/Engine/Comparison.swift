import Foundation
import Llama

/// One approach's outcome in a comparison.
public struct ApproachResult: Sendable {
    public var name: String
    /// Eval loss per client on its own validation split.
    public var perClient: [String: Double]
    /// Example-weighted mean over clients.
    public var overall: Double
    public var bytesMoved: Int
    public var wallSeconds: Double
    /// Privacy loss: nil when no differential privacy applies.
    public var epsilon: Double?
    public var trainingTokens: Int
    /// Confusion counts per client of the classification task (empty without labels).
    public var tasks: [String: TaskScore] = [:]

    /// Accuracy and macro-F1 over every client's labelled validation examples pooled.
    public var pooledTask: TaskScore { tasks.values.reduce(TaskScore()) { $0.merged(with: $1) } }
}

/// Where one approach of a comparison is recorded: its events, and its global adapter after
/// each round (`fedpilot compare --journal-dir` gives each approach a run journal).
public struct ApproachRecorder: Sendable {
    public var record: EventSink
    public var checkpoint: @Sendable (Int, LoRAAdapter) -> Void
    public init(record: @escaping EventSink, checkpoint: @escaping @Sendable (Int, LoRAAdapter) -> Void) {
        self.record = record; self.checkpoint = checkpoint
    }
}

/// Runs the same model, data, evaluation splits and training budget four ways:
/// centralized (pooled data), local-only (each client alone), federated (the scenario),
/// and federated with client-level DP. Every approach is evaluated on each client's own
/// validation split, against the base model's loss there.
public struct Comparison: Sendable {
    public let scenario: Scenario
    public var base: [String: Double] = [:]
    public var baseOverall = 0.0
    public var results: [ApproachResult] = []
    /// The classification task's labels (empty without labels) and the base model's confusion counts per client.
    public var taskLabels: [String] = []
    public var baseTasks: [String: TaskScore] = [:]

    public init(scenario: Scenario) { self.scenario = scenario }

    /// The approaches in the order they run.
    public static func approaches(dp: Bool) -> [String] {
        ["federated"] + (dp ? ["federated+dp"] : []) + ["centralized", "local-only"]
    }

    /// - Parameters:
    ///   - dpNoise: noise multiplier for the federated + DP run, with its ε (from the accountant).
    ///   - recorder: where each approach's events go (by approach name and the scenario it runs);
    ///     nil for none. Centralized and local-only are recorded as one round that spends the
    ///     whole training budget.
    ///   - observe: every event of every approach, with the approach's name (for live views).
    ///   - finished: each approach's result as it finishes.
    ///   - progress: called with a line of text as each approach finishes.
    public mutating func run(model: EngineModel, dpNoise: (noise: Double, epsilon: Double)?,
                             recorder: (@Sendable (String, Scenario) throws -> ApproachRecorder?)? = nil,
                             observe: (@Sendable (String, FederationEvent) -> Void)? = nil,
                             finished: (ApproachResult) -> Void = { _ in },
                             progress: (String) -> Void) throws {
        // Federated: the scenario as written.
        let fed = try runFederated(scenario, model: model, name: "federated", epsilon: nil,
                                   recorder: recorder?("federated", scenario), observe: observe)
        base = fed.base
        baseOverall = fed.baseOverall
        taskLabels = fed.labels
        let weights = fed.weights
        results.append(fed.result)
        finished(fed.result)
        progress(describe(fed.result))

        if let dp = dpNoise {
            var private_ = scenario
            private_.privacy.differentialPrivacy = true
            private_.privacy.noiseMultiplier = dp.noise
            if private_.privacy.secureAggregation { private_.privacy.noise = .distributed }
            if !PrivacyPosture.differentiallyPrivateStrategies.contains(private_.strategy.kind) {
                // Robust aggregators and SCAFFOLD cannot back an ε (see PrivacyPosture): DP runs FedAvg.
                progress("federated+dp: \(private_.strategy.kind.rawValue) cannot run with DP; using fedavg for this approach")
                private_.strategy = StrategyConfig()
            }
            let r = try runFederated(private_, model: model, name: "federated+dp", epsilon: dp.epsilon,
                                     recorder: recorder?("federated+dp", private_), observe: observe).result
            results.append(r)
            finished(r)
            progress(describe(r))
        }

        // Centralized and local-only use the same clients (their data and validation batches).
        let pilot = try PilotBuilder.build(scenario, model: model, sink: { _ in })
        let clients = scenario.clients.compactMap { pilot.transport.clients[$0.id] }
        let stepsPerClient = Dictionary(uniqueKeysWithValues: clients.map { ($0.spec.id, ($0.spec.localSteps ?? stepsBudget) * scenario.rounds) })
        let start = try LoRAAdapter(model: model.model.config, config: scenario.lora, seed: scenario.seed)
        baseTasks = try scoreTasks(nil, clients: clients)

        // Centralized: every client's training data pooled, the federated run's total steps.
        var began = Date()
        let centralLog = ApproachLog(name: "centralized", scenario: scenario, recorder: try recorder?("centralized", scenario), observe: observe)
        centralLog.start()
        let pooled = clients.flatMap { c in c.data.train.map { ClientWorker.tokenize($0, c.encoding) } }
        let rawBytes = clients.reduce(0) { $0 + $1.data.train.reduce(0) { $0 + $1.text.utf8.count } }
        let totalSteps = stepsPerClient.values.reduce(0, +)
        let central = clients[0].trainer.train(from: start, examples: pooled, steps: totalSteps)
        let centralEval = try evaluate(central.adapter, clients: clients)
        var centralResult = ApproachResult(name: "centralized", perClient: centralEval, overall: mean(centralEval, weights),
                                           bytesMoved: rawBytes, wallSeconds: Date().timeIntervalSince(began), epsilon: nil,
                                           trainingTokens: central.tokens)
        centralResult.tasks = try scoreTasks(central.adapter, clients: clients)
        results.insert(centralResult, at: 0)
        centralLog.finish(centralResult, base: base, baseOverall: baseOverall, adapter: central.adapter,
                          bytesUp: Dictionary(uniqueKeysWithValues: clients.map { c in (c.spec.id, c.data.train.reduce(0) { $0 + $1.text.utf8.count }) }))
        finished(centralResult)
        progress(describe(centralResult))

        // Local-only: each client alone with its own share of the budget; no bytes move.
        began = Date()
        let localLog = ApproachLog(name: "local-only", scenario: scenario, recorder: try recorder?("local-only", scenario), observe: observe)
        localLog.start()
        var local: [String: Double] = [:]
        var localTokens = 0
        var localTasks: [String: TaskScore] = [:]
        for c in clients {
            let examples = c.data.train.map { ClientWorker.tokenize($0, c.encoding) }
            let r = c.trainer.train(from: start, examples: examples, steps: stepsPerClient[c.spec.id]!)
            localTokens += r.tokens
            if let loss = try c.evaluate(adapter: r.adapter) { local[c.spec.id] = loss }
            if !taskLabels.isEmpty, let t = try c.scoreLabels(adapter: r.adapter, labels: taskLabels) { localTasks[c.spec.id] = t }
        }
        var localResult = ApproachResult(name: "local-only", perClient: local, overall: mean(local, weights), bytesMoved: 0,
                                         wallSeconds: Date().timeIntervalSince(began), epsilon: nil, trainingTokens: localTokens)
        localResult.tasks = localTasks
        results.insert(localResult, at: 1)
        localLog.finish(localResult, base: base, baseOverall: baseOverall, adapter: nil, bytesUp: [:])
        finished(localResult)
        progress(describe(localResult))
    }

    var stepsBudget: Int {
        if case .steps(let n) = scenario.training.budget { return n }
        return 1
    }

    func evaluate(_ adapter: LoRAAdapter, clients: [ClientWorker]) throws -> [String: Double] {
        var out: [String: Double] = [:]
        for c in clients { if let l = try c.evaluate(adapter: adapter) { out[c.spec.id] = l } }
        return out
    }

    /// Each client's confusion counts under `adapter` (the base model when nil); empty without labels.
    func scoreTasks(_ adapter: LoRAAdapter?, clients: [ClientWorker]) throws -> [String: TaskScore] {
        guard !taskLabels.isEmpty else { return [:] }
        var out: [String: TaskScore] = [:]
        for c in clients { if let t = try c.scoreLabels(adapter: adapter, labels: taskLabels) { out[c.spec.id] = t } }
        return out
    }

    func mean(_ values: [String: Double], _ weights: [String: Int]) -> Double {
        var s = 0.0, w = 0.0
        for (k, v) in values { let wk = Double(max(1, weights[k] ?? 1)); s += v * wk; w += wk }
        return w > 0 ? s / w : .nan
    }

    func runFederated(_ s: Scenario, model: EngineModel, name: String, epsilon: Double?, recorder: ApproachRecorder?,
                      observe: (@Sendable (String, FederationEvent) -> Void)?)
        throws -> (result: ApproachResult, base: [String: Double], baseOverall: Double, weights: [String: Int], labels: [String]) {
        let collector = ComparisonCollector()
        let pilot = try PilotBuilder.build(s, model: model, sink: { event in
            collector.take(event)
            recorder?.record(event)
            observe?(name, event)
        })
        if let recorder { pilot.coordinator.onCheckpoint = { recorder.checkpoint($0.round, $0.adapter) } }
        let began = Date()
        pilot.coordinator.run()
        let weights = pilot.transport.clients.mapValues { $0.data.train.count }
        var result = ApproachResult(name: name, perClient: collector.lastEval, overall: mean(collector.lastEval, weights),
                                    bytesMoved: collector.bytes, wallSeconds: Date().timeIntervalSince(began), epsilon: epsilon,
                                    trainingTokens: collector.trainedTokens)
        result.tasks = collector.lastTask
        return (result, collector.baseEval, mean(collector.baseEval, weights), weights, collector.taskLabels)
    }

    func describe(_ r: ApproachResult) -> String {
        String(format: "%@: eval loss %.4f (base %.4f), %d bytes, %.1f s", r.name, r.overall, baseOverall, r.bytesMoved, r.wallSeconds)
    }

    /// A short plain-language verdict.
    public var verdict: String {
        guard let central = results.first(where: { $0.name == "centralized" }),
              let fed = results.first(where: { $0.name == "federated" }) else { return "" }
        let centralGain = baseOverall - central.overall, fedGain = baseOverall - fed.overall
        var lines: [String] = []
        if centralGain > 0 {
            lines.append(String(format: "federated recovers %.0f%% of centralized's improvement over the base model (%.4f vs %.4f nats)",
                                100 * fedGain / centralGain, fedGain, centralGain))
        }
        if let local = results.first(where: { $0.name == "local-only" }) {
            let winners = local.perClient.filter { client, loss in loss < (fed.perClient[client] ?? .infinity) }.keys.sorted()
            lines.append(winners.isEmpty ? "federated beats local-only for every client"
                         : "local-only wins for \(winners.joined(separator: ", "))")
        }
        if let fedAccuracy = fed.pooledTask.accuracy, let baseAccuracy = baseTasks.values.reduce(TaskScore(), { $0.merged(with: $1) }).accuracy {
            var text = String(format: "task accuracy: federated %.3f, base model %.3f", fedAccuracy, baseAccuracy)
            let best = results.compactMap { r in r.pooledTask.accuracy.map { (r.name, $0) } }.max { $0.1 < $1.1 }
            if let best, best.0 != "federated" { text += String(format: ", best %@ %.3f", best.0, best.1) }
            lines.append(text)
        }
        if let dp = results.first(where: { $0.name == "federated+dp" }), let eps = dp.epsilon {
            lines.append(String(format: "DP at ε=%.2f costs %.4f nats against federated without DP", eps, dp.overall - fed.overall))
        }
        return lines.joined(separator: "; ")
    }
}

/// Gathers what a comparison needs from a run's events.
final class ComparisonCollector: @unchecked Sendable {
    private let lock = NSLock()
    var baseEval: [String: Double] = [:]
    var lastEval: [String: Double] = [:]
    var bytes = 0
    var trainedTokens = 0
    var taskLabels: [String] = []
    /// Each client's confusion counts at its last evaluation.
    var lastTask: [String: TaskScore] = [:]
    private var seenRound: [String: Int] = [:]

    func take(_ event: FederationEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .clientUpdate(let m):
            if m.status == .done || m.status == .rejected, seenRound[m.client] != m.round {
                seenRound[m.client] = m.round
                trainedTokens += m.trainTokens
            }
            if let c = m.confusion { lastTask[m.client] = TaskScore(counts: c) }
            if let l = m.evalLoss {
                lastEval[m.client] = l
                if let b = m.qualityDeltaBase { baseEval[m.client] = l + b }
            }
        case .roundCompleted(let r): bytes += r.bytesUp + r.bytesDown
        case .taskLabels(_, let labels, _): taskLabels = labels
        default: break
        }
    }
}
