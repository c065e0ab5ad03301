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
        m.evaluation.every = UInt32(s.evaluation.every)
        m.evaluation.maxExamplesPerClient = UInt32(s.evaluation.maxExamplesPerClient)
        m.evaluation.validationFraction = s.evaluation.validationFraction
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
        return m
    }

    /// The client's settings from a Setup; `dataPath` and `format` are the client's own.
    package static func settings(from m: WireSetup, dataPath: String, format: DataFormat) throws -> PilotBuilder.ClientSettings {
        func bad(_ field: String, _ value: Any) -> DeploymentError {
            .protocolViolation("setup field \(field) has an unusable value \(value)")
        }
        let targets = try m.lora.targets.map { t -> LoRATarget in
            guard let target = LoRATarget(rawValue: t) else { throw bad("lora.targets", t) }
            return target
        }
        let lora = LoRAConfig(rank: Int(m.lora.rank), alpha: m.lora.alpha, dropout: m.lora.dropout, targets: targets)
        if let problem = lora.validationProblem { throw bad("lora", problem) }
        let budget: LocalTrainingConfig.Budget
        switch (m.training.steps, m.training.epochs) {
        case (let s, 0): budget = .steps(Int(s))
        case (0, let e): budget = .epochs(Int(e))
        default: throw bad("training.steps/epochs", "\(m.training.steps)/\(m.training.epochs)")
        }
        guard m.training.batchSize > 0, m.training.sequenceLength > 1 else { throw bad("training.batch_size", m.training.batchSize) }
        let training = LocalTrainingConfig(
            budget: budget, batchSize: Int(m.training.batchSize), sequenceLength: Int(m.training.sequenceLength),
            learningRate: m.training.learningRate, warmupSteps: Int(m.training.warmupSteps),
            minimumLearningRateRatio: m.training.minimumLearningRateRatio, weightDecay: m.training.weightDecay,
            maxGradientNorm: m.training.maxGradientNorm, packing: m.training.packing, seed: m.trainingSeed)
        let evaluation = EvaluationConfig(every: max(1, Int(m.evaluation.every)),
                                          maxExamplesPerClient: Int(m.evaluation.maxExamplesPerClient),
                                          validationFraction: m.evaluation.validationFraction)
        guard let payload = PayloadEncoding(rawValue: m.payloadEncoding) else { throw bad("payload_encoding", m.payloadEncoding) }
        let faults = try m.faults.map { f -> FaultSpec in
            guard let kind = FaultKind(rawValue: f.kind) else { throw bad("faults.kind", f.kind) }
            return FaultSpec(client: m.clientID, kind: kind, fromRound: Int(f.fromRound),
                             toRound: f.toRound == 0 ? nil : Int(f.toRound), severity: f.severity)
        }
        let link = LinkSpec(upMbps: m.link.upMbps, downMbps: m.link.downMbps, latencyMs: m.link.latencyMs,
                            dropProbability: m.link.dropProbability, computeFactor: m.link.computeFactor)
        let spec = ClientSpec(id: m.clientID, domain: "", data: .file(path: dataPath, format: format), link: link)
        return PilotBuilder.ClientSettings(spec: spec, lora: lora, training: training, evaluation: evaluation,
                                           payload: payload, splitSeed: m.splitSeed, faults: faults)
    }
}
