import Foundation
import TensorMath
import XCTest
@testable import Llama

/// The int8 path's interleaved weights (`QuantizedMatrix`) against independent decoders: the
/// `gguf` package's values for real blocks (`Fixtures/quant_reference.json`), and this
/// package's own GGUF dequantization (`Dequantize`, itself checked against `gguf`) on every
/// Q4_K matrix of Gemma 3 270M as the int8 loader keeps it.
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

    /// Gemma 3 270M in int8: every Q4_K projection stays Q4_K (not requantized to Q8_0) and
    /// dequantizes bit for bit to the F32 loader's values; the other types stay as before.
    func testGemmaQ4_KProjectionsStayQ4_KAndHoldTheFilesValues() throws {
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
                guard info.type == .q4_K else { continue }
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
        XCTAssertGreaterThan(checked, 0, "the file has Q4_K projections")
        print("gemma3 int8: \(checked) Q4_K projections kept as Q4_K, quantized weights \(q.byteCount) bytes")
    }
}
