import Foundation
import Llama

extension ClientWorker {
    /// A network deployment's label scoring request, answered as bytes.
    public func scoreLabels(request: Data) throws -> Data {
        let r = try LabelScoreRequest(decoding: request)
        let adapter = try globalAdapter(EvaluationRequest(decoding: r.evaluation).global)
        return try scoreLabels(adapter: adapter, labels: r.labels)?.encoded() ?? Data()
    }

    /// A network deployment's generation scoring request, answered as bytes.
    public func scoreGeneration(request: Data) throws -> Data {
        guard generationScorer != nil else { return Data() }
        let adapter = try globalAdapter(EvaluationRequest(decoding: request).global)
        return try scoreGeneration(adapter: adapter)?.encoded() ?? Data()
    }

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
