import Foundation
import XCTest
@testable import Llama

/// Every dequantizer against the `gguf` package's reference decoder (gguf.quants.dequantize) on
/// blocks of real tensors: `Fixtures/quant_reference.json`, written by scripts/make_quant_fixture.py.
/// Real Q4_K, Q6_K, Q5_0, Q8_0 (Gemma 3 270M) and Q4_1 (SmolLM2) blocks are copied from the files;
/// Q4_0, Q5_1 and Q5_K blocks are real weights quantized by the generator (no file at hand has them).
final class QuantReferenceTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            var type: String
            var tensor: String
            var origin: String
            var bytes_hex: String
            var expected: [Double]
        }
        var cases: [Case]
    }

    static func bytes(hex: String) -> [UInt8] {
        var out: [UInt8] = []
        var it = hex.utf8.makeIterator()
        while let a = it.next(), let b = it.next() {
            out.append(UInt8(String(decoding: [a, b], as: UTF8.self), radix: 16)!)
        }
        return out
    }

    func testEveryTypeMatchesTheReferenceDecoderBitForBit() throws {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "quant_reference", withExtension: "json", subdirectory: "Fixtures"))
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        let types = Set(fixture.cases.map(\.type))
        XCTAssertEqual(types, ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"])
        for c in fixture.cases {
            let type = try XCTUnwrap(GGMLType.allCases.first { $0.name == c.type }, c.type)
            let raw = Self.bytes(hex: c.bytes_hex)
            XCTAssertEqual(type.byteCount(elements: c.expected.count), raw.count, c.type)
            // Through the reader, as the model loaders use it.
            var w = GGUFWriter()
            w.addRaw("t", shape: [c.expected.count], type: type, bytes: Data(raw))
            let got = try GGUFFile(data: w.data(), path: "quant.gguf").tensor("t").data
            var differ = 0, worst = 0.0
            for (g, e) in zip(got, c.expected) where g.bitPattern != Float(e).bitPattern {
                differ += 1
                worst = max(worst, abs(Double(g) - e))
            }
            XCTAssertEqual(differ, 0, "\(c.type) (\(c.tensor), \(c.origin)): \(differ) of \(c.expected.count) values differ, worst by \(worst)")
            // The values vary, so a swapped index would show.
            XCTAssertGreaterThan(Set(c.expected).count, c.expected.count / 16, "\(c.type): fixture values are too uniform")
        }
    }
}
