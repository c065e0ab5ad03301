import Foundation
import Llama
import SecureAggregation
import TensorMath

/// The worker next to one client's data: it holds the client's text, trains on it when asked,
/// and answers with its adapter update. An in-process pilot has one per client behind
/// `InProcessTransport`; a client process of a network deployment runs one behind its gRPC
/// session. Raw text never leaves this type; only the encoded `RoundReply` does.
public final class ClientWorker: ClientEndpoint, @unchecked Sendable {
    public let spec: ClientSpec
    public let data: ClientDataset
    let encoding: any TextEncoding
    let trainer: LocalTrainer
    let loraConfig: LoRAConfig
    let modelConfig: ModelConfig
    let tensorSizes: [Int]
    let payload: PayloadEncoding
    let seed: UInt64
    /// This client's faults from the scenario; those active in a round apply to it.
    let faults: FaultInjector
    /// What training learns from a labelled text example (`[training] train_on`).
    let trainOn: TrainingTarget
    /// The label prompt template of this client's domain, if any.
    let labelTemplate: String?
    /// The training examples, tokenized once (as `trainOn` says).
    let trainTokens: [TokenizedExample]
    /// The validation split as one padded batch (capped), for evaluation of the global model.
    public let validationBatch: TrainingBatch?
    /// The labelled validation examples, scored as a classification task.
    let labelScorer: LabelScorer
    /// The fixed held-out sample on which each update's effect is checked (`UpdateCheck`).
    let heldOut: HeldOutTails
    /// The client's checks of its training text against its held-out examples (`DataProfile`).
    let dataChecks: ClientDataChecks
    /// Greedy generations on instruction examples, scored by ROUGE-L (nil unless the scenario asks).
    let generationScorer: GenerationScorer?
    /// The update kept back for secure aggregation and its protocol session.
    let secure = SecureAggregationClientState()
    /// Receives this client's key events (key generation, shares sent and revealed).
    public var secureAudit: SecAggAuditSink = { _ in }

    init(spec: ClientSpec, data: ClientDataset, encoding: any TextEncoding, trainer: LocalTrainer, loraConfig: LoRAConfig,
         modelConfig: ModelConfig, tensorSizes: [Int], payload: PayloadEncoding, evaluation: EvaluationConfig, seed: UInt64,
         faults: [FaultSpec], trainOn: TrainingTarget = .text) {
        self.faults = FaultInjector(faults.filter { $0.client == spec.id })
        self.spec = spec
        self.data = data
        self.encoding = encoding
        self.trainer = trainer
        self.loraConfig = loraConfig
        self.modelConfig = modelConfig
        self.tensorSizes = tensorSizes
        self.payload = payload
        self.seed = seed
        self.trainOn = trainOn
        let template = evaluation.task.template(forDomain: spec.domain)
        labelTemplate = template
        trainTokens = data.train.map {
            trainOn.tokenize($0, encoding: encoding, template: template, sequenceLength: trainer.config.sequenceLength)
        }
        let held = data.validation.prefix(evaluation.maxExamplesPerClient).map { Self.tokenize($0, encoding) }
        validationBatch = held.isEmpty ? nil
            : Batcher.padded(Array(held), length: trainer.config.sequenceLength, padID: encoding.paddingID)
        heldOut = HeldOutTails(validation: data.validation, encoding: encoding)
        dataChecks = ClientDataChecks(data)
        labelScorer = LabelScorer(validation: data.validation, template: template,
                                  limit: evaluation.task.examplesPerClient ?? evaluation.maxExamplesPerClient,
                                  contextTokens: evaluation.task.contextTokens, encoding: encoding, calibrate: evaluation.task.calibrate)
        generationScorer = evaluation.task.generationTokens.map {
            GenerationScorer(validation: data.validation, limit: evaluation.task.generationExamples, maxTokens: $0, encoding: encoding)
        }
    }

    /// An example as evaluation reads it: the sequence start (BOS where the model asks for it,
    /// never a target), its prompt (if any) masked, then its completion.
    static func tokenize(_ e: TextExample, _ encoding: any TextEncoding) -> TokenizedExample {
        TrainingTarget.text.tokenize(e, encoding: encoding, template: nil, sequenceLength: 0)
    }

    /// A training example as `trainOn` says.
    func trainingTokens(_ e: TextExample) -> TokenizedExample {
        trainOn.tokenize(e, encoding: encoding, template: labelTemplate, sequenceLength: trainer.config.sequenceLength)
    }

    /// Runs one round's local training for an encoded task; returns the encoded reply.
    public func handle(task encodedTask: Data) throws -> Data {
        let task = try RoundTask(decoding: encodedTask)
        guard task.global.count == tensorSizes.reduce(0, +) else {
            throw PayloadError(offset: 0, reason: "global adapter has \(task.global.count) values, this client expects \(tensorSizes.reduce(0, +))")
        }
        var start = try LoRAAdapter(zerosFor: modelConfig, config: loraConfig)
        start.values = task.global
        let (texts, examples) = trainingData(round: task.round)
        let began = Date()
        let probeRows = self.probeRows(texts, examples)
        let probe = try? probeRows.losses(model: trainer.model.base, adapter: start)
        let profile = dataChecks.profile(texts, altered: faults.altersText(client: spec.id, round: task.round))
        // A new batch order every round, so that a few local steps per round still cover the data.
        let result = trainer.train(from: start, examples: examples, steps: task.localSteps,
                                   proximalMu: task.proximalMu, gradientCorrection: task.gradientCorrection,
                                   seed: trainingSeed(round: task.round))
        var delta = result.adapter.values
        for i in delta.indices { delta[i] -= task.global[i] }
        faults.corruptUpdate(&delta, client: spec.id, round: task.round)
        var controlDelta: [Float]? = nil
        if let server = task.serverControl, result.steps > 0 {
            // SCAFFOLD option II: c_i⁺ = c_i − c + (x − yᵢ)/(K η), so the change is −c − Δᵢ/(K η).
            let kEta = Float(result.steps) * trainer.config.learningRate
            controlDelta = delta.indices.map { -server[$0] - delta[$0] / kEta }
        }
        let norm = UpdateGeometry.norm(delta)
        let lossStart = probe?.mean ?? result.losses.first ?? .nan
        let check = updateCheck(global: start, delta: delta)
        // A diverged run must not be encoded: int8 quantization would turn NaN into ±127·scale.
        try RoundReply(client: spec.id, round: task.round, delta: delta, updateNorm: norm, exampleCount: data.train.count,
                       steps: result.steps, tokens: result.tokens, lossStart: lossStart,
                       lossEnd: result.losses.last ?? .nan, computeSeconds: 0, controlDelta: controlDelta).checkFinite()
        if task.secureAggregation { keepForSecureAggregation(round: task.round, delta: delta) }
        let reply = RoundReply(client: spec.id, round: task.round, delta: task.secureAggregation ? [] : delta, updateNorm: norm,
                               exampleCount: data.train.count,
                               steps: result.steps, tokens: result.tokens, lossStart: lossStart, lossEnd: result.losses.last ?? .nan,
                               computeSeconds: Date().timeIntervalSince(began), controlDelta: controlDelta, check: check,
                               probe: probe, profile: profile)
        return reply.encoded(tensorSizes: tensorSizes, as: payload)
    }

    public var clientID: String { spec.id }

    /// The training examples of `round` as text and tokenized: the clean ones, or, when a text
    /// fault is active, the altered text with only the examples it changed tokenized again.
    func trainingData(round: Int) -> (texts: [TextExample], tokens: [TokenizedExample]) {
        guard faults.altersText(client: spec.id, round: round) else { return (data.train, trainTokens) }
        let altered = faults.trainingText(data.train, client: spec.id, round: round,
                                          seed: Seeds.derive(seed, purpose: .dataFaults, index: round))
        return (altered, altered.indices.map { altered[$0] == data.train[$0] ? trainTokens[$0] : trainingTokens(altered[$0]) })
    }

    /// Examples of a client's training data whose losses it reports before training.
    static let probeExamples = 4

    /// The rows of the fixed sample of this client's current training data whose losses
    /// (`ProbeLosses`) it reports: its first `probeExamples` examples, with any active fault
    /// applied, in rows as training makes them (packed so that every token counts, or one padded
    /// row each). The received global model's losses on them are measured before local training
    /// (unlike the first local step's loss they do not depend on which batch came first, so a
    /// change in the client's data stands out against its own history). Their `losses` are nil when there is nothing to score or the loss is not
    /// finite (the first step's loss is reported then).
    func probeRows(_ texts: [TextExample], _ examples: [TokenizedExample]) -> ProbeRows {
        let sample = Array(examples.prefix(Self.probeExamples))
        // Label tokens only where training learns the text as written (`train_on = "label"`
        // learns the label as the answer, which the tail covers).
        let spans: [Range<Int>] = trainOn == .text ? zip(texts, sample).map { text, tokens in
            let prompt = text.prompt.isEmpty ? 0 : encoding.encode(text.prompt).count
            let span = HeldOutTails.labelTokens(text, promptCount: prompt, encoding: encoding)
            return (span.lowerBound + tokens.startLength)..<(span.upperBound + tokens.startLength)
        } : []
        return ProbeRows(sample, labelSpans: spans, length: trainer.config.sequenceLength,
                         separatorID: encoding.paddingID, packing: trainer.config.packing)
    }

    /// What the update as sent (`delta`, after any corrupt-update fault) does to the predictions on
    /// this client's fixed held-out sample, against the received global model (nil when the
    /// client has no validation data or a loss is not finite).
    func updateCheck(global: LoRAAdapter, delta: [Float]) -> UpdateCheck? {
        guard !heldOut.isEmpty else { return nil }
        var updated = global
        for i in updated.values.indices { updated.values[i] += delta[i] }
        return try? heldOut.check(model: trainer.model.base, global: global, updated: updated)
    }

    /// The batch-order and dropout seed of this client's local training in `round`.
    public func trainingSeed(round: Int) -> UInt64 { Seeds.derive(trainer.config.seed, purpose: .localTraining, index: round) }

    /// Scores an encoded `EvaluationRequest`: the global adapter applied to the base model.
    public func evaluate(request: Data) throws -> Double? {
        let decoded = try EvaluationRequest(decoding: request)
        return try evaluate(adapter: globalAdapter(decoded.global))
    }

    /// The adapter whose values are `global`.
    func globalAdapter(_ global: [Float]) throws -> LoRAAdapter {
        var adapter = try LoRAAdapter(zerosFor: modelConfig, config: loraConfig)
        guard global.count == adapter.values.count else {
            throw PayloadError(offset: 0, reason: "global adapter has \(global.count) values, expected \(adapter.values.count)")
        }
        adapter.values = global
        return adapter
    }

    /// Mean next-token loss on this client's validation batch of the base model with `adapter`
    /// applied (unmerged, over the shared frozen weights; logits only where there is a target).
    func evaluate(adapter: LoRAAdapter) throws -> Double? {
        guard let batch = validationBatch else { return nil }
        let rows = (0..<batch.rows).map { Array(batch.tokens[($0 * batch.length)..<(($0 + 1) * batch.length)]) }
        return try trainer.model.base.meanLoss(rows, targets: batch.targets, adapter: adapter)
    }
}
