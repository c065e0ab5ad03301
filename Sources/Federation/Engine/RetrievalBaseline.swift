import Foundation
import Llama

/// The retrieval baselines of `fedpilot compare`: every client's training text pooled in one
/// BM25 index (centralized retrieval: the raw text leaves the clients), queried with each
/// labelled validation example's prompt.
///
/// - **Retrieval (few-shot):** the `k` best training examples, each rendered as its prompt and
///   label, go before the example's prompt (the best one nearest it), and the base model scores
///   the candidate labels over that longer prompt with the same label scorer as every other
///   approach (calibration included).
/// - **kNN vote:** the most common label among the `k` neighbours (``knnVote``), without the
///   model; an example with no neighbour gets the most common training label.
///
/// Both score the same validation examples as the label scorer of every other approach.
struct RetrievalBaseline {
    let index: BM25
    let documents: [TextExample]
    /// UTF-8 bytes of the pooled training text (what the clients send to the index).
    let pooledBytes: Int
    let k: Int

    init(clients: [ClientWorker], k: Int) {
        documents = clients.flatMap(\.data.train)
        index = BM25(documents: documents.map(Self.searchText))
        pooledBytes = documents.reduce(0) { $0 + $1.text.utf8.count }
        self.k = k
    }

    /// The text an example is found by, or searched with: its prompt without the label.
    static func searchText(_ e: TextExample) -> String {
        LabelPrompt.make(e, template: nil)?.prompt ?? (e.prompt.isEmpty ? e.completion : e.prompt + "\n" + e.completion)
    }

    /// The labelled validation examples a client's label scorer scores, with their prompts, in order.
    static func scoredExamples(_ c: ClientWorker, template: String?, limit: Int) -> [(example: TextExample, prompt: String)] {
        var out: [(TextExample, String)] = []
        for e in c.data.validation where out.count < limit {
            guard let (prompt, _) = LabelPrompt.make(e, template: template), e.label != nil else { continue }
            out.append((e, prompt))
        }
        return out
    }

    /// The neighbours of `e`, best first.
    func neighbours(_ e: TextExample) -> [(document: Int, score: Double)] { index.top(Self.searchText(e), k: k) }

    /// A training example as a solved shot: its prompt and its label (its whole text when it has no label).
    func shot(_ d: TextExample, template: String?) -> String {
        guard let label = d.label, let (prompt, separator) = LabelPrompt.make(d, template: template) else {
            return d.prompt.isEmpty ? d.completion : d.prompt + "\n" + d.completion
        }
        return prompt + separator + label
    }

    /// The few-shot prediction's confusion counts on client `c`, and the bytes its queries moved
    /// (each query up, its shots down). Nil when the client has no labelled example.
    func scoreFewShot(_ c: ClientWorker, labels: [String], task: TaskEvaluationConfig, limit: Int) throws -> (TaskScore, bytes: Int)? {
        let template = task.template(forDomain: c.spec.domain)
        var prompted: [TextExample] = [], bytes = 0
        for (e, prompt) in Self.scoredExamples(c, template: template, limit: limit) {
            let shots = neighbours(e).reversed().map { shot(documents[$0.document], template: template) }
            bytes += Self.searchText(e).utf8.count + shots.reduce(0) { $0 + $1.utf8.count }
            let context = shots.isEmpty ? prompt : shots.joined(separator: "\n\n") + "\n\n" + prompt
            prompted.append(TextExample(prompt: context, completion: "", label: e.label))
        }
        // Room for the shots, within the model's positions (less the longest label's tokens).
        let labelTokens = labels.map { c.encoding.encode(" " + $0).count }.max() ?? 0
        let room = min(task.contextTokens * (k + 1), c.modelConfig.maxPositions - labelTokens - 1)
        let scorer = LabelScorer(validation: prompted, template: nil, limit: limit, contextTokens: max(1, room),
                                 encoding: c.encoding, calibrate: task.calibrate)
        guard let score = try scorer.score(model: c.trainer.model.base, adapter: nil, labels: labels) else { return nil }
        return (score, bytes)
    }

    /// The kNN vote's confusion counts on client `c` and the bytes its queries moved (each query
    /// up, its neighbours' labels down). Nil when the client has no labelled example.
    func scoreVote(_ c: ClientWorker, labels: [String], task: TaskEvaluationConfig, limit: Int) -> (TaskScore, bytes: Int)? {
        let examples = Self.scoredExamples(c, template: task.template(forDomain: c.spec.domain), limit: limit)
        guard !examples.isEmpty else { return nil }
        var score = TaskScore(), bytes = 0
        for (e, _) in examples {
            let found = neighbours(e).compactMap { n in documents[n.document].label.map { (label: $0, score: n.score) } }
            bytes += Self.searchText(e).utf8.count + found.reduce(0) { $0 + $1.label.utf8.count }
            score.add(gold: e.label!, predicted: knnVote(found, labels: labels) ?? prior(labels))
        }
        return (score, bytes)
    }

    /// The most common training label among `labels` (ties: the one listed first).
    func prior(_ labels: [String]) -> String {
        var counts: [String: Int] = [:]
        for d in documents { if let l = d.label { counts[l, default: 0] += 1 } }
        return labels.max { (counts[$0] ?? 0) < (counts[$1] ?? 0) || ((counts[$0] ?? 0) == (counts[$1] ?? 0) && labels.firstIndex(of: $0)! > labels.firstIndex(of: $1)!) } ?? labels[0]
    }
}
