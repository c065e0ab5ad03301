import Foundation
import XCTest
@testable import Federation

final class DataTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("fedpilot-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func write(_ name: String, _ contents: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    private func loadError(_ path: String, _ format: DataFormat, file: StaticString = #filePath,
                           line: UInt = #line) -> DataError? {
        do {
            let examples = try DataLoader.load(path: path, format: format)
            XCTFail("expected an error, loaded \(examples.count) examples", file: file, line: line)
            return nil
        } catch let error as DataError {
            return error
        } catch {
            XCTFail("expected a DataError, got \(error)", file: file, line: line)
            return nil
        }
    }

    // MARK: loading

    func testJSONLinesTextKeepsLabelAndScalarFields() throws {
        let path = try write("notes.jsonl", """
        {"text": "S: 67yo M c/o CP x2d.", "label": "cardiology", "site": "hospital-a", "age": 67, "urgent": true, "score": 0.5}

        {"text": "Second note", "label": null, "site": "hospital-a", "tags": ["a", "b"], "meta": {"k": 1}}\r
           \t
        {"text": "Third", "label": 3}
        """)
        let examples = try DataLoader.load(path: path, format: .jsonlText)
        XCTAssertEqual(examples.count, 3)
        XCTAssertEqual(examples[0].prompt, "")
        XCTAssertEqual(examples[0].completion, "S: 67yo M c/o CP x2d.")
        XCTAssertEqual(examples[0].label, "cardiology")
        XCTAssertEqual(examples[0].fields, ["site": "hospital-a", "age": "67", "urgent": "true", "score": "0.5"])
        XCTAssertNil(examples[1].label)
        XCTAssertEqual(examples[1].fields, ["site": "hospital-a"], "null, arrays and objects are dropped")
        XCTAssertEqual(examples[2].label, "3", "a scalar label is kept as its spelling")
        XCTAssertEqual(examples[0].value(forField: "label"), "cardiology")
        XCTAssertEqual(examples[0].value(forField: "site"), "hospital-a")
        XCTAssertNil(examples[0].value(forField: "region"))
        XCTAssertEqual(examples[0].text, examples[0].completion)
    }

    func testInstructionExamplesRenderChatML() throws {
        let path = try write("instructions.jsonl", """
        {"instruction": "Classify the support ticket and draft a first reply.", "input": "Ticket #1 [P2] SSO loop", "output": "Triage: access", "label": "access", "site": "team-emea"}
        {"instruction": "Say hi.", "output": "Hi!"}
        {"instruction": "Say hi.", "input": null, "output": "Hello"}
        """)
        let examples = try DataLoader.load(path: path, format: .jsonlInstruction)
        XCTAssertEqual(examples.count, 3)
        XCTAssertEqual(examples[0].prompt, "<|im_start|>user\nClassify the support ticket and draft a first reply.\n\nTicket #1 [P2] SSO loop<|im_end|>\n<|im_start|>assistant\n")
        XCTAssertEqual(examples[0].completion, "Triage: access<|im_end|>")
        XCTAssertEqual(examples[0].label, "access")
        XCTAssertEqual(examples[0].fields, ["site": "team-emea"])
        XCTAssertEqual(examples[1].prompt, "<|im_start|>user\nSay hi.<|im_end|>\n<|im_start|>assistant\n", "no input, no blank line")
        XCTAssertEqual(examples[1].completion, "Hi!<|im_end|>")
        XCTAssertEqual(examples[2].prompt, examples[1].prompt)
        XCTAssertEqual(TextExample.instruction("Do it.", input: "x", output: "y"),
                       TextExample(prompt: "<|im_start|>user\nDo it.\n\nx<|im_end|>\n<|im_start|>assistant\n", completion: "y<|im_end|>"))
    }

    func testPlainTextSplitsOnBlankLines() throws {
        let path = try write("corpus.txt", "\n\nFirst paragraph\nstill first.\n\n\n  \nSecond.\r\n\r\nThird\n")
        let examples = try DataLoader.load(path: path, format: .text)
        XCTAssertEqual(examples.map(\.completion), ["First paragraph\nstill first.", "Second.", "Third"])
        XCTAssertTrue(examples.allSatisfy { $0.prompt.isEmpty && $0.label == nil && $0.fields.isEmpty })
    }

    // MARK: errors name file, line and field

    func testMissingFile() {
        let path = directory.appendingPathComponent("nope.jsonl").path
        guard let error = loadError(path, .jsonlText) else { return }
        XCTAssertEqual(error.kind, .missingFile)
        XCTAssertNil(error.line)
        XCTAssertEqual(error.description, "\(path): no such file")
    }

    func testInvalidJSONNamesTheLine() throws {
        let path = try write("bad.jsonl", "{\"text\": \"ok\"}\n\n{\"text\": \"broken\n{\"text\": \"ok\"}\n")
        guard let error = loadError(path, .jsonlText) else { return }
        XCTAssertEqual(error.kind, .invalidJSON)
        XCTAssertEqual(error.line, 3, "blank lines still count")
        XCTAssertTrue(error.description.hasPrefix("\(path):3: invalid JSON"), error.description)
        print(error.description)
    }

    func testMissingTextField() throws {
        let path = try write("x.jsonl", "{\"text\": \"one\"}\n\n{\"label\": \"a\"}\n")
        guard let error = loadError(path, .jsonlText) else { return }
        XCTAssertEqual(error.kind, .missingField("text"))
        XCTAssertEqual(error.description, "\(path):3: missing string field \"text\"")
    }

    func testNonStringAndEmptyFields() throws {
        let number = try write("n.jsonl", "{\"text\": 42}\n")
        XCTAssertEqual(loadError(number, .jsonlText)?.description, "\(number):1: field \"text\" must be a string, found a number")
        let null = try write("null.jsonl", "{\"text\": null}\n")
        XCTAssertEqual(loadError(null, .jsonlText)?.kind, .missingField("text"))
        let empty = try write("e.jsonl", "{\"text\": \"a\"}\n{\"text\": \"  \"}\n")
        XCTAssertEqual(loadError(empty, .jsonlText)?.description, "\(empty):2: field \"text\" is empty")
        let array = try write("a.jsonl", "[1, 2]\n")
        XCTAssertEqual(loadError(array, .jsonlText)?.description, "\(array):1: expected a JSON object, found an array")
    }

    func testInstructionFieldErrors() throws {
        let noOutput = try write("i1.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"a\", \"input\": \"x\"}\n")
        XCTAssertEqual(loadError(noOutput, .jsonlInstruction)?.description, "\(noOutput):2: missing string field \"output\"")
        let noInstruction = try write("i2.jsonl", "{\"input\": \"x\", \"output\": \"b\"}\n")
        XCTAssertEqual(loadError(noInstruction, .jsonlInstruction)?.kind, .missingField("instruction"))
        let badInput = try write("i3.jsonl", "{\"instruction\": \"a\", \"input\": [\"x\"], \"output\": \"b\"}\n")
        XCTAssertEqual(loadError(badInput, .jsonlInstruction)?.description, "\(badInput):1: field \"input\" must be a string, found an array")
        // A text file loaded as instructions fails on the first line, naming the field.
        let textFile = try write("t.jsonl", "{\"text\": \"hello\"}\n")
        XCTAssertEqual(loadError(textFile, .jsonlInstruction)?.description, "\(textFile):1: missing string field \"instruction\"")
    }

    func testEmptyFiles() throws {
        for (name, contents, format) in [("empty.jsonl", "", DataFormat.jsonlText), ("blank.jsonl", "\n  \n\n", .jsonlInstruction),
                                         ("empty.txt", "\n\n \n", .text)] {
            let path = try write(name, contents)
            guard let error = loadError(path, format) else { continue }
            XCTAssertEqual(error.kind, .empty)
            XCTAssertTrue(error.description.hasPrefix("\(path): no examples"), error.description)
        }
    }

    func testUnreadableInputsDoNotCrash() throws {
        let binary = directory.appendingPathComponent("binary.jsonl")
        try Data([0xFF, 0xFE, 0x00, 0x7B, 0xC3]).write(to: binary)
        XCTAssertEqual(loadError(binary.path, .jsonlText)?.kind, .unreadable)
        XCTAssertEqual(loadError(directory.path, .text)?.kind, .unreadable)
        // Assorted malformed lines: each is a DataError, never a trap.
        // (Foundation's parser tolerates a trailing comma, so `{"text": "a",}` loads.)
        for junk in ["{", "}", "nul", "\"text\"", "{\"text\": \"\\ud800\"}x", "{'text': 'a'}", "12", "true", "{\"text\": 01}"] {
            let path = try write("junk.jsonl", junk + "\n")
            XCTAssertNotNil(loadError(path, .jsonlText), junk)
        }
    }

    // MARK: train/validation split

    func testClientDatasetSplit() {
        let examples = (0..<10).map { TextExample(completion: "example \($0)") }
        let split = ClientDataset.split(examples, validationFraction: 0.2, seed: 7)
        XCTAssertEqual(split.validation.count, 2)
        XCTAssertEqual(split.train.count, 8)
        XCTAssertEqual(Set(split.train + split.validation), Set(examples))
        XCTAssertEqual(split, ClientDataset.split(examples, validationFraction: 0.2, seed: 7), "same seed, same split")
        XCTAssertNotEqual(split.validation, ClientDataset.split(examples, validationFraction: 0.2, seed: 8).validation)

        XCTAssertEqual(ClientDataset.split(Array(examples.prefix(2)), validationFraction: 0.01, seed: 1).validation.count, 1)
        XCTAssertEqual(ClientDataset.split(Array(examples.prefix(3)), validationFraction: 0, seed: 1).validation.count, 1)
        let all = ClientDataset.split(Array(examples.prefix(5)), validationFraction: 1, seed: 1)
        XCTAssertEqual([all.train.count, all.validation.count], [1, 4])
        let one = ClientDataset.split(Array(examples.prefix(1)), validationFraction: 0.5, seed: 1)
        XCTAssertEqual([one.train.count, one.validation.count], [1, 0])
        XCTAssertEqual(ClientDataset.split([], validationFraction: 0.2, seed: 1), ClientDataset(train: [], validation: []))
        XCTAssertEqual(ClientDataset.split(examples, validationFraction: .nan, seed: 1).validation.count, 1)
    }

    // MARK: shipped corpora

    /// The repository root, from this file's path (Tests/FederationTests/DataTests.swift).
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static let shippedLabels: [String: Set<String>] = {
        let clinical: Set = ["cardiology", "pulmonology", "endocrinology", "infectious_disease", "neurology"]
        let support: Set = ["billing", "outage", "access", "bug", "feature_request"]
        return [
            "clinical-hospital-a.jsonl": clinical, "clinical-hospital-b.jsonl": clinical,
            "aml-alerts.jsonl": ["structuring", "rapid_movement", "high_risk_jurisdiction", "unusual_wire", "cash_intensive"],
            "support-tickets.jsonl": support, "support-instructions.jsonl": support,
            "legal-clauses.jsonl": ["indemnification", "limitation_of_liability", "confidentiality", "termination", "governing_law"],
        ]
    }()

    func testShippedCorporaLoadWithLabelAndSite() throws {
        let dataDirectory = Self.repositoryRoot.appendingPathComponent("data")
        let names = try FileManager.default.contentsOfDirectory(atPath: dataDirectory.path).filter { $0.hasSuffix(".jsonl") }.sorted()
        XCTAssertTrue(Set(Self.shippedLabels.keys).isSubset(of: Set(names)), "missing shipped corpora: \(Set(Self.shippedLabels.keys).subtracting(names))")
        for name in names {
            let path = dataDirectory.appendingPathComponent(name).path
            let firstLine = try String(contentsOfFile: path, encoding: .utf8).prefix { $0 != "\n" }
            let format: DataFormat = firstLine.contains("\"instruction\"") ? .jsonlInstruction : .jsonlText
            let examples = try DataLoader.load(path: path, format: format)
            XCTAssertGreaterThanOrEqual(examples.count, 200, name)
            XCTAssertTrue(examples.allSatisfy { $0.label != nil && $0.fields["site"] != nil }, "\(name): every record needs label and site")
            if let expected = Self.shippedLabels[name] {
                XCTAssertEqual(Set(examples.compactMap(\.label)), expected, name)
            }
            if format == .jsonlText {
                let wordCounts = examples.map { $0.completion.split(whereSeparator: \.isWhitespace).count }
                XCTAssertTrue(wordCounts.allSatisfy { (40...150).contains($0) }, "\(name): words \(wordCounts.min()!)...\(wordCounts.max()!)")
                XCTAssertEqual(Set(examples.map(\.completion)).count, examples.count, "\(name): duplicate texts")
            }
            if format == .jsonlInstruction {
                XCTAssertTrue(examples.allSatisfy { $0.prompt.hasPrefix("<|im_start|>user\n") && $0.completion.hasSuffix("<|im_end|>") }, name)
            }
            // The shipped scenarios split by label (dirichlet/pathological) or by site (natural).
            let sites = try Partitioner.split(examples, kind: .natural(field: "site"), clients: 0, seed: 0)
            let byLabel = try Partitioner.split(examples, kind: .dirichlet(field: "label", alpha: 0.5), clients: 4, seed: 1)
            let statistics = PartitionStatistics(shards: sites)
            print("\(name): \(examples.count) examples, \(sites.count) site(s) \(sites.map(\.count)), site-vs-pooled label TV mean \(String(format: "%.3f", statistics.meanTotalVariation)); dirichlet(0.5)x4 mean TV \(String(format: "%.3f", PartitionStatistics(shards: byLabel).meanTotalVariation))")
        }
    }
}
