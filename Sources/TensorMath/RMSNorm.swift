import Foundation

/// Root-mean-square layer norm: `y = x / sqrt(mean(x²) + eps) * weight`, row by row.
///
/// Sizes: `rows` vectors of `dim` elements each, stored contiguously.
public enum RMSNorm {
    /// Fast forward. Writes `out[rows, dim]`; if `inverseRMS` is given it receives
    /// `1 / sqrt(mean(x²) + eps)` per row, which the backward pass needs. A training batch's
    /// rows run in two halves on the two threads (`ComputeThreads.rowHalves`; same bits).
    @inlinable
    public static func forward(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        rows: Int, dim: Int, eps: Float, inverseRMS: UnsafeMutablePointer<Float>? = nil
    ) {
        ComputeThreads.rowHalves(rows, width: dim) { r0, r1 in
            for r in r0..<r1 {
                let xr = x + r * dim, yr = out + r * dim
                let sumSquares = BackwardMath.dot(xr, xr, dim)   // 16 lanes, not a serial chain of adds
                let inv = 1 / (sumSquares / Float(dim) + eps).squareRoot()
                inverseRMS?[r] = inv
                for i in 0..<dim { yr[i] = xr[i] * inv * weight[i] }
            }
        }
    }

    /// Tensor convenience over the last dimension.
    public static func forward(_ x: Tensor, weight: [Float], eps: Float) -> Tensor {
        precondition(weight.count == x.columns, "rmsnorm weight \(weight.count) vs dim \(x.columns)")
        var y = Tensor(zeros: x.shape)
        x.data.withUnsafeBufferPointer { xp in
            weight.withUnsafeBufferPointer { wp in
                y.data.withUnsafeMutableBufferPointer { yp in
                    forward(xp.baseAddress!, weight: wp.baseAddress!, out: yp.baseAddress!,
                            rows: x.rows, dim: x.columns, eps: eps)
                }
            }
        }
        return y
    }

    /// Naive reference in double precision.
    public static func reference(_ x: [Float], weight: [Float], rows: Int, dim: Int, eps: Float) -> [Float] {
        var y = [Float](repeating: 0, count: rows * dim)
        for r in 0..<rows {
            var ms: Double = 0
            for i in 0..<dim { ms += Double(x[r * dim + i]) * Double(x[r * dim + i]) }
            let inv = 1 / (ms / Double(dim) + Double(eps)).squareRoot()
            for i in 0..<dim { y[r * dim + i] = Float(Double(x[r * dim + i]) * inv) * weight[i] }
        }
        return y
    }
}
