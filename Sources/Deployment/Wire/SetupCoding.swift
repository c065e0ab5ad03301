import Crypto
import Federation
import Foundation
import Llama

package typealias WireSetup = Fedpilot_Deployment_V1_Setup
package typealias WireModelIdentity = Fedpilot_Deployment_V1_ModelIdentity

/// Which base model a run fine-tunes, as both sides compute it from their own copy.
public enum ModelFingerprint {
    /// SHA-256 (hex) of the model's files: the file itself, or a checkpoint directory's files
    /// in name order; for the built-in test model "tiny", of its name.
    public static func compute(path: String) throws -> String {
        var hash = SHA256()
        if path == "tiny" {
            hash.update(data: Data("fedpilot-builtin-tiny-v1".utf8))
            return hex(hash.finalize())
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DeploymentError.mismatch("\(path): no such model file or directory")
        }
        let files = isDirectory.boolValue
            ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
                .filter { $0.hasSuffix(".safetensors") || $0.hasSuffix(".json") }.map { (path as NSString).appendingPathComponent($0) }
            : [path]
        for file in files {
            guard let handle = FileHandle(forReadingAtPath: file) else { throw DeploymentError.mismatch("\(file): cannot read") }
            defer { try? handle.close() }
            while let block = try handle.read(upToCount: 4 << 20), !block.isEmpty { hash.update(data: block) }
        }
        return hex(hash.finalize())
    }

    static func hex(_ digest: SHA256.Digest) -> String { digest.map { String(format: "%02x", $0) }.joined() }
}

extension WireModelIdentity {
    package init(path: String, config: LlamaConfig, fingerprint: String) {
        self.init()
        name = path == "tiny" ? "tiny" : (path as NSString).lastPathComponent
        self.fingerprint = fingerprint
        vocabSize = UInt32(config.vocabSize)
        hiddenSize = UInt32(config.hiddenSize)
        layerCount = UInt32(config.layerCount)
        headCount = UInt32(config.headCount)
        kvHeadCount = UInt32(config.kvHeadCount)
        intermediateSize = UInt32(config.intermediateSize)
    }

    /// Nil when `other` is the same model, else what differs.
    func difference(from other: WireModelIdentity) -> String? {
        if fingerprint == other.fingerprint { return nil }
        let shape = { (m: WireModelIdentity) in
            "\(m.layerCount) layers, hidden \(m.hiddenSize), vocab \(m.vocabSize)"
        }
        return "the coordinator runs \(name) (\(shape(self)), sha256 \(fingerprint.prefix(12))…) but this client loaded \(other.name) (\(shape(other)), sha256 \(other.fingerprint.prefix(12))…); pass the same model with --model"
    }
}

/// Turns a scenario's view of one client into the Setup message, and back.
package enum SetupCoding {
    package static func setup(for client: String, scenario: Scenario, model: WireModelIdentity, heartbeat: Double,
                      completedRounds: Int) -> WireSetup? {
        guard let s = PilotBuilder.ClientSettings(scenario: scenario, client: client) else { return nil }
        var m = WireSetup()
        m.protocolVersion = WireLimits.protocolVersion
        m.clientID = client
        m.scenario = scenario.name
        m.model = model
        m.lora.rank = UInt32(s.lora.rank)
        m.lora.alpha = s.lora.alpha
        m.lora.dropout = s.lora.dropout
        m.lora.targets = s.lora.targets.map(\.rawValue)
        switch s.training.budget {
        case .steps(let n): m.training.steps = UInt32(n)
        case .epochs(let n): m.training.epochs = UInt32(n)
        }
        m.training.batchSize = UInt32(s.training.batchSize)
        m.training.sequenceLength = UInt32(s.training.sequenceLength)
        m.training.learningRate = s.training.learningRate
        m.training.warmupSteps = UInt32(s.training.warmupSteps)
        m.training.minimumLearningRateRatio = s.training.minimumLearningRateRatio
        m.training.weightDecay = s.training.weightDecay
        m.training.maxGradientNorm = s.training.maxGradientNorm
        m.training.packing = s.training.packing
        m.training.trainOn = s.trainOn.rawValue
        m.evaluation.every = UInt32(s.evaluation.every)
        m.evaluation.maxExamplesPerClient = UInt32(s.evaluation.maxExamplesPerClient)
        m.evaluation.validationFraction = s.evaluation.validationFraction
        m.evaluation.task = taskSettings(s.evaluation.task, domain: s.spec.domain)
        m.payloadEncoding = s.payload.rawValue
        m.trainingSeed = s.training.seed
        m.splitSeed = s.splitSeed
        if case .file(_, let format) = s.spec.data { m.dataFormat = format.rawValue } else { m.dataFormat = DataFormat.jsonlText.rawValue }
        m.faults = s.faults.map { f in
            var w = Fedpilot_Deployment_V1_Fault()
            w.kind = f.kind.rawValue
            w.fromRound = UInt32(f.fromRound)
            w.toRound = UInt32(f.toRound ?? 0)
            w.severity = f.severity
            return w
        }
        m.link.upMbps = s.spec.link.upMbps
        m.link.downMbps = s.spec.link.downMbps
        m.link.latencyMs = s.spec.link.latencyMs
        m.link.dropProbability = s.spec.link.dropProbability
        m.link.computeFactor = s.spec.link.computeFactor
        m.heartbeatSeconds = heartbeat
        m.maxChunkBytes = UInt32(WireLimits.maxChunkBytes)
        m.completedRounds = UInt32(completedRounds)
        m.compute = scenario.compute.rawValue
        m.savedActivations = s.savedActivations?.rawValue ?? ""
        return m
    }

    /// A Setup field whose value this client cannot use (named as the proto names it).
    static func unusable(_ field: String, _ value: Any) -> DeploymentError {
        .protocolViolation("setup field \(field) has an unusable value \(value)")
    }

    /// How the client computes with the frozen weights (empty: f32, a coordinator from before the field).
    package static func compute(from m: WireSetup) throws -> ComputeMode {
        guard let mode = m.compute.isEmpty ? .f32 : ComputeMode(rawValue: m.compute) else {
            throw unusable("compute", m.compute)
        }
        return mode
    }

    /// The client's settings from a Setup; `dataPath` and `format` are the client's own.
    package static func settings(from m: WireSetup, dataPath: String, format: DataFormat) throws -> PilotBuilder.ClientSettings {
        let targets = try m.lora.targets.map { t -> LoRATarget in
            guard let target = LoRATarget(rawValue: t) else { throw unusable("lora.targets", t) }
            return target
        }
        let lora = LoRAConfig(rank: Int(m.lora.rank), alpha: m.lora.alpha, dropout: m.lora.dropout, targets: targets)
        if let problem = lora.validationProblem { throw unusable("lora", problem) }
        let budget: LocalTrainingConfig.Budget
        switch (m.training.steps, m.training.epochs) {
        case (let s, 0): budget = .steps(Int(s))
        case (0, let e): budget = .epochs(Int(e))
        default: throw unusable("training.steps/epochs", "\(m.training.steps)/\(m.training.epochs)")
        }
        guard m.training.batchSize > 0, m.training.sequenceLength > 1 else { throw unusable("training.batch_size", m.training.batchSize) }
        let training = LocalTrainingConfig(
            budget: budget, batchSize: Int(m.training.batchSize), sequenceLength: Int(m.training.sequenceLength),
            learningRate: m.training.learningRate, warmupSteps: Int(m.training.warmupSteps),
            minimumLearningRateRatio: m.training.minimumLearningRateRatio, weightDecay: m.training.weightDecay,
            maxGradientNorm: m.training.maxGradientNorm, packing: m.training.packing, seed: m.trainingSeed)
        var evaluation = EvaluationConfig(every: max(1, Int(m.evaluation.every)),
                                          maxExamplesPerClient: Int(m.evaluation.maxExamplesPerClient),
                                          validationFraction: m.evaluation.validationFraction)
        if m.evaluation.hasTask { evaluation.task = try task(from: m.evaluation.task) }
        guard let trainOn = m.training.trainOn.isEmpty ? .text : TrainingTarget(rawValue: m.training.trainOn) else {
            throw unusable("training.train_on", m.training.trainOn)
        }
        var savedActivations: SavedActivations?
        if !m.savedActivations.isEmpty {
            guard let saved = SavedActivations(rawValue: m.savedActivations) else { throw unusable("saved_activations", m.savedActivations) }
            savedActivations = saved
        }
        guard let payload = PayloadEncoding(rawValue: m.payloadEncoding) else { throw unusable("payload_encoding", m.payloadEncoding) }
        let faults = try m.faults.map { f -> FaultSpec in
            guard let kind = FaultKind(rawValue: f.kind) else { throw unusable("faults.kind", f.kind) }
            return FaultSpec(client: m.clientID, kind: kind, fromRound: Int(f.fromRound),
                             toRound: f.toRound == 0 ? nil : Int(f.toRound), severity: f.severity)
        }
        let link = LinkSpec(upMbps: m.link.upMbps, downMbps: m.link.downMbps, latencyMs: m.link.latencyMs,
                            dropProbability: m.link.dropProbability, computeFactor: m.link.computeFactor)
        let spec = ClientSpec(id: m.clientID, domain: "", data: .file(path: dataPath, format: format), link: link)
        var settings = PilotBuilder.ClientSettings(spec: spec, lora: lora, training: training, evaluation: evaluation,
                                                   payload: payload, splitSeed: m.splitSeed, faults: faults)
        settings.trainOn = trainOn
        settings.savedActivations = savedActivations
        return settings
    }

    /// The scenario's task evaluation for a client of `domain`: its own template only (a
    /// deployed client does not learn the other domains' prompts), the labels left to each
    /// evaluation request.
    static func taskSettings(_ t: TaskEvaluationConfig, domain: String) -> Fedpilot_Deployment_V1_TaskSettings {
        var w = Fedpilot_Deployment_V1_TaskSettings()
        w.labelPrompt = t.template(forDomain: domain) ?? ""
        if let n = t.examplesPerClient { w.examplesPerClient = UInt32(n) }
        w.contextTokens = UInt32(t.contextTokens)
        w.calibrate = t.calibrate
        if let n = t.generationTokens { w.generationTokens = UInt32(n) }
        w.generationExamples = UInt32(t.generationExamples)
        return w
    }

    static func task(from w: Fedpilot_Deployment_V1_TaskSettings) throws -> TaskEvaluationConfig {
        // The bounds the scenario loader holds a scenario's keys to: a coordinator's values are
        // checked as a scenario file's would be.
        func bad(_ field: String, _ value: Any) -> DeploymentError { unusable("evaluation.task.\(field)", value) }
        if !w.labelPrompt.isEmpty && !w.labelPrompt.contains(LabelPrompt.placeholder) { throw bad("label_prompt", w.labelPrompt) }
        guard w.contextTokens >= 1 else { throw bad("context_tokens", w.contextTokens) }
        guard w.generationExamples >= 1 else { throw bad("generation_examples", w.generationExamples) }
        if w.hasGenerationTokens && !(1...512).contains(w.generationTokens) { throw bad("generation_tokens", w.generationTokens) }
        var t = TaskEvaluationConfig(labelPrompt: w.labelPrompt.isEmpty ? nil : w.labelPrompt,
                                     examplesPerClient: w.hasExamplesPerClient ? Int(w.examplesPerClient) : nil,
                                     contextTokens: Int(w.contextTokens))
        t.calibrate = w.calibrate
        t.generationTokens = w.hasGenerationTokens ? Int(w.generationTokens) : nil
        t.generationExamples = Int(w.generationExamples)
        return t
    }
}
