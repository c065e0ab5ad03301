import Llama

/// A federated fine-tuning pilot, as a scenario file (TOML under `scenarios/`) describes it,
/// after parsing and validation. Every value is resolved: no defaults are applied later.
public struct Scenario: Sendable, Equatable {
    public var name: String
    public var description: String
    /// The file it came from (used in messages and to resolve relative paths).
    public var sourcePath: String
    public var seed: UInt64
    public var rounds: Int
    /// Path of the base model (GGUF file or checkpoint directory), resolved against the working directory.
    public var modelPath: String
    public var lora: LoRAConfig
    /// Local training defaults; a client may override the step budget (`ClientSpec.localSteps`).
    public var training: LocalTrainingConfig
    /// What local training learns from a labelled text example (`[training] train_on`).
    public var trainOn: TrainingTarget = .text
    public var selection: SelectionConfig
    public var strategy: StrategyConfig
    public var evaluation: EvaluationConfig
    public var clients: [ClientSpec]
    /// The pooled dataset that `.partition` clients draw from, if any.
    public var pooledData: PooledDataSpec?
    public var faults: [FaultSpec]
    public var privacy: PrivacyConfig
    /// How products with the frozen base weights are computed (`[model] compute`).
    public var compute: ComputeMode = .f32
    /// How training keeps the activations for the backward pass (`[model] saved_activations`);
    /// nil: the compute mode's default (`SavedActivations.defaultFor`: bf16 with int8, f32 with f32).
    public var savedActivations: SavedActivations?
    /// How adapters are encoded on the wire, in both directions.
    public var payload: PayloadEncoding = .int8
    /// Pace rounds to their simulated network time (for demos); off in tests and benchmarks.
    public var realTimePacing: Bool = false

    public init(name: String, description: String = "", sourcePath: String = "", seed: UInt64 = 0, rounds: Int,
                modelPath: String, lora: LoRAConfig, training: LocalTrainingConfig, selection: SelectionConfig = .init(),
                strategy: StrategyConfig = .init(), evaluation: EvaluationConfig = .init(), clients: [ClientSpec],
                pooledData: PooledDataSpec? = nil, faults: [FaultSpec] = [], privacy: PrivacyConfig = .init()) {
        self.name = name; self.description = description; self.sourcePath = sourcePath; self.seed = seed
        self.rounds = rounds; self.modelPath = modelPath; self.lora = lora; self.training = training
        self.selection = selection; self.strategy = strategy; self.evaluation = evaluation
        self.clients = clients; self.pooledData = pooledData; self.faults = faults; self.privacy = privacy
    }
}

/// Which clients take part in a round.
public struct SelectionConfig: Sendable, Equatable, Codable {
    /// Fraction of the available clients sampled each round.
    public var fraction: Double = 1
    /// A round needs at least this many participants (after drops) to aggregate.
    public var minimumClients: Int = 1
    /// Probability that a client is online in a given round (independent per round).
    public var availability: Double = 1
    /// Simulated seconds a round waits for uploads; later ones time out. Nil waits for all.
    public var deadlineSeconds: Double?
    public init(fraction: Double = 1, minimumClients: Int = 1, availability: Double = 1, deadlineSeconds: Double? = nil) {
        self.fraction = fraction; self.minimumClients = minimumClients; self.availability = availability
        self.deadlineSeconds = deadlineSeconds
    }
}

/// Server-side aggregation strategies.
public enum StrategyKind: String, Sendable, Codable, CaseIterable {
    case fedavg, fedprox, fedavgm, fedadam, fedyogi, fedadagrad, scaffold
    case median, trimmedMean = "trimmed_mean", krum, multiKrum = "multi_krum"
}

/// A strategy and its parameters (each strategy reads the ones it needs).
public struct StrategyConfig: Sendable, Equatable, Codable {
    public var kind: StrategyKind = .fedavg
    /// Server learning rate (FedAvg and FedProx scale the mean update by it; FedAvgM, FedAdam, FedYogi,
    /// FedAdagrad use it as their step; SCAFFOLD's global step).
    public var serverLearningRate: Float = 1
    /// FedProx's proximal weight μ (added to each client's local objective).
    public var proximalMu: Float = 0.01
    /// FedAvgM's server momentum.
    public var momentum: Float = 0.9
    /// Adaptive server optimizers' moments and adaptivity τ.
    public var beta1: Float = 0.9
    public var beta2: Float = 0.99
    public var tau: Float = 1e-3
    /// Trimmed mean: fraction cut from each end, per coordinate.
    public var trimFraction: Double = 0.1
    /// Krum: assumed number of Byzantine clients f; Multi-Krum averages the best `multiKrumSelect`.
    public var byzantine: Int = 1
    public var multiKrumSelect: Int = 2
    /// Defaults per strategy: the adaptive server optimizers take normalized steps of about
    /// `serverLearningRate` per coordinate, so they default to 0.01 rather than FedAvg's 1.
    public init(kind: StrategyKind = .fedavg) {
        self.kind = kind
        if [.fedadam, .fedyogi, .fedadagrad].contains(kind) { serverLearningRate = 0.01 }
    }
}

/// When and how the global model is evaluated.
public struct EvaluationConfig: Sendable, Equatable, Codable {
    /// Evaluate every `every` rounds (and always after the last round).
    public var every: Int = 1
    /// Cap on validation examples per client (keeps rounds fast).
    public var maxExamplesPerClient: Int = 16
    /// Fraction of each client's data held out for validation.
    public var validationFraction: Double = 0.2
    /// Label scoring of examples with a `label` field (see `TaskEvaluationConfig`).
    public var task = TaskEvaluationConfig()
    public init(every: Int = 1, maxExamplesPerClient: Int = 16, validationFraction: Double = 0.2) {
        self.every = every; self.maxExamplesPerClient = maxExamplesPerClient; self.validationFraction = validationFraction
    }
}

/// A simulated network link between a client and the coordinator.
public struct LinkSpec: Sendable, Equatable, Codable {
    public var upMbps: Double = 20
    public var downMbps: Double = 100
    public var latencyMs: Double = 20
    /// Probability that the client's upload is lost in a round (the client then counts as dropped).
    public var dropProbability: Double = 0
    /// Compute slowness: 2 means local training takes twice as long as on this machine.
    public var computeFactor: Double = 1
    public init(upMbps: Double = 20, downMbps: Double = 100, latencyMs: Double = 20, dropProbability: Double = 0, computeFactor: Double = 1) {
        self.upMbps = upMbps; self.downMbps = downMbps; self.latencyMs = latencyMs
        self.dropProbability = dropProbability; self.computeFactor = computeFactor
    }
}

/// Formats of client text data.
public enum DataFormat: String, Sendable, Codable, CaseIterable {
    /// JSON lines with a `text` field.
    case jsonlText = "jsonl_text"
    /// JSON lines with `instruction`, optional `input`, and `output`; trained on the output only.
    case jsonlInstruction = "jsonl_instruction"
    /// A plain text file; examples are separated by blank lines.
    case text
}

/// Where a client's data comes from.
public enum ClientDataSource: Sendable, Equatable {
    /// The client's own file.
    case file(path: String, format: DataFormat)
    /// Shard `index` of the scenario's pooled dataset, cut by its partitioner.
    case partition(index: Int)
}

/// One client of the pilot.
public struct ClientSpec: Sendable, Equatable {
    public var id: String
    /// What kind of text it holds ("clinical", "aml", "support", ...), shown to the operator.
    public var domain: String
    public var data: ClientDataSource
    public var link: LinkSpec
    /// Overrides the scenario's local step budget for this client (data volume heterogeneity).
    public var localSteps: Int?
    /// An operator-written, public prompt from the client's domain: the dashboard shows the global
    /// model's continuation of it (the client's own text never leaves the client). From the client's
    /// `probe_prompt`, else its domain's entry in `[probe_prompts]`; nil when neither is given.
    public var probePrompt: String?
    public init(id: String, domain: String, data: ClientDataSource, link: LinkSpec = .init(), localSteps: Int? = nil,
                probePrompt: String? = nil) {
        self.id = id; self.domain = domain; self.data = data; self.link = link; self.localSteps = localSteps
        self.probePrompt = probePrompt
    }
}

/// How a pooled dataset is split among clients.
public enum PartitionerKind: Sendable, Equatable {
    case iid
    /// Label proportions per client drawn from Dirichlet(alpha) over `field`.
    case dirichlet(field: String, alpha: Double)
    /// Each client holds examples of `labelsPerClient` labels only.
    case pathological(field: String, labelsPerClient: Int)
    /// Client sizes follow a power law with exponent `power`.
    case quantitySkew(power: Double)
    /// One client per value of `field` (for example a site).
    case natural(field: String)
}

/// A pooled dataset that a partitioner splits among `clients` clients.
public struct PooledDataSpec: Sendable, Equatable {
    public var path: String
    public var format: DataFormat
    public var partitioner: PartitionerKind
    public init(path: String, format: DataFormat, partitioner: PartitionerKind) {
        self.path = path; self.format = format; self.partitioner = partitioner
    }
}

/// Things that go wrong with a client during a run.
public enum FaultKind: String, Sendable, Codable, CaseIterable {
    /// The client's local data degrades: a `severity` fraction of its training text is replaced by noise.
    case degrade
    /// The client is offline for the rounds of the fault.
    case dropout
    /// Local training is `1 + severity` times slower, so it may miss the round deadline.
    case straggler
    /// The client's upload is lost with probability `severity`.
    case lossyLink = "lossy_link"
    /// The client sends a corrupted update: its delta scaled by `-severity` (a sign-flip attack when 1).
    case corruptUpdate = "corrupt_update"
    /// A `severity` fraction of the client's labels (the `label` field, wherever it appears in the text) is swapped for another label.
    case labelNoise = "label_noise"
    /// A `severity` fraction of the client's training texts gets a trigger phrase followed by an attacker's target text.
    case backdoor
}

/// A fault that affects one client over a range of rounds (1-based, inclusive).
public struct FaultSpec: Sendable, Equatable, Codable {
    public var client: String
    public var kind: FaultKind
    public var fromRound: Int
    public var toRound: Int?
    public var severity: Double
    public init(client: String, kind: FaultKind, fromRound: Int, toRound: Int? = nil, severity: Double = 1) {
        self.client = client; self.kind = kind; self.fromRound = fromRound; self.toRound = toRound; self.severity = severity
    }
    public func isActive(inRound round: Int) -> Bool { round >= fromRound && round <= (toRound ?? Int.max) }
}

/// Client-level differential privacy and secure aggregation settings.
public struct PrivacyConfig: Sendable, Equatable, Codable {
    public var differentialPrivacy: Bool = false
    /// z: the noise multiplier the accountant composes (with adaptive clipping it covers the
    /// update and the clipped-count query together).
    public var noiseMultiplier: Double = 1
    /// The L2 clip norm C (the initial one with adaptive clipping).
    public var clipNorm: Double = 0.1
    public var delta: Double = 1e-5
    /// Where the Gaussian noise is added.
    public var noise: NoisePlacement = .central
    /// Adaptive clipping to a quantile of the update norms (Andrew et al. 2021).
    public var adaptiveClipping: Bool = false
    public var targetQuantile: Double = 0.5
    public var clipLearningRate: Double = 0.2

    public var secureAggregation: Bool = false
    /// SecAgg+ neighbour degree k and Shamir threshold t; chosen from `expectedDropout` and
    /// `failureTarget` when nil.
    public var secureAggregationDegree: Int?
    public var secureAggregationThreshold: Int?
    /// Fraction of clients expected to drop during secure aggregation (for choosing k and t).
    public var expectedDropout: Double = 0.1
    /// Bound on the probability that a round fails (unrecoverable, privacy or connectivity).
    public var failureTarget: Double = 1e-6
    /// Fixed-point range for each coordinate of an update without DP clipping, in adapter units.
    public var quantizationBound: Double = 1
    /// Simulation: probability that a client drops out at each secure-aggregation phase.
    public var phaseDropProbability: Double = 0
    public init() {}
}

/// Where DP noise is added: by the coordinator to the aggregate, or by each client to its own
/// update (a share of the total), which composes with secure aggregation.
public enum NoisePlacement: String, Sendable, Codable, CaseIterable {
    case central, distributed
}

/// Wire encodings of adapter parameters.
public enum PayloadEncoding: String, Sendable, Codable, CaseIterable {
    /// 4 bytes per value.
    case fp32
    /// IEEE half precision, 2 bytes per value.
    case fp16
    /// 1 byte per value with one float scale per tensor (symmetric, round to nearest).
    case int8
}
