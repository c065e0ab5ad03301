import XCTest
@testable import TensorMath

final class BFloat16Tests: XCTestCase {
    func roundTrip(_ values: [Float]) -> [Float] {
        var halves = [UInt16](repeating: 0, count: values.count)
        var back = [Float](repeating: 0, count: values.count)
        halves.withUnsafeMutableBytes { h in
            BFloat16.store(values, into: h.baseAddress!, count: values.count)
            BFloat16.load(UnsafeRawPointer(h.baseAddress!), into: &back, count: values.count)
        }
        return back
    }

    /// Values with 8 significant bits come back exactly; others round to the nearest bfloat16,
    /// ties to the even one; infinities stay, NaN stays NaN.
    func testRoundsToNearestEvenAndKeepsSpecialValues() {
        let exact: [Float] = [0, -0, 1, -2.5, 3.140625, 0x1p100, -0x1p-100, .infinity, -.infinity, Float(bitPattern: 0x0001_0000)]
        XCTAssertEqual(roundTrip(exact).map(\.bitPattern), exact.map(\.bitPattern))
        // 1 + 2^-8 lies halfway between 1 and 1 + 2^-7: ties to even (1). 1 + 3·2^-8 ties up to 1 + 2^-6.
        // 1 + 2^-8 + 2^-20 is above the tie: 1 + 2^-7.
        let ties: [Float] = [1 + 0x1p-8, 1 + 3 * 0x1p-8, 1 + 0x1p-8 + 0x1p-20, -(1 + 0x1p-8 + 0x1p-20)]
        XCTAssertEqual(roundTrip(ties), [1, 1 + 0x1p-6, 1 + 0x1p-7, -(1 + 0x1p-7)])
        // The largest float rounds up to infinity, as IEEE rounding does.
        XCTAssertEqual(roundTrip([.greatestFiniteMagnitude]), [.infinity])
        XCTAssertTrue(roundTrip([.nan, -.nan, Float(bitPattern: 0x7FFF_FFFF)]).allSatisfy(\.isNaN))
    }

    /// Over many values (a vectorized loop's body and its tail): relative error at most half a unit in the last of 8 significant bits, 2^-8.
    func testRelativeErrorIsAtMostHalfAnUlp() {
        var rng = SeededRandom(seed: 4)
        let values = (0..<1003).map { _ in rng.normal() * 1000 }
        for (x, y) in zip(values, roundTrip(values)) {
            XCTAssertLessThanOrEqual(abs(y - x), abs(x) * 0x1p-8, "\(x) -> \(y)")
        }
    }
}
