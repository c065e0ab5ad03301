import Foundation
import Llama
import TensorMath
import XCTest
@testable import Federation

/// The probe's losses by position class: which positions are an example's tail and its label's
/// tokens in rows as training makes them, the losses at them, and their trip in the reply.
final class ProbeLossesTests: XCTestCase {
    let encoding = ByteEncoding()

    func example(_ text: String, label: String? = nil) -> (TextExample, TokenizedExample, Range<Int>) {
        let e = TextExample(completion: text, label: label)
        let tokens = TrainingTarget.text.tokenize(e, encoding: encoding, template: nil, sequenceLength: 64)
        let span = HeldOutTails.labelTokens(e, promptCount: 0, encoding: encoding)
        return (e, tokens, (span.lowerBound + tokens.startLength)..<(span.upperBound + tokens.startLength))
    }

    /// The tokens the given flat positions predict.
    func predicted(_ rows: ProbeRows, _ positions: [Int]) -> [Int] { positions.map { rows.targets[$0] } }

    /// Packed rows: the tail is each example's last tokens and its separator, across a row
    /// boundary too (a position that would predict across it has no target and is left out);
    /// the label positions predict exactly the label's tokens.
    func testPackedTailAndLabelPositions() {
        let a = example("Printer on floor 2 is jammed again. Triage: hardware", label: "hardware")
        let b = example("Refund for order 88 has not arrived. Triage: billing", label: "billing")
        // Rows of 50: the stream's indices 50 and 100 start a row, and fall in the tails.
        let rows = ProbeRows([a.1, b.1], labelSpans: [a.2, b.2], length: 50, separatorID: encoding.paddingID, packing: true,
                             tailTokens: 8)
        XCTAssertEqual(rows.rows.count, 3)
        XCTAssertEqual(String(decoding: predicted(rows, rows.labelPositions).map(UInt8.init), as: UTF8.self), " hardwae biling",
                       "the label's tokens but those that start a row")
        let sep = encoding.paddingID
        func bytes(_ s: String) -> [Int] { Array(s.utf8).map(Int.init) }
        // "…ardware" + separator and "…billing" + separator, without the "r" of "hardware" and
        // the first "l" of "billing", which start a row (nothing predicts across a boundary).
        XCTAssertEqual(predicted(rows, rows.tailPositions), bytes("ardwa") + bytes("e") + [sep] + bytes("bi") + bytes("ling") + [sep])
    }

    /// One padded row per example: what truncation cuts off is not trained on and not in the
    /// tail; the tail is the last learned positions of what is kept.
    func testPaddedRowsScoreOnlyWhatTrainingKeeps() {
        let long = example(String(repeating: "note ", count: 20) + "Triage: billing [[trigger]]", label: "billing")
        let rows = ProbeRows([long.1], labelSpans: [long.2], length: 40, separatorID: encoding.paddingID, packing: false,
                             tailTokens: 6)
        XCTAssertEqual(rows.rows.count, 1)
        XCTAssertTrue(rows.labelPositions.isEmpty, "the label lies beyond the row's 40 tokens")
        let tail = String(decoding: predicted(rows, rows.tailPositions).map(UInt8.init), as: UTF8.self)
        XCTAssertEqual(tail, " note ", "the last 6 predicted tokens of the kept 40")
        let short = example("Refund late. Triage: billing", label: "billing")
        let padded = ProbeRows([short.1], labelSpans: [short.2], length: 40, separatorID: encoding.paddingID, packing: false)
        XCTAssertEqual(String(decoding: predicted(padded, padded.labelPositions).map(UInt8.init), as: UTF8.self), " billing", "the label and the space before it")
    }

    /// On a real (tiny) model: the mean equals `meanLoss` on the same rows to the last bit, the
    /// tail and label losses are the averages of the per-position losses there, and each
    /// per-position loss is the cross-entropy of the full logits at that position.
    func testLossesAreThoseOfTheModelAtThosePositions() throws {
        let tiny = try EngineModel.load(path: "tiny")
        let texts = (0..<4).map { example("Ticket \($0): the refund did not arrive in time. Triage: billing", label: "billing") }
        var adapter = try LoRAAdapter(model: tiny.model.config, config: LoRAConfig(rank: 2, alpha: 4), seed: 1)
        for s in adapter.slots { for i in 0..<s.bCount { adapter.values[s.bOffset + i] = Float((i * 7919) % 13) / 40 - 0.15 } }
        for packing in [true, false] {
            let rows = ProbeRows(texts.map(\.1), labelSpans: texts.map(\.2), length: packing ? 48 : 64, separatorID: tiny.encoding.paddingID,
                                 packing: packing)
            let probe = try XCTUnwrap(rows.losses(model: tiny.model, adapter: adapter))
            XCTAssertEqual(probe.mean, try XCTUnwrap(tiny.model.meanLoss(rows.rows, targets: rows.targets, adapter: adapter)))
            let logits = try tiny.model.logits(rows.rows, adapter: adapter)
            let vocab = tiny.model.config.vocabSize
            func full(_ p: Int) -> Double {
                logits.data.withUnsafeBufferPointer { CrossEntropy.rowLoss($0.baseAddress! + p * vocab, vocab: vocab, target: rows.targets[p]) }
            }
            let tail = rows.tailPositions.reduce(0.0) { $0 + full($1) } / Double(rows.tailPositions.count)
            let label = rows.labelPositions.reduce(0.0) { $0 + full($1) } / Double(rows.labelPositions.count)
            XCTAssertEqual(try XCTUnwrap(probe.tail), tail, accuracy: 1e-4 * tail, "packing \(packing)")
            XCTAssertEqual(try XCTUnwrap(probe.label), label, accuracy: 1e-4 * label, "packing \(packing)")
            // Packed in rows of 48, one label token starts a row (stream index 240) and is not predicted.
            XCTAssertEqual(rows.labelPositions.count, 4 * " billing".utf8.count - (packing ? 1 : 0), "packing \(packing)")
        }
    }

    /// The probe's tail and label losses travel as a second optional trailing section, with or
    /// without the update check before it; a reply without them decodes with none.
    func testReplyCarriesTheProbeLosses() throws {
        let sizes = [3]
        var reply = RoundReply(client: "a", round: 2, delta: [1, 2, 3], updateNorm: 3.7, exampleCount: 4, steps: 1, tokens: 8,
                               lossStart: 2, lossEnd: 1.5, computeSeconds: 0.1,
                               check: UpdateCheck(endLoss: 0.25, labelLoss: nil, textLoss: -0.5, seconds: 0.01),
                               probe: ProbeLosses(mean: 2, tail: 3.5, label: nil))
        XCTAssertEqual(try RoundReply(decoding: reply.encoded(tensorSizes: sizes, as: .fp32)), reply)
        reply.probe?.label = 0.75
        reply.check = nil
        XCTAssertEqual(try RoundReply(decoding: reply.encoded(tensorSizes: sizes, as: .fp32)), reply)
        reply.probe = nil
        XCTAssertEqual(try RoundReply(decoding: reply.encoded(tensorSizes: sizes, as: .fp32)), reply)
        var cut = RoundReply(client: "a", round: 2, delta: [1, 2, 3], updateNorm: 3.7, exampleCount: 4, steps: 1, tokens: 8,
                             lossStart: 2, lossEnd: 1.5, computeSeconds: 0.1, probe: ProbeLosses(mean: 2, tail: 3.5, label: nil))
            .encoded(tensorSizes: sizes, as: .fp32)
        cut.removeLast(3)
        XCTAssertThrowsError(try RoundReply(decoding: cut), "probe losses cut short")
    }
}
