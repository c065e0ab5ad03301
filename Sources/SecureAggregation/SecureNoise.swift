import Crypto
import Foundation

/// Gaussian noise for differential privacy from a cryptographic source: a ChaCha20 keystream
/// under a fresh random 256-bit key (the same stream as the masks), turned into normals by
/// Box–Muller on 53-bit uniforms. A seeded statistical generator would let anyone who learns the
/// seed subtract the noise; this one has no seed to learn.
public enum SecureNoise {
    /// `count` independent draws from N(0, std²).
    public static func gaussian(count: Int, std: Double) -> [Double] {
        guard count > 0 else { return [] }
        let pairs = (count + 1) / 2
        let words = MaskExpander.keystream(key: SymmetricKey(size: .bits256), count: 4 * pairs)
        var out = [Double](repeating: 0, count: 2 * pairs)
        func unit(_ hi: UInt32, _ lo: UInt32) -> Double {
            // 53 random bits, shifted off zero: (k + 0.5) / 2^53 ∈ (0, 1).
            let k = (UInt64(hi) << 21) ^ (UInt64(lo) >> 11)
            return (Double(k) + 0.5) / 9_007_199_254_740_992
        }
        for p in 0..<pairs {
            let u1 = unit(words[4 * p], words[4 * p + 1]), u2 = unit(words[4 * p + 2], words[4 * p + 3])
            let r = (-2 * Foundation.log(u1)).squareRoot() * std
            out[2 * p] = r * cos(2 * Double.pi * u2)
            out[2 * p + 1] = r * sin(2 * Double.pi * u2)
        }
        return Array(out.prefix(count))
    }
}
