import CKernels

/// IEEE half-precision storage (binary16): 11 bits of precision where bfloat16 has 8, for values
/// whose range is known to fit (attention probabilities, in [0, 1]). Rounds to nearest, ties to
/// even, subnormal halves included; beyond ±65504 a value becomes infinite; NaN stays NaN. The
/// 16-bit side is raw memory (2 bytes a value, little-endian), as for `BFloat16`. Large counts
/// are split between the numeric threads.
public enum IEEEHalf {
    /// Stores `count` floats from `source` as halves at `destination` (2 * count bytes).
    public static func store(_ source: UnsafePointer<Float>, into destination: UnsafeMutableRawPointer, count: Int) {
        ComputeThreads.elementwise(count) { a, b in ck_f32_to_f16(source + a, destination + 2 * a, b - a) }
    }

    /// Loads `count` halves from `source` into `destination` as floats (exact).
    public static func load(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        ComputeThreads.elementwise(count) { a, b in ck_f16_to_f32(source + 2 * a, destination + a, b - a) }
    }
}

extension IEEEHalf {
    /// Stores the attention probabilities `[B, nH, Tq, Tk]` that attention writes and its
    /// backward reads (each query block's rows up to the last key the block can see), packed,
    /// `shape.visibleProbabilityCount` halves; the causally masked rest is not stored.
    public static func storeVisible(_ probabilities: UnsafePointer<Float>, shape s: AttentionShape,
                                    into destination: UnsafeMutableRawPointer) {
        forEachVisibleBlock(s) { at, rows, keys, packed in
            ck_f32_to_f16_rows(probabilities + at, s.keys, Int32(rows), Int32(keys), destination + 2 * packed)
        }
    }

    /// Writes what `storeVisible` stored back into its places in `probabilities` (the masked
    /// entries are left as they are).
    public static func loadVisible(_ source: UnsafeRawPointer, shape s: AttentionShape, into probabilities: UnsafeMutablePointer<Float>) {
        forEachVisibleBlock(s) { at, rows, keys, packed in
            ck_f16_to_f32_rows(source + 2 * packed, Int32(rows), Int32(keys), probabilities + at, s.keys)
        }
    }

    /// The packed layout both use: for every (sequence, head) matrix and query block, the
    /// offset of its first row in `[B, nH, Tq, Tk]`, its rows, the keys they see, and the offset
    /// of its packed copy (in halves). The matrices are shared between the numeric threads.
    private static func forEachVisibleBlock(_ s: AttentionShape, _ body: (_ at: Int, _ rows: Int, _ keys: Int, _ packed: Int) -> Void) {
        let blocks = s.causalBlocks, perMatrix = s.visibleProbabilityCount / max(1, s.batch * s.heads)
        ComputeThreads.parallelFor(s.batch * s.heads) { m in
            var packed = m * perMatrix
            for (i0, i1, kEnd) in blocks {
                body((m * s.queries + i0) * s.keys, i1 - i0, kEnd, packed)
                packed += (i1 - i0) * kEnd
            }
        }
    }
}

extension AttentionShape {
    /// The probabilities attention writes and its backward reads, over all (sequence, head)
    /// pairs: each query block's rows up to the last key it sees (`causalBlocks`). 5/8 of
    /// `batch * heads * queries * keys` at 128 queries without a cache.
    public var visibleProbabilityCount: Int {
        batch * heads * causalBlocks.reduce(0) { $0 + ($1.i1 - $1.i0) * $1.kEnd }
    }
}
