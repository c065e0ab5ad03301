/// SIMD8 forms of the gated-MLP activations (`Activation.swiGLU`, `GELU.geGLU` and their
/// backwards), written with explicit vectors so that they run 8 lanes wide whether or not the
/// compiler inlines them into the caller. An auto-vectorized scalar loop stopped vectorizing
/// once inlined into `TransformerBlock.forward` (scalar `mulss`/`divss`, ~11% of the f32
/// evaluation forward); these do not depend on that.
///
/// Every lane performs the same `Float` operations in the same order as the scalar tail that
/// finishes a count that is not a multiple of 8, so an element's result does not depend on
/// where it falls.
extension BackwardMath {
    @inline(__always)
    static func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
    }

    /// `BackwardMath.exp` on 8 lanes: the same clamps, range reduction and polynomial, operation
    /// for operation, so each lane equals the scalar result bit for bit.
    @inline(__always)
    static func exp(_ input: SIMD8<Float>) -> SIMD8<Float> {
        var x = input
        x.replace(with: -87.33654, where: x .< -87.33654)
        x.replace(with: 88.37626, where: x .> 88.37626)
        let t = x * 1.442_695_04 + 12_582_912
        let n = t - 12_582_912
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4
        var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        p = p * (r * r) + r + 1
        let bits = unsafeBitCast(t, to: SIMD8<UInt32>.self)
        let twoToN = unsafeBitCast((bits &- 0x4B40_0000 &+ 127) &<< 23, to: SIMD8<Float>.self)
        return p * twoToN
    }

    /// `|x|` on 8 lanes (the sign bit cleared, as `abs` does for a scalar).
    @inline(__always)
    static func magnitude(_ x: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF, to: SIMD8<Float>.self)
    }

    /// `sigmoid(x)` and `sigmoid(-x)` from `e = exp(-|x|)` without cancellation: `r = 1/(1+e)` is
    /// the larger of the two and `e·r` the smaller.
    @inline(__always)
    static func sigmoidPair(_ x: Float) -> (s: Float, oneMinusS: Float) {
        let e = exp(-abs(x))
        let r = 1 / (1 + e)
        return x >= 0 ? (r, e * r) : (e * r, r)
    }

    @inline(__always)
    static func sigmoidPair(_ x: SIMD8<Float>) -> (s: SIMD8<Float>, oneMinusS: SIMD8<Float>) {
        let e = exp(-magnitude(x))
        let r = 1 / (1 + e)
        let er = e * r
        let positive = x .>= 0
        return (er.replacing(with: r, where: positive), r.replacing(with: er, where: positive))
    }
}
