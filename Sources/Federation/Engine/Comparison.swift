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
    /// What training cost (nil: no training). A federated run's figure covers the whole run,
    /// its per-round evaluations included; retrieval's is pooling the text and building the index.
    public var training: ResourceUsage?
    /// What predicting cost: every client's task examples (its validation batch without labels)
    /// under the approach's final model, once.
    public var inference: ResourceUsage?
    /// Predictions made during `inference`.
    public var predictions = 0
    /// What leaves each client and who sees it.
    public var privacy: ApproachPrivacy?

    /// Wall seconds per prediction; nil when nothing was predicted.
    public var latencySeconds: Double? {
        guard let inference, predictions > 0 else { return nil }
        return inference.wallSeconds / Double(predictions)
    }

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
    /// Training examples put in the prompt by the retrieval approach, and the neighbours that vote in kNN.
    public var retrievalK = 3

    public init(scenario: Scenario) { self.scenario = scenario }

    /// The trained approaches in the order they run (each can be recorded in a run journal).
    public static func approaches(dp: Bool) -> [String] {
        ["federated"] + (dp ? ["federated+dp"] : []) + ["centralized", "local-only"]
    }

    /// The untrained approaches that follow them: the base model as shipped, and with labelled
    /// data the two retrieval baselines.
    public static func baselines(labelled: Bool) -> [String] {
        ["base-model"] + (labelled ? ["retrieval", "knn-vote"] : [])
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
        let baseInference = try measureInference(clients: clients) { _ in nil }
        baseTasks = baseInference.tasks

        // Centralized: every client's training data pooled, the federated run's total steps.
        var began = Date()
        let centralLog = ApproachLog(name: "centralized", scenario: scenario, recorder: try recorder?("centralized", scenario), observe: observe)
        centralLog.start()
        let pooled = clients.flatMap(\.trainTokens)
        let rawBytes = clients.reduce(0) { $0 + $1.data.train.reduce(0) { $0 + $1.text.utf8.count } }
        let totalSteps = stepsPerClient.values.reduce(0, +)
        let (central, centralTraining) = ResourceUsage.measure {
            clients[0].trainer.train(from: start, examples: pooled, steps: totalSteps)
        }
        let centralEval = try evaluate(central.adapter, clients: clients)
        var centralResult = ApproachResult(name: "centralized", perClient: centralEval, overall: mean(centralEval, weights),
                                           bytesMoved: rawBytes, wallSeconds: Date().timeIntervalSince(began), epsilon: nil,
                                           trainingTokens: central.tokens)
        let centralInference = try measureInference(clients: clients) { _ in central.adapter }
        centralResult.tasks = centralInference.tasks
        centralResult.training = centralTraining
        centralResult.inference = centralInference.usage
        centralResult.predictions = centralInference.predictions
        centralResult.privacy = .centralized
        results.insert(centralResult, at: 0)
        centralLog.finish(centralResult, base: base, baseOverall: baseOverall, adapter: central.adapter,
                          bytesUp: Dictionary(uniqueKeysWithValues: clients.map { c in (c.spec.id, c.data.train.reduce(0) { $0 + $1.text.utf8.count }) }))
        finished(centralResult)
        progress(describe(centralResult))

        // Local-only: each client alone with its own share of the budget; no bytes move.
        began = Date()
        let localLog = ApproachLog(name: "local-only", scenario: scenario, recorder: try recorder?("local-only", scenario), observe: observe)
        localLog.start()
        var localTokens = 0
        let (adapters, localTraining) = ResourceUsage.measure {
            var out: [String: LoRAAdapter] = [:]
            for c in clients {
                let examples = c.trainTokens
                let r = c.trainer.train(from: start, examples: examples, steps: stepsPerClient[c.spec.id]!)
                localTokens += r.tokens
                out[c.spec.id] = r.adapter
            }
            return out
        }
        var local: [String: Double] = [:]
        for c in clients { if let loss = try c.evaluate(adapter: adapters[c.spec.id]!) { local[c.spec.id] = loss } }
        var localResult = ApproachResult(name: "local-only", perClient: local, overall: mean(local, weights), bytesMoved: 0,
                                         wallSeconds: Date().timeIntervalSince(began), epsilon: nil, trainingTokens: localTokens)
        let localInference = try measureInference(clients: clients) { adapters[$0.spec.id] }
        localResult.tasks = localInference.tasks
        localResult.training = localTraining
        localResult.inference = localInference.usage
        localResult.predictions = localInference.predictions
        localResult.privacy = .localOnly
        results.insert(localResult, at: 1)
        localLog.finish(localResult, base: base, baseOverall: baseOverall, adapter: nil, bytesUp: [:])
        finished(localResult)
        progress(describe(localResult))

        // The base model as shipped: on-prem inference, no training, no client data.
        var baseResult = ApproachResult(name: "base-model", perClient: base, overall: baseOverall, bytesMoved: 0,
                                        wallSeconds: baseInference.usage.wallSeconds, epsilon: 0, trainingTokens: 0)
        baseResult.tasks = baseTasks
        baseResult.inference = baseInference.usage
        baseResult.predictions = baseInference.predictions
        baseResult.privacy = .baseModel
        results.append(baseResult)
        finished(baseResult)
        progress(describe(baseResult))

        // Retrieval over the pooled training text (labelled data only: its quality is the label scorer's).
        guard !taskLabels.isEmpty else { return }
        let (index, indexing) = ResourceUsage.measure { RetrievalBaseline(clients: clients, k: retrievalK) }
        let limit = scenario.evaluation.task.examplesPerClient ?? scenario.evaluation.maxExamplesPerClient
        for name in ["retrieval", "knn-vote"] {
            var queryBytes = 0
            let (tasks, usage) = try ResourceUsage.measure { () throws -> [String: TaskScore] in
                var out: [String: TaskScore] = [:]
                for c in clients {
                    let scored = name == "retrieval"
                        ? try index.scoreFewShot(c, labels: taskLabels, task: scenario.evaluation.task, limit: limit)
                        : index.scoreVote(c, labels: taskLabels, task: scenario.evaluation.task, limit: limit)
                    if let scored { out[c.spec.id] = scored.0; queryBytes += scored.bytes }
                }
                return out
            }
            var r = ApproachResult(name: name, perClient: [:], overall: .nan, bytesMoved: index.pooledBytes + queryBytes,
                                   wallSeconds: indexing.wallSeconds + usage.wallSeconds, epsilon: nil, trainingTokens: 0)
            r.tasks = tasks
            r.training = indexing
            r.inference = usage
            r.predictions = tasks.values.reduce(0) { $0 + $1.total }
            r.privacy = .retrieval
            results.append(r)
            finished(r)
            progress(describe(r))
        }
    }

    /// Every client's task examples scored under `adapter(client)` (the base model when nil), timed;
    /// without labels, the validation batches' loss stands in as the prediction work.
    func measureInference(clients: [ClientWorker], adapter: (ClientWorker) -> LoRAAdapter?) throws
        -> (tasks: [String: TaskScore], usage: ResourceUsage, predictions: Int) {
        var predictions = 0
        let (tasks, usage) = try ResourceUsage.measure { () throws -> [String: TaskScore] in
            var out: [String: TaskScore] = [:]
            for c in clients {
                if !taskLabels.isEmpty {
                    if let t = try c.scoreLabels(adapter: adapter(c), labels: taskLabels) { out[c.spec.id] = t; predictions += t.total }
                } else if let batch = c.validationBatch {
                    let a = try adapter(c) ?? LoRAAdapter(zerosFor: c.modelConfig, config: c.loraConfig)
                    _ = try c.evaluate(adapter: a)
                    predictions += batch.rows
                }
            }
            return out
        }
        return (tasks, usage, predictions)
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
        let (_, training) = ResourceUsage.measure { pilot.coordinator.run() }
        let weights = pilot.transport.clients.mapValues { $0.data.train.count }
        var result = ApproachResult(name: name, perClient: collector.lastEval, overall: mean(collector.lastEval, weights),
                                    bytesMoved: collector.bytes, wallSeconds: Date().timeIntervalSince(began), epsilon: epsilon,
                                    trainingTokens: collector.trainedTokens)
        result.tasks = collector.lastTask
        result.training = training
        result.privacy = .federated(s.privacy, epsilon: epsilon)
        // Inference with the final global adapter, timed (the labels are the run's announced ones).
        var timed = self
        timed.taskLabels = collector.taskLabels
        let global = pilot.coordinator.global
        let inference = try timed.measureInference(clients: s.clients.compactMap { pilot.transport.clients[$0.id] }) { _ in global }
        result.inference = inference.usage
        result.predictions = inference.predictions
        return (result, collector.baseEval, mean(collector.baseEval, weights), weights, collector.taskLabels)
    }

    func describe(_ r: ApproachResult) -> String {
        var text = r.overall.isNaN ? "\(r.name): no eval loss"
            : String(format: "%@: eval loss %.4f (base %.4f)", r.name, r.overall, baseOverall)
        if let a = r.pooledTask.accuracy { text += String(format: ", accuracy %.3f", a) }
        return text + String(format: ", %d bytes, %.1f s", r.bytesMoved, r.wallSeconds)
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
        lines += bestAndSimpler(federated: fed)
        return lines.joined(separator: "; ")
    }

    /// From the simplest to the most demanding: a tie goes to the simpler approach.
    static let simplicity = ["base-model", "knn-vote", "retrieval", "local-only", "federated", "federated+dp", "centralized"]

    /// The best approach per client and overall (by task accuracy with labels, by eval loss
    /// without), and every simpler approach that comes within 90% of federated's accuracy.
    func bestAndSimpler(federated fed: ApproachResult) -> [String] {
        let rank = { (name: String) in Self.simplicity.firstIndex(of: name) ?? Self.simplicity.count }
        let labelled = !taskLabels.isEmpty
        /// Higher is better: accuracy, or minus the eval loss.
        func quality(_ r: ApproachResult, _ client: String?) -> Double? {
            if labelled { return client.map { r.tasks[$0]?.accuracy } ?? r.pooledTask.accuracy }
            let loss = client.map { r.perClient[$0] } ?? r.overall
            return loss.flatMap { $0.isNaN ? nil : -$0 }
        }
        func best(_ client: String?) -> (String, Double)? {
            results.compactMap { r in quality(r, client).map { (r.name, $0) } }
                .max { $0.1 != $1.1 ? $0.1 < $1.1 : rank($0.0) > rank($1.0) }
        }
        let metric = labelled ? "accuracy" : "eval loss"
        var lines: [String] = []
        if let (name, q) = best(nil) {
            lines.append(String(format: "best overall: %@ (%@ %.3f)", name, metric, labelled ? q : -q))
        }
        let perClient = scenario.clients.compactMap { c in best(c.id).map { "\(c.id) \($0.0)" } }
        if !perClient.isEmpty { lines.append("best per client: " + perClient.joined(separator: ", ")) }
        if labelled, let fedAccuracy = fed.pooledTask.accuracy, fedAccuracy > 0 {
            for r in results where rank(r.name) < rank("federated") {
                guard let a = r.pooledTask.accuracy, a >= 0.9 * fedAccuracy else { continue }
                let cost: String
                switch r.name {
                case "base-model": cost = "with no training and no client data"
                case "local-only": cost = "with nothing leaving any client"
                default: cost = "at no training cost (but the training text is pooled)"
                }
                lines.append(a > fedAccuracy
                    ? String(format: "%@ beats federated's accuracy (%.3f vs %.3f) %@", r.name, a, fedAccuracy, cost)
                    : String(format: "%@ reaches %.2f of federated's accuracy %@", r.name, a / fedAccuracy, cost))
            }
        }
        return lines
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
