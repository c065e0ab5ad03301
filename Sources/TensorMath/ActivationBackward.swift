extension Activation {
    /// Backward of `swiGLU(gate:up:out:count:)`, `out = silu(gate) * up`.
    ///
    /// With `s = sigmoid(gate)`:
    ///
    ///     dUp[i]   = dOut[i] * gate[i] * s
    ///     dGate[i] = dOut[i] * up[i] * s * (1 + gate[i] * (1 - s))
    ///
    /// WRITES (does not add) `dGate` and `dUp`: the gate/up projections feed only
    /// this op, so there is nothing to accumulate. No forward state is needed;
    /// the sigmoid is recomputed from `gate` (with the vectorizable `BackwardMath.exp`,
    /// within 1.4 ulp of `expf`), 8 lanes at a time with explicit `SIMD8<Float>`; each lane
    /// performs the scalar tail's operations in the same order.
    ///
    /// Buffers are meant to be distinct. Each element's three inputs are read before
    /// its two outputs are written, so exact element-for-element aliasing of
    /// `dGate` with `gate` (or `dOut`) and of `dUp` with `up` is also safe, but
    /// `dGate` and `dUp` must not overlap each other and no buffer may partially overlap another.
    public static func swiGLUBackward(
        gate: UnsafePointer<Float>, up: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
        dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>, count: Int
    ) {
        ComputeThreads.elementwise(count) { a, b in
            swiGLUBackwardRange(gate: gate + a, up: up + a, dOut: dOut + a, dGate: dGate + a, dUp: dUp + a, count: b - a)
        }
    }

    /// `swiGLUBackward` over one range of the elements.
    private static func swiGLUBackwardRange(
        gate: UnsafePointer<Float>, up: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
        dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>, count: Int
    ) {
        // e = exp(-|g|) lies in (0, 1], so nothing overflows for any finite gate, and
        // 1 - s is formed without cancellation for large positive g (`sigmoidPair`).
        var i = 0
        while i + 8 <= count {
            let g = BackwardMath.load8(gate + i), u = BackwardMath.load8(up + i), d = BackwardMath.load8(dOut + i)
            let (s, oneMinusS) = BackwardMath.sigmoidPair(g)
            BackwardMath.store8(d * g * s, dUp + i)
            BackwardMath.store8(d * u * s * (1 + g * oneMinusS), dGate + i)
            i += 8
        }
        while i < count {
            let g = gate[i], u = up[i], d = dOut[i]
            let (s, oneMinusS) = BackwardMath.sigmoidPair(g)
            dUp[i] = d * g * s
            dGate[i] = d * u * s * (1 + g * oneMinusS)
            i += 1
        }
    }
}
