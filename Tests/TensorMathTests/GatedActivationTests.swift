import Foundation
import XCTest
@testable import TensorMath

/// The SIMD8 gated-MLP kernels (`Activation.swiGLU`, `GELU.geGLU` and their backwards) against
/// scalar loops. SwiGLU must equal the scalar loop it replaced bit for bit (the SmolLM2 golden
/// tests depend on it); GeGLU (now the sigmoid form of the tanh GELU) against double precision.
final class GatedActivationTests: XCTestCase {
    /// 1003 elements (125 SIMD blocks and a tail of 3): random gates of several scales, then
    /// values at the edges of `exp`'s clamps, zeros of both signs and huge values.
    static let gates: [Float] = {
        var rng = SeededRandom(seed: 5)
        var g = (0..<1003).map { i in rng.normal() * [0.5, 3, 12][i % 3] }
        let edges: [Float] = [0, -0, 1e-30, -1e-30, 20, -20, 87.5, -87.5, 88.5, -88.5, 200, -200, 1e30, -1e30, 3e38, -3e38]
        for (i, e) in edges.enumerated() { g[100 + 7 * i] = e; g[1003 - 1 - i % 3] = e }
        return g
    }()
    static let ups: [Float] = { var rng = SeededRandom(seed: 6); return (0..<1003).map { _ in rng.normal() } }()
    static let dOuts: [Float] = { var rng = SeededRandom(seed: 7); return (0..<1003).map { _ in rng.normal() } }()

    func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }

    /// Tolerance 0: every element, including the scalar tail, equals the scalar loop
    /// `gate / (1 + exp(-gate)) * up` that the kernel had before it was vectorized by hand.
    func testSwiGLUEqualsTheScalarLoopBitForBit() {
        let g = Self.gates, u = Self.ups
        var out = [Float](repeating: .nan, count: g.count)
        Activation.swiGLU(gate: g, up: u, out: &out, count: g.count)
        let scalar = zip(g, u).map { g, u in g / (1 + BackwardMath.exp(-g)) * u }
        XCTAssertEqual(bits(out), bits(scalar))
        // Aliased output (out == gate), as the Tensor convenience does not but callers may.
        var inPlace = g
        inPlace.withUnsafeMutableBufferPointer { p in Activation.swiGLU(gate: p.baseAddress!, up: u, out: p.baseAddress!, count: g.count) }
        XCTAssertEqual(bits(inPlace), bits(scalar))
        // And within 2e-6 relative (or 1e-30 absolute) of double precision.
        let reference = Activation.referenceSwiGLU(gate: g, up: u)
        for i in g.indices where g[i].magnitude < 1e30 {
            XCTAssertEqual(out[i], reference[i], accuracy: max(2e-6 * reference[i].magnitude, 1e-30), "element \(i), gate \(g[i])")
        }
    }

    /// Tolerance 0 against the scalar loop of the previous `swiGLUBackward`.
    func testSwiGLUBackwardEqualsTheScalarLoopBitForBit() {
        let g = Self.gates, u = Self.ups, d = Self.dOuts
        var dGate = [Float](repeating: .nan, count: g.count), dUp = dGate
        Activation.swiGLUBackward(gate: g, up: u, dOut: d, dGate: &dGate, dUp: &dUp, count: g.count)
        var expectedGate = dGate, expectedUp = dUp
        for i in g.indices {
            let e = BackwardMath.exp(-abs(g[i]))
            let r = 1 / (1 + e)
            let s = g[i] >= 0 ? r : e * r
            let oneMinusS = g[i] >= 0 ? e * r : r
            expectedUp[i] = d[i] * g[i] * s
            expectedGate[i] = d[i] * u[i] * s * (1 + g[i] * oneMinusS)
        }
        XCTAssertEqual(bits(dGate), bits(expectedGate))
        XCTAssertEqual(bits(dUp), bits(expectedUp))
    }

    /// `(1 + tanh z)/2 = sigmoid(2z)` and `(1 - tanh z)/2` for the tanh GELU's `z`, in double
    /// precision without cancellation (`1 + tanh z` in double is 0 from x ≈ -8 on).
    static func sigmoidOfTwoZ(_ x: Double) -> (s: Double, oneMinusS: Double) {
        let z = (2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)
        return (1 / (1 + Foundation.exp(-2 * z)), 1 / (1 + Foundation.exp(2 * z)))
    }

    /// GeGLU forward within 1e-5 relative (1e-30 absolute near 0) of `x·(1 + tanh z)/2 · up` in
    /// double precision (measured 3.5e-6: for negative x, `e^(-2z)` inherits the float rounding
    /// of its argument, |2z|·2^-24 relative); SIMD lanes and the scalar tail agree bit for bit.
    func testGeGLUMatchesDoublePrecision() {
        let g = Self.gates, u = Self.ups
        var out = [Float](repeating: .nan, count: g.count)
        GELU.geGLU(gate: g, up: u, out: &out, count: g.count)
        var worst: Double = 0
        for i in g.indices where g[i].magnitude < 1e10 {
            let x = Double(g[i])
            let expected = x * Self.sigmoidOfTwoZ(x).s * Double(u[i])
            let error = abs(Double(out[i]) - expected)
            XCTAssertLessThanOrEqual(error, max(1e-5 * abs(expected), 1e-30), "element \(i), gate \(g[i])")
            if abs(expected) > 1e-20 { worst = max(worst, error / abs(expected)) }
        }
        var tail = [Float](repeating: .nan, count: 5)
        GELU.geGLU(gate: Array(g[16..<21]), up: Array(u[16..<21]), out: &tail, count: 5)   // all scalar
        XCTAssertEqual(bits(tail), bits(Array(out[16..<21])))
        print("geGLU vs double precision: worst relative error \(worst)")
    }

    /// GeGLU backward against the derivative of the tanh form in double precision: dGate within
    /// 1e-5 relative (1e-6 absolute: the derivative crosses zero near x = -0.75), dUp within 1e-5.
    func testGeGLUBackwardMatchesDoublePrecision() {
        let g = Self.gates, u = Self.ups, d = Self.dOuts
        var dGate = [Float](repeating: .nan, count: g.count), dUp = dGate
        GELU.geGLUBackward(gate: g, up: u, dOut: d, dGate: &dGate, dUp: &dUp, count: g.count)
        let c0 = (2 / Double.pi).squareRoot()
        for i in g.indices where g[i].magnitude < 1e10 {
            let x = Double(g[i])
            // d/dx [x/2 (1 + tanh z)] = (1 + t)/2 + x/2 (1 - t²) z', with (1 ± t)/2 from sigmoidOfTwoZ.
            let (s, oneMinusS) = Self.sigmoidOfTwoZ(x)
            let derivative = s + 2 * x * s * oneMinusS * c0 * (1 + 3 * 0.044715 * x * x)
            let expectedGate = Double(d[i]) * Double(u[i]) * derivative
            let expectedUp = Double(d[i]) * x * s
            XCTAssertEqual(Double(dGate[i]), expectedGate, accuracy: max(1e-5 * abs(expectedGate), 1e-6), "dGate \(i), gate \(g[i])")
            XCTAssertEqual(Double(dUp[i]), expectedUp, accuracy: max(1e-5 * abs(expectedUp), 1e-30), "dUp \(i), gate \(g[i])")
        }
    }

    /// NaN propagates through every kernel.
    func testNaNPropagates() {
        let g: [Float] = Array(repeating: 1, count: 8) + [.nan], u = [Float](repeating: 1, count: 9)
        var out = [Float](repeating: 0, count: 9), dg = out, du = out
        var nanGate = g; nanGate[3] = .nan
        Activation.swiGLU(gate: nanGate, up: u, out: &out, count: 9)
        XCTAssertTrue(out[3].isNaN && out[8].isNaN && !out[0].isNaN)
        GELU.geGLU(gate: nanGate, up: u, out: &out, count: 9)
        XCTAssertTrue(out[3].isNaN && out[8].isNaN && !out[0].isNaN)
        GELU.geGLUBackward(gate: nanGate, up: u, dOut: u, dGate: &dg, dUp: &du, count: 9)
        XCTAssertTrue(dg[3].isNaN && du[8].isNaN && !dg[0].isNaN)
        Activation.swiGLUBackward(gate: nanGate, up: u, dOut: u, dGate: &dg, dUp: &du, count: 9)
        XCTAssertTrue(dg[3].isNaN && du[8].isNaN && !dg[0].isNaN)
    }
}
