import Foundation
import XCTest
@testable import Federation
import Llama

/// BM25 against scores worked out by hand, the kNN vote, and `compare --json` with the base
/// model and the retrieval baselines (tiny model).
final class RetrievalBaselineTests: XCTestCase {
    /// Three documents: "the cat sat" (3 terms), "the dog barked at the cat" (6), "dogs bark" (2);
    /// avgdl = 11/3. idf(cat) = ln(1 + 1.5/2.5) = ln 1.6 (2 of 3 documents), idf(dog) = ln(1 + 2.5/1.5).
    /// Document 0 for "cat dog": ln1.6·2.2 / (1 + 1.2·(0.25 + 0.75·3/(11/3))) = 0.507772;
    /// document 1: (ln1.6 + ln(8/3))·2.2 / (1 + 1.2·(0.25 + 0.75·6/(11/3))) = 1.151153.
    let docs = ["The cat sat.", "The dog barked at the cat!", "Dogs bark"]

    func testScoresAndRankingMatchHandComputedValues() {
        let index = BM25(documents: docs)
        XCTAssertEqual(index.averageLength, 11.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(index.idf("cat"), log(1.6), accuracy: 1e-12)
        XCTAssertEqual(index.idf("dog"), log(1 + 2.5 / 1.5), accuracy: 1e-12)
        XCTAssertEqual(index.score("cat dog", document: 0), 0.507772, accuracy: 1e-6)
        XCTAssertEqual(index.score("cat dog", document: 1), 1.151153, accuracy: 1e-6)
        XCTAssertEqual(index.score("cat dog", document: 2), 0)   // "dogs" is not "dog": no stemming
        let top = index.top("cat dog", k: 5)
        XCTAssertEqual(top.map(\.document), [1, 0])   // document 2 has no query term and is left out
        // A repeated term saturates: "the" twice in the longer document still beats once in the shorter.
        XCTAssertEqual(index.score("the", document: 1), 0.548149, accuracy: 1e-6)
        XCTAssertEqual(index.top("the", k: 1).map(\.document), [1])
        XCTAssertEqual(index.score("bark dogs", document: 2), 2.409753, accuracy: 1e-6)
        // Repeating a query term does not count it twice.
        XCTAssertEqual(index.score("cat cat dog", document: 1), index.score("cat dog", document: 1), accuracy: 1e-12)
    }

    func testParameters() {
        // k1 = 0: presence only, so "the cat" scores idf(the) + idf(cat) in both documents that hold them.
        let presence = BM25(documents: docs, k1: 0)
        XCTAssertEqual(presence.score("the cat", document: 0), 2 * log(1.6), accuracy: 1e-12)
        XCTAssertEqual(presence.score("the cat", document: 1), 2 * log(1.6), accuracy: 1e-12)
        // b = 0: no length normalisation; "the" twice gives idf·2·2.2/(2 + 1.2).
        let flat = BM25(documents: docs, b: 0)
        XCTAssertEqual(flat.score("the", document: 1), log(1.6) * 2 * 2.2 / 3.2, accuracy: 1e-12)
        XCTAssertEqual(flat.score("the", document: 0), log(1.6), accuracy: 1e-12)
        // Equal scores rank the earlier document first; k limits the list.
        XCTAssertEqual(presence.top("the cat", k: 2).map(\.document), [0, 1])
        XCTAssertEqual(presence.top("the cat", k: 1).map(\.document), [0])
        XCTAssertTrue(BM25(documents: docs).top("zebra", k: 3).isEmpty)
        XCTAssertEqual(BM25.terms("Can't log-in! Ticket #58636"), ["can", "t", "log", "in", "ticket", "58636"])
    }

    func testKNNVote() {
        let labels = ["billing", "bug", "outage"]
        XCTAssertEqual(knnVote([("billing", 1.0), ("bug", 3.0), ("billing", 0.5)], labels: labels), "billing")
        // Two votes each: the higher summed score wins.
        XCTAssertEqual(knnVote([("billing", 1.0), ("bug", 2.0), ("billing", 0.5), ("bug", 0.1)], labels: labels), "bug")
        // A full tie goes to the label listed first.
        XCTAssertEqual(knnVote([("outage", 1.0), ("bug", 1.0)], labels: labels), "bug")
        // A label outside the candidates does not vote.
        XCTAssertEqual(knnVote([("spam", 9.0), ("spam", 9.0), ("outage", 0.1)], labels: labels), "outage")
        XCTAssertNil(knnVote([], labels: labels))
    }

    /// The kNN vote on labelled data: recomputed here from the index for one client's examples.
    func testVoteScoresTheLabelScorersExamples() throws {
        let scenario = try EngineTestSupport.scenario(clients: [("desk-a", "support-tickets.jsonl"), ("desk-b", "support-tickets.jsonl")], rounds: 1)
        let pilot = try PilotBuilder.build(scenario, model: EngineModel.load(path: "tiny"), sink: { _ in })
        let clients = scenario.clients.compactMap { pilot.transport.clients[$0.id] }
        let baseline = RetrievalBaseline(clients: clients, k: 3)
        let labels = ["access", "billing", "bug", "feature_request", "outage"]
        let (score, bytes) = try XCTUnwrap(baseline.scoreVote(clients[0], labels: labels, task: scenario.evaluation.task, limit: 4))
        XCTAssertEqual(score.total, clients[0].labelScorer.exampleCount)
        XCTAssertGreaterThan(bytes, 0)
        var expected = TaskScore()
        for e in clients[0].data.validation.filter({ $0.label != nil }).prefix(4) {
            let query = Set(BM25.terms(RetrievalBaseline.searchText(e)))
            var all: [(i: Int, s: Double)] = []
            for i in baseline.documents.indices {
                let s: Double = baseline.index.score(query, document: i)
                if s > 0 { all.append((i, s)) }
            }
            all.sort { (x: (i: Int, s: Double), y: (i: Int, s: Double)) -> Bool in x.s != y.s ? x.s > y.s : x.i < y.i }
            let scored = all.prefix(3)
            var votes: [String: (n: Int, s: Double)] = [:]
            for n in scored {
                let v = votes[baseline.documents[n.i].label!] ?? (0, 0)
                votes[baseline.documents[n.i].label!] = (v.n + 1, v.s + n.s)
            }
            // Most votes, then the higher summed score, then the label listed first.
            let ranked = labels.filter { votes[$0] != nil }.sorted { (x: String, y: String) -> Bool in
                let a = votes[x]!, b = votes[y]!
                if a.n != b.n { return a.n > b.n }
                if a.s != b.s { return a.s > b.s }
                return labels.firstIndex(of: x)! < labels.firstIndex(of: y)!
            }
            expected.add(gold: e.label!, predicted: ranked[0])
        }
        XCTAssertEqual(score, expected)
    }

    /// `compare --json` on labelled data: the six approaches (and the kNN vote), each with
    /// accuracy, latency, cost and privacy posture, and a verdict that names the best.
    func testCompareJSONHasEveryApproachWithCostAndPrivacy() throws {
        let scenario = try EngineTestSupport.scenario(clients: [("desk-a", "support-tickets.jsonl"), ("desk-b", "support-tickets.jsonl")], rounds: 1)
        var comparison = Comparison(scenario: scenario)
        var finished: [String] = []
        try comparison.run(model: EngineModel.load(path: "tiny"), dpNoise: (1.2, 8), finished: { finished.append($0.name) }, progress: { _ in })
        XCTAssertEqual(finished, Comparison.approaches(dp: true) + Comparison.baselines(labelled: true))
        let data = try JSONSerialization.data(withJSONObject: comparison.jsonObject(noise: 1.2))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let approaches = try XCTUnwrap(object["approaches"] as? [[String: Any]])
        XCTAssertEqual(Set(approaches.compactMap { $0["name"] as? String }),
                       ["federated", "federated+dp", "centralized", "local-only", "base-model", "retrieval", "knn-vote"])
        let predictions = comparison.baseTasks.values.reduce(0) { $0 + $1.total }
        XCTAssertGreaterThan(predictions, 0)
        for a in approaches {
            let name = a["name"] as! String
            for key in ["task_accuracy", "macro_f1", "latency_seconds", "bytes", "epsilon", "eval_loss", "per_client_task_accuracy"] {
                XCTAssertNotNil(a[key], "\(name) \(key)")
            }
            XCTAssertEqual(a["predictions"] as? Int, predictions, name)
            XCTAssertGreaterThan(try XCTUnwrap(a["latency_seconds"] as? Double, name), 0, name)
            let inference = try XCTUnwrap(a["inference"] as? [String: Any], name)
            XCTAssertGreaterThan(try XCTUnwrap(inference["peak_memory_bytes"] as? Int), 0, name)
            XCTAssertNotNil(inference["cpu_seconds"] as? Double, name)
            XCTAssertEqual(a["training"] is NSNull, name == "base-model", name)
            let privacy = try XCTUnwrap(a["privacy"] as? [String: Any], name)
            let pooled = ["centralized", "retrieval", "knn-vote"].contains(name)
            XCTAssertEqual(privacy["raw_text_pooled"] as? Bool, pooled, name)
            XCTAssertEqual(privacy["leaves_client"] as? String,
                           pooled ? "raw text" : name.hasPrefix("federated") ? "adapter updates" : "nothing", name)
            XCTAssertEqual(privacy["coordinator_sees_individual"] as? Bool, pooled || name.hasPrefix("federated"), name)
            // Retrieval changes the prompt, not the model: it has no eval loss, the others do.
            XCTAssertEqual(a["eval_loss"] is NSNull, ["retrieval", "knn-vote"].contains(name), name)
        }
        let retrieval = try XCTUnwrap(comparison.results.first { $0.name == "retrieval" })
        // The pooled text went to the index; each query and its shots moved on top of it.
        let pooledBytes = try XCTUnwrap(comparison.results.first { $0.name == "centralized" }?.bytesMoved)
        XCTAssertGreaterThan(retrieval.bytesMoved, pooledBytes)
        XCTAssertEqual(comparison.results.first { $0.name == "federated+dp" }?.privacy?.epsilon, 8)
        XCTAssertTrue(comparison.verdict.contains("best overall: "), comparison.verdict)
        XCTAssertTrue(comparison.verdict.contains("best per client: desk-a "), comparison.verdict)
    }
}
