import Foundation
import Llama
import XCTest
@testable import Federation

/// Task metrics through the coordinator on the tiny model: announced labels, per-client and
/// global accuracy against the base model, omitted fields without labels, and events that
/// survive their JSON form (journal and replay read it).
final class TaskEvaluationEngineTests: XCTestCase {
    func testLabelledDataGetsTaskMetricsInEveryEvaluation() throws {
        let scenario = try EngineTestSupport.scenario(clients: [("support", "support-tickets.jsonl"), ("legal", "legal-clauses.jsonl")],
                                                      rounds: 2, extra: "[label_prompts]\ntest = \"{text}\\nClause:\"\n")
        let recorder = EngineTestSupport.Recorder()
        try PilotBuilder.build(scenario, sink: recorder.record).coordinator.run()
        let announced = recorder.events.compactMap { e -> [String]? in if case .taskLabels(_, let l, let s) = e, s == "validation" { return l } else { return nil } }
        XCTAssertEqual(announced.count, 1, "the label set is announced once")
        // The union of both clients' validation labels, sorted.
        XCTAssertTrue(Set(["billing", "bug", "indemnification", "termination"]).isSubset(of: announced[0]), "\(announced)")
        XCTAssertEqual(announced[0], announced[0].sorted())
        for r in recorder.completedRounds {
            let acc = try XCTUnwrap(r.globalTaskAccuracy), base = try XCTUnwrap(r.baseTaskAccuracy)
            XCTAssertTrue((0...1).contains(acc) && (0...1).contains(base))
            XCTAssertNotNil(r.globalMacroF1); XCTAssertNotNil(r.baseMacroF1)
        }
        for client in ["support", "legal"] {
            let m = try XCTUnwrap(recorder.clientMetrics(round: 2, client: client))
            let acc = try XCTUnwrap(m.taskAccuracy)
            let counts = try XCTUnwrap(m.confusion)
            XCTAssertEqual(counts.values.reduce(0) { $0 + $1.values.reduce(0, +) }, 4, "max_examples_per_client scored")
            XCTAssertEqual(TaskScore(counts: counts).accuracy, acc)
            XCTAssertNotNil(m.taskAccuracyDeltaBase)
            // The JSON line keeps the fields, and reads back to the same metrics.
            let line = FederationEvent.clientUpdate(m).jsonLine
            XCTAssertTrue(line.contains("\"task_accuracy\":"), line)
            guard case .clientUpdate(let back)? = FederationEvent(jsonLine: line) else { return XCTFail(line) }
            XCTAssertEqual(back.taskAccuracy, m.taskAccuracy)
            XCTAssertEqual(back.taskAccuracyDeltaBase, m.taskAccuracyDeltaBase)
            XCTAssertEqual(back.taskMacroF1!, m.taskMacroF1!, accuracy: 1e-12)
            XCTAssertEqual(back.confusion, m.confusion)
        }
        let completed = FederationEvent.roundCompleted(recorder.completedRounds[1])
        for key in ["global_task_accuracy", "global_macro_f1", "base_task_accuracy", "base_macro_f1"] {
            XCTAssertNotNil(completed.jsonObject[key], key)
        }
        guard case .roundCompleted(let back)? = FederationEvent(jsonLine: completed.jsonLine) else { return XCTFail() }
        let r = recorder.completedRounds[1]
        XCTAssertEqual(back.globalTaskAccuracy, r.globalTaskAccuracy)
        XCTAssertEqual(back.baseTaskAccuracy, r.baseTaskAccuracy)
        XCTAssertEqual(back.globalMacroF1!, r.globalMacroF1!, accuracy: 1e-12)
        XCTAssertEqual(back.baseMacroF1!, r.baseMacroF1!, accuracy: 1e-12)
    }

    /// Round 0's evaluation is of the base model; a scenario's labels are used as given.
    func testScenarioLabelsAndBaseAccuracyIsTheBaseModels() throws {
        let scenario = try EngineTestSupport.scenario(clients: [("support", "support-tickets.jsonl")], rounds: 1)
            .with(labels: ["billing", "bug", "access", "outage", "feature_request"])
        let recorder = EngineTestSupport.Recorder()
        let pilot = try PilotBuilder.build(scenario, sink: recorder.record)
        pilot.coordinator.run()
        XCTAssertTrue(recorder.events.contains(.taskLabels(round: 0, labels: ["billing", "bug", "access", "outage", "feature_request"], source: "scenario")))
        let client = pilot.transport.clients["support"]!
        let base = try XCTUnwrap(client.scoreLabels(adapter: nil, labels: ["billing", "bug", "access", "outage", "feature_request"]))
        XCTAssertEqual(recorder.completedRounds[0].baseTaskAccuracy, base.accuracy)
        let global = try XCTUnwrap(client.scoreLabels(adapter: pilot.coordinator.global, labels: ["billing", "bug", "access", "outage", "feature_request"]))
        XCTAssertEqual(recorder.completedRounds[0].globalTaskAccuracy, global.accuracy)
    }

    func testTaskExamplesZeroTurnsScoringOff() throws {
        var scenario = try EngineTestSupport.scenario(clients: [("support", "support-tickets.jsonl")], rounds: 1)
        scenario.evaluation.task.examplesPerClient = 0
        let recorder = EngineTestSupport.Recorder()
        try PilotBuilder.build(scenario, sink: recorder.record).coordinator.run()
        XCTAssertFalse(recorder.events.contains { $0.type == "task_labels" })
        XCTAssertNil(recorder.completedRounds[0].globalTaskAccuracy)
        XCTAssertNil(recorder.clientMetrics(round: 1, client: "support")?.taskAccuracy)
    }

    /// `[evaluation] generation = N`: greedy generations on instruction examples, scored by ROUGE-L
    /// against their outputs, for the base model and after each round.
    func testGenerationIsScoredByRougeL() throws {
        var scenario = try EngineTestSupport.scenario(clients: [("support", "support-instructions.jsonl")], rounds: 1)
            .withGeneration(tokens: 6)
        scenario.clients[0].data = .file(path: EngineTestSupport.data("support-instructions.jsonl"), format: .jsonlInstruction)
        let recorder = EngineTestSupport.Recorder()
        let pilot = try PilotBuilder.build(scenario, sink: recorder.record)
        pilot.coordinator.run()
        let round = try XCTUnwrap(recorder.completedRounds.first)
        let global = try XCTUnwrap(round.globalRougeL), base = try XCTUnwrap(round.baseRougeL)
        XCTAssertTrue((0...1).contains(global) && (0...1).contains(base))
        let client = try XCTUnwrap(recorder.clientMetrics(round: 1, client: "support"))
        XCTAssertEqual(client.rougeL, global, "one client: its score is the pooled one")
        // The same score as generating by hand from the client's first two instruction examples.
        let c = pilot.transport.clients["support"]!
        let examples = c.data.validation.prefix(2)
        let byHand = try examples.map { e -> Double in
            let text = try ProbeGeneration.greedy(model: c.trainer.model.base, adapter: pilot.coordinator.global, encoding: c.encoding,
                                                  prompt: e.prompt, maxTokens: 6)
            return RougeL.score(candidate: text, reference: String(e.completion.dropLast("<|im_end|>".count))).f1
        }.reduce(0, +) / 2
        XCTAssertEqual(global, byHand, accuracy: 1e-12)
        XCTAssertTrue(FederationEvent.roundCompleted(round).jsonLine.contains("\"global_rouge_l\":"))
    }

    func testNoLabelsMeansNoTaskFields() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedpilot-task-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let scenario = try Self.unlabelledScenario(in: dir)
        let recorder = EngineTestSupport.Recorder()
        try PilotBuilder.build(scenario, sink: recorder.record).coordinator.run()
        XCTAssertFalse(recorder.events.contains { $0.type == "task_labels" })
        for e in recorder.events {
            let line = e.jsonLine
            for key in ["task_accuracy", "task_accuracy_delta_base", "global_task_accuracy", "global_macro_f1",
                        "base_task_accuracy", "base_macro_f1", "confusion"] {
                XCTAssertFalse(line.contains("\"\(key)\""), "\(key) in \(line)")
            }
        }
    }

    /// `compare --json` on unlabelled text: no approach has accuracy or macro-F1 keys (not zeros,
    /// not nulls), and the retrieval baselines, which need labels, are not run.
    func testCompareWithoutLabelsOmitsTaskFields() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("fedpilot-task-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let scenario = try Self.unlabelledScenario(in: dir)
        var comparison = Comparison(scenario: scenario)
        var finished: [String] = []
        try comparison.run(model: EngineModel.load(path: "tiny"), dpNoise: nil, finished: { finished.append($0.name) }, progress: { _ in })
        XCTAssertEqual(finished, Comparison.approaches(dp: false) + Comparison.baselines(labelled: false))
        let approaches = try XCTUnwrap(comparison.jsonObject(noise: 0)["approaches"] as? [[String: Any]])
        XCTAssertEqual(approaches.count, finished.count)
        for a in approaches {
            XCTAssertNotNil(a["eval_loss"] as? Double, "\(a["name"] ?? "?")")
            for key in ["task_accuracy", "macro_f1", "per_client_task_accuracy", "per_client_macro_f1"] {
                XCTAssertNil(a[key], "\(a["name"] ?? "?") \(key)")
            }
        }
    }

    func testAccuracyAlert() {
        var detector = AlertDetector()
        func metrics(_ a: Double) -> [ClientRoundMetrics] {
            var m = ClientRoundMetrics(client: "c", round: 1, status: .done); m.taskAccuracy = a; return [m]
        }
        XCTAssertTrue({ var l = metrics(0.8); return detector.inspect(&l, round: 1) }().isEmpty)
        XCTAssertTrue({ var l = metrics(0.7); return detector.inspect(&l, round: 2) }().isEmpty, "one small fall is noise")
        XCTAssertTrue({ var l = metrics(0.65); return detector.inspect(&l, round: 3) }().isEmpty, "two small falls, 0.15 in all: noise")
        XCTAssertEqual({ var l = metrics(0.55); return detector.inspect(&l, round: 4) }().map(\.reason),
                       ["task accuracy fell to 0.55 from 0.80 (over 3 evaluations in a row)"])
        XCTAssertTrue({ var l = metrics(0.9); return detector.inspect(&l, round: 5) }().isEmpty)
        XCTAssertEqual({ var l = metrics(0.5); return detector.inspect(&l, round: 6) }().map(\.reason), ["task accuracy fell to 0.50 from 0.90"])
    }

    /// One client whose 12 text examples carry no label, written under `dir`; one round.
    static func unlabelledScenario(in dir: URL) throws -> Scenario {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("plain.jsonl")
        try (0..<12).map { "{\"text\": \"note number \($0) about nothing in particular\"}" }.joined(separator: "\n")
            .write(to: file, atomically: true, encoding: .utf8)
        var scenario = try EngineTestSupport.scenario(clients: [("plain", "legal-clauses.jsonl")], rounds: 1)
        scenario.clients[0].data = .file(path: file.path, format: .jsonlText)
        return scenario
    }
}

extension Scenario {
    func withGeneration(tokens: Int) -> Scenario {
        var s = self
        s.evaluation.task.generationTokens = tokens
        return s
    }

    func with(labels: [String]) -> Scenario {
        var s = self
        s.evaluation.task.labels = labels
        return s
    }
}

/// The `[evaluation]` task keys and `[label_prompts]`, and their one-line errors.
final class TaskScenarioTests: XCTestCase {
    func parse(_ extra: String, evaluation: String = "") throws -> Scenario {
        try ScenarioLoader.parse("""
        name = "t"
        rounds = 1
        [model]
        path = "tiny"
        [evaluation]
        \(evaluation)
        [[clients]]
        id = "a"
        domain = "support"
        data = "x.jsonl"
        \(extra)
        """, path: "t.toml")
    }

    func testKeys() throws {
        let s = try parse("[label_prompts]\nsupport = \"{text}\\nTriage:\"",
                          evaluation: "labels = [\"billing\", \"bug\"]\nlabel_prompt = \"{text} =>\"\ntask_examples = 3\nlabel_context_tokens = 64")
        XCTAssertEqual(s.evaluation.task.labels, ["billing", "bug"])
        XCTAssertEqual(s.evaluation.task.labelPrompt, "{text} =>")
        XCTAssertEqual(s.evaluation.task.examplesPerClient, 3)
        XCTAssertEqual(s.evaluation.task.contextTokens, 64)
        XCTAssertNil(s.evaluation.task.generationTokens)
        let g = try parse("", evaluation: "generation = 16\ngeneration_examples = 3")
        XCTAssertEqual(g.evaluation.task.generationTokens, 16)
        XCTAssertEqual(g.evaluation.task.generationExamples, 3)
        XCTAssertEqual(s.evaluation.task.template(forDomain: "support"), "{text}\nTriage:")
        XCTAssertEqual(s.evaluation.task.template(forDomain: "other"), "{text} =>")
        let d = try parse("")
        XCTAssertNil(d.evaluation.task.labels)
        XCTAssertNil(d.evaluation.task.examplesPerClient)
    }

    func testErrors() {
        func message(_ extra: String, evaluation: String = "") -> String {
            do { _ = try parse(extra, evaluation: evaluation); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertTrue(message("", evaluation: "labels = [\"a\", \"a\"]").contains("evaluation.labels[1]"))
        XCTAssertTrue(message("", evaluation: "labels = [\"a\", 3]").contains("evaluation.labels[1]"))
        XCTAssertTrue(message("", evaluation: "labels = [\"a\"]").contains("at least 2 labels"))
        XCTAssertTrue(message("", evaluation: "labels = \"a,b\"").contains("evaluation.labels"))
        XCTAssertTrue(message("", evaluation: "label_prompt = \"Triage:\"").contains("must contain {text}"))
        XCTAssertTrue(message("", evaluation: "generation_examples = 2").contains("has no effect without generation"))
        XCTAssertTrue(message("", evaluation: "generation = 0").contains("evaluation.generation"))
        XCTAssertTrue(message("", evaluation: "task_examples = -1").contains("evaluation.task_examples"))
        XCTAssertTrue(message("[label_prompts]\nsuport = \"{text}\"").contains("did you mean 'support'"))
        XCTAssertTrue(message("[label_prompts]\nsupport = \"x\"").contains("label_prompts.support"))
        XCTAssertFalse(message("").contains("\n"))
    }
}
