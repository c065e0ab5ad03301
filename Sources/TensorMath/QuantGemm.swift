import CKernels
import Foundation

/// The instruction set of the int8 forward kernels (`Sources/CKernels/quant_interleaved.c`).
public enum QuantKernelISA: Int32, Sendable, CaseIterable, Comparable {
    case portable = 0
    case avx2 = 1
    /// AVX512-VNNI `vpdpbusd` on 256-bit registers (`FEDPILOT_INT8_ISA=vnni256`).
    case avx512VNNI256 = 2
    /// AVX512-VNNI on 512-bit registers: two 8-row groups per register, 8 activation rows per tile.
    case avx512VNNI = 3

    public var name: String {
        switch self {
        case .portable: return "portable C"
        case .avx2: return "AVX2"
        case .avx512VNNI256: return "AVX512-VNNI (256-bit)"
        case .avx512VNNI: return "AVX512-VNNI (512-bit)"
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Products with a `QuantizedMatrix` in integer arithmetic: the activations are quantized per
/// row to 8-bit blocks of 32 (one F32 scale per block), multiplied with the weight blocks in
/// integer arithmetic (AVX512-VNNI `vpdpbusd` when the CPU has it, else AVX2
/// `vpmaddubsw`/`vpmaddwd`), 8 weight rows per register, and the block scales applied in F32.
/// The result differs from the F32 product by the activations' rounding (relative error per
/// block about 1/254 of the block's largest value) on top of the weights' own quantization.
public enum QuantGemm {
    /// What this CPU supports (CPUID, checked once). `FEDPILOT_INT8_ISA=vnni256|avx2|c` lowers it.
    public static var availableISA: QuantKernelISA { QuantKernelISA(rawValue: ck_qi_isa_available()) ?? .portable }

    /// The instruction set the forward kernels use now.
    public static var isa: QuantKernelISA { QuantKernelISA(rawValue: ck_qi_isa()) ?? .portable }

    /// Uses at most `limit` (nil: the best available) for the forward kernels; process-wide,
    /// for tests and A/B benchmarks. Returns the ISA now used.
    @discardableResult
    public static func limitISA(_ limit: QuantKernelISA?) -> QuantKernelISA {
        QuantKernelISA(rawValue: ck_qi_set_isa(limit?.rawValue ?? -1)) ?? .portable
    }

    /// `out[M, W.rows] (+)= x[M, W.cols] · Wᵀ`. `threads`: 1 or 2 (default: the project's thread
    /// policy, `ComputeThreads.numeric`); with 2, groups of 8 weight rows are shared out.
    ///
    /// `columns`, when given, runs inside each work item right after the item's columns
    /// `[n0, n1)` of `out` (all `m` rows) are complete, on the same thread while they are still
    /// in its cache: the adapter's `out += u·Bᵀ` over those columns (`LoRALinear.forward`).
    ///
    /// `quantized`, when given, holds `x` already quantized (`QuantizedRows(x, rows: m, cols:
    /// W.cols)`): products that share an input (q, k and v; gate and up) quantize it once.
    public static func forward(
        x: UnsafePointer<Float>, rows m: Int, weight: QuantizedMatrix,
        out: UnsafeMutablePointer<Float>, accumulate: Bool, threads: Int? = nil,
        quantized: QuantizedRows? = nil, columns: ((_ n0: Int, _ n1: Int) -> Void)? = nil
    ) {
        precondition(m >= 0 && m <= Int(Int32.max))
        guard m > 0 else { return }
        let k = weight.cols
        if let quantized { precondition(quantized.rows == m && quantized.cols == k, "quantized rows of another shape") }
        let aq = quantized ?? QuantizedRows(x, rows: m, cols: k, threads: threads)
        withExtendedLifetime(aq) {
            product(type: weight.type, m: m, n: weight.rows, k: k, aq: aq.blocks, blocks: UnsafeRawPointer(weight.blocks),
                    out: out, accumulate: accumulate, threads: threads, columns: columns)
        }
    }

    /// Activation rows `x[rows, cols]` quantized per row to 8-bit blocks of 32, as `forward`
    /// quantizes its input, kept for several products with that input.
    public final class QuantizedRows {
        public let rows: Int, cols: Int
        let blocks: UnsafeMutablePointer<ck_q8_block>

        public init(_ x: UnsafePointer<Float>, rows: Int, cols: Int, threads: Int? = nil) {
            precondition(rows >= 0 && cols % 32 == 0, "quantized rows need whole blocks of 32")
            self.rows = rows
            self.cols = cols
            let nb = cols / 32
            blocks = UnsafeMutablePointer<ck_q8_block>.allocate(capacity: max(1, rows * nb))
            let b = blocks
            QuantGemm.quantizeRows(rows, rowBlocks: nb, threads: threads) { r0, r1 in
                ck_q8_quantize_rows(x + r0 * cols, Int32(r1 - r0), Int32(cols), cols, b + r0 * nb)
            }
        }

        deinit { blocks.deallocate() }
    }

    /// `out[m, n] (+)= A · Wᵀ` from the quantized activations `aq[m, k/32]` and an interleaved
    /// weight `[n, k]`: runs of 16 weight rows (two 8-row groups) as work items of tapering
    /// size (`ComputeThreads.taperedBounds`: the thread that finishes first waits for a small
    /// last item, not for one of eight equal ones, which measured 7% of the caller's time). Whole
    /// pairs because the 512-bit tile takes the groups two at a time: items cut at any group gave
    /// some an odd count, whose last group ran on the 256-bit tile at about half the speed.
    private static func product(type: QuantBlockType, m: Int, n: Int, k: Int, aq: UnsafePointer<ck_q8_block>,
                                blocks: UnsafeRawPointer, out: UnsafeMutablePointer<Float>, accumulate: Bool, threads: Int?,
                                columns: ((Int, Int) -> Void)? = nil) {
        let t = ComputeThreads.clamped(threads)
        let pairs = (n + 15) / 16
        let bounds = t > 1 && n >= 16 && m * n * k >= 1 << 20 ? ComputeThreads.taperedBounds(pairs, threads: t) : [0, pairs]
        let acc: Int32 = accumulate ? 1 : 0, code = type.rawValue
        ComputeThreads.parallelFor(bounds.count - 1, threads: t) { p in
            let n0 = bounds[p] * 16, n1 = min(n, bounds[p + 1] * 16)
            ck_qi_gemm_cols(code, Int32(m), Int32(n), Int32(k), aq, blocks, out, n, acc, Int32(n0), Int32(n1))
            columns?(n0, n1)
        }
    }

    /// Quantizes activation rows `[r0, r1)` per call of `body`, the rows split between the
    /// threads when there are enough of them (`rowBlocks` 32-wide blocks per row).
    fileprivate static func quantizeRows(_ m: Int, rowBlocks: Int, threads: Int?, _ body: (Int, Int) -> Void) {
        let t = ComputeThreads.clamped(threads)
        let items = t > 1 && m * rowBlocks >= 1 << 11 ? 2 * t : 1
        ComputeThreads.parallelFor(items, threads: t) { p in
            let (r0, r1) = ComputeThreads.part(p, of: m, parts: items)
            body(r0, r1)
        }
    }

    /// How `backward` computes the input gradient through a quantized weight.
    public enum BackwardPath: String, Sendable, CaseIterable {
        /// `W` dequantized a few 16-column panels at a time into a small F32 scratch buffer and
        /// multiplied with the packed F32 micro-kernel: F32 arithmetic, no memory beyond `W`.
        case panels
        /// `dY` quantized per row to 8-bit blocks and multiplied, with the int8 forward kernels,
        /// by a transposed Q8_0 copy of `W` (`QuantizedMatrix.transposedBlocks`, built on the
        /// first input gradient through `W`, 1.125 bytes per weight): about twice as fast,
        /// with 8-bit rounding of `dY` and of `Wᵀ` (relative error per product below 1%).
        case transposed

        /// `FEDPILOT_INT8_BACKWARD=panels|transposed` (A/B runs on one machine); default
        /// `.transposed`, the faster end to end (README, "int8 compute").
        public static let fromEnvironment: BackwardPath = {
            guard let v = ProcessInfo.processInfo.environment["FEDPILOT_INT8_BACKWARD"]?.lowercased() else { return .transposed }
            return BackwardPath(rawValue: v) ?? .transposed
        }()
    }

    /// `dInput[M, W.cols] (+)= dOut[M, W.rows] · W` — the input gradient through the quantized
    /// weight, by `path` (see `BackwardPath`; no F32 copy of the whole `W` either way). With 2
    /// threads the columns of `dInput` are split in two (at a multiple of 16, or of 8).
    public static func backward(
        dOut: UnsafePointer<Float>, rows m: Int, weight: QuantizedMatrix,
        dInput: UnsafeMutablePointer<Float>, accumulate: Bool, threads: Int? = nil,
        path: BackwardPath = .fromEnvironment
    ) {
        precondition(m >= 0 && m <= Int(Int32.max))
        guard m > 0 else { return }
        let k = weight.cols, n = weight.rows
        if path == .transposed {
            let padded = (n + 31) / 32 * 32
            let aq = UnsafeMutablePointer<ck_q8_block>.allocate(capacity: m * (padded / 32))
            defer { aq.deallocate() }
            quantizeRows(m, rowBlocks: padded / 32, threads: threads) { r0, r1 in
                ck_q8_quantize_rows_padded(dOut + r0 * n, Int32(r1 - r0), Int32(n), n, aq + r0 * (padded / 32))
            }
            product(type: .q8_0, m: m, n: k, k: padded, aq: aq, blocks: weight.transposedBlocks(),
                    out: dInput, accumulate: accumulate, threads: threads)
            return
        }
        let t = ComputeThreads.clamped(threads)
        let panels = (k + 15) / 16
        let parts = t > 1 && panels >= 2 && m * n * k >= 1 << 20 ? t : 1
        let blocks = UnsafeRawPointer(weight.blocks), type = weight.type.rawValue
        let acc: Int32 = accumulate ? 1 : 0
        ComputeThreads.parallelFor(parts, threads: t) { p in
            let c0 = panels * p / parts * 16, c1 = min(k, panels * (p + 1) / parts * 16)
            ck_qi_backward_cols(type, Int32(m), Int32(n), Int32(k), dOut, n, blocks, dInput, k, acc, Int32(c0), Int32(c1))
        }
    }

    /// The naive reference of `backward`: `[M, W.cols]` in double over the dequantized weights.
    public static func backwardReference(dOut: UnsafePointer<Float>, rows m: Int, weight: QuantizedMatrix) -> [Double] {
        var c = [Double](repeating: 0, count: m * weight.cols)
        guard m > 0 else { return c }
        c.withUnsafeMutableBufferPointer { cp in
            ck_qi_backward_ref(weight.type.rawValue, Int32(m), Int32(weight.rows), Int32(weight.cols), dOut, weight.rows,
                               UnsafeRawPointer(weight.blocks), cp.baseAddress!)
        }
        return c
    }

    /// The naive reference of `forward`: `[M, W.rows]` in double over the dequantized weights,
    /// with the activations either as given (`quantizeActivations: false`) or rounded to the
    /// same 8-bit blocks as the kernel's (`true`, which isolates the kernel's own arithmetic).
    public static func reference(x: UnsafePointer<Float>, rows m: Int, weight: QuantizedMatrix,
                                 quantizeActivations: Bool) -> [Double] {
        let k = weight.cols, n = weight.rows
        var c = [Double](repeating: 0, count: m * n)
        guard m > 0 else { return c }
        let aq = UnsafeMutablePointer<ck_q8_block>.allocate(capacity: m * (k / 32))
        defer { aq.deallocate() }
        if quantizeActivations { ck_q8_quantize_rows(x, Int32(m), Int32(k), k, aq) }
        c.withUnsafeMutableBufferPointer { cp in
            ck_qi_gemm_ref(weight.type.rawValue, Int32(m), Int32(n), Int32(k), x, k,
                           quantizeActivations ? UnsafePointer(aq) : nil, UnsafeRawPointer(weight.blocks), cp.baseAddress!)
        }
        return c
    }
}
