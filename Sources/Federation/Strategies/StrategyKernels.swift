// Internal vector kernels shared by the strategies. Everything here is written as plain
// contiguous loops over unsafe pointers (no per-element allocation) so that -O / -Ounchecked
// vectorizes them; the dimension can be millions and the number of clients ~100.

enum StrategyKernels {
    /// Coordinates processed per block in multi-client loops (keeps the accumulator block in L1/L2).
    static let blockSize = 8192

    /// Checks the inputs every strategy needs: non-empty, equal dimensions, distinct clients, counts ≥ 0.
    static func validate(global: [Float], updates: [ClientUpdate], strategy: StrategyKind) throws {
        guard !updates.isEmpty else { throw AggregationError.noUpdates(strategy: strategy) }
        var seen = Set<String>()
        seen.reserveCapacity(updates.count)
        for u in updates {
            guard u.delta.count == global.count else {
                throw AggregationError.dimensionMismatch(client: u.client, expected: global.count, actual: u.delta.count)
            }
            guard u.exampleCount >= 0 else {
                throw AggregationError.negativeExampleCount(client: u.client, count: u.exampleCount)
            }
            guard seen.insert(u.client).inserted else { throw AggregationError.duplicateClient(u.client) }
        }
    }

    /// FedAvg weights n_i / Σ n_j (in update order); throws when Σ n_j = 0.
    static func exampleWeights(_ updates: [ClientUpdate], strategy: StrategyKind) throws -> [Double] {
        let total = updates.reduce(0.0) { $0 + Double($1.exampleCount) }
        guard total > 0 else { throw AggregationError.zeroTotalExamples(strategy: strategy) }
        return updates.map { Double($0.exampleCount) / total }
    }

    /// Σ_i weights[i] · vectors(i), every vector of length `dimension`, accumulated block by block.
    static func weightedSum(count n: Int, dimension d: Int, weights: [Double],
                            vector: (Int) -> [Float]) -> [Float] {
        var out = [Float](repeating: 0, count: d)
        guard d > 0 else { return out }
        out.withUnsafeMutableBufferPointer { ob in
            let o = ob.baseAddress!
            var start = 0
            while start < d {
                let len = min(blockSize, d - start)
                for i in 0..<n {
                    let w = Float(weights[i])
                    vector(i).withUnsafeBufferPointer { sb in
                        let s = sb.baseAddress! + start
                        let ob = o + start
                        for j in 0..<len { ob[j] += w * s[j] }
                    }
                }
                start += len
            }
        }
        return out
    }

    /// Σ_i weights[i] · Δ_i over the updates' deltas.
    static func weightedDelta(_ updates: [ClientUpdate], weights: [Double], dimension d: Int) -> [Float] {
        weightedSum(count: updates.count, dimension: d, weights: weights) { updates[$0].delta }
    }

    /// global + scale · step (a new array).
    static func step(_ global: [Float], by step: [Float], scale: Float) -> [Float] {
        var out = global
        let d = out.count
        guard d > 0 else { return out }
        out.withUnsafeMutableBufferPointer { ob in
            step.withUnsafeBufferPointer { sb in
                let o = ob.baseAddress!, s = sb.baseAddress!
                for j in 0..<d { o[j] += scale * s[j] }
            }
        }
        return out
    }

    /// Squared Euclidean distance of two float runs, with 16 independent lanes (vectorizes without fast-math).
    @inline(__always)
    static func squaredDistance(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var k = 0
        while k + 16 <= count {
            let off = k * MemoryLayout<Float>.stride
            let x0 = ra.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
                   - rb.loadUnaligned(fromByteOffset: off, as: SIMD8<Float>.self)
            let x1 = ra.loadUnaligned(fromByteOffset: off + 32, as: SIMD8<Float>.self)
                   - rb.loadUnaligned(fromByteOffset: off + 32, as: SIMD8<Float>.self)
            acc0 += x0 * x0
            acc1 += x1 * x1
            k += 16
        }
        var tail: Float = 0
        while k < count {
            let x = a[k] - b[k]
            tail += x * x
            k += 1
        }
        return (acc0 + acc1).sum() + tail
    }

    /// Rearranges p[lo..<hi] so that p[k] holds the value it would hold if the range were sorted,
    /// with nothing larger before it and nothing smaller after it (like C++ `nth_element`).
    /// Values must be totally ordered (callers map NaN to +∞).
    ///
    /// Quickselect with a median-of-three pivot and a Hoare partition (which stops on equal values
    /// from both sides, so runs of ties — identical or zero deltas — stay balanced); ranges of
    /// ≤ 17 values are insertion-sorted. (A branchless Lomuto variant measured ~10% slower here.)
    @inline(__always)
    static func nthElement(_ p: UnsafeMutablePointer<Float>, from lo0: Int, to hi0: Int, k: Int) {
        var lo = lo0, hi = hi0 - 1   // inclusive bounds
        while hi - lo > 16 {
            let mid = lo + (hi - lo) / 2
            if p[mid] < p[lo] { swapAt(p, mid, lo) }
            if p[hi] < p[lo] { swapAt(p, hi, lo) }
            if p[hi] < p[mid] { swapAt(p, hi, mid) }
            let pivot = p[mid]
            var i = lo, j = hi
            while i <= j {
                while p[i] < pivot { i += 1 }
                while p[j] > pivot { j -= 1 }
                if i <= j { swapAt(p, i, j); i += 1; j -= 1 }
            }
            // Now p[lo...j] ≤ pivot ≤ p[i...hi], and everything strictly between j and i equals pivot.
            if k <= j { hi = j } else if k >= i { lo = i } else { return }
        }
        // Small range: insertion sort.
        if hi > lo {
            for a in (lo + 1)...hi {
                let v = p[a]
                var b = a - 1
                while b >= lo && p[b] > v { p[b + 1] = p[b]; b -= 1 }
                p[b + 1] = v
            }
        }
    }

    @inline(__always)
    static func swapAt(_ p: UnsafeMutablePointer<Float>, _ i: Int, _ j: Int) {
        let t = p[i]; p[i] = p[j]; p[j] = t
    }

    /// Applies `reduce` to every coordinate's column of client values: the deltas are transposed a
    /// block at a time into a reused scratch buffer (column j of the block is `n` contiguous floats,
    /// NaN replaced by +∞), and `reduce(column, n)` returns that coordinate's value.
    static func columnwise(_ updates: [ClientUpdate], dimension d: Int,
                           reduce: (UnsafeMutablePointer<Float>, Int) -> Float) -> [Float] {
        let n = updates.count
        var out = [Float](repeating: 0, count: d)
        guard d > 0 else { return out }
        // Block width: about 64K floats of scratch (256 KB), at least 16 coordinates.
        let width = max(16, min(d, 65_536 / max(n, 1)))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: width * n)
        defer { scratch.deallocate() }
        out.withUnsafeMutableBufferPointer { ob in
            let o = ob.baseAddress!
            var start = 0
            while start < d {
                let len = min(width, d - start)
                for i in 0..<n {
                    updates[i].delta.withUnsafeBufferPointer { sb in
                        let s = sb.baseAddress! + start
                        let col = scratch + i
                        for j in 0..<len {
                            let v = s[j]
                            col[j * n] = v.isNaN ? .infinity : v
                        }
                    }
                }
                for j in 0..<len { o[start + j] = reduce(scratch + j * n, n) }
                start += len
            }
        }
        return out
    }
}
