import Foundation
import Llama
import TOMLKit

/// Values given on the command line that replace the scenario file's.
public struct ScenarioOverrides: Sendable, Equatable {
    /// Replaces `rounds` (validated like it).
    public var rounds: Int?
    /// Replaces `seed`.
    public var seed: UInt64?
    public init(rounds: Int? = nil, seed: UInt64? = nil) { self.rounds = rounds; self.seed = seed }
}

/// Reads scenario files (TOML) into a validated `Scenario`.
///
/// Every key of the file is checked: unknown keys, wrong types, out-of-range values, keys that would
/// have no effect (a strategy parameter the chosen strategy does not read, DP settings with DP off, ...),
/// and references between parts (fault clients, partition indexes, `min_clients`) are errors, thrown as
/// a `ScenarioError` that names the file, the TOML key path and the problem. Nothing falls back to a
/// default silently. Data files are not opened here; relative paths are kept as written.
public enum ScenarioLoader {
    /// `rounds` must be in 1...maximumRounds.
    public static let maximumRounds = 10_000
    /// Used for `[training] steps` when neither `steps` nor `epochs` is given.
    public static let defaultLocalSteps = 10
    /// The `domain` of generated clients when `[data]` gives none.
    public static let defaultPooledDomain = "pooled"

    /// Reads and parses the scenario file at `path` (relative to the working directory, or absolute).
    public static func load(path: String, overrides: ScenarioOverrides = .init()) throws -> Scenario {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ScenarioError(kind: .unreadable, file: path, keyPath: "", problem: "no such scenario file",
                                hint: "the shipped scenarios are in scenarios/")
        }
        if isDirectory.boolValue {
            throw ScenarioError(kind: .unreadable, file: path, keyPath: "", problem: "is a directory, not a scenario file")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ScenarioError(kind: .unreadable, file: path, keyPath: "", problem: "cannot read the scenario file")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ScenarioError(kind: .unreadable, file: path, keyPath: "", problem: "is not UTF-8 text")
        }
        return try parse(text, path: path, overrides: overrides)
    }

    /// Parses scenario TOML; `path` names the file in messages and becomes `Scenario.sourcePath`.
    public static func parse(_ text: String, path: String, overrides: ScenarioOverrides = .init()) throws -> Scenario {
        if let (line, column, problem) = TOMLPrecheck.problem(in: text) {
            throw ScenarioError(kind: .syntax, file: path, keyPath: "", problem: "invalid TOML: \(problem)", line: line, column: column)
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw ScenarioError(kind: .syntax, file: path, keyPath: "", problem: "invalid TOML: \(e.description)",
                                line: e.source.begin.line, column: e.source.begin.column)
        } catch {
            throw ScenarioError(kind: .syntax, file: path, keyPath: "", problem: "invalid TOML: \(error)")
        }
        let top = ScenarioTableReader(file: path, table: root, path: "", display: "the top level")
        return try ScenarioParser(file: path).scenario(top, overrides: overrides)
    }
}

/// The TOML schema: the keys of each table, in the order the documentation lists them.
enum ScenarioSchema {
    static let top = ["name", "description", "seed", "rounds", "payload", "real_time_pacing", "model", "lora", "training",
                      "selection", "strategy", "evaluation", "link", "data", "clients", "faults", "privacy",
                      "probe_prompts", "label_prompts"]
    static let model = ["path", "compute", "saved_activations"]
    static let lora = ["rank", "alpha", "dropout", "targets"]
    static let training = ["steps", "epochs", "batch_size", "sequence_length", "learning_rate", "warmup_steps",
                           "min_lr_ratio", "weight_decay", "max_grad_norm", "packing", "train_on"]
    static let selection = ["fraction", "min_clients", "availability", "deadline_seconds"]
    static let strategy = ["name", "server_learning_rate", "proximal_mu", "momentum", "beta1", "beta2", "tau",
                           "trim_fraction", "byzantine", "multi_krum_select"]
    static let evaluation = ["every", "max_examples_per_client", "validation_fraction", "labels", "label_prompt",
                             "task_examples", "label_context_tokens", "generation", "generation_examples",
                             "label_calibration"]
    static let link = ["up_mbps", "down_mbps", "latency_ms", "drop_probability", "compute_factor"]
    static let data = ["path", "format", "partitioner", "field", "alpha", "labels_per_client", "power", "clients", "domain"]
    static let client = ["id", "domain", "data", "format", "partition", "local_steps", "link", "probe_prompt"]
    static let fault = ["client", "kind", "from_round", "to_round", "severity"]
    static let privacy = ["differential_privacy", "noise_multiplier", "clip_norm", "delta", "noise", "adaptive_clipping",
                          "target_quantile", "clip_learning_rate", "secure_aggregation", "degree", "threshold",
                          "expected_dropout", "failure_target", "quantization_bound", "phase_drop_probability"]

    /// For a key written in the wrong table: where it belongs.
    static let home: [String: String] = {
        var m: [String: String] = [:]
        let tables: [(String, [String])] = [
            ("[privacy]", privacy), ("[[faults]]", fault), ("[[clients]]", client), ("[data]", data),
            ("[link] or [clients.link]", link), ("[evaluation]", evaluation), ("[strategy]", strategy),
            ("[selection]", selection), ("[training]", training), ("[lora]", lora), ("[model]", model),
            ("the top level", top),
        ]
        for (name, keys) in tables { for k in keys { m[k] = name } }   // keys in several tables are spelled out below
        m["path"] = "[model] (the base model) or [data] (a pooled dataset)"
        m["clients"] = "the top level as [[clients]] tables, or [data] (the number of generated clients)"
        m["alpha"] = "[lora] (LoRA scaling) or [data] (Dirichlet concentration)"
        m["domain"] = "[[clients]] or [data]"
        m["data"] = "[[clients]] (a client's own file) or the top level as [data]"
        m["format"] = "[[clients]] or [data]"
        m["link"] = "the top level as [link] (every client) or [clients.link] (one client)"
        m["name"] = "the top level (the scenario's name) or [strategy] (the strategy's name)"
        m["probe_prompts"] = "the top level as [probe_prompts] (a prompt per domain)"
        m["label_prompts"] = "the top level as [label_prompts] (a label prompt template per domain)"
        return m
    }()

    /// Strategy parameters, by the strategies that read them.
    static let strategyParameters: [String: Set<StrategyKind>] = [
        "server_learning_rate": [.fedavg, .fedprox, .fedavgm, .fedadam, .fedyogi, .fedadagrad, .scaffold],
        "proximal_mu": [.fedprox],
        "momentum": [.fedavgm],
        "beta1": [.fedadam, .fedyogi, .fedadagrad],
        "beta2": [.fedadam, .fedyogi],
        "tau": [.fedadam, .fedyogi, .fedadagrad],
        "trim_fraction": [.trimmedMean],
        "byzantine": [.krum, .multiKrum],
        "multi_krum_select": [.multiKrum],
    ]

    /// Strategies whose aggregate is a (weighted) sum of the updates, so that secure aggregation can compute it.
    /// (SCAFFOLD is not among them: its server keeps each client's control variate.)
    static let linearStrategies: [StrategyKind] = [.fedavg, .fedprox, .fedavgm, .fedadam, .fedyogi, .fedadagrad]
}

/// The `[data]` table before clients are resolved.
private struct PooledData {
    var spec: PooledDataSpec
    /// `[data].clients`: how many shards to cut (and clients to generate when no `[[clients]]` is given).
    var clients: Int?
    var domain: String?
    var reader: ScenarioTableReader
}

struct ScenarioParser {
    let file: String

    func scenario(_ top: ScenarioTableReader, overrides: ScenarioOverrides) throws -> Scenario {
        try top.requireKnownKeys(ScenarioSchema.top, elsewhere: ScenarioSchema.home)

        let name = try top.requiredString("name", hint: "a short name for the pilot, e.g. name = \"clinical-pilot\"")
        let description = try top.string("description") ?? ""
        var seed: UInt64 = 0
        if let s = try top.int("seed") {
            try top.checkInt("seed", s, atLeast: 0)
            seed = UInt64(s)
        }
        guard let fileRounds = try top.int("rounds") else {
            throw top.missing("rounds", hint: "the number of federated rounds, 1...\(ScenarioLoader.maximumRounds)")
        }
        try top.checkInt("rounds", fileRounds, atLeast: 1, atMost: ScenarioLoader.maximumRounds)
        var rounds = fileRounds
        if let r = overrides.rounds {
            try top.checkInt("rounds", r, atLeast: 1, atMost: ScenarioLoader.maximumRounds, hint: "from the rounds override")
            rounds = r
        }
        if let s = overrides.seed { seed = s }
        let payload = try top.choice("payload", PayloadEncoding.self, noun: "payload encoding") ?? .int8
        let realTimePacing = try top.bool("real_time_pacing") ?? false

        guard let modelTable = try top.table("model", display: "[model]") else {
            throw ScenarioError(kind: .missingKey, file: file, keyPath: "model.path", problem: "missing required key",
                                hint: "add [model] with path = \"models/SmolLM2-135M-Instruct.Q4_1.gguf\"")
        }
        try modelTable.requireKnownKeys(ScenarioSchema.model, elsewhere: ScenarioSchema.home)
        let modelPath = try modelTable.requiredString("path", hint: "a GGUF file or checkpoint directory, relative to the working directory")
        let compute = try modelTable.choice("compute", ComputeMode.self, noun: "compute mode") ?? .f32
        let savedActivations = try modelTable.choice("saved_activations", SavedActivations.self, noun: "saved activations precision")

        let lora = try self.lora(top.table("lora", display: "[lora]"))
        let trainingTable = try top.table("training", display: "[training]")
        var training = try self.training(trainingTable)
        training.seed = seed
        let trainOn = try self.trainOn(trainingTable, packing: &training.packing)
        let strategy = try self.strategy(top.table("strategy", display: "[strategy]"))
        var evaluation = try self.evaluation(top.table("evaluation", display: "[evaluation]"))
        var defaultLink = LinkSpec()
        if let t = try top.table("link", display: "[link]") { defaultLink = try link(t, base: defaultLink) }
        let pooled = try data(top.table("data", display: "[data]"))

        var clients = try self.clients(top, pooled: pooled, defaultLink: defaultLink)
        try applyDomainProbePrompts(top.table("probe_prompts", display: "[probe_prompts]"), to: &clients)
        try applyDomainLabelPrompts(top.table("label_prompts", display: "[label_prompts]"), clients: clients, to: &evaluation.task)
        let selection = try self.selection(top.table("selection", display: "[selection]"), clientCount: clients.count)
        try checkStrategyFits(top, strategy, clientCount: clients.count)
        let faults = try self.faults(top, clients: clients, rounds: fileRounds)
        let privacy = try self.privacy(top.table("privacy", display: "[privacy]"), strategy: strategy)

        var scenario = Scenario(name: name, description: description, sourcePath: file, seed: seed, rounds: rounds,
                                modelPath: modelPath, lora: lora, training: training, selection: selection,
                                strategy: strategy, evaluation: evaluation, clients: clients, pooledData: pooled?.spec,
                                faults: faults, privacy: privacy)
        scenario.trainOn = trainOn
        scenario.payload = payload
        scenario.compute = compute
        scenario.savedActivations = savedActivations
        scenario.realTimePacing = realTimePacing
        return scenario
    }

    // MARK: Model and local training

    func lora(_ t: ScenarioTableReader?) throws -> LoRAConfig {
        let defaults = LoRAConfig()
        guard let t else { return defaults }
        try t.requireKnownKeys(ScenarioSchema.lora, elsewhere: ScenarioSchema.home)
        let rank = try t.int("rank", default: defaults.rank, atLeast: 1, atMost: LoRAConfig.maximumRank)
        let alpha = try t.float("alpha", default: defaults.alpha, .positive)
        let dropout = try t.float("dropout", default: defaults.dropout, .belowOne)
        var targets = defaults.targets
        if let v = t.value("targets") {
            targets = try loraTargets(v, t)
        }
        var config = LoRAConfig(rank: rank, alpha: alpha, dropout: dropout)
        config.targets = targets   // kept as parsed, so that validationProblem sees duplicates
        if let problem = config.validationProblem {
            throw ScenarioError(kind: .invalidValue, file: file, keyPath: "lora", problem: problem)
        }
        config.targets.sort()
        return config
    }

    private static let targetHint = "use q, k, v, o, gate, up, down, their *_proj names, or the strings \"all\" or \"qv\""

    /// `targets = "all"`, `"qv"`, `"q,v"`, or `["q", "v_proj", ...]`.
    func loraTargets(_ v: TOMLValueConvertible, _ t: ScenarioTableReader) throws -> [LoRATarget] {
        if let s = v.string {
            do { return try LoRATarget.parseList(s) } catch LoRAError.unknownTarget(let name) {
                throw t.error("targets", .invalidValue, "unknown LoRA target '\(name.trimmingCharacters(in: .whitespaces))'",
                              hint: Self.targetHint)
            }
        }
        guard let array = v.array else {
            throw t.typeError("targets", expected: "array of strings or a string", found: v, hint: Self.targetHint)
        }
        var targets: [LoRATarget] = []
        for (i, element) in array.enumerated() {
            let path = "\(t.keyPath("targets"))[\(i)]"
            guard let s = element.string else {
                throw ScenarioError(kind: .wrongType, file: file, keyPath: path,
                                    problem: "expected string, found \(ScenarioTableReader.describe(element))", hint: Self.targetHint)
            }
            do { targets += try LoRATarget.parseList(s) } catch LoRAError.unknownTarget(let name) {
                throw ScenarioError(kind: .invalidValue, file: file, keyPath: path,
                                    problem: "unknown LoRA target '\(name.trimmingCharacters(in: .whitespaces))'", hint: Self.targetHint)
            }
        }
        return targets
    }

    func training(_ t: ScenarioTableReader?) throws -> LocalTrainingConfig {
        let d = LocalTrainingConfig()
        guard let t else { return LocalTrainingConfig(budget: .steps(ScenarioLoader.defaultLocalSteps)) }
        try t.requireKnownKeys(ScenarioSchema.training, elsewhere: ScenarioSchema.home)
        let steps = try t.int("steps"), epochs = try t.int("epochs")
        let budget: LocalTrainingConfig.Budget
        switch (steps, epochs) {
        case (.some, .some):
            throw t.error(nil, .conflict, "steps and epochs cannot both be given",
                          hint: "steps = N runs N optimizer steps per round; epochs = N makes N passes over the client's data")
        case (.some(let s), nil):
            try t.checkInt("steps", s, atLeast: 1)
            budget = .steps(s)
        case (nil, .some(let e)):
            try t.checkInt("epochs", e, atLeast: 1)
            budget = .epochs(e)
        case (nil, nil):
            budget = .steps(ScenarioLoader.defaultLocalSteps)
        }
        return LocalTrainingConfig(
            budget: budget,
            batchSize: try t.int("batch_size", default: d.batchSize, atLeast: 1, atMost: LocalTrainingConfig.maximumBatchSize),
            sequenceLength: try t.int("sequence_length", default: d.sequenceLength, atLeast: 2,
                                      atMost: LocalTrainingConfig.maximumSequenceLength),
            learningRate: try t.float("learning_rate", default: d.learningRate, .positive),
            warmupSteps: try t.int("warmup_steps", default: d.warmupSteps, atLeast: 0),
            minimumLearningRateRatio: try t.float("min_lr_ratio", default: d.minimumLearningRateRatio, .probability),
            weightDecay: try t.float("weight_decay", default: d.weightDecay, .nonNegative),
            maxGradientNorm: try t.float("max_grad_norm", default: d.maxGradientNorm, .nonNegative),
            packing: try t.bool("packing") ?? d.packing)
    }

    /// `train_on = "text" | "label"`. Labelled examples are one row each (`packing = false`,
    /// the default with `label`): a packed stream would cut a ticket from its label at a row edge.
    func trainOn(_ t: ScenarioTableReader?, packing: inout Bool) throws -> TrainingTarget {
        guard let t, let target = try t.choice("train_on", TrainingTarget.self, noun: "training target"), target != .text else {
            return .text
        }
        if try t.bool("packing") == true {
            throw t.error("packing", .conflict, "cannot be true with train_on = \"\(target.rawValue)\"",
                          hint: "each labelled example is one row that ends with its label; leave packing out")
        }
        packing = false
        return target
    }

    // MARK: Federation

    func selection(_ t: ScenarioTableReader?, clientCount: Int) throws -> SelectionConfig {
        let d = SelectionConfig()
        guard let t else { return d }
        try t.requireKnownKeys(ScenarioSchema.selection, elsewhere: ScenarioSchema.home)
        let fraction = try t.double("fraction", default: d.fraction, .fractionAboveZero)
        let minimum = try t.int("min_clients", default: d.minimumClients, atLeast: 1)
        if minimum > clientCount {
            throw t.error("min_clients", .invalidValue, "is \(minimum), but the scenario has only \(clientCount) client\(clientCount == 1 ? "" : "s")",
                          hint: "a round needs at least min_clients participants, so no round could ever aggregate")
        }
        let availability = try t.double("availability", default: d.availability, .fractionAboveZero)
        var deadline: Double?
        if let x = try t.double("deadline_seconds") {
            try t.check("deadline_seconds", x, .positive, hint: "simulated seconds a round waits for uploads; leave it out to wait for all")
            deadline = x
        }
        return SelectionConfig(fraction: fraction, minimumClients: minimum, availability: availability, deadlineSeconds: deadline)
    }

    func strategy(_ t: ScenarioTableReader?) throws -> StrategyConfig {
        guard let t else { return StrategyConfig() }
        try t.requireKnownKeys(ScenarioSchema.strategy, elsewhere: ScenarioSchema.home)
        let kind = try t.choice("name", StrategyKind.self, noun: "strategy") ?? .fedavg
        for key in ScenarioSchema.strategy where key != "name" && t.has(key) {
            let readers = ScenarioSchema.strategyParameters[key] ?? []
            if !readers.contains(kind) {
                let names = StrategyKind.allCases.filter(readers.contains).map(\.rawValue).joined(separator: ", ")
                throw t.error(key, .conflict, "has no effect with strategy \"\(kind.rawValue)\"",
                              hint: "it is read by \(names); remove it or change [strategy].name")
            }
        }
        var s = StrategyConfig(kind: kind)
        s.serverLearningRate = try t.float("server_learning_rate", default: s.serverLearningRate, .positive)
        s.proximalMu = try t.float("proximal_mu", default: s.proximalMu, .nonNegative)
        s.momentum = try t.float("momentum", default: s.momentum, .belowOne)
        s.beta1 = try t.float("beta1", default: s.beta1, .belowOne)
        s.beta2 = try t.float("beta2", default: s.beta2, .belowOne)
        s.tau = try t.float("tau", default: s.tau, .positive)
        s.trimFraction = try t.double("trim_fraction", default: s.trimFraction, Bounds(lower: 0, upper: 0.5, upperInclusive: false))
        s.byzantine = try t.int("byzantine", default: s.byzantine, atLeast: 0)
        s.multiKrumSelect = try t.int("multi_krum_select", default: s.multiKrumSelect, atLeast: 1)
        return s
    }

    /// Krum's f and Multi-Krum's m must be possible with the scenario's clients. (Per round the engine clamps
    /// both to the participants, as Flower does, so smaller rounds are fine; these values could never apply.)
    func checkStrategyFits(_ top: ScenarioTableReader, _ s: StrategyConfig, clientCount n: Int) throws {
        guard s.kind == .krum || s.kind == .multiKrum else { return }
        func fail(_ key: String, _ problem: String, _ hint: String) -> ScenarioError {
            ScenarioError(kind: .invalidValue, file: file, keyPath: "strategy.\(key)", problem: problem, hint: hint)
        }
        if s.byzantine >= n {
            throw fail("byzantine", "must be less than the number of clients (\(n)), got \(s.byzantine)",
                       "the number of Byzantine clients Krum tolerates; its guarantee needs more than 2 * byzantine + 2 participants")
        }
        if s.kind == .multiKrum, s.multiKrumSelect > n {
            throw fail("multi_krum_select", "must be at most the number of clients (\(n)), got \(s.multiKrumSelect)",
                       "Multi-Krum averages this many of the best-scored updates")
        }
    }

    func evaluation(_ t: ScenarioTableReader?) throws -> EvaluationConfig {
        let d = EvaluationConfig()
        guard let t else { return d }
        try t.requireKnownKeys(ScenarioSchema.evaluation, elsewhere: ScenarioSchema.home)
        var config = EvaluationConfig(
            every: try t.int("every", default: d.every, atLeast: 1),
            maxExamplesPerClient: try t.int("max_examples_per_client", default: d.maxExamplesPerClient, atLeast: 1),
            validationFraction: try t.double("validation_fraction", default: d.validationFraction, .openUnit))
        config.task = try taskEvaluation(t)
        return config
    }

    /// A link table; keys it does not give keep the values of `base`.
    func link(_ t: ScenarioTableReader, base: LinkSpec) throws -> LinkSpec {
        try t.requireKnownKeys(ScenarioSchema.link, elsewhere: ScenarioSchema.home)
        return LinkSpec(
            upMbps: try t.double("up_mbps", default: base.upMbps, .positive),
            downMbps: try t.double("down_mbps", default: base.downMbps, .positive),
            latencyMs: try t.double("latency_ms", default: base.latencyMs, .nonNegative),
            dropProbability: try t.double("drop_probability", default: base.dropProbability, .probability),
            computeFactor: try t.double("compute_factor", default: base.computeFactor, .positive))
    }

    // MARK: Data and clients

    private func data(_ t: ScenarioTableReader?) throws -> PooledData? {
        guard let t else { return nil }
        try t.requireKnownKeys(ScenarioSchema.data, elsewhere: ScenarioSchema.home)
        let path = try t.requiredString("path", hint: "the pooled dataset that partition clients draw from")
        let format = try t.choice("format", DataFormat.self, noun: "data format") ?? .jsonlText
        let names = ["iid", "dirichlet", "pathological", "quantity_skew", "natural"]
        let partitionerName = try t.string("partitioner") ?? "iid"
        // Which partitioner reads which key, so that a key the chosen one ignores is an error.
        let uses: [String: [String]] = [
            "field": ["dirichlet", "pathological", "natural"], "alpha": ["dirichlet"],
            "labels_per_client": ["pathological"], "power": ["quantity_skew"],
        ]
        if names.contains(partitionerName) {
            for key in ["field", "alpha", "labels_per_client", "power"] where t.has(key) && !uses[key]!.contains(partitionerName) {
                throw t.error(key, .conflict, "has no effect with partitioner \"\(partitionerName)\"",
                              hint: "it is read by \(uses[key]!.joined(separator: ", ")); remove it or change [data].partitioner")
            }
        }
        let field = try t.nonEmptyString("field")
        let partitioner: PartitionerKind
        switch partitionerName {
        case "iid": partitioner = .iid
        case "dirichlet":
            partitioner = .dirichlet(field: field ?? "label", alpha: try t.double("alpha", default: 0.5, .positive))
        case "pathological":
            partitioner = .pathological(field: field ?? "label", labelsPerClient: try t.int("labels_per_client", default: 2, atLeast: 1))
        case "quantity_skew":
            partitioner = .quantitySkew(power: try t.double("power", default: 1.5, .positive))
        case "natural":
            guard let field else {
                throw t.missing("field", hint: "the natural partitioner makes one client per value of this field, e.g. field = \"site\"")
            }
            partitioner = .natural(field: field)
        default:
            var hint = ""
            if let near = ScenarioTableReader.closest(to: partitionerName.lowercased(), in: names) { hint = "did you mean '\(near)'? " }
            throw t.error("partitioner", .invalidValue, "unknown partitioner \"\(partitionerName)\"",
                          hint: hint + "use one of: " + names.joined(separator: ", "))
        }
        var clients: Int?
        if let n = try t.int("clients") {
            try t.checkInt("clients", n, atLeast: 1)
            clients = n
        }
        let domain = try t.nonEmptyString("domain")
        return PooledData(spec: PooledDataSpec(path: path, format: format, partitioner: partitioner),
                          clients: clients, domain: domain, reader: t)
    }

    private func clients(_ top: ScenarioTableReader, pooled: PooledData?, defaultLink: LinkSpec) throws -> [ClientSpec] {
        if let n = top.value("clients")?.int {
            throw top.typeError("clients", expected: "array of tables", found: n,
                                hint: "to generate \(n) clients from a pooled dataset, write clients = \(n) inside [data]; to list clients, write [[clients]] tables")
        }
        guard let tables = try top.tableArray("clients", display: "[[clients]]") else {
            return try generatedClients(top, pooled: pooled, defaultLink: defaultLink)
        }
        if tables.isEmpty {
            throw top.error("clients", .invalidValue, "must list at least one client", hint: "add [[clients]] tables")
        }
        if let pooled, pooled.domain != nil {
            throw pooled.reader.error("domain", .conflict, "has no effect when [[clients]] are given",
                                      hint: "[data].domain names the generated clients' domain; each [[clients]] gives its own domain")
        }
        var clients: [ClientSpec] = []
        var firstWithID: [String: Int] = [:]
        var firstWithPartition: [Int: Int] = [:]
        // The engine cuts the pooled dataset into one shard per partition client (for `natural`, the number
        // of distinct values must match), so the partition indexes must be exactly 0..<shards.
        let shards = tables.filter { $0.has("partition") }.count
        let shardWords = "\(shards) client\(shards == 1 ? " uses a partition" : "s use partitions"), so [data] is cut into \(shards) shard\(shards == 1 ? "" : "s")"
        for (i, t) in tables.enumerated() {
            try t.requireKnownKeys(ScenarioSchema.client, elsewhere: ScenarioSchema.home)
            guard let id = try t.string("id") else {
                throw t.missing("id", hint: "a unique name such as id = \"hospital-a\"")
            }
            if id.isEmpty || !id.unicodeScalars.allSatisfy(Self.isIDCharacter) {
                throw t.error("id", .invalidValue, "invalid client id \"\(id)\"", hint: "use lowercase letters a-z, digits, '-' and '_'")
            }
            if let earlier = firstWithID[id] {
                throw t.error("id", .duplicate, "duplicate client id \"\(id)\"", hint: "clients[\(earlier)] already has it")
            }
            firstWithID[id] = i
            let domain = try t.requiredString("domain", hint: "what kind of text the client holds, e.g. domain = \"clinical\"")

            let source: ClientDataSource
            switch (t.has("data"), t.has("partition")) {
            case (true, true):
                throw t.error(nil, .conflict, "data and partition cannot both be given",
                              hint: "data = \"<file>\" is the client's own file; partition = N takes shard N of [data]")
            case (false, false):
                throw t.error(nil, .missingKey, "needs either data or partition",
                              hint: "data = \"<file>\" for the client's own file, or partition = N for shard N of [data]")
            case (true, false):
                let path = try t.requiredString("data", hint: "the client's data file")
                source = .file(path: path, format: try t.choice("format", DataFormat.self, noun: "data format") ?? .jsonlText)
            case (false, true):
                if t.has("format") {
                    throw t.error("format", .conflict, "has no effect on a partition client",
                                  hint: "partitions are cut from [data], whose format is [data].format")
                }
                let index = try t.int("partition")!
                try t.checkInt("partition", index, atLeast: 0)
                guard pooled != nil else {
                    throw t.error("partition", .conflict, "needs a [data] table to take shard \(index) from",
                                  hint: "add [data] with path = \"<pooled file>\" and a partitioner, or give the client its own data = \"<file>\"")
                }
                if index >= shards {
                    throw t.error("partition", .unknownReference, "shard \(index) does not exist: \(shardWords)",
                                  hint: "shards are numbered 0...\(shards - 1)")
                }
                if let earlier = firstWithPartition[index] {
                    throw t.error("partition", .duplicate, "shard \(index) is already used by clients[\(earlier)]",
                                  hint: "each shard belongs to one client")
                }
                firstWithPartition[index] = i
                source = .partition(index: index)
            }
            var link = defaultLink
            if let l = try t.table("link", display: "[clients.link]") { link = try self.link(l, base: defaultLink) }
            var localSteps: Int?
            if let s = try t.int("local_steps") {
                try t.checkInt("local_steps", s, atLeast: 1)
                localSteps = s
            }
            clients.append(ClientSpec(id: id, domain: domain, data: source, link: link, localSteps: localSteps,
                                      probePrompt: try probePrompt(t, key: "probe_prompt")))
        }
        if let pooled, firstWithPartition.isEmpty {
            throw pooled.reader.error(nil, .conflict, "no client uses the pooled dataset",
                                      hint: "give clients partition = N, or remove [[clients]] to generate [data].clients clients, or remove [data]")
        }
        if let pooled, let n = pooled.clients, n != shards {
            throw pooled.reader.error("clients", .invalidValue, "is \(n), but \(shardWords)",
                                      hint: "with [[clients]] given, the pooled dataset has one shard per partition client; remove [data].clients or make it match")
        }
        return clients
    }

    /// `[data].clients` clients named client-01, client-02, ... (zero-padded to the width of the count).
    private func generatedClients(_ top: ScenarioTableReader, pooled: PooledData?, defaultLink: LinkSpec) throws -> [ClientSpec] {
        guard let pooled else {
            throw top.error("clients", .missingKey, "the scenario has no clients",
                            hint: "add [[clients]] tables, or a [data] table with clients = N to split a pooled dataset")
        }
        guard let n = pooled.clients else {
            throw pooled.reader.missing("clients", hint: "no [[clients]] are given, so [data].clients sets how many clients to generate")
        }
        let width = max(2, String(n).count)
        return (0..<n).map { i in
            let number = String(i + 1)
            let id = "client-" + String(repeating: "0", count: width - number.count) + number
            return ClientSpec(id: id, domain: pooled.domain ?? ScenarioLoader.defaultPooledDomain,
                              data: .partition(index: i), link: defaultLink)
        }
    }

    static func isIDCharacter(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("0"..."9").contains(c) || c == "-" || c == "_"
    }

    // MARK: Faults and privacy

    /// `rounds` is the file's value (not an override), so that shortening a run does not invalidate its faults.
    func faults(_ top: ScenarioTableReader, clients: [ClientSpec], rounds: Int) throws -> [FaultSpec] {
        guard let tables = try top.tableArray("faults", display: "[[faults]]") else { return [] }
        let ids = clients.map(\.id)
        return try tables.map { t in
            try t.requireKnownKeys(ScenarioSchema.fault, elsewhere: ScenarioSchema.home)
            let client = try t.requiredString("client", hint: "the id of the affected client")
            if !ids.contains(client) {
                var hint = ""
                if let near = ScenarioTableReader.closest(to: client, in: ids) { hint = "did you mean '\(near)'? " }
                let shown = ids.count > 12 ? ids.prefix(12).joined(separator: ", ") + ", ..." : ids.joined(separator: ", ")
                throw t.error("client", .unknownReference, "no client has id \"\(client)\"", hint: hint + "clients: " + shown)
            }
            guard let kind = try t.choice("kind", FaultKind.self, noun: "fault kind") else {
                throw t.missing("kind", hint: "one of: " + FaultKind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let from = try t.int("from_round", default: 1, atLeast: 1, atMost: rounds)
            var to: Int?
            if let x = try t.int("to_round") {
                try t.checkInt("to_round", x, atLeast: from, atMost: rounds,
                               hint: "the fault lasts from from_round = \(from) to to_round, inclusive")
                to = x
            }
            let severity: Double
            switch kind {
            case .dropout:
                if t.has("severity") {
                    throw t.error("severity", .conflict, "has no effect on a dropout fault", hint: "the client is simply offline; remove it")
                }
                severity = 1
            case .degrade, .lossyLink, .labelNoise, .backdoor:
                // The fraction of examples (or the probability of losing the upload) hit.
                severity = try t.double("severity", default: 1, .fractionAboveZero)
            case .straggler, .corruptUpdate:
                // Slowdown 1 + severity; the update scaled by -severity.
                severity = try t.double("severity", default: 1, .positive)
            }
            return FaultSpec(client: client, kind: kind, fromRound: from, toRound: to, severity: severity)
        }
    }

    func privacy(_ t: ScenarioTableReader?, strategy: StrategyConfig) throws -> PrivacyConfig {
        var p = PrivacyConfig()
        guard let t else { return p }
        try t.requireKnownKeys(ScenarioSchema.privacy, elsewhere: ScenarioSchema.home)
        p.differentialPrivacy = try t.bool("differential_privacy") ?? p.differentialPrivacy
        if !p.differentialPrivacy {
            for key in ["noise_multiplier", "clip_norm", "delta", "noise", "adaptive_clipping", "target_quantile", "clip_learning_rate"]
            where t.has(key) {
                throw t.error(key, .conflict, "has no effect unless differential_privacy = true")
            }
        }
        p.noiseMultiplier = try t.double("noise_multiplier", default: p.noiseMultiplier, .nonNegative)
        p.clipNorm = try t.double("clip_norm", default: p.clipNorm, .positive)
        p.delta = try t.double("delta", default: p.delta, .openUnit)
        p.adaptiveClipping = try t.bool("adaptive_clipping") ?? false
        if !p.adaptiveClipping {
            for key in ["target_quantile", "clip_learning_rate"] where t.has(key) {
                throw t.error(key, .conflict, "has no effect unless adaptive_clipping = true")
            }
        }
        p.targetQuantile = try t.double("target_quantile", default: p.targetQuantile, .probability)
        p.clipLearningRate = try t.double("clip_learning_rate", default: p.clipLearningRate, .positive)
        p.secureAggregation = try t.bool("secure_aggregation") ?? p.secureAggregation
        if !p.secureAggregation {
            for key in ["degree", "threshold", "expected_dropout", "failure_target", "quantization_bound", "phase_drop_probability"]
            where t.has(key) {
                throw t.error(key, .conflict, "has no effect unless secure_aggregation = true")
            }
        }
        if let name = try t.string("noise") {
            guard let placement = NoisePlacement(rawValue: name) else {
                throw t.error("noise", .invalidValue, "must be \"central\" or \"distributed\", got \"\(name)\"")
            }
            if placement == .central, p.secureAggregation {
                throw t.error("noise", .conflict, "central noise needs the individual updates; with secure_aggregation the clients add it",
                              hint: "use noise = \"distributed\"")
            }
            p.noise = placement
        } else {
            p.noise = p.secureAggregation ? .distributed : .central
        }
        if p.secureAggregation, !ScenarioSchema.linearStrategies.contains(strategy.kind) {
            throw t.error("secure_aggregation", .conflict,
                          "cannot be used with strategy \"\(strategy.kind.rawValue)\": the server only sees the sum of the updates",
                          hint: "use one of " + ScenarioSchema.linearStrategies.map(\.rawValue).joined(separator: ", "))
        }
        p.secureAggregationDegree = try t.int("degree")
        p.secureAggregationThreshold = try t.int("threshold")
        if let k = p.secureAggregationDegree { try t.checkInt("degree", k, atLeast: 1) }
        if let th = p.secureAggregationThreshold { try t.checkInt("threshold", th, atLeast: 1) }
        if (p.secureAggregationDegree == nil) != (p.secureAggregationThreshold == nil) {
            throw t.error(p.secureAggregationDegree == nil ? "threshold" : "degree", .conflict, "degree and threshold are set together")
        }
        if let k = p.secureAggregationDegree, let th = p.secureAggregationThreshold, 2 * th <= k || th > k {
            throw t.error("threshold", .invalidValue, "must exceed half the degree (\(k)) and be at most the degree, got \(th)")
        }
        p.expectedDropout = try t.double("expected_dropout", default: p.expectedDropout, .belowOne)
        p.failureTarget = try t.double("failure_target", default: p.failureTarget, .openUnit)
        p.quantizationBound = try t.double("quantization_bound", default: p.quantizationBound, .positive)
        p.phaseDropProbability = try t.double("phase_drop_probability", default: p.phaseDropProbability, .belowOne)
        return p
    }
}
