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
    /// within 1.4 ulp of `expf`).
    ///
    /// Buffers are meant to be distinct. Each element's three inputs are read before
    /// its two outputs are written, so exact element-for-element aliasing of
    /// `dGate` with `gate` (or `dOut`) and of `dUp` with `up` is also safe, but
    /// `dGate` and `dUp` must not overlap each other and no buffer may partially overlap another.
    public static func swiGLUBackward(
        gate: UnsafePointer<Float>, up: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
        dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>, count: Int
    ) {
        for i in 0..<count {
            let g = gate[i], u = up[i], d = dOut[i]
            // e = exp(-|g|) lies in (0, 1], so nothing overflows for any finite gate, and
            // 1 - s is formed without cancellation for large positive g.
            let e = BackwardMath.exp(-abs(g))
            let r = 1 / (1 + e)
            let s = g >= 0 ? r : e * r            // sigmoid(g)
            let oneMinusS = g >= 0 ? e * r : r    // sigmoid(-g)
            dUp[i] = d * g * s
            dGate[i] = d * u * s * (1 + g * oneMinusS)
        }
    }
}
