import Foundation
import TensorMath
import XCTest
@testable import Llama

/// The GGUF reader on small crafted files: every value type, alignment, every
/// dequantized type against hand-computed values, and each kind of corruption.
final class GGUFTests: XCTestCase {
    func parse(_ w: GGUFWriter) throws -> GGUFFile { try GGUFFile(data: w.data(), path: "crafted.gguf") }

    func testMetadataOfEveryValueTypeRoundTrips() throws {
        var w = GGUFWriter()
        let values: [(String, GGUFValue)] = [
            ("u8", .uint8(200)), ("i8", .int8(-5)), ("u16", .uint16(60000)), ("i16", .int16(-300)),
            ("u32", .uint32(4_000_000_000)), ("i32", .int32(-7)), ("u64", .uint64(1 << 40)), ("i64", .int64(-(1 << 40))),
            ("f32", .float32(1.5)), ("f64", .float64(-2.25)), ("b", .bool(true)), ("s", .string("héllo <|im_start|>")),
            ("arr", .array([.string("a"), .string("bc")])), ("nested", .array([.array([.int32(1), .int32(2)]), .array([.int32(3)])])),
        ]
        for (k, v) in values { w.set(k, v) }
        let f = try parse(w)
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.metadataKeys, values.map(\.0))
        for (k, v) in values { XCTAssertEqual(f.metadata[k], v, k) }
        XCTAssertEqual(try f.int("u64"), 1 << 40)
        XCTAssertThrowsError(try f.int("s")) { XCTAssertTrue("\($0)".contains("'s'"), "\($0)") }
        XCTAssertThrowsError(try f.int("missing")) { XCTAssertTrue("\($0)".contains("'missing'")) }
    }

    func testF32F16BF16TensorsAndAlignment() throws {
        for alignment in [32, 64] {
            var w = GGUFWriter()
            w.alignment = alignment
            w.addF32("a", shape: [2, 3], [1, 2, 3, 4, 5, 6])
            w.addF16("b", shape: [3], [0.5, -2, 65504])
            let bf: [UInt16] = [0x3F80, 0xC040]  // 1.0, -3.0
            w.addRaw("c", shape: [2], type: .bf16, bytes: Data(bf.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }))
            let f = try parse(w)
            XCTAssertEqual(f.alignment, alignment)
            XCTAssertEqual(f.tensorInfo("a")?.dims, [3, 2])
            XCTAssertEqual(try f.tensor("a"), Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]))
            XCTAssertEqual(try f.tensor("b").data, [0.5, -2, 65504])
            XCTAssertEqual(try f.tensor("c").data, [1, -3])
            for t in f.tensors { XCTAssertEqual(t.fileOffset % alignment, 0) }
        }
    }

    func f16(_ v: Float) -> [UInt8] { let b = Float16(v).bitPattern; return [UInt8(b & 0xFF), UInt8(b >> 8)] }

    func testQ8_0Q4_0Q4_1MatchHandComputedValues() throws {
        // Q8_0: d = 0.5, q = -16...15 -> x = q * 0.5
        let q8: [UInt8] = f16(0.5) + (0..<32).map { (i: Int) -> UInt8 in UInt8(bitPattern: Int8(i - 16)) }
        // Q4_0: d = 2, byte j holds element j (low nibble) and j+16 (high); x = (q - 8) * 2
        let packed: [UInt8] = (0..<16).map { (i: Int) -> UInt8 in UInt8(i | ((15 - i) << 4)) }
        let q40: [UInt8] = f16(2) + packed
        // Q4_1: d = 0.25, m = -1; x = q * 0.25 - 1
        let q41: [UInt8] = f16(0.25) + f16(-1) + packed
        var w = GGUFWriter()
        w.addRaw("q8", shape: [32], type: .q8_0, bytes: Data(q8))
        w.addRaw("q40", shape: [32], type: .q4_0, bytes: Data(q40))
        w.addRaw("q41", shape: [32], type: .q4_1, bytes: Data(q41))
        let f = try parse(w)
        XCTAssertEqual(try f.tensor("q8").data, (0..<32).map { Float($0 - 16) * 0.5 })
        let nibbles = (0..<16).map { $0 } + (0..<16).map { 15 - $0 }
        XCTAssertEqual(try f.tensor("q40").data, nibbles.map { Float($0 - 8) * 2 })
        XCTAssertEqual(try f.tensor("q41").data, nibbles.map { Float($0) * 0.25 - 1 })
    }

    func testQ4_KAndQ6_KMatchReferenceFormulas() throws {
        // Q4_K: all eight 6-bit scales = 2 and mins = 1 (sub-blocks 0-3 use the low 6 bits,
        // 4-7 the packed nibbles), d = 0.5, dmin = 0.25; x = 0.5*2*q - 0.25*1.
        var scales = [UInt8](repeating: 0, count: 12)
        for j in 0..<4 { scales[j] = 2; scales[j + 4] = 1 }
        for j in 4..<8 { scales[j + 4] = 2 | (1 << 4) }
        let qs: [UInt8] = (0..<128).map { (i: Int) -> UInt8 in UInt8(i % 16) | UInt8(((i + 3) % 16) << 4) }
        let q4k: [UInt8] = f16(0.5) + f16(0.25) + scales + qs
        var expected4 = [Float]()
        for chunk in 0..<4 {
            for l in 0..<32 { expected4.append(1.0 * Float(qs[chunk * 32 + l] & 0xF) - 0.25) }
            for l in 0..<32 { expected4.append(1.0 * Float(qs[chunk * 32 + l] >> 4) - 0.25) }
        }
        // Q6_K: every 6-bit value q = 37 (stored 37 = low 5 | high 2<<4), scales 1...16, d = 0.125; x = 0.125*scale*(37-32).
        let ql = [UInt8](repeating: 0x55, count: 128)   // low nibbles 5 and 5
        let qh = [UInt8](repeating: 0xAA, count: 64)    // each 2-bit field = 2 -> +32
        let sc: [UInt8] = (1...16).map { UInt8($0) }
        let q6k: [UInt8] = ql + qh + sc + f16(0.125)
        var expected6 = [Float](repeating: 0, count: 256)
        for half in 0..<2 { for l in 0..<32 { for part in 0..<4 {
            expected6[half * 128 + part * 32 + l] = 0.125 * Float(sc[half * 8 + l / 16 + 2 * part]) * 5
        } } }
        var w = GGUFWriter()
        w.addRaw("q4k", shape: [256], type: .q4_K, bytes: Data(q4k))
        w.addRaw("q6k", shape: [256], type: .q6_K, bytes: Data(q6k))
        let f = try parse(w)
        XCTAssertEqual(try f.tensor("q4k").data, expected4)
        XCTAssertEqual(try f.tensor("q6k").data, expected6)
    }

    func testCorruptFilesGiveErrorsNamingOffsetOrTensor() throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.addF32("weights", shape: [4, 8], (0..<32).map(Float.init))
        let good = w.data()

        func message(_ data: Data) -> String {
            do { _ = try GGUFFile(data: data, path: "bad.gguf"); return "no error" } catch { return "\(error)" }
        }
        // Bad magic.
        var bad = good; bad[0] = UInt8(ascii: "X")
        XCTAssertTrue(message(bad).contains("not a GGUF file"), message(bad))
        // Unsupported version.
        bad = good; bad[4] = 9
        XCTAssertTrue(message(bad).contains("version 9"), message(bad))
        // Truncated at every cut inside the header: always an error naming an offset, never a crash.
        let headerEnd = try GGUFFile(data: good, path: "x").tensors[0].fileOffset
        for cut in stride(from: 0, to: headerEnd, by: 3) {
            let m = message(good.prefix(cut))
            XCTAssertTrue(m.contains("bad.gguf") && (m.contains("offset") || m.contains("'weights' data")), "cut \(cut): \(m)")
        }
        // Truncated tensor data names the tensor.
        let m = message(good.prefix(good.count - 16))
        XCTAssertTrue(m.contains("'weights'") && m.contains("outside the file"), m)
        // Unknown tensor type names the tensor.
        bad = good
        let typeOffset = headerEnd - (headerEnd - bad.range(of: Data("weights".utf8))!.upperBound) + 4 + 16
        bad[typeOffset] = 99
        XCTAssertTrue(message(bad).contains("'weights' has unknown ggml type 99"), message(bad))
        // Out-of-range offset names the tensor.
        bad = good
        bad[typeOffset + 4 + 3] = 0x10
        XCTAssertTrue(message(bad).contains("'weights'"), message(bad))
    }

    func testUnsupportedTypeIsReportedOnUseNotOnOpen() throws {
        var w = GGUFWriter()
        w.addRaw("q3", shape: [256], type: .q3_K, bytes: Data(count: 110))
        let f = try parse(w)
        XCTAssertThrowsError(try f.tensor("q3")) {
            XCTAssertEqual("\($0)", "crafted.gguf: tensor 'q3' has type Q3_K, which FedPilot cannot dequantize "
                           + "(supported: F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, BF16)")
        }
        XCTAssertThrowsError(try f.tensor("nope")) { XCTAssertTrue("\($0)".contains("'nope' is missing")) }
    }
}
