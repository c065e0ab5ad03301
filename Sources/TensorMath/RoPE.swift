import Foundation

/// Rotary position embedding in the rotate-half layout that Hugging Face Llama uses.
///
/// For head dimension `hd`, pair `i < hd/2` rotates `(x[i], x[i + hd/2])` by
/// angle `p * theta^(-2i/hd)`. Checkpoints stored for adjacent-pair RoPE
/// (GGUF's `attn_q`/`attn_k`) are un-permuted at load time, so one layout serves both.
public struct RoPE: Sendable {
    public let headDim: Int
    public let theta: Float
    /// `cos` and `sin` tables, `[maxPositions, headDim / 2]`.
    public private(set) var cosTable: [Float]
    public private(set) var sinTable: [Float]
    public private(set) var maxPositions: Int

    /// Precomputes tables for positions `0..<maxPositions`.
    public init(headDim: Int, theta: Float, maxPositions: Int) {
        precondition(headDim % 2 == 0, "RoPE head dimension must be even, got \(headDim)")
        self.headDim = headDim
        self.theta = theta
        self.maxPositions = 0
        self.cosTable = []
        self.sinTable = []
        grow(to: maxPositions)
    }

    /// Extends the tables so that positions below `positions` are covered.
    public mutating func grow(to positions: Int) {
        guard positions > maxPositions else { return }
        let half = headDim / 2
        // Matches the reference: inv_freq = 1 / theta^(2i/hd) in float32, angle = p * inv_freq in float32.
        let invFreq = (0..<half).map { i in 1 / Float(pow(Double(theta), Double(2 * i) / Double(headDim))) }
        cosTable.reserveCapacity(positions * half)
        sinTable.reserveCapacity(positions * half)
        for p in maxPositions..<positions {
            for i in 0..<half {
                let angle = Float(p) * invFreq[i]
                cosTable.append(cosf(angle))
                sinTable.append(sinf(angle))
            }
        }
        maxPositions = positions
    }

    /// Rotates `rows` vectors laid out as `[rows, heads, headDim]` in place.
    /// Row `r` sits at position `positions[r]`. `inverse` rotates by the negative
    /// angle (the backward pass).
    public func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int,
                      positions: UnsafePointer<Int32>, inverse: Bool = false) {
        let half = headDim / 2
        let sign: Float = inverse ? -1 : 1
        cosTable.withUnsafeBufferPointer { cosP in
            sinTable.withUnsafeBufferPointer { sinP in
                // Rows are independent: a training batch's in two halves on the two threads.
                ComputeThreads.rowHalves(rows, width: heads * headDim) { r0, r1 in
                    for r in r0..<r1 {
                        let p = Int(positions[r])
                        precondition(p < maxPositions, "RoPE position \(p) beyond table of \(maxPositions)")
                        let c = cosP.baseAddress! + p * half, s = sinP.baseAddress! + p * half
                        for h in 0..<heads {
                            let v = x + (r * heads + h) * headDim
                            for i in 0..<half {
                                let x1 = v[i], x2 = v[i + half], si = sign * s[i]
                                v[i] = x1 * c[i] - x2 * si
                                v[i + half] = x2 * c[i] + x1 * si
                            }
                        }
                    }
                }
            }
        }
    }

    /// Naive reference computing angles in double precision.
    public static func reference(_ x: [Float], rows: Int, heads: Int, headDim: Int,
                                 positions: [Int], theta: Float) -> [Float] {
        var y = x
        let half = headDim / 2
        for r in 0..<rows {
            for h in 0..<heads {
                let base = (r * heads + h) * headDim
                for i in 0..<half {
                    let angle = Double(positions[r]) / pow(Double(theta), Double(2 * i) / Double(headDim))
                    let x1 = Double(x[base + i]), x2 = Double(x[base + i + half])
                    y[base + i] = Float(x1 * cos(angle) - x2 * sin(angle))
                    y[base + i + half] = Float(x2 * cos(angle) + x1 * sin(angle))
                }
            }
        }
        return y
    }
}
