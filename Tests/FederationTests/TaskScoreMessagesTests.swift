import Foundation
import XCTest
@testable import Federation

/// The bytes a deployed client answers label and generation scoring with, and what the
/// coordinator refuses in them.
final class TaskScoreMessagesTests: XCTestCase {
    let labels = ["access", "billing", "bug"]

    func testRequestsAndScoresRoundTrip() throws {
        let evaluation = EvaluationRequest(round: 3, global: [0.5, -1, 2]).encoded(tensorSizes: [3], as: .fp32)
        let request = try LabelScoreRequest(decoding: LabelScoreRequest(evaluation: evaluation, labels: labels).encoded())
        XCTAssertEqual(request.labels, labels)
        XCTAssertEqual(try EvaluationRequest(decoding: request.evaluation), EvaluationRequest(round: 3, global: [0.5, -1, 2]))
        // The transport reads the round from the header alone.
        XCTAssertEqual(try EvaluationRequest.round(of: evaluation), 3)
        XCTAssertEqual(try RoundTask.round(of: RoundTask(round: 7, global: [1], localSteps: 2).encoded(tensorSizes: [1], as: .fp32)), 7)
        XCTAssertThrowsError(try EvaluationRequest.round(of: RoundTask(round: 7, global: [1], localSteps: 2).encoded(tensorSizes: [1], as: .fp32)))
        XCTAssertThrowsError(try EvaluationRequest.round(of: evaluation.prefix(7)))

        var score = TaskScore()
        score.add(gold: "billing", predicted: "billing")
        score.add(gold: "billing", predicted: "bug")
        score.add(gold: "access", predicted: "billing")
        XCTAssertEqual(try TaskScore(decoding: score.encoded(), labels: labels, examples: 3), score)
        let generation = GenerationScore(rougeL: 0.375, examples: 2)
        XCTAssertEqual(try GenerationScore(decoding: generation.encoded(), examples: 2), generation)
    }

    func testAClientCannotClaimMoreExamplesOrOtherLabels() throws {
        var score = TaskScore()
        for _ in 0..<5 { score.add(gold: "bug", predicted: "bug") }
        XCTAssertThrowsError(try TaskScore(decoding: score.encoded(), labels: labels, examples: 4)) {
            XCTAssertTrue("\($0)".contains("more than the 4 it holds"), "\($0)")
        }
        var other = TaskScore()
        other.add(gold: "outage", predicted: "bug")
        XCTAssertThrowsError(try TaskScore(decoding: other.encoded(), labels: labels, examples: 10)) {
            XCTAssertTrue("\($0)".contains("'outage' was not asked for"), "\($0)")
        }
        XCTAssertThrowsError(try GenerationScore(decoding: GenerationScore(rougeL: 1.5, examples: 1).encoded(), examples: 4))
        XCTAssertThrowsError(try GenerationScore(decoding: GenerationScore(rougeL: .nan, examples: 1).encoded(), examples: 4))
        XCTAssertThrowsError(try GenerationScore(decoding: GenerationScore(rougeL: 0.5, examples: 9).encoded(), examples: 4))
    }

    func testTruncatedDuplicatedOrOversizedMessagesAreRefusedWithTheirOffset() throws {
        var score = TaskScore()
        score.add(gold: "bug", predicted: "access")
        let bytes = score.encoded()
        for cut in [3, 6, 10, bytes.count - 1] {
            XCTAssertThrowsError(try TaskScore(decoding: bytes.prefix(cut), labels: labels, examples: 9), "cut at \(cut)") {
                XCTAssertTrue("\($0)".contains("offset"), "\($0)")
            }
        }
        XCTAssertThrowsError(try TaskScore(decoding: bytes + Data([0]), labels: labels, examples: 9))
        XCTAssertThrowsError(try LabelScoreRequest(decoding: LabelScoreRequest(evaluation: Data(), labels: ["a", "a"]).encoded())) {
            XCTAssertTrue("\($0)".contains("appears twice"), "\($0)")
        }
        var huge = Data()
        WireVersion.writeHeader(LabelScoreRequest.magic, to: &huge)
        appendInteger(UInt32.max, to: &huge)
        XCTAssertThrowsError(try LabelScoreRequest(decoding: huge)) {
            XCTAssertTrue("\($0)".contains("more than 4096"), "\($0)")
        }
        XCTAssertThrowsError(try LabelScoreRequest(decoding: score.encoded())) {
            XCTAssertTrue("\($0)".contains("not a label scoring request"), "\($0)")
        }
    }
}
