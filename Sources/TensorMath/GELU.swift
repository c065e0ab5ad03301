import Foundation

/// GeGLU, the gated MLP of Gemma: `gelu(gate) * up` with the tanh-approximated GELU
/// (`gelu_pytorch_tanh` in transformers, `torch.nn.functional.gelu(x, approximate="tanh")`):
/// `gelu(x) = x/2 · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`.
public enum GELU {
    @usableFromInline static let c0: Float = 0.7978845608028654   // √(2/π)
    @usableFromInline static let c1: Float = 0.044715

    /// The tanh-approximated GELU of one value.
    @inlinable
    public static func tanhApproximation(_ x: Float) -> Float {
        0.5 * x * (1 + tanhf(c0 * (x + c1 * x * x * x)))
    }

    /// `out[i] = gelu(gate[i]) * up[i]` for `count` elements (`out` may be `gate` or `up`).
    @inlinable
    public static func geGLU(gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                             out: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = tanhApproximation(gate[i]) * up[i] }
    }

    /// Backward of `geGLU`: `dGate = dOut · up · gelu'(gate)`, `dUp = dOut · gelu(gate)`.
    /// The outputs must not overlap the inputs.
    @inlinable
    public static func geGLUBackward(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                                     dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count {
            let x = gate[i]
            let t = tanhf(c0 * (x + c1 * x * x * x))
            let derivative = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c0 * (1 + 3 * c1 * x * x)
            dGate[i] = dOut[i] * up[i] * derivative
            dUp[i] = dOut[i] * 0.5 * x * (1 + t)
        }
    }

    /// Naive tanh-approximated GELU in double precision.
    public static func reference(_ x: Float) -> Float {
        let d = Double(x)
        return Float(0.5 * d * (1 + Foundation.tanh((2 / Double.pi).squareRoot() * (d + 0.044715 * d * d * d))))
    }
}
