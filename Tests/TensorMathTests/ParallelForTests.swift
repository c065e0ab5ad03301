import CKernels
import Dispatch
import Synchronization
import XCTest
@testable import TensorMath

/// `ComputeThreads.parallelFor` (the process's one worker, `worker_pool.c`): every item runs
/// exactly once whatever the thread count, from concurrent callers and from inside an item.
final class ParallelForTests: XCTestCase {
    /// Runs `items` items that each add their index into their own slot, and returns the slots.
    private func run(_ items: Int, threads: Int?) -> [Int] {
        var hits = [Int](repeating: 0, count: items)
        hits.withUnsafeMutableBufferPointer { h in
            let p = h.baseAddress!
            ComputeThreads.parallelFor(items, threads: threads) { i in p[i] += i + 1 }
        }
        return hits
    }

    func testEveryItemRunsOnceOnOneAndTwoThreads() {
        for threads in [1, 2, nil] as [Int?] {
            for items in [0, 1, 2, 3, 7, 64, 1000] {
                XCTAssertEqual(run(items, threads: threads), (0..<items).map { $0 + 1 }, "\(items) items, \(String(describing: threads)) threads")
            }
        }
    }

    func testTwoThreadsGoThroughThePool() {
        var before = [Int](repeating: 0, count: 5), after = before
        ck_pool_stats(&before)
        // Items long enough that the worker wakes before the caller has taken them all.
        let spins = Atomic<Int>(0)
        ComputeThreads.parallelFor(64, threads: 2) { _ in
            var x = 0.0
            for j in 0..<20_000 { x += Double(j).squareRoot() }
            if x > 0 { spins.add(1, ordering: .relaxed) }
        }
        ck_pool_stats(&after)
        XCTAssertEqual(spins.load(ordering: .relaxed), 64)
        XCTAssertEqual(after[0] - before[0], 1, "one call through the pool")
        // Whether the worker woke in time depends on the machine's load, so it is not asserted;
        // if it joined, it ran at most the items the caller did not take.
        XCTAssertLessThanOrEqual(after[2] - before[2], 64)
    }

    /// Concurrent callers (in-process clients in parallel lanes) and a call from inside an item:
    /// whoever finds the worker busy runs its items alone, and nothing is lost or run twice.
    func testConcurrentAndNestedCallsRunEveryItemOnce() {
        let callers = 4, items = 200, rounds = 20
        // Per caller, a count per outer item and per nested item; within one call the items
        // touch distinct slots, and a caller's calls follow each other, so nothing races.
        let outer = UnsafeMutablePointer<Int>.allocate(capacity: callers * items)
        let nested = UnsafeMutablePointer<Int>.allocate(capacity: callers * 3)
        outer.initialize(repeating: 0, count: callers * items)
        nested.initialize(repeating: 0, count: callers * 3)
        defer { outer.deallocate(); nested.deallocate() }
        nonisolated(unsafe) let o = outer, n = nested
        DispatchQueue.concurrentPerform(iterations: callers) { c in
            for _ in 0..<rounds {
                ComputeThreads.parallelFor(items, threads: 2) { i in
                    o[c * items + i] += 1
                    if i == 0 { ComputeThreads.parallelFor(3, threads: 2) { j in n[c * 3 + j] += 1 } }
                }
            }
        }
        XCTAssertEqual(Array(UnsafeBufferPointer(start: outer, count: callers * items)), [Int](repeating: rounds, count: callers * items))
        XCTAssertEqual(Array(UnsafeBufferPointer(start: nested, count: callers * 3)), [Int](repeating: rounds, count: callers * 3))
    }

    /// The gated activations split a large batch in two at a multiple of 8: on two threads the
    /// outputs are bit for bit those of one pass (and an odd length keeps its scalar tail).
    func testGatedActivationsGiveTheSameBitsOnTwoThreads() {
        let n = 100_003
        var rng = SeededRandom(seed: 3)
        let gate = (0..<n).map { _ in Float.random(in: -8...8, using: &rng) }
        let up = (0..<n).map { _ in Float.random(in: -2...2, using: &rng) }
        let dOut = (0..<n).map { _ in Float.random(in: -1...1, using: &rng) }
        func all(threads: Int) -> [[Float]] {
            let before = ComputeThreads.numeric
            ComputeThreads.set(threads)
            defer { ComputeThreads.set(before) }
            let zero = [Float](repeating: 0, count: n)
            var a = zero, dg = zero, du = zero, g = zero, dg2 = zero, du2 = zero
            Activation.swiGLU(gate: gate, up: up, out: &a, count: n)
            Activation.swiGLUBackward(gate: gate, up: up, dOut: dOut, dGate: &dg, dUp: &du, count: n)
            GELU.geGLU(gate: gate, up: up, out: &g, count: n)
            GELU.geGLUBackward(gate: gate, up: up, dOut: dOut, dGate: &dg2, dUp: &du2, count: n)
            let out = [a, dg, du, g, dg2, du2]
            return out
        }
        let one = all(threads: 1), two = all(threads: 2)
        for k in 0..<6 { XCTAssertEqual(one[k].map(\.bitPattern), two[k].map(\.bitPattern), "output \(k)") }
        XCTAssertNotEqual(one[0][n - 1], 0, "the scalar tail was computed")
    }
}
