import CKernels
import XCTest
@testable import TensorMath

/// `IEEEHalf` (and `ck_f32_to_f16` / `ck_f16_to_f32`) against Swift's own `Float16` conversions,
/// an independent reference: round to nearest, ties to even, subnormal halves, overflow.
final class IEEEHalfTests: XCTestCase {
    /// Values at every edge of the half format, then random ones over its whole exponent range
    /// and beyond (1003 in all: the 8-lane loop's body and its tail).
    func edgeAndRandomValues() -> [Float] {
        var v: [Float] = [0, -0, 1, -1, 0.5, 65504, -65504, 65519.996, 65520, 1e6, .greatestFiniteMagnitude, .infinity,
                          -.infinity, 0x1p-14, 0x1p-14 - 0x1p-25, 0x1p-24, 0x1p-25, 0x1p-25 + 0x1p-40, 3 * 0x1p-25,
                          0x1p-26, 0x1p-126, Float(bitPattern: 1), 1 + 0x1p-11, 1 + 3 * 0x1p-11, 1 + 0x1p-11 + 0x1p-20,
                          2047 * 0x1p-11, 0.999999]
        var rng = SeededRandom(seed: 11)
        while v.count < 1003 {
            let exponent = Float(Int(rng.next() % 50)) - 32  // 2^-32 ... 2^17
            let sign: Float = rng.next() % 2 == 0 ? 1 : -1
            v.append(sign * (1 + rng.uniform()) * Float(sign: .plus, exponent: Int(exponent), significand: 1))
        }
        return v
    }

    func testStoreMatchesSwiftFloat16BitForBit() {
        let values = edgeAndRandomValues()
        var fast = [UInt16](repeating: 0, count: values.count), reference = fast
        fast.withUnsafeMutableBytes { IEEEHalf.store(values, into: $0.baseAddress!, count: values.count) }
        reference.withUnsafeMutableBytes { ck_f32_to_f16_reference(values, $0.baseAddress!, values.count) }
        for (i, x) in values.enumerated() {
            let expected = Float16(x).bitPattern
            XCTAssertEqual(fast[i], expected, "\(x) (\(String(x.bitPattern, radix: 16)))")
            XCTAssertEqual(reference[i], expected, "reference: \(x)")
        }
    }

    func testNaNStaysNaN() {
        let values: [Float] = [.nan, -.nan, .signalingNaN, Float(bitPattern: 0x7FFF_FFFF), Float(bitPattern: 0xFF80_0001)]
        var fast = [UInt16](repeating: 0, count: 9), reference = fast, back = [Float](repeating: 0, count: 9)
        let nine = values + values.prefix(4)  // 8 through the vector loop, one through the tail
        fast.withUnsafeMutableBytes { IEEEHalf.store(nine, into: $0.baseAddress!, count: 9) }
        reference.withUnsafeMutableBytes { ck_f32_to_f16_reference(nine, $0.baseAddress!, 9) }
        XCTAssertEqual(fast, reference, "the portable conversion keeps NaN payloads as F16C does")
        fast.withUnsafeBytes { IEEEHalf.load($0.baseAddress!, into: &back, count: 9) }
        XCTAssertTrue(back.allSatisfy(\.isNaN))
        XCTAssertTrue(fast.allSatisfy { Float16(bitPattern: $0).isNaN })
    }

    /// Every one of the 65536 halves loads as Swift's conversion gives it (NaN as a NaN).
    func testLoadIsExactForEveryHalf() {
        let all = (0...UInt16.max).map { $0 }
        var back = [Float](repeating: 0, count: all.count)
        all.withUnsafeBytes { IEEEHalf.load($0.baseAddress!, into: &back, count: all.count) }
        for (h, x) in zip(all, back) {
            let expected = Float(Float16(bitPattern: h))
            if expected.isNaN { XCTAssertTrue(x.isNaN, "\(h)") } else { XCTAssertEqual(x.bitPattern, expected.bitPattern, "\(h)") }
        }
    }

    /// The visible probabilities come back as their halves, and the causally masked entries are
    /// neither stored nor touched, with and without a cache offset.
    func testVisibleProbabilitiesRoundTripAndLeaveTheMaskedEntries() {
        for shape in [AttentionShape(batch: 2, queries: 70, keys: 70, heads: 3, kvHeads: 1, headDim: 4),
                      AttentionShape(batch: 1, queries: 40, keys: 100, heads: 2, kvHeads: 2, headDim: 4)] {
            let total = shape.batch * shape.heads * shape.queries * shape.keys
            var rng = SeededRandom(seed: 5)
            let p = (0..<total).map { _ in rng.uniform() }
            var visible = [[Bool]](repeating: [Bool](repeating: false, count: shape.keys), count: shape.queries)
            for (i0, i1, kEnd) in shape.causalBlocks { for i in i0..<i1 { for j in 0..<kEnd { visible[i][j] = true } } }
            let perMatrix = visible.joined().filter { $0 }.count
            XCTAssertEqual(shape.visibleProbabilityCount, shape.batch * shape.heads * perMatrix)
            var stored = [UInt16](repeating: 0, count: shape.visibleProbabilityCount)
            var back = [Float](repeating: -7, count: total)
            stored.withUnsafeMutableBytes { IEEEHalf.storeVisible(p, shape: shape, into: $0.baseAddress!) }
            stored.withUnsafeBytes { IEEEHalf.loadVisible($0.baseAddress!, shape: shape, into: &back) }
            for m in 0..<(shape.batch * shape.heads) {
                for i in 0..<shape.queries {
                    for j in 0..<shape.keys {
                        let at = (m * shape.queries + i) * shape.keys + j
                        XCTAssertEqual(back[at], visible[i][j] ? Float(Float16(p[at])) : -7, "matrix \(m), row \(i), key \(j)")
                    }
                }
            }
        }
    }
}
