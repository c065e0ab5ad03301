import CKernels

/// Vector reductions shared by the backward kernels.
///
/// LLVM will not reassociate a scalar `Float` `+=` chain (no fast-math in Swift),
/// so a plain `for i in 0..<n { s += a[i] * b[i] }` loop stays scalar. These
/// helpers use two `SIMD8<Float>` accumulators (16 independent lanes), which also
/// makes them more accurate than a single running sum. Pointers may alias; the
/// helpers only read.
@usableFromInline
enum BackwardMath {
    /// `e^x` in `Float` without a libm call, so loops using it auto-vectorize
    /// (`expf` is an opaque call that keeps every loop scalar; this is ~3x faster
    /// on 786k elements). Cephes `expf` range reduction and polynomial: measured
    /// worst relative error 8.1e-8 (1.4 ulp) over [-87.3, 88.3], against 6e-8
    /// for glibc `expf`. Inputs are clamped to [-87.34, 88.38], so results never
    /// overflow to infinity, and underflow stops at the smallest normal float
    /// (1.2e-38) instead of reaching 0; NaN propagates.
    @inlinable @inline(__always)
    static func exp(_ input: Float) -> Float {
        var x = input
        x = x < -87.33654 ? -87.33654 : x
        x = x > 88.37626 ? 88.37626 : x
        // n = round(x / ln 2) by the 1.5·2²³ trick; t keeps n in its low mantissa bits.
        let t = x * 1.442_695_04 + 12_582_912
        let n = t - 12_582_912
        let r = x - n * 0.693_359_375 + n * 2.121_944_4e-4  // x - n ln2 (two-part ln 2)
        var p: Float = 1.987_569_15e-4
        p = p * r + 1.398_199_950_7e-3
        p = p * r + 8.333_451_907_3e-3
        p = p * r + 4.166_579_589_4e-2
        p = p * r + 1.666_666_545_9e-1
        p = p * r + 5.000_000_120_1e-1
        p = p * (r * r) + r + 1
        // 2^n assembled in the exponent field.
        let twoToN = Float(bitPattern: (t.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
        return p * twoToN
    }

    @inline(__always)
    static func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// `sum(a[i] * b[i])` for `i < n`.
    @usableFromInline
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            acc0 += load8(a + i) * load8(b + i)
            acc1 += load8(a + i + 8) * load8(b + i + 8)
            i += 16
        }
        if i + 8 <= n {
            acc0 += load8(a + i) * load8(b + i)
            i += 8
        }
        var s = (acc0 + acc1).sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// `sum(a[i] * b[i] * c[i])` for `i < n`.
    @usableFromInline
    static func dot3(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafePointer<Float>,
                     _ n: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            acc0 += load8(a + i) * load8(b + i) * load8(c + i)
            acc1 += load8(a + i + 8) * load8(b + i + 8) * load8(c + i + 8)
            i += 16
        }
        if i + 8 <= n {
            acc0 += load8(a + i) * load8(b + i) * load8(c + i)
            i += 8
        }
        var s = (acc0 + acc1).sum()
        while i < n { s += a[i] * b[i] * c[i]; i += 1 }
        return s
    }

    /// Largest of `a[0..<n]` (`-infinity` when `n == 0`; NaN entries are skipped), one `vmaxps`
    /// per 8 floats in C (`Sources/CKernels/reductions.c`).
    @usableFromInline
    static func max(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        ck_max_f32(a, n)
    }

    /// `dst[i] = exp(src[i] - shift)` for `i < n`, each element bit for bit `exp` above
    /// (`ck_exp_shifted`: the same operations in C, 8 lanes at a time; `dst` may be `src`).
    /// The scalar loop this replaced did not vectorize (the cross-entropy's and the attention
    /// softmax's exponentials ran in `vmulss`), and a SIMD8 loop in Swift is slow in debug builds.
    @inlinable @inline(__always)
    static func expShifted(_ src: UnsafePointer<Float>, minus shift: Float, into dst: UnsafeMutablePointer<Float>, _ n: Int) {
        ck_exp_shifted(src, shift, dst, n)
    }

    /// `sum(a[0..<n])` with 16 `Float` lanes.
    @usableFromInline
    static func sum(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        var i = 0
        while i + 16 <= n {
            acc0 += load8(a + i)
            acc1 += load8(a + i + 8)
            i += 16
        }
        if i + 8 <= n {
            acc0 += load8(a + i)
            i += 8
        }
        var s = (acc0 + acc1).sum()
        while i < n { s += a[i]; i += 1 }
        return s
    }

    /// `sum(a[0..<n])` with `Float` SIMD partial sums over blocks of 256 elements,
    /// accumulated across blocks in `Double` (for vocabulary-sized rows).
    @usableFromInline
    static func sumDouble(_ a: UnsafePointer<Float>, _ n: Int) -> Double {
        var total: Double = 0
        var start = 0
        while start < n {
            let end = Swift.min(start + 256, n)
            var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
            var i = start
            while i + 16 <= end {
                acc0 += load8(a + i)
                acc1 += load8(a + i + 8)
                i += 16
            }
            var s = (acc0 + acc1).sum()
            while i < end { s += a[i]; i += 1 }
            total += Double(s)
            start = end
        }
        return total
    }
}
