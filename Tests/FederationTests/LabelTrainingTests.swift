import Foundation
import XCTest
@testable import Federation
@testable import Llama

/// `[training] train_on = "label"`: a labelled text example trains as its label prompt
/// (left-truncated, not learned) followed by its label (learned), always inside the window.
final class LabelTrainingTests: XCTestCase {
    let bytes = ByteEncoding()
    let ticket = TextExample(completion: "Ticket #1 Subject: refund please\n" + String(repeating: "We were charged twice. ", count: 4)
                             + "\nTriage: billing", label: "billing")

    /// The text a row's learned positions predict, in order.
    func learned(_ tokens: [Int], _ targets: [Int]) -> String {
        String(decoding: zip(tokens.indices, targets).compactMap { $1 >= 0 ? UInt8($1) : nil }, as: UTF8.self)
    }

    func testLabelSurvivesTruncationAndOnlyTheLabelIsLearned() {
        let e = TrainingTarget.label.tokenize(ticket, encoding: bytes, template: nil, sequenceLength: 32)
        XCTAssertEqual(e.tokens.count, 32)
        let prompt = String(ticket.completion.dropLast(" billing".count))
        XCTAssertTrue(prompt.hasSuffix("twice. \nTriage:"))
        XCTAssertEqual(String(decoding: e.tokens.map { UInt8($0) }, as: UTF8.self), String(prompt.suffix(24)) + " billing")
        XCTAssertEqual(e.promptLength, 24)
        // As a training row (one padded row per example), the learned positions are the label's.
        let row = Batcher.padded([e], length: 32, padID: bytes.paddingID)
        XCTAssertEqual(learned(row.tokens, row.targets), " billing")
        // With the whole text the 32-token window is the ticket's start: the label is never learned.
        let whole = TrainingTarget.text.tokenize(ticket, encoding: bytes, template: nil, sequenceLength: 32)
        XCTAssertEqual(whole.promptLength, 0)
        XCTAssertEqual(whole.tokens, bytes.encode(ticket.completion))
        let plain = Batcher.padded([whole], length: 32, padID: bytes.paddingID)
        XCTAssertFalse(learned(plain.tokens, plain.targets).contains("billing"))
    }

    func testTemplateShortPromptsAndOtherExamples() {
        // A note that does not end with its label takes the domain's template, as label scoring does.
        let note = TextExample(completion: "S: chest pain. A: NSTEMI.", label: "cardiology")
        let t = TrainingTarget.label.tokenize(note, encoding: bytes, template: "{text}\nSpecialty:", sequenceLength: 64)
        XCTAssertEqual(String(decoding: t.tokens.map { UInt8($0) }, as: UTF8.self), "S: chest pain. A: NSTEMI.\nSpecialty: cardiology")
        XCTAssertEqual(t.promptLength, "S: chest pain. A: NSTEMI.\nSpecialty:".utf8.count)
        // A label longer than the window keeps one prompt token and the label's first tokens.
        let long = TrainingTarget.label.tokenize(ticket, encoding: bytes, template: nil, sequenceLength: 5)
        XCTAssertEqual(long.tokens, bytes.encode(":") + bytes.encode(" bil"))
        XCTAssertEqual(long.promptLength, 1)
        // Instruction data keeps its prompt and completion; unlabelled text is unchanged.
        let instruction = TextExample.instruction("Classify", input: "refund", output: "billing", label: "billing")
        XCTAssertEqual(TrainingTarget.label.tokenize(instruction, encoding: bytes, template: nil, sequenceLength: 16),
                       TrainingTarget.text.tokenize(instruction, encoding: bytes, template: nil, sequenceLength: 16))
        let unlabelled = TextExample(completion: "just text")
        XCTAssertEqual(TrainingTarget.label.tokenize(unlabelled, encoding: bytes, template: nil, sequenceLength: 4).tokens,
                       bytes.encode("just text"))
    }

    func testScenarioKey() throws {
        let base = ScenarioTests.minimal
        XCTAssertEqual(try ScenarioLoader.parse(base, path: "t.toml").trainOn, .text)
        XCTAssertTrue(try ScenarioLoader.parse(base, path: "t.toml").training.packing)
        let s = try ScenarioLoader.parse(base + "[training]\ntrain_on = \"label\"\n", path: "t.toml")
        XCTAssertEqual(s.trainOn, .label)
        XCTAssertFalse(s.training.packing, "labelled examples are one row each")
        func message(_ training: String) -> String {
            do { _ = try ScenarioLoader.parse(base + "[training]\n" + training, path: "t.toml"); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertTrue(message("train_on = \"label\"\npacking = true\n").contains("training.packing"))
        XCTAssertTrue(message("train_on = \"labels\"\n").contains("did you mean 'label'"))
    }

    /// On the tiny model with the shipped tickets (all longer than the 32-token window), every
    /// training row of a `train_on = "label"` pilot learns exactly its ticket's " <label>".
    func testPilotTrainsOnEveryTicketsLabel() throws {
        let scenario = try EngineTestSupport.scenario(clients: [("desk", "support-tickets.jsonl")], rounds: 1)
        var labelled = scenario
        labelled.trainOn = .label
        labelled.training.packing = false
        let pilot = try PilotBuilder.build(labelled, sink: { _ in })
        let client = try XCTUnwrap(pilot.transport.clients["desk"])
        XCTAssertEqual(client.trainTokens.count, client.data.train.count)
        let batches = client.trainer.batches(client.trainTokens, epoch: 0)
        var rows = 0
        var seen: [String] = []
        for b in batches {
            for r in 0..<b.rows {
                let range = (r * b.length)..<((r + 1) * b.length)
                seen.append(learned(Array(b.tokens[range]), Array(b.targets[range])))
                rows += 1
            }
        }
        XCTAssertEqual(rows, client.data.train.count)
        XCTAssertEqual(Set(seen), Set(client.data.train.compactMap { $0.label.map { " " + $0 } }))
        // The whole-text pilot's rows never reach a ticket's label.
        let plain = try XCTUnwrap(PilotBuilder.build(scenario, sink: { _ in }).transport.clients["desk"])
        XCTAssertFalse(plain.trainTokens.contains { $0.promptLength > 0 })
    }
}
