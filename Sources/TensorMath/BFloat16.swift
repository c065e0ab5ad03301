import CKernels

/// bfloat16 storage (the top 16 bits of a float): half the memory of F32 with F32's range and
/// 8 bits of precision. Rounds to nearest, ties to even; NaN stays NaN. The 16-bit side is raw
/// memory (2 bytes a value) so that any buffer can hold it. Large counts are split between the
/// numeric threads (the conversions are bound by memory traffic; two cores move more).
public enum BFloat16 {
    /// Stores `count` floats from `source` as bfloat16 at `destination` (2 * count bytes).
    public static func store(_ source: UnsafePointer<Float>, into destination: UnsafeMutableRawPointer, count: Int) {
        ComputeThreads.elementwise(count) { a, b in ck_f32_to_bf16(source + a, destination + 2 * a, b - a) }
    }

    /// Loads `count` bfloat16 values from `source` into `destination` as floats (exact).
    public static func load(_ source: UnsafeRawPointer, into destination: UnsafeMutablePointer<Float>, count: Int) {
        ComputeThreads.elementwise(count) { a, b in ck_bf16_to_f32(source + 2 * a, destination + a, b - a) }
    }
}
