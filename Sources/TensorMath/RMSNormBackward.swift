extension RMSNorm {
    /// Backward of `forward(_:weight:out:rows:dim:eps:inverseRMS:)`.
    ///
    /// With `inv = 1 / sqrt(mean(x²) + eps)` (the `inverseRMS` the forward stored) and
    /// `y = x * inv * weight`, for each row:
    ///
    ///     dx[i]      += inv * weight[i] * dy[i] - x[i] * inv³ / dim * sum_j(dy[j] * weight[j] * x[j])
    ///     dWeight[i] += dy[i] * x[i] * inv          (only when `dWeight` is given)
    ///
    /// Both gradients are ADDED into their buffers (callers zero them first, or pass
    /// the residual-stream gradient as `dx` to accumulate into it). `weight` is
    /// treated as frozen unless `dWeight` is given; `dWeight` sums over all rows.
    ///
    /// Sizes: `x, dy, dx: [rows, dim]`, `weight, dWeight: [dim]`, `inverseRMS: [rows]`.
    /// `dx` must not overlap `x` or `dy`; `dWeight` must not overlap any input.
    public static func backward(
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, inverseRMS: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, rows: Int, dim: Int,
        dWeight: UnsafeMutablePointer<Float>? = nil
    ) {
        let invDim = 1 / Float(dim)
        func backwardRows(_ r0: Int, _ r1: Int) {
            for r in r0..<r1 {
                let xr = x + r * dim, gr = dy + r * dim, dxr = dx + r * dim
                let inv = inverseRMS[r]
                let c = BackwardMath.dot3(gr, weight, xr, dim) * inv * inv * inv * invDim
                for i in 0..<dim { dxr[i] += inv * weight[i] * gr[i] - c * xr[i] }
                if let dw = dWeight {
                    for i in 0..<dim { dw[i] += gr[i] * xr[i] * inv }
                }
            }
        }
        // Rows in two halves on the two threads, unless they all add into `dWeight`.
        if dWeight == nil { ComputeThreads.rowHalves(rows, width: dim, backwardRows) } else { backwardRows(0, rows) }
    }
}
