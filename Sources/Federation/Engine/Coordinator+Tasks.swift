import Llama

// The classification task: the run's label set, the base model's scores, and the task
// metrics of clients and rounds.
extension Coordinator {
    /// Fixes the run's candidate labels (`[evaluation] labels`, else the union of the labels in
    /// the clients' validation splits) and announces them once; no event when there are none.
    func announceTaskLabels() {
        guard scenario.evaluation.task.examplesPerClient != 0 else { return }
        var source = "scenario"
        if let given = scenario.evaluation.task.labels {
            taskLabels = given
        } else {
            source = "validation"
            var union = Set<String>()
            for spec in clientSpecs { union.formUnion((try? transport.validationLabels(client: spec.id)) ?? []) }
            taskLabels = union.sorted()
        }
        guard !taskLabels.isEmpty else { return }
        sink(.taskLabels(round: completedRounds, labels: taskLabels, source: source))
    }

    /// Sets the base model's confusion counts per client: the start's evaluation when the global
    /// adapter is still the base model (every `B` zero), else a scoring of the base model itself.
    func scoreBaseTask(evaluatedStart: Evaluation) {
        guard !taskLabels.isEmpty || scenario.evaluation.task.generationTokens != nil else { return }
        if Self.isIdentity(global) {
            baseTask = evaluatedStart.tasks
            baseGeneration = evaluatedStart.generation
        } else if let zero = try? LoRAAdapter(zerosFor: base.config, config: scenario.lora) {
            let b = evaluateAll(round: completedRounds, adapter: zero)
            baseTask = b.tasks
            baseGeneration = b.generation
        }
    }

    /// The round's ROUGE-L over every client's generations, and the base model's on the same clients.
    func applyGeneration(_ scores: [String: GenerationScore], to r: inout RoundMetrics) {
        guard !scores.isEmpty else { return }
        r.globalRougeL = GenerationScore.pooled(Array(scores.values))
        r.baseRougeL = GenerationScore.pooled(scores.keys.compactMap { baseGeneration[$0] })
    }

    /// True when every `B` of the adapter is zero, so the adapted model is the base model.
    static func isIdentity(_ adapter: LoRAAdapter) -> Bool {
        adapter.slots.allSatisfy { s in adapter.values[s.bOffset..<(s.bOffset + s.bCount)].allSatisfy { $0 == 0 } }
    }

    /// A client's task metrics from its confusion counts (nothing without labelled data).
    func applyTask(_ score: TaskScore?, to m: inout ClientRoundMetrics) {
        guard let score, let accuracy = score.accuracy else { return }
        m.taskAccuracy = accuracy
        m.taskMacroF1 = score.macroF1
        m.confusion = score.counts
        if let b = baseTask[m.client]?.accuracy { m.taskAccuracyDeltaBase = accuracy - b }
    }

    /// The round's pooled task metrics, and the base model's over the same clients.
    func applyTask(_ tasks: [String: TaskScore], to r: inout RoundMetrics) {
        guard !tasks.isEmpty else { return }
        let pooled = tasks.values.reduce(TaskScore()) { $0.merged(with: $1) }
        r.globalTaskAccuracy = pooled.accuracy
        r.globalMacroF1 = pooled.macroF1
        let base = tasks.keys.compactMap { baseTask[$0] }.reduce(TaskScore()) { $0.merged(with: $1) }
        r.baseTaskAccuracy = base.accuracy
        r.baseMacroF1 = base.macroF1
    }
}
