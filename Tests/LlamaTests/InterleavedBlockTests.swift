import Foundation
import TensorMath
import XCTest
@testable import Llama

/// The int8 path's interleaved weights (`QuantizedMatrix`) against independent decoders: the
/// `gguf` package's values for real blocks (`Fixtures/quant_reference.json`), and this
/// package's own GGUF dequantization (`Dequantize`, itself checked against `gguf`) on every
/// Q4_K and Q6_K matrix of Gemma 3 270M as the int8 loader keeps it (the fixture holds Q5_K blocks
/// too; no file at hand has Q5_K matrices).
final class InterleavedBlockTests: XCTestCase {
    /// Real blocks of every type the int8 kernels read, repacked into 8-row groups (rows of
    /// 256, in reverse order), dequantize bit for bit to the reference decoder's values.
    func testRepackedFixtureBlocksMatchTheReferenceDecoderBitForBit() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "quant_reference", withExtension: "json", subdirectory: "Fixtures"))
        let fixture = try JSONDecoder().decode(QuantReferenceTests.Fixture.self, from: Data(contentsOf: url))
        var seen: Set<String> = []
        for c in fixture.cases {
            guard let type = QuantBlockType.allCases.first(where: { $0.name == c.type }) else { continue }
            seen.insert(c.type)
            let raw = QuantReferenceTests.bytes(hex: c.bytes_hex)
            let cols = 256, rows = c.expected.count / cols
            let order = Array((0..<rows).reversed())
            let w = raw.withUnsafeBytes { QuantizedMatrix(type: type, rows: rows, cols: cols, source: $0.baseAddress!, rowOrder: order) }
            var row = [Float](repeating: .nan, count: cols), differ = 0
            for r in 0..<rows {
                row.withUnsafeMutableBufferPointer { w.dequantizeRow(r, into: $0.baseAddress!) }
                for t in 0..<cols where row[t].bitPattern != Float(c.expected[order[r] * cols + t]).bitPattern { differ += 1 }
            }
            XCTAssertEqual(differ, 0, "\(c.type) (\(c.tensor)): \(differ) of \(c.expected.count) values differ")
        }
        XCTAssertEqual(seen, Set(QuantBlockType.allCases.map(\.name)), "the fixture covers every interleaved type")
    }

    /// Gemma 3 270M in int8: every projection of a type the kernels read (Q4_K, Q5_0, Q6_K, Q8_0)
    /// stays in it (not requantized to Q8_0), and those of the first 3 blocks and every Q4_K and
    /// Q6_K one dequantize bit for bit to the F32 loader's values (Gemma's query/key rows are not
    /// permuted).
    func testGemmaProjectionsStayInTheFilesTypesAndHoldItsValues() throws {
        let file = try GemmaModel.file()
        let model = try LlamaGGUFLoader.load(file, compute: .int8)
        let q = try XCTUnwrap(model.quantized)
        let names = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]
        var checked = 0
        for (i, layer) in q.layers.enumerated() {
            for (m, name) in zip(layer, names) {
                let tensor = "blk.\(i).\(name).weight"
                let info = try XCTUnwrap(file.tensorInfo(tensor))
                XCTAssertEqual(m.type, QuantBlockType(info.type) ?? .q8_0, tensor)
                guard info.type == .q4_K || info.type == .q6_K || (i < 3 && QuantBlockType(info.type) != nil) else { continue }
                let want = try file.tensor(tensor)
                var row = [Float](repeating: .nan, count: m.cols), differ = 0
                for r in 0..<m.rows {
                    row.withUnsafeMutableBufferPointer { m.dequantizeRow(r, into: $0.baseAddress!) }
                    for t in 0..<m.cols where row[t].bitPattern != want.data[r * m.cols + t].bitPattern { differ += 1 }
                }
                XCTAssertEqual(differ, 0, "\(tensor): \(differ) values differ from the file's")
                checked += 1
            }
        }
        XCTAssertEqual(model.config.architecture, "gemma3")
        XCTAssertFalse(ModelArchitecture.gemma3.ggufPermutesQueryKey, "rows compared without un-permuting")
        XCTAssertEqual(q.layers.joined().filter { $0.type == .q4_K }.count, 27, "Gemma 3 270M Q4_K_M: 18 attn_output + 9 ffn_down")
        XCTAssertEqual(q.layers.joined().filter { $0.type == .q5_0 }.count, 81)
        XCTAssertEqual(q.layers.joined().filter { $0.type == .q6_K }.count, 9, "the other 9 ffn_down")
        print("gemma3 int8: \(checked) projections checked bit for bit, quantized weights \(q.byteCount) bytes")
    }
}
