import Llama

extension ClientWorker {
    /// Confusion counts of the base model with `adapter` on this client's labelled validation
    /// examples over `labels`; nil when it has none.
    func scoreLabels(adapter: LoRAAdapter?, labels: [String]) throws -> TaskScore? {
        try labelScorer.score(model: trainer.model.base, adapter: adapter, labels: labels)
    }

    /// Mean ROUGE-L F1 of greedy generations on this client's instruction examples; nil when not asked for or none.
    func scoreGeneration(adapter: LoRAAdapter?) throws -> GenerationScore? {
        try generationScorer?.score(model: trainer.model.base, adapter: adapter)
    }
}
