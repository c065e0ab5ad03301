import Foundation
import XCTest
import Llama
@testable import Federation

/// BOS where the model's metadata asks for it: at the start of every training and evaluation
/// sequence and every prompt, never before a label continuation.
final class SequenceStartTests: XCTestCase {
    /// A byte-level vocabulary of the letters a-e and space, plus control tokens <pad>, <eos>, <bos>.
    private func tokenizer(addBOS: Bool) throws -> BPETokenizer {
        let letters = ["a", "b", "c", "d", "e", "Ġ", "Ċ", ":"]
        let tokens = ["<pad>", "<eos>", "<bos>"] + letters
        let types: [Int32] = [3, 3, 3] + letters.map { _ in 1 }
        return try BPETokenizer(tokens: tokens, merges: [], tokenTypes: types, bosTokenID: 2, eosTokenID: 1, padTokenID: 0,
                                addBOS: addBOS, preTokenizer: .gpt2)
    }

    func testSequenceStartFollowsTheMetadata() throws {
        let with = try tokenizer(addBOS: true), without = try tokenizer(addBOS: false)
        XCTAssertEqual(with.sequenceStart, [2])
        XCTAssertEqual(without.sequenceStart, [])
        XCTAssertEqual(with.encode("ab"), without.encode("ab"))
        XCTAssertEqual(with.encodeSequence("ab"), [2] + with.encode("ab"))
        XCTAssertEqual(without.encodeSequence("ab"), without.encode("ab"))
        XCTAssertEqual(ByteEncoding().sequenceStart, [])
    }

    func testTrainingExamplesStartWithBOSThatIsNeverATarget() throws {
        let with = try tokenizer(addBOS: true), without = try tokenizer(addBOS: false)
        let text = TextExample(completion: "abc de")
        let a = ClientWorker.tokenize(text, with), b = ClientWorker.tokenize(text, without)
        XCTAssertEqual(a.tokens, [2] + b.tokens)
        XCTAssertEqual(a.promptLength, 1)
        XCTAssertEqual(a.startLength, 1)
        XCTAssertEqual(b.promptLength, 0)
        // As transformers with labels = input_ids: BOS is never a target, it predicts the first
        // token (which without BOS nothing predicts), and every later target is as before.
        let pa = Batcher.padded([a], length: 16, padID: 0), pb = Batcher.padded([b], length: 16, padID: 0)
        XCTAssertEqual(pa.tokens[0], 2)
        XCTAssertFalse(pa.targets.contains(2))
        XCTAssertEqual(Array(pa.targets.prefix(b.tokens.count)), [b.tokens[0]] + Array(pb.targets.prefix(b.tokens.count - 1)))

        let instruction = TextExample(prompt: "ab:", completion: "cd")
        let i = ClientWorker.tokenize(instruction, with)
        XCTAssertEqual(i.tokens, [2] + with.encode("ab:") + with.encode("cd"))
        XCTAssertEqual(i.promptLength, 1 + with.encode("ab:").count)
        // Packed rows: each example starts with its BOS after the separator.
        let rows = Batcher.packed([a, a], length: 64, separatorID: 0)
        XCTAssertEqual(Array(rows[0].tokens.prefix(2 * (a.tokens.count + 1))), a.tokens + [0] + a.tokens + [0])
    }

    func testACutPromptKeepsItsBOS() {
        // BOS, a 6-token prompt and a 3-token completion into rows of 6: the prompt loses its
        // first 4 tokens, BOS stays first.
        let e = TokenizedExample(tokens: [2, 10, 11, 12, 13, 14, 15, 20, 21, 22], promptLength: 7, startLength: 1)
        let batch = Batcher.padded([e], length: 6, padID: 0)
        XCTAssertEqual(batch.tokens, [2, 14, 15, 20, 21, 22])
        XCTAssertEqual(batch.targets, [-1, -1, 20, 21, 22, -1])
        // Without a sequence start the cut is as before.
        let plain = TokenizedExample(tokens: [10, 11, 12, 13, 14, 15, 20, 21, 22], promptLength: 6)
        XCTAssertEqual(Batcher.padded([plain], length: 6, padID: 0).tokens, [13, 14, 15, 20, 21, 22])
    }

    func testLabelPromptsStartWithBOSAndLabelsDoNot() throws {
        let with = try tokenizer(addBOS: true)
        let validation = [TextExample(prompt: "abcde abcde:", completion: " dd", label: "dd")]
        let scorer = LabelScorer(validation: validation, template: nil, limit: 4, contextTokens: 4, encoding: with, calibrate: true)
        let prompt = scorer.examples[0].prompt
        XCTAssertEqual(prompt.count, 4)
        XCTAssertEqual(prompt.first, 2, "the prompt keeps its BOS when cut to its last tokens")
        XCTAssertEqual(Array(prompt.dropFirst()), Array(with.encode("abcde abcde:").suffix(3)))
        XCTAssertEqual(scorer.examples[0].neutral.first, 2)
        let label = scorer.continuation("dd", separator: " ")
        XCTAssertEqual(label, with.encode(" dd"))
        XCTAssertFalse(label.contains(2), "a label continuation gets no BOS")
    }

    /// The real files decide: SmolLM2 says add_bos_token = false (its sequences are unchanged),
    /// Gemma 3 says true.
    func testTheShippedModelsMetadata() throws {
        let root = EngineTestSupport.root.appendingPathComponent("models")
        let smol = root.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf").path
        let gemma = root.appendingPathComponent("gemma-3-270m-q4_k_m.gguf").path
        guard FileManager.default.fileExists(atPath: smol) else { throw XCTSkip("no SmolLM2 file") }
        XCTAssertEqual(try BPETokenizer(gguf: GGUFFile(path: smol)).sequenceStart, [])
        guard FileManager.default.fileExists(atPath: gemma) else { throw XCTSkip("no Gemma file (scripts/fetch-gemma.sh)") }
        let g = try BPETokenizer(gguf: GGUFFile(path: gemma))
        XCTAssertEqual(g.sequenceStart, [2])
        XCTAssertEqual(g.id(of: "<bos>"), 2)
    }
}
