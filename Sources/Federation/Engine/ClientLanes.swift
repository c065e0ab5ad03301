import Foundation

/// Runs one job per client on up to `lanes` threads at once.
///
/// The calling thread prepares each job just before it starts, so preparation is a step
/// boundary (operator commands apply there) and never overlaps aggregation. Results come
/// back in the order of the jobs, whatever order they finished in, so everything the
/// caller does with them (random draws, events) is the same for any number of lanes.
struct ClientLanes {
    let lanes: Int

    init(lanes: Int) { self.lanes = max(1, lanes) }

    /// - Parameters:
    ///   - count: jobs, numbered 0..<count.
    ///   - prepare: on the calling thread, right before job `i` would start; nil skips it.
    ///   - work: the job itself, on a lane.
    /// - Returns: each job's output, nil for skipped jobs.
    func run<Job: Sendable, Output: Sendable>(_ count: Int, prepare: (Int) -> Job?,
                                              work: @escaping @Sendable (Job) -> Output) -> [Output?] {
        let results = Results<Output>(count: count)
        if lanes == 1 {
            for i in 0..<count { if let job = prepare(i) { results.set(i, work(job)) } }
            return results.all
        }
        let free = DispatchSemaphore(value: lanes)
        let group = DispatchGroup()
        for i in 0..<count {
            free.wait()
            guard let job = prepare(i) else { free.signal(); continue }
            group.enter()
            DispatchQueue.global(qos: .userInitiated).async {
                results.set(i, work(job))
                free.signal()
                group.leave()
            }
        }
        group.wait()
        return results.all
    }

    private final class Results<Output>: @unchecked Sendable {
        private let lock = NSLock()
        private var values: [Output?]
        init(count: Int) { values = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ value: Output) { lock.withLock { values[i] = value } }
        var all: [Output?] { lock.withLock { values } }
    }
}
