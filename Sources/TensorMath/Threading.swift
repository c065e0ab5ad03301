import CBLAS
import CKernels
import Foundation
import Synchronization

/// Thread policy for numeric work.
///
/// The project's own parallel loops (the packed F32 and int8 products, attention, the
/// cross-entropy, the adapter products) run on the calling thread plus one persistent worker
/// (`parallelFor`, `Sources/CKernels/worker_pool.c`), as many as `numeric` allows (at most 2
/// each). OpenBLAS is kept at one thread: its own threads busy-wait with `sched_yield` for a
/// long while after each call, and beside our worker on two cores they took the cores from
/// each other (README, "Threads"). It does no product by default (`Matmul`); only
/// `FEDPILOT_GEMM=blas`, where OpenBLAS does the frozen-weight and the small products, gives
/// it the `numeric` threads. When several in-process clients train at once, each lane gets
/// `numeric / lanes` threads, so the two kinds of parallelism never oversubscribe the machine.
public enum ComputeThreads {
    /// Cores this process may use.
    public static var cores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Threads the project's numeric loops may use (at least 1).
    public static var numeric: Int { _ = started; return count.load(ordering: .relaxed) }

    /// Applies the policy (OpenBLAS at one thread) if nothing has yet; `Matmul.gemm` calls it.
    public static func prepare() { _ = started }

    /// Sets the number of numeric threads (at least 1).
    public static func set(_ threads: Int) {
        _ = started
        let n = max(1, threads)
        count.store(n, ordering: .relaxed)
        openblas_set_num_threads(Int32(openBLASProducts ? n : 1))
    }

    /// Runs `body(item)` for every item in `0..<items`, on up to `threads` threads (default:
    /// `numeric`, at most 2 here): the calling thread and the pool's worker claim items in
    /// order. Items must be independent (write disjoint memory). Returns when all are done.
    /// A call made while the worker serves another call (concurrent lanes, or from inside an
    /// item) runs its items on the calling thread.
    public static func parallelFor(_ items: Int, threads: Int? = nil, _ body: (Int) -> Void) {
        guard items > 0 else { return }
        let t = clamped(threads)
        if t == 1 || items == 1 {
            for i in 0..<items { body(i) }
            return
        }
        withoutActuallyEscaping(body) { run in
            var call = run
            withUnsafeMutablePointer(to: &call) { p in
                ck_parallel_for(Int32(items), Int32(t), { ctx, item in
                    ctx!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(item))
                }, p)
            }
        }
    }

    /// The threads a loop uses when asked for `requested` (nil: `numeric`): 1 or 2, the caller
    /// and the pool's one worker.
    static func clamped(_ requested: Int?) -> Int { min(2, max(1, requested ?? numeric)) }

    /// Bounds `(start, end)` of part `p` of `0..<count` cut into `parts` nearly equal ranges
    /// (the whole range when `parts` is 1): how the loops above share rows between items.
    public static func part(_ p: Int, of count: Int, parts: Int) -> (Int, Int) {
        (count * p / parts, count * (p + 1) / parts)
    }

    /// Bounds of work items over `0..<count` for `threads` threads taking items in order
    /// (`parallelFor` hands them out first come, first served): `threads` items per round, each
    /// round's items half the size of the previous round's, over `rounds` rounds (sizes 16, 16,
    /// 8, 8, 4, 4, 2, 2, 1, 1 for two threads and the default five). The thread that finishes
    /// first then waits for at most the last, smallest item (1/62 of the work) instead of one of
    /// equal items. Empty items are dropped; item `p` is `bounds[p]..<bounds[p + 1]`.
    public static func taperedBounds(_ count: Int, threads: Int, rounds: Int = 5) -> [Int] {
        let sizes = (0..<rounds).flatMap { r in [Int](repeating: 1 << (rounds - 1 - r), count: max(1, threads)) }
        let total = sizes.reduce(0, +)
        var bounds = [0], acc = 0
        for size in sizes {
            acc += size
            let end = count * acc / total
            if end > bounds.last! { bounds.append(end) }
        }
        return bounds
    }

    /// Runs `body(start, end)` over `0..<count` in two ranges on the two threads when the
    /// elementwise work is large enough (a training batch's MLP activations), else in one. The
    /// split falls on a multiple of 8, so an 8-lane SIMD loop treats every element as it
    /// would in one pass (bit-identical results).
    public static func elementwise(_ count: Int, _ body: (Int, Int) -> Void) {
        guard count >= 1 << 16, numeric > 1 else { return body(0, count) }
        let mid = count / 16 * 8
        parallelFor(2) { p in p == 0 ? body(0, mid) : body(mid, count) }
    }

    /// Runs `body(start, end)` over `rows` independent rows of `width` floats: in two halves on
    /// the two threads when there are enough of them (2^15 floats or more: a training batch,
    /// 512 x 576), else in one call. Each row is computed as it would be alone (same bits).
    public static func rowHalves(_ rows: Int, width: Int, _ body: (Int, Int) -> Void) {
        let parts = rows > 1 && rows * width >= 1 << 15 ? 2 : 1
        parallelFor(parts) { p in
            let (r0, r1) = part(p, of: rows, parts: parts)
            body(r0, r1)
        }
    }

    /// `FEDPILOT_GEMM=blas`: OpenBLAS does the frozen-weight products and `Matmul.gemm`'s small
    /// ones, and gets the threads.
    public static let openBLASProducts =
        ProcessInfo.processInfo.environment["FEDPILOT_GEMM"]?.lowercased() == "blas"

    private static let count = Atomic<Int>(1)

    /// On first use: the numeric threads start at what OpenBLAS was configured with
    /// (`OPENBLAS_NUM_THREADS`, or its default of one per core), and OpenBLAS drops to one.
    private static let started: Bool = {
        let initial = max(1, Int(openblas_get_num_threads()))
        count.store(initial, ordering: .relaxed)
        openblas_set_num_threads(Int32(openBLASProducts ? initial : 1))
        return true
    }()
}
