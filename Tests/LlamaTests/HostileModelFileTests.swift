import Foundation
import XCTest
@testable import Llama

/// Crafted model files whose sizes overflow or whose counts exceed the file: each must give a
/// one-line error naming the file and the tensor, key or offset, never a trap. (Each of these
/// trapped before sizes from files were computed with overflow checks.)
final class HostileModelFileTests: XCTestCase {
    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "no error" } catch { return "\(error)" }
    }

    func testGGUFTensorWhoseDimensionsMultiplyPastIntMaxIsRefused() {
        var w = GGUFWriter()
        let big = Int(Int32.max)
        w.addRaw("huge", shape: [big, big, big], type: .f32, bytes: Data(count: 32))
        let m = message { try GGUFFile(data: w.data(), path: "huge.gguf") }
        XCTAssertTrue(m.hasPrefix("huge.gguf: malformed at offset"), m)
        XCTAssertTrue(m.contains("'huge'") && m.contains("overflows"), m)
        XCTAssertFalse(m.contains("\n"))
    }

    func testGGUFTensorWhoseByteCountOverflowsIsRefused() {
        // (2^31-1)^2 elements fit an Int, but their F32 bytes do not.
        var w = GGUFWriter()
        let big = Int(Int32.max)
        w.addRaw("wide", shape: [big, big], type: .f32, bytes: Data(count: 32))
        let m = message { try GGUFFile(data: w.data(), path: "wide.gguf") }
        XCTAssertTrue(m.contains("wide.gguf") && m.contains("'wide'"), m)
    }

    func testGGUFHugeAlignmentIsRefused() {
        var w = GGUFWriter()
        w.set("general.alignment", .uint64(1 << 62))
        w.addF32("a", shape: [2], [1, 2])
        let m = message { try GGUFFile(data: w.data(), path: "align.gguf") }
        XCTAssertTrue(m.contains("align.gguf") && m.contains("general.alignment"), m)
    }

    func testGGUFArrayCountIsCheckedAgainstTheBytesLeftForItsElementType() throws {
        // 50 u64 elements announced with 96 bytes left: refused at the count, before anything is
        // reserved (the old check compared the count with the bytes, as if elements took one byte).
        var w = GGUFWriter()
        w.set("list", .array((0..<12).map { .uint64(UInt64($0)) }))
        var data = w.data()
        let countAt = data.range(of: Data("list".utf8))!.upperBound + 8
        data.replaceSubrange(countAt..<(countAt + 8), with: withUnsafeBytes(of: UInt64(50).littleEndian) { Data($0) })
        let m = message { try GGUFFile(data: data, path: "list.gguf") }
        XCTAssertTrue(m.contains("list.gguf: truncated at offset") && m.contains("50 elements of 'list'"), m)
    }

    func testGGUFTokenTypeOutsideInt32IsRefused() throws {
        var w = GGUFWriter()
        w.set("tokenizer.ggml.model", .string("gpt2"))
        w.set("tokenizer.ggml.tokens", .array([.string("a"), .string("b")]))
        w.set("tokenizer.ggml.merges", .array([.string("a b")]))
        w.set("tokenizer.ggml.token_type", .array([.int64(1), .int64(1 << 40)]))
        let file = try GGUFFile(data: w.data(), path: "types.gguf")
        let m = message { try BPETokenizer(gguf: file) }
        XCTAssertTrue(m.contains("types.gguf") && m.contains("tokenizer.ggml.token_type") && m.contains("element 1"), m)
    }

    func testGGUFContextLengthBeyondTheRoPELimitIsRefused() throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        for (key, value) in [("embedding_length", 8), ("feed_forward_length", 16), ("block_count", 1),
                             ("attention.head_count", 2), ("vocab_size", 16), ("context_length", 1 << 40)] {
            w.set("llama." + key, .uint64(UInt64(value)))
        }
        w.set("llama.attention.layer_norm_rms_epsilon", .float32(1e-5))
        let file = try GGUFFile(data: w.data(), path: "ctx.gguf")
        let m = message { try LlamaGGUFLoader.config(file) }
        XCTAssertTrue(m.contains("ctx.gguf") && m.contains("max_position_embeddings must be at most"), m)
    }

    /// A safetensors file with a hand-written header and `payload` bytes of data.
    func safetensors(_ header: String, payload: Int = 16) -> Data {
        var json = Data(header.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var out = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Data($0) }
        out.append(json)
        out.append(Data(count: payload))
        return out
    }

    func testSafetensorsShapeWhoseSizeOverflowsIsRefused() {
        let data = safetensors(#"{"w": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 16]}}"#)
        let m = message { try SafetensorsFile(data: data, path: "shape.safetensors") }
        XCTAssertTrue(m.hasPrefix("shape.safetensors: malformed at offset 8"), m)
        XCTAssertTrue(m.contains("'w'") && m.contains("overflows"), m)
    }

    func testSafetensorsOffsetsNearIntMaxAreRefused() {
        let max = Int.max
        let data = safetensors(#"{"w": {"dtype": "U8", "shape": [4], "data_offsets": [\#(max - 4), \#(max)]}}"#)
        let m = message { try SafetensorsFile(data: data, path: "offsets.safetensors") }
        XCTAssertTrue(m.contains("offsets.safetensors: tensor 'w' data") && m.contains("outside the file"), m)
        XCTAssertFalse(m.contains("\n"))
    }

    func testAdapterRankIsBoundedByTheAdaptedMatrices() {
        // tiny: hidden 32, key/value width 16, so rank 17 on k or v adds no capacity.
        let m = message { try LoRAAdapter(zerosFor: .tiny, config: LoRAConfig(rank: 17, targets: [.k])) }
        XCTAssertTrue(m.contains("rank must be at most 16 for target k"), m)
        XCTAssertNoThrow(try LoRAAdapter(zerosFor: .tiny, config: LoRAConfig(rank: 16, targets: [.k])))
        let huge = message { try LoRAAdapter(zerosFor: .tiny, config: LoRAConfig(rank: 100_000, targets: [.q])) }
        XCTAssertTrue(huge.contains("rank must be at most \(LoRAConfig.maximumRank)"), huge)
    }
}
