import Foundation

/// Runs one job per client on up to `lanes` threads at once.
///
/// The calling thread prepares each job just before it starts, so preparation is a step
/// boundary (operator commands apply there) and never overlaps aggregation. It also receives
/// every output, in the order of the jobs, as soon as that job and all before it are done,
/// so everything the caller does with them (random draws, events) is the same for any
/// number of lanes.
struct ClientLanes {
    let lanes: Int

    init(lanes: Int) { self.lanes = max(1, lanes) }

    /// - Parameters:
    ///   - count: jobs, numbered 0..<count.
    ///   - prepare: on the calling thread, right before job `i` would start; nil skips it.
    ///   - work: the job itself, on a lane.
    ///   - finished: on the calling thread, each job's output in job order.
    /// - Returns: each job's output, nil for skipped jobs.
    @discardableResult
    func run<Job: Sendable, Output: Sendable>(_ count: Int, prepare: (Int) -> Job?,
                                              work: @escaping @Sendable (Job) -> Output,
                                              finished: (Int, Output) -> Void = { _, _ in }) -> [Output?] {
        var outputs = [Output?](repeating: nil, count: count)
        if lanes == 1 {
            for i in 0..<count {
                guard let job = prepare(i) else { continue }
                let output = work(job)
                outputs[i] = output
                finished(i, output)
            }
            return outputs
        }
        let inbox = Inbox<Output>()
        var skipped = [Bool](repeating: false, count: count)
        var next = 0, running = 0, delivered = 0
        while delivered < count {
            // Hand finished jobs over in order.
            while delivered < count, skipped[delivered] || inbox.has(delivered) {
                if let output = inbox.take(delivered) {
                    outputs[delivered] = output
                    finished(delivered, output)
                }
                delivered += 1
            }
            if next < count && running < lanes {
                let i = next
                next += 1
                guard let job = prepare(i) else { skipped[i] = true; continue }
                running += 1
                DispatchQueue.global(qos: .userInitiated).async { inbox.put(i, work(job)) }
            } else if running > 0 {
                inbox.waitForOne()
                running -= 1
            } else {
                break   // nothing runs and nothing is left to start: every job was handed over
            }
        }
        return outputs
    }

    /// Outputs of finished jobs, waiting to be handed over on the calling thread.
    private final class Inbox<Output>: @unchecked Sendable {
        private let lock = NSLock()
        private let arrivals = DispatchSemaphore(value: 0)
        private var ready: [Int: Output] = [:]

        func put(_ i: Int, _ output: Output) {
            lock.withLock { ready[i] = output }
            arrivals.signal()
        }
        func waitForOne() { arrivals.wait() }
        func has(_ i: Int) -> Bool { lock.withLock { ready[i] != nil } }
        func take(_ i: Int) -> Output? { lock.withLock { ready.removeValue(forKey: i) } }
    }
}
