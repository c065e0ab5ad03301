import Foundation
import Llama
import Privacy
import TensorMath

/// Receives every event the coordinator publishes (journal, dashboard, headless output).
public typealias EventSink = @Sendable (FederationEvent) -> Void

/// Runs a federated pilot: rounds of selection, local training through a transport,
/// aggregation, the server update and evaluation. It publishes typed events and applies
/// operator commands between steps, never during aggregation. A failed round leaves the
/// global adapter as it was.
public final class Coordinator: @unchecked Sendable {
    public let scenario: Scenario
    public let commands = CommandQueue()
    public let tensorSizes: [Int]
    let base: LanguageModel
    /// The clients, through a real transport or a `SimulatedNetwork` around in-process ones.
    let transport: any ClientTransport
    /// The scenario's faults; the coordinator applies only dropouts (in `select`).
    let faultInjector: FaultInjector
    let clientSpecs: [ClientSpec]
    /// Training examples per client, which weight the mean evaluation loss. A network
    /// deployment learns them as clients join, so it may set them before `run()`.
    public var trainCounts: [String: Int]
    let sink: EventSink
    var strategy: any AggregationStrategy
    /// The global adapter after the last completed round.
    public internal(set) var global: LoRAAdapter
    public private(set) var completedRounds = 0
    var excluded: Set<String> = []
    var paused = false
    var stepsAllowed = 0
    var stopRequested = false
    public internal(set) var privacy: PrivacyConfig
    /// Privacy loss of every round aggregated so far; unbounded once a round ran without DP.
    var accountant = RDPAccountant()
    /// Aggregated rounds that ran without DP (the run's ε is then unbounded).
    var roundsWithoutDP: [Int] = []
    /// Adaptive clipping state, when the scenario asks for it.
    var adaptiveClip: AdaptiveClipNorm?
    var baseEval: [String: Double] = [:]
    var lastEval: [String: Double] = [:]
    var alerts = AlertDetector()
    var lastClientMetrics: [String: ClientRoundMetrics] = [:]
    /// Called with each completed round's global adapter and server state just before its
    /// `roundCompleted` event.
    public var onCheckpoint: (@Sendable (RoundCheckpoint) -> Void)?
    /// The base model's tokenizer, for probe samples (`.sample`); nil: samples are unavailable.
    let probeEncoding: (any TextEncoding)?
    /// The evaluation that quality deltas are measured against: the run's first (or, resumed, the original run's).
    var baseline: (perClient: [String: Double], global: Double?)?
    /// The classification task's candidate labels (empty: no task metrics), fixed at the run's start.
    var taskLabels: [String] = []
    /// The base model's confusion counts per client, which accuracy deltas are measured against.
    var baseTask: [String: TaskScore] = [:]
    /// The base model's ROUGE-L per client (when the scenario asks for generations).
    var baseGeneration: [String: GenerationScore] = [:]

    /// - Parameters:
    ///   - start: the global adapter to start from (a fresh PEFT-style initialisation when nil).
    ///   - startRound: rounds already completed (when resuming from a journal).
    ///   - encoding: the base model's tokenizer, for probe samples of the global model.
    public init(scenario: Scenario, base: LanguageModel, transport: any ClientTransport, trainCounts: [String: Int],
                start: LoRAAdapter? = nil, startRound: Int = 0, encoding: (any TextEncoding)? = nil,
                sink: @escaping EventSink) throws {
        try scenario.checkFits(model: base.config)
        self.scenario = scenario
        self.base = base
        self.transport = transport
        self.clientSpecs = scenario.clients
        self.faultInjector = FaultInjector(scenario.faults)
        self.trainCounts = trainCounts
        let refusals = PrivacyPosture.refusals(privacy: scenario.privacy, strategy: scenario.strategy.kind)
        guard refusals.isEmpty else { throw PrivacyPostureError(file: scenario.sourcePath, refusals: refusals) }
        self.sink = sink
        self.global = try start ?? LoRAAdapter(model: base.config, config: scenario.lora, seed: scenario.seed)
        self.tensorSizes = global.slots.flatMap { [$0.aCount, $0.bCount] }
        self.strategy = makeStrategy(scenario.strategy, totalClients: scenario.clients.count)
        self.privacy = scenario.privacy
        self.completedRounds = startRound
        self.probeEncoding = encoding
        resetAdaptiveClip()
    }

    /// (Re)starts adaptive clipping from the current clip norm, with m = the expected number of
    /// clients per round.
    func resetAdaptiveClip() {
        guard privacy.adaptiveClipping else { adaptiveClip = nil; return }
        let expected = max(1, Double(clientSpecs.count) * scenario.selection.fraction * scenario.selection.availability)
        adaptiveClip = try? AdaptiveClipNorm(initial: privacy.clipNorm, targetQuantile: privacy.targetQuantile,
                                             learningRate: privacy.clipLearningRate, expectedClients: expected, countNoiseStd: 0)
    }

    /// Pauses before the first round (the dashboard can start paused).
    public func startPaused() { paused = true }

    /// Runs until every round is done or the operator stops the run. Blocking.
    @discardableResult
    public func run() -> (rounds: Int, finalEvalLoss: Double?, stopped: Bool) {
        let began = Date()
        sink(.runStarted(scenario: scenario.name, model: scenario.modelPath, strategy: scenario.strategy.kind.rawValue,
                         rounds: scenario.rounds, clients: clientSpecs.map(\.id),
                         domains: Dictionary(uniqueKeysWithValues: clientSpecs.map { ($0.id, $0.domain) })))
        publishPrivacy(round: completedRounds)
        announceTaskLabels()
        sink(.phase(round: completedRounds, .evaluating))
        let evaluated = evaluateAll(round: completedRounds, adapter: global)
        if baseline == nil { baseline = (evaluated.perClient, evaluated.global) }   // else restored from a journal
        scoreBaseTask(evaluatedStart: evaluated)
        baseEval = baseline?.perClient ?? [:]
        lastEval = evaluated.perClient
        var final = evaluated.global
        while completedRounds < scenario.rounds && !stopRequested {
            if !waitWhilePaused() { break }
            let round = completedRounds + 1
            if let loss = runRound(round) { final = loss }
            completedRounds = round
        }
        sink(.phase(round: completedRounds, .finished))
        sink(.runFinished(rounds: completedRounds, finalEvalLoss: final, baseEvalLoss: baseline?.global,
                          wallSeconds: Date().timeIntervalSince(began), stopped: stopRequested))
        return (completedRounds, final, stopRequested)
    }

    // MARK: - Commands

    /// Applies pending commands; returns when the run may proceed (false when stopped).
    func waitWhilePaused() -> Bool {
        applyCommands(commands.drain())
        while paused && stepsAllowed == 0 && !stopRequested {
            sink(.phase(round: completedRounds, .paused))
            applyCommands(commands.wait(timeout: 0.5))
        }
        if stepsAllowed > 0 { stepsAllowed -= 1 }
        return !stopRequested
    }

    func applyCommands(_ list: [OperatorCommand]) {
        for command in list {
            var applied = true
            switch command {
            case .dropClient(let c):
                applied = clientSpecs.contains { $0.id == c } && excluded.insert(c).inserted
            case .readmitClient(let c):
                applied = excluded.remove(c) != nil
            case .setDifferentialPrivacy(let on):
                applied = privacy.differentialPrivacy != on && (!on || refuseDifferentialPrivacy() == nil)
                if applied { privacy.differentialPrivacy = on }
            case .setNoiseMultiplier(let s):
                applied = s >= 0
                if applied { privacy.noiseMultiplier = s }
            case .setClipNorm(let c):
                applied = c > 0
                if applied { privacy.clipNorm = c; resetAdaptiveClip() }
            case .pause: paused = true
            case .resume: paused = false; stepsAllowed = 0
            case .step:
                applied = paused
                if paused { stepsAllowed += 1 }
            case .stop: stopRequested = true
            case .sample(let c): applied = generateSample(client: c)
            }
            sink(.operatorAction(round: completedRounds, command: command, applied: applied))
            if applied, case .setDifferentialPrivacy = command { publishPrivacy(round: completedRounds) }
            if applied, case .setNoiseMultiplier = command { publishPrivacy(round: completedRounds) }
            if applied, case .setClipNorm = command { publishPrivacy(round: completedRounds) }
        }
    }

    // MARK: - One round (the stages are in Coordinator+Round.swift)

    func fail(_ round: Int, _ reason: String) -> Double? {
        sink(.roundFailed(round: round, reason: reason))
        return nil
    }

    /// Samples this round's participants among the online, admitted clients: a fixed-size sample
    /// from the run's seeded generator, or, with differential privacy, secret Poisson sampling
    /// (each online client with probability `fraction`) from a cryptographic generator, which is
    /// what the accountant's amplification by sampling assumes.
    func select(round: Int, rng: inout SeededRandom) -> [String] {
        let online = clientSpecs.filter { spec in
            !excluded.contains(spec.id)
                && !faultInjector.isOffline(client: spec.id, round: round)
                && Double(rng.uniform()) < scenario.selection.availability
        }.map(\.id)
        if privacy.differentialPrivacy {
            var secret = SystemRandomNumberGenerator()
            let q = scenario.selection.fraction
            return online.filter { _ in q >= 1 || Double.random(in: 0..<1, using: &secret) < q }
        }
        let wanted = max(min(scenario.selection.minimumClients, online.count),
                         Int((Double(online.count) * scenario.selection.fraction).rounded(.up)))
        var pool = online
        pool.shuffle(using: &rng)
        return pool.prefix(wanted).sorted { a, b in
            clientSpecs.firstIndex { $0.id == a }! < clientSpecs.firstIndex { $0.id == b }!
        }
    }

    /// Runs one job per client through `ClientLanes`, as many at once as the transport allows,
    /// with the machine's threads shared among the lanes.
    @discardableResult
    func inLanes<Job: Sendable, Output: Sendable>(_ count: Int, prepare: (Int) -> Job?, work: @escaping @Sendable (Job) -> Output,
                                                  finished: (Int, Output) -> Void = { _, _ in }) -> [Output?] {
        let lanes = min(transport.parallelClients, count)
        return transport.withParallelCalls(lanes: lanes) {
            ClientLanes(lanes: lanes).run(count, prepare: prepare, work: work, finished: finished)
        }
    }

    /// The encoded task of one client's local round: the global adapter and the strategy's instructions.
    func task(for spec: ClientSpec, round: Int) -> Data {
        let instructions = strategy.instructions(for: spec.id, dimension: global.values.count)
        let task = RoundTask(round: round, global: global.values, localSteps: spec.localSteps ?? defaultSteps,
                             proximalMu: instructions.proximalMu, gradientCorrection: instructions.gradientCorrection,
                             serverControl: instructions.serverControl, secureAggregation: privacy.secureAggregation)
        return task.encoded(tensorSizes: tensorSizes, as: scenario.payload)
    }

    /// Takes one client's reply to its round task (`m.bytesDown` is the task's size), which
    /// took `exchangeSeconds` of wall time, and its delivery as the transport reports it: the
    /// update, or nil when the client failed, or its upload was lost or missed the deadline.
    func receive(_ answer: Result<Data, any Error>, exchangeSeconds: Double, from spec: ClientSpec, round: Int,
                 metrics m: inout ClientRoundMetrics, rng: inout SeededRandom) -> ClientUpdate? {
        let reply: RoundReply, received: Int
        do {
            let payload = try answer.get()
            received = payload.count
            reply = try RoundReply(decoding: payload)
            let expected = privacy.secureAggregation ? 0 : global.values.count
            guard reply.client == spec.id, reply.round == round, reply.delta.count == expected else {
                throw PayloadError(offset: 0, reason: "reply is for client \(reply.client), round \(reply.round), \(reply.delta.count) values")
            }
            try reply.checkFinite()
        } catch {
            m.status = .failed
            sink(.alert(Alert(round: round, client: spec.id, severity: .critical, reason: "local round failed: \(error)")))
            return nil
        }
        m.bytesUp = received   // the reply as it arrived, in the scenario's payload encoding
        m.trainExamples = reply.exampleCount
        m.trainTokens = reply.tokens
        m.localLossStart = reply.lossStart.isFinite ? reply.lossStart : nil
        m.localLossEnd = reply.lossEnd.isFinite ? reply.lossEnd : nil
        if let c = reply.check {
            func finite(_ v: Double?) -> Double? { v.flatMap { $0.isFinite ? $0 : nil } }
            m.checkEndLoss = finite(c.endLoss); m.checkLabelLoss = finite(c.labelLoss); m.checkTextLoss = finite(c.textLoss)
            m.checkSeconds = finite(c.seconds)
        }
        if let p = reply.probe {
            m.localLossStartTail = p.tail.flatMap { $0.isFinite ? $0 : nil }
            m.localLossStartLabel = p.label.flatMap { $0.isFinite ? $0 : nil }
        }
        if let profile = reply.profile?.sanitized {
            m.dataLabelDisagreement = profile.labelDisagreement
            m.dataReferenceDisagreement = profile.referenceDisagreement
            m.dataLabelledExamples = profile.labelDisagreement == nil ? nil : profile.labelledExamples
            m.dataUnexplainedPhrases = profile.unexplainedPhrases
            m.dataCheckedExamples = profile.unexplainedPhrases == nil ? nil : profile.examples
        }
        m.trainSeconds = reply.computeSeconds
        m.updateNorm = reply.delta.isEmpty ? reply.updateNorm : UpdateGeometry.norm(reply.delta)
        let delivery = transport.delivery(of: ReplyReceipt(client: spec.id, round: round, bytesDown: m.bytesDown, bytesUp: received,
                                                           computeSeconds: reply.computeSeconds, exchangeSeconds: exchangeSeconds),
                                          draws: &rng)
        m.transferSeconds = delivery.transferSeconds
        m.computeSeconds = delivery.computeSeconds
        m.simulatedSeconds = delivery.seconds
        switch delivery.outcome {
        case .lost: m.status = .dropped; return nil
        case .missedDeadline: m.status = .timedOut; return nil
        case .arrived: m.status = .uploading
        }
        return ClientUpdate(client: spec.id, delta: reply.delta, exampleCount: reply.exampleCount, controlDelta: reply.controlDelta)
    }

    var defaultSteps: Int {
        if case .steps(let n) = scenario.training.budget { return n }
        return 0   // the epoch budget of the client's trainer applies
    }

    /// One evaluation of an adapter on every client's validation data.
    struct Evaluation {
        var perClient: [String: Double] = [:]
        /// Example-weighted mean of `perClient`.
        var global: Double?
        var perDomain: [String: Double] = [:]
        /// Confusion counts of the labelled examples per client (empty without a task).
        var tasks: [String: TaskScore] = [:]
        /// ROUGE-L of greedy generations per client (empty unless `[evaluation] generation` is set).
        var generation: [String: GenerationScore] = [:]
    }

    /// Every admitted client's validation loss under `adapter`, their example-weighted mean,
    /// the mean per domain, and each client's label scoring when the run has a task.
    func evaluateAll(round: Int, adapter: LoRAAdapter) -> Evaluation {
        let request = EvaluationRequest(round: round, global: adapter.values).encoded(tensorSizes: tensorSizes, as: .fp32)
        var perClient: [String: Double] = [:]
        var weighted = 0.0, weight = 0.0
        var domains: [String: (Double, Int)] = [:]
        var tasks: [String: TaskScore] = [:]
        var generation: [String: GenerationScore] = [:]
        let labels = taskLabels
        let generate = scenario.evaluation.task.generationTokens != nil
        let answers = inLanes(clientSpecs.count, prepare: { clientSpecs[$0].id }, work: { [transport] client in
            (loss: Result { try transport.evaluate(client: client, request: request) },
             task: labels.isEmpty ? nil : Result { try transport.scoreLabels(client: client, request: request, labels: labels) },
             generation: generate ? Result { try transport.scoreGeneration(client: client, request: request) } : nil)
        })
        for (spec, answer) in zip(clientSpecs, answers) {
            guard let answer else { continue }
            switch answer.task {
            case .success(let task?)?: tasks[spec.id] = task
            case .failure(let error)?: sink(.alert(Alert(round: round, client: spec.id, severity: .warning, reason: "label scoring failed: \(error)")))
            default: break
            }
            switch answer.generation {
            case .success(let g?)?: generation[spec.id] = g
            case .failure(let error)?: sink(.alert(Alert(round: round, client: spec.id, severity: .warning, reason: "generation scoring failed: \(error)")))
            default: break
            }
            let loss: Double
            switch answer.loss {
            case .success(let value?) where value.isFinite: loss = value
            case .success(let value?):
                sink(.alert(Alert(round: round, client: spec.id, severity: .critical,
                                  reason: "evaluation gave a non-finite loss (\(value)); left out of the global mean")))
                continue
            case .failure(let error):
                sink(.alert(Alert(round: round, client: spec.id, severity: .warning, reason: "evaluation failed: \(error)")))
                continue
            default: continue   // no validation data
            }
            perClient[spec.id] = loss
            let w = Double(max(1, trainCounts[spec.id] ?? 1))
            weighted += loss * w
            weight += w
            domains[spec.domain, default: (0, 0)].0 += loss
            domains[spec.domain, default: (0, 0)].1 += 1
        }
        return Evaluation(perClient: perClient, global: weight > 0 ? weighted / weight : nil,
                          perDomain: domains.mapValues { $0.0 / Double($0.1) }, tasks: tasks, generation: generation)
    }
}
