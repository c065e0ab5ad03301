import Foundation
import XCTest
@testable import Federation

/// `probe_prompt` per client and `[probe_prompts]` per domain: resolution and validation.
final class ProbePromptScenarioTests: XCTestCase {
    static let file = "scenarios/x.toml"
    static let twoClients = """
        name = "x"
        rounds = 3
        [model]
        path = "tiny"
        [[clients]]
        id = "a"
        domain = "clinical"
        data = "a.jsonl"
        probe_prompt = "S: Pt is 58F"
        [[clients]]
        id = "b"
        domain = "clinical"
        data = "b.jsonl"
        [[clients]]
        id = "c"
        domain = "aml"
        data = "c.jsonl"

        """

    func parse(_ text: String) throws -> Scenario { try ScenarioLoader.parse(text, path: Self.file) }

    func assertError(_ text: String, at keyPath: String, _ kind: ScenarioError.Kind, _ fragments: String...,
                     line: UInt = #line) {
        XCTAssertThrowsError(try parse(text), line: line) { error in
            guard let e = error as? ScenarioError else { return XCTFail("\(error)", line: line) }
            XCTAssertEqual(e.keyPath, keyPath, e.description, line: line)
            XCTAssertEqual(e.kind, kind, e.description, line: line)
            XCTAssertTrue(e.description.hasPrefix("\(Self.file): \(keyPath): "), e.description, line: line)
            for f in fragments { XCTAssertTrue(e.description.contains(f), "'\(f)' not in \(e.description)", line: line) }
        }
    }

    func testClientPromptWinsOverItsDomainsAndTheDomainFillsTheRest() throws {
        let s = try parse(Self.twoClients + """
            [probe_prompts]
            clinical = "DISCHARGE SUMMARY\\n"
            """)
        XCTAssertEqual(s.clients.map(\.probePrompt), ["S: Pt is 58F", "DISCHARGE SUMMARY\n", nil])
        XCTAssertEqual(try parse(Self.twoClients).clients.map(\.probePrompt), ["S: Pt is 58F", nil, nil])
    }

    func testMistakesNameTheKeyPath() {
        assertError(Self.twoClients + "[probe_prompts]\nclinicl = \"x\"\n", at: "probe_prompts.clinicl", .unknownReference,
                    "no client has domain \"clinicl\"", "did you mean 'clinical'?", "aml, clinical")
        assertError(Self.twoClients + "[probe_prompts]\naml = 3\n", at: "probe_prompts.aml", .wrongType, "expected string")
        assertError(Self.twoClients + "[probe_prompts]\naml = \"  \"\n", at: "probe_prompts.aml", .invalidValue, "must not be empty")
        assertError("probe_prompts = \"x\"\n" + Self.twoClients, at: "probe_prompts", .wrongType, "expected table")
        let long = String(repeating: "a", count: 1_001)
        assertError(Self.twoClients.replacingOccurrences(of: "\"S: Pt is 58F\"", with: "\"\(long)\""),
                    at: "clients[0].probe_prompt", .invalidValue, "1001 characters", "at most 1000")
        assertError(Self.twoClients.replacingOccurrences(of: "\"S: Pt is 58F\"", with: "[\"x\"]"),
                    at: "clients[0].probe_prompt", .wrongType, "expected string")
        assertError(Self.twoClients + "[training]\nprobe_prompt = \"x\"\n", at: "training.probe_prompt", .unknownKey,
                    "belongs in [[clients]]")
    }
}
