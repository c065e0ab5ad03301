import Federation
import Foundation

/// The engine's events on their way to the dashboard. The engine's sink pushes (from any
/// thread); the dashboard takes them (on its own thread). The executable, which owns the engine
/// thread, calls `finish()` once the run has returned. A push never blocks the engine for
/// longer than an append.
public final class EventFeed: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [FederationEvent] = []
    private var finished = false

    public init() {}

    public func push(_ event: FederationEvent) {
        lock.lock()
        events.append(event)
        lock.unlock()
    }

    /// The sink to give the coordinator (or to call from a sink that also journals).
    public var sink: EventSink { { [self] in push($0) } }

    /// Marks the end of the run: no event follows.
    public func finish() {
        lock.lock()
        finished = true
        lock.unlock()
    }

    /// The events pushed since the last call, oldest first.
    public func drain() -> [FederationEvent] { take().events }

    /// The events pushed since the last call, and whether the run has finished, read together:
    /// when `finished` is true, every event of the run is in this or an earlier answer.
    public func take() -> (events: [FederationEvent], finished: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let out = events
        events.removeAll(keepingCapacity: true)
        return (out, finished)
    }
}
