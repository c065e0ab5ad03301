import Federation
import Foundation

/// The thread a pilot's coordinator runs on while the main thread shows the dashboard. The
/// executable owns it; the dashboard only sees the run's events and sends commands.
final class EngineThread: @unchecked Sendable {
    typealias Result = (rounds: Int, finalEvalLoss: Double?, stopped: Bool)
    private let lock = NSLock()
    private var value: Result?

    /// Runs `body` on a new thread, keeps its result, then calls `finished` on that thread.
    func start(_ body: @escaping @Sendable () -> Result, finished: @escaping @Sendable () -> Void) {
        Thread.detachNewThread { [self] in
            let result = body()
            lock.withLock { value = result }
            finished()
        }
    }

    /// The run's result, once `body` has returned.
    var result: Result? { lock.withLock { value } }
}

/// Counts failed rounds as their events pass (from the engine's threads).
final class RoundFailures: @unchecked Sendable {
    private let lock = NSLock()
    private var failed = 0

    func note(_ event: FederationEvent) {
        if case .roundFailed = event { lock.withLock { failed += 1 } }
    }

    var count: Int { lock.withLock { failed } }
}
