/// Turns raw GGUF tensor bytes into `Float`, following ggml's block layouts.
///
/// Each routine reads `count` elements from `src` (whole blocks) into `dst`.
enum Dequantize {
    static func run(_ type: GGMLType, src: UnsafeRawPointer, dst: UnsafeMutablePointer<Float>, count: Int) {
        switch type {
        case .f32: for i in 0..<count { dst[i] = Float(bitPattern: UInt32(littleEndian: src.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .f16: for i in 0..<count { dst[i] = half(src, 2 * i) }
        case .bf16: for i in 0..<count { dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16) }
        case .q4_0: q4_0(src, dst, count)
        case .q4_1: q4_1(src, dst, count)
        case .q5_0: q5_0(src, dst, count)
        case .q5_1: q5_1(src, dst, count)
        case .q8_0: q8_0(src, dst, count)
        case .q4_K: q4_K(src, dst, count)
        case .q5_K: q5_K(src, dst, count)
        case .q6_K: q6_K(src, dst, count)
        default: preconditionFailure("dequantize: \(type.name) is not supported; callers check isDequantizable")
        }
    }

    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    /// Q4_0: f16 scale d, 16 bytes of nibbles; x = (q - 8) * d. Low nibbles are elements 0..15, high 16..31.
    static func q4_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for blk in 0..<(count / 32) {
            let b = src + blk * 18, y = dst + blk * 32
            let d = half(b, 0)
            let qs = (b + 2).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                y[j] = Float(Int(qs[j] & 0x0F) - 8) * d
                y[j + 16] = Float(Int(qs[j] >> 4) - 8) * d
            }
        }
    }

    /// Q4_1: f16 scale d, f16 minimum m, 16 bytes of nibbles; x = q * d + m.
    static func q4_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for blk in 0..<(count / 32) {
            let b = src + blk * 20, y = dst + blk * 32
            let d = half(b, 0), m = half(b, 2)
            let qs = (b + 4).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                y[j] = Float(qs[j] & 0x0F) * d + m
                y[j + 16] = Float(qs[j] >> 4) * d + m
            }
        }
    }

    /// Q5_0: f16 scale d, 32 high bits (little-endian u32), 16 bytes of low nibbles; x = (q - 16) * d.
    /// Element j < 16 takes the low nibble of byte j and bit j; element j + 16 the high nibble and bit j + 16.
    static func q5_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for blk in 0..<(count / 32) {
            let b = src + blk * 22, y = dst + blk * 32
            let d = half(b, 0)
            let qh = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            let qs = (b + 6).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                let low = Int(qs[j] & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4
                let high = Int(qs[j] >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = Float(low - 16) * d
                y[j + 16] = Float(high - 16) * d
            }
        }
    }

    /// Q5_1: f16 scale d, f16 minimum m, 32 high bits, 16 bytes of low nibbles; x = q * d + m.
    static func q5_1(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for blk in 0..<(count / 32) {
            let b = src + blk * 24, y = dst + blk * 32
            let d = half(b, 0), m = half(b, 2)
            let qh = UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let qs = (b + 8).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                let low = UInt32(qs[j] & 0x0F) | ((qh >> UInt32(j)) & 1) << 4
                let high = UInt32(qs[j] >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4
                y[j] = Float(low) * d + m
                y[j + 16] = Float(high) * d + m
            }
        }
    }

    /// Q8_0: f16 scale d, 32 signed bytes; x = q * d.
    static func q8_0(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for blk in 0..<(count / 32) {
            let b = src + blk * 34, y = dst + blk * 32
            let d = half(b, 0)
            let qs = (b + 2).assumingMemoryBound(to: Int8.self)
            for j in 0..<32 { y[j] = Float(qs[j]) * d }
        }
    }

    /// Q4_K super-block: f16 d, f16 dmin, 12 bytes of packed 6-bit scales and mins, 128 bytes of nibbles.
    static func q4_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for blk in 0..<(count / 256) {
            let b = src + blk * 144
            let d = half(b, 0), dmin = half(b, 2)
            let scales = (b + 4).assumingMemoryBound(to: UInt8.self)
            var q = (b + 16).assumingMemoryBound(to: UInt8.self)
            var y = dst + blk * 256
            var sub = 0
            for _ in 0..<4 {
                let (sc1, m1) = scaleMinK4(sub, scales), (sc2, m2) = scaleMinK4(sub + 1, scales)
                let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                let d2 = d * Float(sc2), min2 = dmin * Float(m2)
                for l in 0..<32 { y[l] = d1 * Float(q[l] & 0x0F) - min1 }
                for l in 0..<32 { y[32 + l] = d2 * Float(q[l] >> 4) - min2 }
                q += 32; y += 64; sub += 2
            }
        }
    }

    /// Q5_K super-block: f16 d, f16 dmin, 12 bytes of packed 6-bit scales and mins (as Q4_K),
    /// 32 bytes of high bits, 128 bytes of nibbles. Sub-block pair p (64 elements) reads nibbles
    /// 32p..<32p+32 (low then high) and bits 2p and 2p+1 of the 32 high-bit bytes.
    static func q5_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for blk in 0..<(count / 256) {
            let b = src + blk * 176
            let d = half(b, 0), dmin = half(b, 2)
            let scales = (b + 4).assumingMemoryBound(to: UInt8.self)
            let qh = (b + 16).assumingMemoryBound(to: UInt8.self)
            var ql = (b + 48).assumingMemoryBound(to: UInt8.self)
            var y = dst + blk * 256
            var u1: UInt8 = 1, u2: UInt8 = 2
            for pair in 0..<4 {
                let (sc1, m1) = scaleMinK4(2 * pair, scales), (sc2, m2) = scaleMinK4(2 * pair + 1, scales)
                let d1 = d * Float(sc1), min1 = dmin * Float(m1)
                let d2 = d * Float(sc2), min2 = dmin * Float(m2)
                for l in 0..<32 { y[l] = d1 * Float((ql[l] & 0x0F) + (qh[l] & u1 != 0 ? 16 : 0)) - min1 }
                for l in 0..<32 { y[32 + l] = d2 * Float((ql[l] >> 4) + (qh[l] & u2 != 0 ? 16 : 0)) - min2 }
                ql += 32; y += 64; u1 <<= 2; u2 <<= 2
            }
        }
    }

    @inline(__always)
    static func scaleMinK4(_ j: Int, _ q: UnsafePointer<UInt8>) -> (UInt8, UInt8) {
        if j < 4 { return (q[j] & 63, q[j + 4] & 63) }
        return ((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }

    /// Q6_K super-block: 128 bytes low nibbles, 64 bytes high 2-bit pairs, 16 signed scales, f16 d.
    static func q6_K(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, _ count: Int) {
        for blk in 0..<(count / 256) {
            let b = src + blk * 210
            var ql = b.assumingMemoryBound(to: UInt8.self)
            var qh = (b + 128).assumingMemoryBound(to: UInt8.self)
            var sc = (b + 192).assumingMemoryBound(to: Int8.self)
            let d = half(b, 208)
            var y = dst + blk * 256
            for _ in 0..<2 {
                for l in 0..<32 {
                    let s = l / 16
                    let q1 = Int((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) - 32
                    let q2 = Int((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32
                    let q3 = Int((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32
                    let q4 = Int((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32
                    y[l] = d * Float(sc[s]) * Float(q1)
                    y[l + 32] = d * Float(sc[s + 2]) * Float(q2)
                    y[l + 64] = d * Float(sc[s + 4]) * Float(q3)
                    y[l + 96] = d * Float(sc[s + 6]) * Float(q4)
                }
                y += 128; ql += 64; qh += 32; sc += 8
            }
        }
    }
}
