import Llama
import TensorMath
import XCTest
@testable import Federation

/// The client's check of its own update on a fixed held-out sample (`UpdateCheck`), and the two
/// detector signals that read it: example ends (backdoors that append a trigger) and label
/// tokens (label noise).
final class UpdateCheckTests: XCTestCase {
    let encoding = ByteEncoding()

    /// The sample's positions: the end position predicts the separator, the label positions
    /// predict the label's bytes, and nothing in the prompt is a target.
    func testTailsMarkEndsLabelsAndLearnedTokens() {
        let examples = [TextExample(completion: "Crash on save. Triage: bug", label: "bug"),
                        TextExample(prompt: "Q: ", completion: "no label here", label: "billing"),
                        TextExample(completion: "Refund twice. Triage: billing", label: "billing")]
        let tails = HeldOutTails(validation: examples, encoding: encoding, examples: 8, tailTokens: 10)
        XCTAssertEqual(tails.rows.count, 3)
        XCTAssertTrue(tails.rows.allSatisfy { $0.count == 11 })
        XCTAssertEqual(tails.endPositions.count, 3)
        for p in tails.endPositions { XCTAssertEqual(tails.targets[p], 256, "an end predicts the separator") }
        // Labels: " bug" in row 0 and " billing" in row 2 (the space before a label goes with it, as BPE
        // spells " billing" as one token).
        let labelBytes = tails.labelPositions.map { UInt8(tails.targets[$0]) }
        XCTAssertEqual(String(decoding: labelBytes, as: UTF8.self), " bug billing")
        XCTAssertTrue(tails.labelPositions.allSatisfy { $0 / 11 != 1 }, "the second example does not spell its label")
        // Row 1: "Q: no label here" has 16 bytes, its tail is "label here" (10) then the separator; every tail byte
        // after the first is a completion byte, so 9 targets plus the end.
        XCTAssertEqual(tails.textPositions.filter { $0 / 11 == 1 }.count, 10)
        XCTAssertTrue(tails.endPositions.allSatisfy(tails.textPositions.contains))
        // A prompt longer than the tail leaves only completion tokens as targets.
        let short = HeldOutTails(validation: [TextExample(prompt: "a long prompt here", completion: "ok")], encoding: encoding,
                                 examples: 8, tailTokens: 10)
        XCTAssertEqual(short.textPositions.count, 3, "\"o\" (after the prompt's last token), \"k\" and the end")
        XCTAssertTrue(HeldOutTails(validation: [], encoding: encoding).isEmpty)
    }

    /// The per-position losses are the model's cross-entropy: their mean over the learned
    /// positions equals `meanLoss` on the same rows and targets; an update of zero changes
    /// nothing; a real update changes the losses.
    func testCheckIsTheLossChangeOfTheUpdate() throws {
        let tiny = try EngineModel.load(path: "tiny")
        let examples = (0..<5).map { TextExample(completion: "Ticket \($0): refund did not arrive. Triage: billing", label: "billing") }
        let tails = HeldOutTails(validation: examples, encoding: tiny.encoding)
        var global = try LoRAAdapter(model: tiny.model.config, config: LoRAConfig(rank: 2, alpha: 4), seed: 1)
        for s in global.slots { for i in 0..<s.bCount { global.values[s.bOffset + i] = Float((i * 7919) % 13) / 40 - 0.15 } }
        let logits = try tiny.model.logits(tails.rows, adapter: global)
        let losses = tails.losses(logits, vocab: tiny.model.config.vocabSize)
        let mean = tails.textPositions.reduce(0.0) { $0 + losses[$1] } / Double(tails.textPositions.count)
        let reference = try XCTUnwrap(tiny.model.meanLoss(tails.rows, targets: tails.targets, adapter: global))
        XCTAssertEqual(mean, reference, accuracy: 1e-4 * reference)

        let same = try XCTUnwrap(tails.check(model: tiny.model, global: global, updated: global))
        XCTAssertEqual(same.endLoss, 0, accuracy: 1e-9)
        XCTAssertEqual(same.textLoss, 0, accuracy: 1e-9)
        XCTAssertEqual(try XCTUnwrap(same.labelLoss), 0, accuracy: 1e-9)

        var updated = global
        var rng = SeededRandom(seed: 9)
        for i in updated.values.indices { updated.values[i] += 0.3 * rng.normal() }
        let moved = try XCTUnwrap(tails.check(model: tiny.model, global: global, updated: updated))
        XCTAssertGreaterThan(abs(moved.endLoss) + abs(moved.textLoss) + abs(moved.labelLoss ?? 0), 1e-3)
        let after = tails.losses(try tiny.model.logits(tails.rows, adapter: updated), vocab: tiny.model.config.vocabSize)
        let endChange = tails.endPositions.reduce(0.0) { $0 + after[$1] - losses[$1] } / Double(tails.endPositions.count)
        XCTAssertEqual(moved.endLoss, endChange, accuracy: 1e-6)
    }

    /// The check travels in the reply as an optional trailing section: present, absent (label
    /// unknown), and a reply without the section (an older client) decodes with none.
    func testReplyCarriesTheCheck() throws {
        let sizes = [3]
        var reply = RoundReply(client: "a", round: 2, delta: [1, 2, 3], updateNorm: 3.7, exampleCount: 4, steps: 1, tokens: 8,
                               lossStart: 2, lossEnd: 1.5, computeSeconds: 0.1,
                               check: UpdateCheck(endLoss: 0.25, labelLoss: nil, textLoss: -0.5, seconds: 0.01))
        XCTAssertEqual(try RoundReply(decoding: reply.encoded(tensorSizes: sizes, as: .fp32)), reply)
        reply.check?.labelLoss = 1.25
        XCTAssertEqual(try RoundReply(decoding: reply.encoded(tensorSizes: sizes, as: .fp32)), reply)
        reply.check = nil
        XCTAssertEqual(try RoundReply(decoding: reply.encoded(tensorSizes: sizes, as: .fp32)), reply)
        var truncated = reply.encoded(tensorSizes: sizes, as: .fp32)
        truncated.append(1)
        XCTAssertThrowsError(try RoundReply(decoding: truncated), "a check flag without its values")
    }

    // MARK: - The detector's signal

    let clients = ["a", "b", "c", "d"]

    /// Healthy rounds as measured on the real model: every update lowers the loss on its own
    /// held-out text by 0.1-0.4, with some wobble.
    func healthy(round r: Int, client i: Int) -> ClientRoundMetrics {
        var m = ClientRoundMetrics(client: clients[i], round: r, status: .done)
        let wobble = Double((r * 7 + i * 3) % 5) / 5 - 0.4
        m.localLossStart = 5.0 + 0.3 * Double(i) - 0.1 * Double(r) + 0.03 * wobble
        m.cosineToOthers = 0.25 + 0.05 * Double(i) + 0.02 * wobble
        m.updateNorm = 0.02 * (1 + 0.1 * Double(i)) * (1 + 0.05 * wobble)
        m.checkTextLoss = -0.25 + 0.02 * Double(i) + 0.05 * wobble
        // Recorded, not read by the detector: wild values must not raise anything.
        m.checkEndLoss = 1.5 * wobble
        m.checkLabelLoss = i == 3 ? 2 * wobble : nil
        return m
    }

    func rounds(_ count: Int, fault: (Int, inout ClientRoundMetrics) -> Void) -> [[ClientRoundMetrics]] {
        var detector = AlertDetector()
        return (1...count).map { r in
            var round = clients.indices.map { healthy(round: r, client: $0) }
            for i in round.indices { fault(r, &round[i]) }
            _ = detector.inspect(&round, round: r)
            return round
        }
    }

    func metrics(_ rounds: [[ClientRoundMetrics]], _ round: Int, _ client: String) -> ClientRoundMetrics {
        rounds[round - 1].first { $0.client == client }!
    }

    func testHealthyChecksRaiseNothing() {
        for round in rounds(8, fault: { _, _ in }) {
            for m in round { XCTAssertLessThan(m.anomalyScore!, AlertDetector.warningScore, "\(m.client) r\(m.round)") }
        }
    }

    /// An update that makes its own held-out text worse (trained on corrupted text: on the real
    /// model a degraded client's check went from about -0.3 to -0.01 ... +0.05 while the others'
    /// stayed at -0.2 to -0.3) is flagged on that signal alone, no other signal moving.
    func testAnUpdateThatNoLongerHelpsItsHeldOutTextIsFlagged() {
        let r = rounds(6) { round, m in if round >= 4, m.client == "b" { m.checkTextLoss = 0.05 } }
        XCTAssertGreaterThanOrEqual(metrics(r, 4, "b").anomalyScore!, AlertDetector.warningScore)
        XCTAssertTrue(metrics(r, 4, "b").anomalyEvidence!.contains("held-out text"), metrics(r, 4, "b").anomalyEvidence!)
        for c in ["a", "c", "d"] { XCTAssertLessThan(metrics(r, 4, c).anomalyScore!, AlertDetector.warningScore, c) }
        // A lasting fault keeps being flagged.
        XCTAssertGreaterThanOrEqual(metrics(r, 6, "b").anomalyScore!, AlertDetector.warningScore)
    }

    /// Without the check (a client that does not send one) the detector still scores the rest.
    func testAMissingCheckIsLeftOut() {
        let r = rounds(4) { _, m in if m.client == "c" { m.checkTextLoss = nil } }
        XCTAssertNotNil(metrics(r, 4, "c").anomalyScore)
        XCTAssertLessThan(metrics(r, 4, "c").anomalyScore!, AlertDetector.warningScore)
    }

    /// A change within the signal's floor is noise, whatever the history's spread.
    func testAChangeWithinTheFloorIsNotFlagged() {
        let floor = Signal.checkText.floor
        let r = rounds(6) { round, m in if round >= 4, m.client == "b" { m.checkTextLoss! += 0.8 * floor } }
        XCTAssertLessThan(metrics(r, 4, "b").anomalyScore!, AlertDetector.warningScore)
    }
}
