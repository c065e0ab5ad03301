import Foundation
import XCTest
@testable import Federation
import Llama

/// Scenario values that only the model can refute, and absurd sizes: each is refused with one line
/// naming the scenario file and key, before anything is allocated or trained. (Before, a sequence
/// longer than the context trapped on RoPE's precondition, and rank 100000 ran until killed.)
final class HostileScenarioTests: XCTestCase {
    func text(training: String = "", lora: String = "") -> String {
        """
        name = "hostile"
        rounds = 1
        [model]
        path = "tiny"
        [lora]
        \(lora)
        [training]
        steps = 1
        batch_size = 1
        \(training)
        [[clients]]
        id = "a"
        domain = "clinical"
        data = "\(EngineTestSupport.data("clinical-hospital-a.jsonl"))"
        [[clients]]
        id = "b"
        domain = "legal"
        data = "\(EngineTestSupport.data("legal-clauses.jsonl"))"

        """
    }

    /// The one-line error of parsing `toml` and building its pilot on the tiny model (context 512).
    func failure(_ toml: String) -> String {
        do {
            let scenario = try ScenarioLoader.parse(toml, path: "scenarios/hostile.toml")
            _ = try PilotBuilder.build(scenario, sink: { _ in })
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    func testSequenceLongerThanTheModelContextIsRefusedNamingFileAndKey() {
        let m = failure(text(training: "sequence_length = 4096"))
        XCTAssertTrue(m.hasPrefix("scenarios/hostile.toml: training.sequence_length: must be in 2...512"), m)
        XCTAssertTrue(m.contains("got 4096"), m)
        XCTAssertFalse(m.contains("\n"), m)
    }

    func testAbsurdSequenceLengthIsRefusedByTheLoader() {
        let m = failure(text(training: "sequence_length = 100000000"))
        XCTAssertTrue(m.hasPrefix("scenarios/hostile.toml: training.sequence_length: must be in 2...\(LocalTrainingConfig.maximumSequenceLength)"), m)
        // Written as a float, it is a type error naming the key (TOML's 1e8 is not an integer).
        let f = failure(text(training: "sequence_length = 1e8"))
        XCTAssertTrue(f.hasPrefix("scenarios/hostile.toml: training.sequence_length: expected integer"), f)
    }

    func testAbsurdBatchSizeIsRefusedByTheLoader() {
        let m = failure(text(training: "sequence_length = 16").replacingOccurrences(of: "batch_size = 1", with: "batch_size = 100000000"))
        XCTAssertTrue(m.hasPrefix("scenarios/hostile.toml: training.batch_size: must be in 1...\(LocalTrainingConfig.maximumBatchSize)"), m)
    }

    func testHugeLoRARankIsRefusedByTheLoader() {
        let m = failure(text(lora: "rank = 100000"))
        XCTAssertTrue(m.hasPrefix("scenarios/hostile.toml: lora.rank: must be in 1...\(LoRAConfig.maximumRank), got 100000"), m)
    }

    func testRankAboveTheAdaptedMatrixIsRefusedOnceTheModelIsKnown() {
        // The tiny model's key/value projections are 16 wide.
        let m = failure(text(lora: "rank = 17\ntargets = [\"q\", \"k\"]"))
        XCTAssertTrue(m.hasPrefix("scenarios/hostile.toml: lora.rank: rank must be at most 16 for target k"), m)
    }

    /// Fuzzing found that toml++ aborts on a failed assertion when a table header starts with a
    /// character that cannot start a key (`[$training]`, `[[ !x]]`): the whole process died.
    func testTableHeaderThatCannotStartAKeyIsASyntaxErrorNotAnAbort() {
        for (header, column) in [("[$training]", 2), ("[[ !x]]", 4), ("[ {]", 3), ("[[[a]]]", 3), ("[", 2), ("[[ ", 4)] {
            do {
                _ = try ScenarioLoader.parse("name = \"x\"\n\(header)\nsteps = 1\n", path: "fuzz.toml")
                XCTFail("\(header) parsed")
            } catch {
                XCTAssertEqual("\(error)".components(separatedBy: ": invalid TOML:").first, "fuzz.toml: line 2, column \(column)", "\(error)")
                XCTAssertTrue("\(error)".contains("a table header"), "\(error)")
            }
        }
        // Headers, arrays of tables, quoted keys and nested arrays in values are untouched.
        XCTAssertNil(TOMLPrecheck.problem(in: "[a]\n[ [c] ]\n[[ b ]]\n[\"c d\"]\nx = [\n  [ {y = 1} ],\n]\ns = \"\"\"\n[$ in a string\n\"\"\"\n"))
    }

    /// TOMLKit hands the text to C++ as a C string, so a NUL silently cut the scenario short.
    func testNulByteIsASyntaxErrorNotATruncation() {
        XCTAssertThrowsError(try ScenarioLoader.parse("name = \"x\"\nrounds = 3\u{0}\n", path: "nul.toml")) {
            XCTAssertEqual("\($0)", "nul.toml: line 2, column 11: invalid TOML: contains a NUL byte")
        }
    }

    func testAStandaloneClientChecksTheCoordinatorsSettingsAgainstItsOwnModel() throws {
        let scenario = try ScenarioLoader.parse(text(training: "sequence_length = 64"), path: "s.toml")
        var settings = try XCTUnwrap(PilotBuilder.ClientSettings(scenario: scenario, client: "a"))
        settings.training.sequenceLength = 4096
        let model = try EngineModel.load(path: "tiny")
        XCTAssertThrowsError(try PilotBuilder.buildClient(settings, examples: [TextExample(completion: "x")], model: model)) {
            XCTAssertTrue("\($0)".hasPrefix("the coordinator's setup: training.sequence_length: must be in 2...512"), "\($0)")
        }
    }
}
