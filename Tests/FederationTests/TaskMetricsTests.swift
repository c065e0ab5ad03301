import Foundation
import XCTest
@testable import Federation
@testable import Llama

/// Classification metrics, label prompts and label scoring.
final class TaskMetricsTests: XCTestCase {
    /// 10 examples over 4 classes, worked by hand:
    /// billing TP 3 FN 1 FP 1 → F1 6/8; account TP 2 FN 1 FP 2 → 4/7; bug TP 1 FN 1 FP 1 → 2/4;
    /// outage TP 0 FN 1 FP 0 → 0. Macro-F1 = (0.75 + 4/7 + 0.5 + 0) / 4; accuracy 6/10.
    func testAccuracyAndMacroF1AgainstHandComputedValues() {
        var s = TaskScore()
        let pairs = [("billing", "billing", 3), ("billing", "account", 1), ("account", "account", 2), ("account", "billing", 1),
                     ("bug", "bug", 1), ("bug", "account", 1), ("outage", "bug", 1)]
        for (g, p, n) in pairs { for _ in 0..<n { s.add(gold: g, predicted: p) } }
        XCTAssertEqual(s.total, 10)
        XCTAssertEqual(s.correct, 6)
        XCTAssertEqual(s.accuracy!, 0.6, accuracy: 1e-12)
        XCTAssertEqual(s.f1("billing"), 0.75, accuracy: 1e-12)
        XCTAssertEqual(s.f1("account"), 4.0 / 7, accuracy: 1e-12)
        XCTAssertEqual(s.f1("bug"), 0.5, accuracy: 1e-12)
        XCTAssertEqual(s.f1("outage"), 0, accuracy: 1e-12)
        XCTAssertEqual(s.classes, ["account", "billing", "bug", "outage"])
        XCTAssertEqual(s.macroF1!, (0.75 + 4.0 / 7 + 0.5) / 4, accuracy: 1e-12)
        XCTAssertEqual(s.topConfusions(2).map { "\($0.gold) → \($0.predicted): \($0.count)" },
                       ["account → billing: 1", "billing → account: 1"])
    }

    /// A class that is only ever predicted counts (F1 0), as in scikit-learn's macro average;
    /// pooling two clients adds their counts.
    func testPredictedOnlyClassAndPooling() {
        var a = TaskScore(), b = TaskScore()
        a.add(gold: "x", predicted: "x"); a.add(gold: "x", predicted: "y")
        b.add(gold: "x", predicted: "x"); b.add(gold: "x", predicted: "y"); b.add(gold: "x", predicted: "y")
        // x: TP 1, FN 1 → 2/3; y: FP 1 → 0.
        XCTAssertEqual(a.macroF1!, (2.0 / 3) / 2, accuracy: 1e-12)
        let pooled = a.merged(with: b)
        XCTAssertEqual(pooled.counts, ["x": ["x": 2, "y": 3]])
        XCTAssertEqual(pooled.accuracy!, 0.4, accuracy: 1e-12)
        XCTAssertEqual(pooled.topConfusions().first?.count, 3)
        XCTAssertNil(TaskScore().accuracy)
        XCTAssertNil(TaskScore().macroF1)
    }

    func testLabelPrompts() {
        let ticket = TextExample(completion: "Ticket #1 Subject: refund\nTriage: billing", label: "billing")
        XCTAssertEqual(LabelPrompt.make(ticket, template: nil)?.prompt, "Ticket #1 Subject: refund\nTriage:")
        XCTAssertEqual(LabelPrompt.make(ticket, template: nil)?.separator, " ")
        let note = TextExample(completion: "S: chest pain. A: NSTEMI.", label: "cardiology")
        XCTAssertEqual(LabelPrompt.make(note, template: nil)?.prompt, "S: chest pain. A: NSTEMI.\nLabel:")
        XCTAssertEqual(LabelPrompt.make(note, template: "{text}\nSpecialty: ")?.prompt, "S: chest pain. A: NSTEMI.\nSpecialty:")
        XCTAssertEqual(LabelPrompt.make(note, template: "Note: {text}\nSpecialty:\n")?.separator, "")
        // A template wraps the text before the label.
        XCTAssertEqual(LabelPrompt.make(ticket, template: "[{text}]")?.prompt, "[Ticket #1 Subject: refund\nTriage:]")
        let instruction = TextExample.instruction("Classify.", input: "Login fails", output: "Triage: access", label: "access")
        XCTAssertEqual(LabelPrompt.make(instruction, template: nil)?.prompt,
                       "<|im_start|>user\nClassify.\n\nLogin fails<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(LabelPrompt.make(instruction, template: nil)?.separator, "")
        XCTAssertNil(LabelPrompt.make(TextExample(completion: "no label"), template: nil))
        // Text that is only its label has no text before it: the default template applies.
        XCTAssertEqual(LabelPrompt.make(TextExample(completion: "bug", label: "bug"), template: nil)?.prompt, "bug\nLabel:")
    }

    /// Labels sharing a prefix ("bug", "bugfix", "billing") and several bytes long on the byte-level
    /// tiny model: the shared-prefix scorer predicts what one full forward pass per label predicts.
    func testLabelScoringMatchesOneForwardPerLabel() throws {
        let engine = try EngineModel.load(path: "tiny")
        let labels = ["bug", "bugfix", "billing", "b"]
        let texts = ["Crash on save. Triage: bug", "Patch please. Triage: bugfix", "Refund twice. Triage: billing",
                     "Dark mode? Triage: feature", "It is down. Triage: b", "Charged 3x: billing"]
        let gold = ["bug", "bugfix", "billing", "feature", "b", "billing"]
        let validation = zip(texts, gold).map { TextExample(completion: $0, label: $1) }
        let scorer = LabelScorer(validation: validation, template: nil, limit: 10, contextTokens: 12, encoding: engine.encoding)
        XCTAssertEqual(scorer.examples.count, 6)
        XCTAssertEqual(scorer.examples[0].prompt, Array(" on save. Triage:".utf8.map(Int.init).suffix(12)))
        XCTAssertEqual(scorer.validationLabels, ["b", "billing", "bug", "bugfix", "feature"])
        var adapter = try LoRAAdapter(model: engine.model.config, config: LoRAConfig(rank: 2, alpha: 4), seed: 1)
        for s in adapter.slots { for i in 0..<s.bCount { adapter.values[s.bOffset + i] = Float((i * 7919) % 13) / 40 - 0.15 } }
        for a in [nil, adapter] {
            let fast = try XCTUnwrap(scorer.score(model: engine.model, adapter: a, labels: labels))
            let naive = try XCTUnwrap(scorer.score(model: engine.model, adapter: a, labels: labels, sharedPrefix: false))
            XCTAssertEqual(fast, naive)
            XCTAssertEqual(fast.total, 6)
            // By hand: the argmax of each label's mean log-probability from the naive per-label forward.
            for e in scorer.examples {
                let means = try labels.map { label -> Double in
                    let c = Array((" " + label).utf8.map(Int.init))
                    let lp = try engine.model.continuationLogProbabilitiesNaive(prompt: e.prompt, continuations: [c], adapter: a)[0]
                    return lp.reduce(0, +) / Double(lp.count)
                }
                let best = labels[means.firstIndex(of: means.max()!)!]
                XCTAssertEqual(try LabelScorer.predict(model: engine.model, adapter: a, prompt: e.prompt, labels: labels,
                                                       continuations: labels.map { scorer.continuation($0, separator: " ") },
                                                       sharedPrefix: true), best)
            }
        }
        XCTAssertNil(try scorer.score(model: engine.model, adapter: nil, labels: []))
    }

    /// Calibration subtracts each label's mean log-likelihood after the prompt's last line alone.
    func testCalibratedScoringByHand() throws {
        XCTAssertEqual(LabelScorer.lastLine("Ticket #1\nRefund twice.\nTriage:"), "Triage:")
        XCTAssertEqual(LabelScorer.lastLine("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"), "<|im_start|>assistant\n")
        let engine = try EngineModel.load(path: "tiny")
        let labels = ["bug", "bugfix", "billing"]
        let validation = ["Crash on save.\nTriage: bug", "Patch please.\nTriage: bugfix", "Refund twice.\nTriage: billing"]
            .map { TextExample(completion: $0, label: String($0.split(separator: " ").last!)) }
        let plain = LabelScorer(validation: validation, template: nil, limit: 10, contextTokens: 64, encoding: engine.encoding)
        let calibrated = LabelScorer(validation: validation, template: nil, limit: 10, contextTokens: 64, encoding: engine.encoding, calibrate: true)
        XCTAssertEqual(calibrated.examples[0].neutral, "Triage:".utf8.map(Int.init))
        XCTAssertTrue(plain.examples.allSatisfy(\.neutral.isEmpty))
        func mean(_ prompt: [Int], _ label: String) throws -> Double {
            let lp = try engine.model.continuationLogProbabilitiesNaive(prompt: prompt, continuations: [(" " + label).utf8.map(Int.init)])[0]
            return lp.reduce(0, +) / Double(lp.count)
        }
        var expected = TaskScore()
        for e in calibrated.examples {
            let scores = try labels.map { try mean(e.prompt, $0) - mean(e.neutral, $0) }
            expected.add(gold: e.gold, predicted: labels[scores.firstIndex(of: scores.max()!)!])
        }
        XCTAssertEqual(try calibrated.score(model: engine.model, adapter: nil, labels: labels), expected)
    }
}
