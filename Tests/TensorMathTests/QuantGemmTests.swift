import XCTest
import CKernels
@testable import TensorMath

/// QuantGemm (int8 forward; input gradient through F32 panels or a transposed Q8_0 copy) against the naive
/// double-precision references, for every block type and shapes that are not multiples of
/// the kernel's tiles (4 activation rows, 64-row blocks).
final class QuantGemmTests: XCTestCase {
    var rng = SeededRandom(seed: 77)

    func uniform(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in (rng.uniform() * 2 - 1) * scale } }

    /// Random GGUF-layout blocks of a `[rows, cols]` weight of `type`: random codes (all 256
    /// byte values, so Q8_0 includes -128, Q4_K every 6-bit scale and minimum, Q6_K every signed
    /// 8-bit scale), realistic f16 scales (and minimums; Q6_K's `d` of either sign).
    func randomBlocks(_ type: QuantBlockType, rows: Int, cols: Int) -> [UInt8] {
        let blocks = rows * cols / type.blockElements, bb = type.blockBytes
        var bytes = [UInt8](repeating: 0, count: blocks * bb)
        func putHalf(_ v: Float, _ at: Int) {
            let bits = Float16(v).bitPattern
            bytes[at] = UInt8(bits & 0xFF); bytes[at + 1] = UInt8(bits >> 8)
        }
        for b in 0..<blocks {
            let o = b * bb
            if type == .q4_K || type == .q5_K {
                // d up to 0.0003 (x 63 sub-block scale: steps like the Q4_1 ones), dmin up to 0.002;
                // Q5_K's fifth bits (qh) random like the scales and nibbles.
                putHalf(0.00003 + 0.0003 * rng.uniform(), o)
                putHalf(0.002 * rng.uniform(), o + 2)
                for j in (o + 4)..<(o + bb) { bytes[j] = UInt8(truncatingIfNeeded: rng.next()) }
                continue
            }
            if type == .q6_K {
                // Codes and scales random; d (at the end) up to 0.0001 of either sign (x 128 x 32:
                // weights up to ~0.4, steps like the Q4 ones).
                for j in o..<(o + 208) { bytes[j] = UInt8(truncatingIfNeeded: rng.next()) }
                putHalf((0.00001 + 0.0001 * rng.uniform()) * (rng.uniform() < 0.25 ? -1 : 1), o + 208)
                continue
            }
            putHalf(type == .q8_0 ? 0.0002 + 0.001 * rng.uniform() : 0.002 + 0.01 * rng.uniform(), o)
            var q = o + 2
            if type == .q4_1 { putHalf(-0.08 * rng.uniform(), o + 2); q = o + 4 }
            if type == .q5_0 { putHalf(0.001 + 0.005 * rng.uniform(), o); q = o + 2 }   // q: the fifth bits, then the nibbles
            for j in q..<(o + bb) { bytes[j] = UInt8(truncatingIfNeeded: rng.next()) }
        }
        return bytes
    }

    func randomWeight(_ type: QuantBlockType, rows: Int, cols: Int) -> QuantizedMatrix {
        randomBlocks(type, rows: rows, cols: cols).withUnsafeBytes {
            QuantizedMatrix(type: type, rows: rows, cols: cols, source: $0.baseAddress!)
        }
    }

    /// GGUF-layout blocks to floats, written from ggml's block definitions (independent of the C code).
    static func dequantizeGGUF(_ type: QuantBlockType, _ b: [UInt8]) -> [Float] {
        func half(_ i: Int) -> Float { Float(Float16(bitPattern: UInt16(b[i]) | UInt16(b[i + 1]) << 8)) }
        var out: [Float] = []
        for o in stride(from: 0, to: b.count, by: type.blockBytes) {
            let d = half(o)
            switch type {
            case .q6_K:
                // ql (128 bytes), qh (64), 16 signed scales, then d. Element 128n + 32c + t (half
                // n, quarter c, t < 32) takes the low (c < 2) or high nibble of
                // ql[64n + 32·(c % 2) + t] and bits 2c, 2c + 1 of qh[32n + t]; its scale is the
                // one of its 16 (sc[e / 16]); w = d·sc·(q - 32).
                let d6 = half(o + 208)
                for e in 0..<256 {
                    let (n, c, t) = (e / 128, e % 128 / 32, e % 32)
                    let lowByte = b[o + 64 * n + 32 * (c % 2) + t]
                    let q = Int(c < 2 ? lowByte & 15 : lowByte >> 4) | Int((b[o + 128 + 32 * n + t] >> UInt8(2 * c)) & 3) << 4
                    out.append(d6 * Float(Int8(bitPattern: b[o + 192 + e / 16])) * Float(q - 32))
                }
            case .q4_K, .q5_K:
                // 8 sub-blocks of 32; 6-bit scales sc[j] and minimums m[j] packed in 12 bytes
                // (j < 4: low 6 bits of bytes j and j + 4; else a nibble of byte j + 4 plus the top
                // 2 bits of bytes j - 4 and j); sub-block j reads the low (j even) or high nibbles of
                // bytes 32·(j/2) ..< 32·(j/2) + 32; w = d·sc·q - dmin·m. Q5_K: 32 bytes qh before
                // the nibbles, bit j of qh[t] the fifth bit (16) of element t of sub-block j.
                let dmin = half(o + 2), sc = o + 4, qs = o + (type == .q5_K ? 48 : 16)
                for j in 0..<8 {
                    let (scale, minimum): (UInt8, UInt8) = j < 4
                        ? (b[sc + j] & 63, b[sc + j + 4] & 63)
                        : ((b[sc + j + 4] & 15) | (b[sc + j - 4] >> 6) << 4, (b[sc + j + 4] >> 4) | (b[sc + j] >> 6) << 4)
                    for t in 0..<32 {
                        let byte = b[qs + 32 * (j / 2) + t]
                        var q = j % 2 == 0 ? byte & 15 : byte >> 4
                        if type == .q5_K { q |= ((b[o + 16 + t] >> UInt8(j)) & 1) << 4 }
                        out.append(d * Float(scale) * Float(q) - dmin * Float(minimum))
                    }
                }
            case .q8_0: out += (0..<32).map { Float(Int8(bitPattern: b[o + 2 + $0])) * d }
            case .q4_0: out += (0..<32).map { j in Float(Int(j < 16 ? b[o + 2 + j] & 15 : b[o + 2 + j - 16] >> 4) - 8) * d }
            case .q4_1: out += (0..<32).map { j in Float(j < 16 ? b[o + 4 + j] & 15 : b[o + 4 + j - 16] >> 4) * d + half(o + 2) }
            case .q5_0:
                // Bit j of the little-endian u32 at o + 2 is the fifth bit of element j.
                let qh = (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[o + 2 + $1]) << (8 * UInt32($1)) }
                out += (0..<32).map { j in
                    let low = Int(j < 16 ? b[o + 6 + j] & 15 : b[o + 6 + j - 16] >> 4)
                    return Float(low + Int((qh >> UInt32(j)) & 1) * 16 - 16) * d
                }
            }
        }
        return out
    }

    /// Runs `body` once per forward-kernel instruction set this CPU has (AVX512-VNNI, AVX2,
    /// portable C), restoring the automatic choice afterwards.
    func forEachISA(_ body: (QuantKernelISA) -> Void) {
        defer { QuantGemm.limitISA(nil) }
        for isa in QuantKernelISA.allCases where isa <= QuantGemm.availableISA {
            XCTAssertEqual(QuantGemm.limitISA(isa), isa)
            body(isa)
        }
    }

    /// The interleaved repacking (with a row permutation) dequantizes to exactly what the GGUF
    /// layout does, row by row, for every block type and a row count that is not a multiple of 8.
    func testRepackingKeepsEveryRowsValues() {
        for type in QuantBlockType.allCases {
            let (rows, cols) = (13, Self.width(96, type))
            let raw = randomBlocks(type, rows: rows, cols: cols)
            let order = (0..<rows).map { ($0 * 5 + 3) % rows }
            let w = raw.withUnsafeBytes { QuantizedMatrix(type: type, rows: rows, cols: cols, source: $0.baseAddress!, rowOrder: order) }
            // Bytes per 8 rows x 32 columns (Q4_K: 1184 per 8 rows x 256, header included; Q5_K:
            // 1440; Q6_K: 1680, exactly its 8 x 210 GGUF bytes).
            let recordBytes = [QuantBlockType.q4_0: 144, .q4_1: 160, .q5_0: 176, .q8_0: 272, .q4_K: 148, .q5_K: 180, .q6_K: 210][type]!
            XCTAssertEqual(w.byteCount, (rows + 7) / 8 * cols / 32 * recordBytes)
            var got = [Float](repeating: .nan, count: cols), want = got
            let rowBytes = cols / type.blockElements * type.blockBytes
            for r in 0..<rows {
                got.withUnsafeMutableBufferPointer { w.dequantizeRow(r, into: $0.baseAddress!) }
                want = Self.dequantizeGGUF(type, Array(raw[(order[r] * rowBytes)..<((order[r] + 1) * rowBytes)]))
                for t in 0..<cols { XCTAssertEqual(got[t], want[t], accuracy: 1e-6, "\(type.name) row \(r) column \(t)") }
            }
        }
    }

    /// Row counts 1-8 and 70 (eight tiles of 8 rows, then 6) reach every tile height of every
    /// ISA; n = 1, 5 (one group), 13, 9 (two, one partial), 17 (a pair and a single) and 66.
    static let shapes: [(m: Int, n: Int, k: Int)] = [(1, 1, 32), (3, 5, 64), (7, 13, 96), (6, 17, 160), (70, 9, 32), (5, 66, 224),
                                                     (2, 16, 64), (4, 24, 32), (8, 32, 96)]

    /// A width `k` for `type`: K-type rows are whole super-blocks of 256, so k = 32·b becomes
    /// 256·⌈b/2⌉ (one to four super-blocks for the shapes above).
    static func width(_ k: Int, _ type: QuantBlockType) -> Int {
        type.blockElements == 32 ? k : (k / 32 + 1) / 2 * 256
    }

    /// `shapes` with the width adapted to `type`.
    static func shapes(for type: QuantBlockType) -> [(m: Int, n: Int, k: Int)] { shapes.map { ($0.m, $0.n, width($0.k, type)) } }

    func testForwardMatchesTheReferenceOnOddShapesForEveryBlockTypeAndISA() { forEachISA { isa in
        for type in QuantBlockType.allCases {
            for (m, n, k) in Self.shapes(for: type) {
                let w = randomWeight(type, rows: n, cols: k)
                let x = uniform(m * k, scale: 3)
                var out = [Float](repeating: .nan, count: m * n)
                x.withUnsafeBufferPointer { xp in
                    out.withUnsafeMutableBufferPointer { QuantGemm.forward(x: xp.baseAddress!, rows: m, weight: w, out: $0.baseAddress!, accumulate: false, threads: 1) }
                }
                let (sameInputs, exact) = x.withUnsafeBufferPointer { xp in
                    (QuantGemm.reference(x: xp.baseAddress!, rows: m, weight: w, quantizeActivations: true),
                     QuantGemm.reference(x: xp.baseAddress!, rows: m, weight: w, quantizeActivations: false))
                }
                // Against the same quantized activations, only float rounding separates them.
                let wf = w.dequantized().data
                for i in 0..<m {
                    for j in 0..<n {
                        var magnitude = 0.0, bound = 0.0
                        for blk in 0..<(k / 32) {
                            let xs = x[(i * k + blk * 32)..<(i * k + blk * 32 + 32)]
                            let amax = Double(xs.map(abs).max()!)
                            for t in (blk * 32)..<(blk * 32 + 32) {
                                magnitude += abs(Double(x[i * k + t]) * Double(wf[j * k + t]))
                                bound += abs(Double(wf[j * k + t])) * amax / 254   // half a quantization step of x
                            }
                        }
                        let got = Double(out[i * n + j])
                        XCTAssertEqual(got, sameInputs[i * n + j], accuracy: 1e-5 * (1 + magnitude), "\(isa.name) \(type.name) \(m)x\(n)x\(k) [\(i), \(j)]")
                        XCTAssertLessThanOrEqual(abs(got - exact[i * n + j]), bound * 1.001 + 1e-5 * (1 + magnitude),
                                                 "\(isa.name) \(type.name) \(m)x\(n)x\(k) [\(i), \(j)] beyond the activation-rounding bound")
                    }
                }
            }
        }
    } }

    func testForwardAccumulatesAndTwoThreadsGiveTheSameBits() { forEachISA { isa in
        for type in QuantBlockType.allCases {
            let (m, n, k) = (37, 130, Self.width(288, type))
            let w = randomWeight(type, rows: n, cols: k)
            let x = uniform(m * k)
            let start = uniform(m * n)
            var one = start, two = start, fresh = [Float](repeating: 0, count: m * n)
            x.withUnsafeBufferPointer { xp in
                one.withUnsafeMutableBufferPointer { QuantGemm.forward(x: xp.baseAddress!, rows: m, weight: w, out: $0.baseAddress!, accumulate: true, threads: 1) }
                two.withUnsafeMutableBufferPointer { QuantGemm.forward(x: xp.baseAddress!, rows: m, weight: w, out: $0.baseAddress!, accumulate: true, threads: 2) }
                fresh.withUnsafeMutableBufferPointer { QuantGemm.forward(x: xp.baseAddress!, rows: m, weight: w, out: $0.baseAddress!, accumulate: false, threads: 1) }
            }
            XCTAssertEqual(one, two, "\(isa.name) \(type.name)")
            for i in 0..<(m * n) { XCTAssertEqual(one[i], start[i] + fresh[i], accuracy: 1e-5 * (1 + abs(one[i])), "\(isa.name) \(type.name)") }
            // The input quantized once beforehand (q, k and v share it): the same bits.
            var shared = [Float](repeating: 0, count: m * n)
            x.withUnsafeBufferPointer { xp in
                let q = QuantGemm.QuantizedRows(xp.baseAddress!, rows: m, cols: k, threads: 2)
                shared.withUnsafeMutableBufferPointer {
                    QuantGemm.forward(x: xp.baseAddress!, rows: m, weight: w, out: $0.baseAddress!, accumulate: false, threads: 2, quantized: q)
                }
            }
            XCTAssertEqual(shared, fresh, "\(isa.name) \(type.name): pre-quantized input")
        }
    } }

    /// The 512-bit and 256-bit VNNI kernels and the AVX2 one form the same integer dot products,
    /// so they agree to float rounding on a model-sized product (Q8_0 weights: the paths differ
    /// most there; the 512-bit tile removes Q8_0's +128 in F32).
    func testVNNIAndAVX2AgreeOnAModelShape() throws {
        try XCTSkipUnless(QuantGemm.availableISA >= .avx512VNNI256, "this CPU has no AVX512-VNNI")
        defer { QuantGemm.limitISA(nil) }
        for type in QuantBlockType.allCases {
            let (m, n, k) = (67, 200, Self.width(576, type))
            let w = randomWeight(type, rows: n, cols: k)
            let x = uniform(m * k, scale: 2)
            var results: [[Float]] = []
            for isa in [QuantKernelISA.avx512VNNI, .avx512VNNI256, .avx2] {
                QuantGemm.limitISA(isa)
                var out = [Float](repeating: .nan, count: m * n)
                x.withUnsafeBufferPointer { xp in
                    out.withUnsafeMutableBufferPointer { QuantGemm.forward(x: xp.baseAddress!, rows: m, weight: w, out: $0.baseAddress!, accumulate: false, threads: 2) }
                }
                results.append(out)
            }
            let scale = results[2].map(abs).max()!
            for r in 0..<2 {
                for i in 0..<(m * n) { XCTAssertEqual(results[r][i], results[2][i], accuracy: 1e-5 * scale, "\(type.name) ISA \(r) at \(i)") }
            }
        }
    }

    func testPanelBackwardMatchesTheReferenceOnOddShapesForEveryBlockType() {
        for type in QuantBlockType.allCases {
            for (m, n, k) in Self.shapes(for: type) {
                let w = randomWeight(type, rows: n, cols: k)
                let dy = uniform(m * n)
                let start = uniform(m * k)
                var dx = [Float](repeating: .nan, count: m * k), acc = start
                dy.withUnsafeBufferPointer { dp in
                    dx.withUnsafeMutableBufferPointer { QuantGemm.backward(dOut: dp.baseAddress!, rows: m, weight: w, dInput: $0.baseAddress!, accumulate: false, threads: 1, path: .panels) }
                    acc.withUnsafeMutableBufferPointer { QuantGemm.backward(dOut: dp.baseAddress!, rows: m, weight: w, dInput: $0.baseAddress!, accumulate: true, threads: 2, path: .panels) }
                }
                let ref = dy.withUnsafeBufferPointer { QuantGemm.backwardReference(dOut: $0.baseAddress!, rows: m, weight: w) }
                let scale = 1e-5 * (1 + ref.map(abs).max()!)
                for t in 0..<(m * k) {
                    XCTAssertEqual(Double(dx[t]), ref[t], accuracy: scale, "\(type.name) \(m)x\(n)x\(k) at \(t)")
                    XCTAssertEqual(Double(acc[t]), Double(start[t]) + ref[t], accuracy: scale * 2, "\(type.name) accumulate at \(t)")
                }
            }
        }
    }

    /// The transposed copy holds every column of `W` within half a Q8_0 step (of its block of
    /// 32 rows), zero-padded past the last row, for every block type and a row count that is
    /// not a multiple of 32; it is built once and counted.
    func testTransposedCopyHoldsEveryColumnWithinHalfAStep() {
        for type in QuantBlockType.allCases {
            let (rows, cols) = (45, Self.width(96, type))
            let w = randomWeight(type, rows: rows, cols: cols)
            XCTAssertEqual(w.transposedByteCount, 0, "built before the first use")
            let wf = w.dequantized().data
            var column = [Float](repeating: .nan, count: rows)
            for t in 0..<cols {
                column.withUnsafeMutableBufferPointer { w.transposedColumn(t, into: $0.baseAddress!) }
                for b in 0..<((rows + 31) / 32) {
                    let js = (b * 32)..<min(rows, b * 32 + 32)
                    let amax = js.map { abs(wf[$0 * cols + t]) }.max()!
                    for j in js {
                        XCTAssertLessThanOrEqual(abs(column[j] - wf[j * cols + t]), amax / 254 * 1.01 + amax * 1e-3, "\(type.name) W[\(j), \(t)]")
                    }
                }
            }
            XCTAssertEqual(w.transposedByteCount, cols / 8 * 2 * 272, "\(type.name): \(cols) rows of 64 (45 padded), Q8_0 records")
        }
    }

    /// The transposed-copy input gradient against the double reference on odd shapes, every
    /// block type and ISA: within the bound of rounding `dY` (half a step of its block of 32)
    /// and `Wᵀ` (half a Q8_0 step), and two threads and accumulation give the same bits.
    func testTransposedBackwardIsWithinItsRoundingBoundOnOddShapesForEveryBlockTypeAndISA() { forEachISA { isa in
        for type in QuantBlockType.allCases {
            for (m, n, k) in Self.shapes(for: type) + [(9, 70, Self.width(64, type))] {
                let w = randomWeight(type, rows: n, cols: k)
                let dy = uniform(m * n)
                let start = uniform(m * k)
                var dx = [Float](repeating: .nan, count: m * k), two = dx, acc = start
                dy.withUnsafeBufferPointer { dp in
                    dx.withUnsafeMutableBufferPointer { QuantGemm.backward(dOut: dp.baseAddress!, rows: m, weight: w, dInput: $0.baseAddress!, accumulate: false, threads: 1, path: .transposed) }
                    two.withUnsafeMutableBufferPointer { QuantGemm.backward(dOut: dp.baseAddress!, rows: m, weight: w, dInput: $0.baseAddress!, accumulate: false, threads: 2, path: .transposed) }
                    acc.withUnsafeMutableBufferPointer { QuantGemm.backward(dOut: dp.baseAddress!, rows: m, weight: w, dInput: $0.baseAddress!, accumulate: true, threads: 1, path: .transposed) }
                }
                XCTAssertEqual(dx, two, "\(isa.name) \(type.name) \(m)x\(n)x\(k): two threads")
                let ref = dy.withUnsafeBufferPointer { QuantGemm.backwardReference(dOut: $0.baseAddress!, rows: m, weight: w) }
                let wf = w.dequantized().data
                for i in 0..<m {
                    for t in 0..<k {
                        var bound = 0.0, magnitude = 0.0
                        for b in 0..<((n + 31) / 32) {
                            let js = (b * 32)..<min(n, b * 32 + 32)
                            let stepY = Double(js.map { abs(dy[i * n + $0]) }.max()!) / 254
                            let amaxW = Double(js.map { abs(wf[$0 * k + t]) }.max()!)
                            let stepW = amaxW / 254 * 1.01 + amaxW * 1e-3
                            for j in js {
                                let (y, v) = (Double(dy[i * n + j]), Double(wf[j * k + t]))
                                bound += abs(v) * stepY + abs(y) * stepW + stepY * stepW
                                magnitude += abs(y * v)
                            }
                        }
                        let at = "\(isa.name) \(type.name) \(m)x\(n)x\(k) [\(i), \(t)]"
                        XCTAssertLessThanOrEqual(abs(Double(dx[i * k + t]) - ref[i * k + t]), bound + 1e-5 * (1 + magnitude), at)
                        XCTAssertEqual(acc[i * k + t], start[i * k + t] + dx[i * k + t], accuracy: 1e-5 * (1 + abs(acc[i * k + t])), at)
                    }
                }
            }
        }
    } }

    /// The activation blocks (`ck_q8_quantize_rows`: scale, sums and the 32 codes) are the
    /// same bytes under every ISA: the 512-bit quantizer (16 blocks at a time, the rest of a
    /// row in a shorter group) and the 256-bit one it replaces there. Rows include a zero block,
    /// a block with one large entry, and halves that round either way; 10 blocks per row (one
    /// short group) and 50 (three groups of 16 and one of 2).
    func testActivationBlocksAreTheSameBytesUnderEveryISA() {
        for (m, k) in [(7, 320), (3, 1600)] {
            var x = uniform(m * k, scale: 3)
            for t in 0..<32 { x[t] = 0 }
            x[40] = 1e4
            for t in 64..<96 { x[t] = Float(t - 80) * 0.5 }   // amax 8: codes at exact halves of a step
            x[k + 17 * 32 + 5] = -2e3                          // the second row's block 17: past the first group of 16
            var blocks: [[UInt8]] = []
            forEachISA { isa in
                var aq = [ck_q8_block](repeating: ck_q8_block(), count: m * k / 32)
                x.withUnsafeBufferPointer { xp in aq.withUnsafeMutableBufferPointer { ck_q8_quantize_rows(xp.baseAddress!, Int32(m), Int32(k), k, $0.baseAddress!) } }
                for (b, block) in aq.enumerated() {   // d, and the sums the tiles use: s = d · Σq, bias = -128 · Σq
                    let codes = withUnsafeBytes(of: block.q) { $0.map { Int(Int8(bitPattern: $0)) } }
                    let sum = codes.reduce(0, +)
                    let amax = x[(b * 32)..<(b * 32 + 32)].map(abs).max()!
                    XCTAssertEqual(block.d, amax / 127, "\(isa) block \(b)")
                    XCTAssertEqual(Int(block.bias), -128 * sum, "\(isa) block \(b)")
                    XCTAssertEqual(block.s, block.d * Float(sum), "\(isa) block \(b)")
                    if amax > 0 { XCTAssertEqual(codes.map(abs).max(), 127, "\(isa) block \(b)") }
                }
                blocks.append(aq.withUnsafeBytes { Array($0) })
            }
            XCTAssertGreaterThanOrEqual(blocks.count, 2)
            for b in blocks.dropFirst() { XCTAssertEqual(b, blocks[0], "\(m) x \(k)") }
        }
    }

    /// Q8_0 weights made from F32 lie within half a step of the original values.
    func testQuantizingToQ8_0IsWithinHalfAStep() {
        let (rows, cols) = (5, 96)
        let x = uniform(rows * cols)
        let w = QuantizedMatrix(quantizingToQ8_0: Tensor(shape: [rows, cols], data: x))
        XCTAssertEqual(w.byteCount, (rows + 7) / 8 * 8 * cols / 32 * 34)   // 8-row groups, 34 bytes per block
        let back = w.dequantized().data
        for b in 0..<(rows * cols / 32) {
            let amax = x[(b * 32)..<(b * 32 + 32)].map(abs).max()!
            for t in (b * 32)..<(b * 32 + 32) {
                // Step d = amax / 127, rounded to f16 (relative error <= 2^-11) before use.
                XCTAssertLessThanOrEqual(abs(back[t] - x[t]), amax / 254 * 1.01 + amax * 1e-3, "element \(t)")
            }
        }
    }
}
