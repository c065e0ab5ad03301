import Foundation

/// GeGLU, the gated MLP of Gemma: `gelu(gate) * up` with the tanh-approximated GELU
/// (`gelu_pytorch_tanh` in transformers, `torch.nn.functional.gelu(x, approximate="tanh")`):
/// `gelu(x) = x/2 · (1 + tanh(z))`, `z = √(2/π) · (x + 0.044715 x³)`.
///
/// The kernels use the identity `1 + tanh(z) = 2·sigmoid(2z)`, so `gelu(x) = x / (1 + e^(-2z))`:
/// the same form as SiLU, through the vectorizable `BackwardMath.exp` instead of a libm `tanhf`
/// call per element, with no cancellation anywhere (`1 + tanh(z)` for very negative `z` loses
/// every digit; `1 + e^(-2z)` loses none). 8 lanes at a time with explicit `SIMD8<Float>`.
public enum GELU {
    @usableFromInline static let c0: Float = 0.7978845608028654   // √(2/π)
    @usableFromInline static let c1: Float = 0.044715

    /// The tanh-approximated GELU of one value, through libm's `tanhf` (the textbook form; the
    /// kernels below use the sigmoid form).
    @inlinable
    public static func tanhApproximation(_ x: Float) -> Float {
        0.5 * x * (1 + tanhf(c0 * (x + c1 * x * x * x)))
    }

    /// `out[i] = gelu(gate[i]) * up[i]` for `count` elements (`out` may be `gate` or `up`).
    public static func geGLU(gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                             out: UnsafeMutablePointer<Float>, count: Int) {
        ComputeThreads.elementwise(count) { a, b in geGLURange(gate: gate + a, up: up + a, out: out + a, count: b - a) }
    }

    /// `geGLU` over one range of the elements.
    private static func geGLURange(gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                                   out: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let x = BackwardMath.load8(gate + i)
            let cube = c1 * x * x * x
            let twoZ = 2 * c0 * (x + cube)
            BackwardMath.store8(x / (1 + BackwardMath.exp(-twoZ)) * BackwardMath.load8(up + i), out + i)
            i += 8
        }
        while i < count {
            let x = gate[i]
            let cube = c1 * x * x * x
            let twoZ = 2 * c0 * (x + cube)
            out[i] = x / (1 + BackwardMath.exp(-twoZ)) * up[i]
            i += 1
        }
    }

    /// Backward of `geGLU`: `dGate = dOut · up · gelu'(gate)`, `dUp = dOut · gelu(gate)`. With
    /// `s = sigmoid(2z)` (`= (1 + tanh z)/2`), `gelu(x) = x·s` and
    /// `gelu'(x) = s + 2x·s·(1 − s)·√(2/π)·(1 + 3·0.044715·x²)`.
    /// The outputs must not overlap the inputs.
    public static func geGLUBackward(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                                     dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>, count: Int) {
        ComputeThreads.elementwise(count) { a, b in
            geGLUBackwardRange(gate: gate + a, up: up + a, dOut: dOut + a, dGate: dGate + a, dUp: dUp + a, count: b - a)
        }
    }

    /// `geGLUBackward` over one range of the elements.
    private static func geGLUBackwardRange(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                                           dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let x = BackwardMath.load8(gate + i), u = BackwardMath.load8(up + i), d = BackwardMath.load8(dOut + i)
            let cube = c1 * x * x * x
            let (s, oneMinusS) = BackwardMath.sigmoidPair(2 * c0 * (x + cube))
            let slope = 1 + 3 * c1 * x * x
            let k = 2 * x * s * oneMinusS
            let derivative = s + k * c0 * slope
            BackwardMath.store8(d * u * derivative, dGate + i)
            BackwardMath.store8(d * x * s, dUp + i)
            i += 8
        }
        while i < count {
            let x = gate[i], u = up[i], d = dOut[i]
            let cube = c1 * x * x * x
            let (s, oneMinusS) = BackwardMath.sigmoidPair(2 * c0 * (x + cube))
            let slope = 1 + 3 * c1 * x * x
            let k = 2 * x * s * oneMinusS
            let derivative = s + k * c0 * slope
            dGate[i] = d * u * derivative
            dUp[i] = d * x * s
            i += 1
        }
    }

    /// Naive tanh-approximated GELU in double precision.
    public static func reference(_ x: Float) -> Float {
        let d = Double(x)
        return Float(0.5 * d * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d))))
    }
}
