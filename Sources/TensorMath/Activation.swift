import Foundation

/// SiLU (`x * sigmoid(x)`) and the SwiGLU gate `silu(gate) * up` of the Llama MLP.
public enum Activation {
    /// `out[i] = silu(gate[i]) * up[i]` for `count` elements (`out` may be `gate` or `up`).
    ///
    /// Uses the vectorizable `BackwardMath.exp` (within 1.4 ulp of `expf`), 8 lanes at a time
    /// with explicit `SIMD8<Float>` (see `BackwardMath+SIMD8.swift`); each element is
    /// `gate / (1 + exp(-gate)) * up`, bit for bit the scalar loop's result.
    public static func swiGLU(gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                              out: UnsafeMutablePointer<Float>, count: Int) {
        ComputeThreads.elementwise(count) { a, b in swiGLURange(gate: gate + a, up: up + a, out: out + a, count: b - a) }
    }

    /// `swiGLU` over one range of the elements.
    private static func swiGLURange(gate: UnsafePointer<Float>, up: UnsafePointer<Float>,
                                    out: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 8 <= count {
            let g = BackwardMath.load8(gate + i)
            BackwardMath.store8(g / (1 + BackwardMath.exp(-g)) * BackwardMath.load8(up + i), out + i)
            i += 8
        }
        while i < count {
            let g = gate[i]
            out[i] = g / (1 + BackwardMath.exp(-g)) * up[i]
            i += 1
        }
    }

    /// Tensor convenience for `swiGLU`.
    public static func swiGLU(gate: Tensor, up: Tensor) -> Tensor {
        precondition(gate.shape == up.shape, "swiglu shapes \(gate.shape) vs \(up.shape)")
        var y = Tensor(zeros: gate.shape)
        gate.data.withUnsafeBufferPointer { g in
            up.data.withUnsafeBufferPointer { u in
                y.data.withUnsafeMutableBufferPointer { o in
                    swiGLU(gate: g.baseAddress!, up: u.baseAddress!, out: o.baseAddress!, count: gate.count)
                }
            }
        }
        return y
    }

    /// Naive SiLU in double precision.
    public static func referenceSiLU(_ x: Float) -> Float {
        let d = Double(x)
        return Float(d / (1 + Foundation.exp(-d)))
    }

    /// Naive SwiGLU reference.
    public static func referenceSwiGLU(gate: [Float], up: [Float]) -> [Float] {
        zip(gate, up).map { referenceSiLU($0) * $1 }
    }
}
