import Federation
import Foundation

/// Answers the coordinator's requests with the client's endpoint, one at a time, on a
/// thread of its own (training blocks for seconds; the session's tasks must keep running).
final class RequestWorker: @unchecked Sendable {
    private let queue = DispatchQueue(label: "fedpilot.client.work")
    let endpoint: any ClientEndpoint
    /// Test hook: seconds to wait before answering a round task.
    let hold: Double

    init(endpoint: any ClientEndpoint, hold: Double) {
        self.endpoint = endpoint
        self.hold = hold
    }

    /// Computes the answer to a request and hands it to `reply` (or the failure to `fail`).
    func answer(kind: RequestKind, payload: Data, reply: @escaping @Sendable (Data) -> Void,
                fail: @escaping @Sendable (String) -> Void) {
        let endpoint = self.endpoint, hold = self.hold
        queue.async {
            do {
                switch kind {
                case .roundTask:
                    if hold > 0 { Thread.sleep(forTimeInterval: hold) }
                    reply(try endpoint.handle(task: payload))
                case .evaluation: reply(LossCoding.encode(try endpoint.evaluate(request: payload)))
                case .secureAggregation: reply(try endpoint.handle(secureAggregation: payload))
                case .labelScore: reply(try endpoint.scoreLabels(request: payload))
                case .generationScore: reply(try endpoint.scoreGeneration(request: payload))
                default: fail("unknown request kind \(kind.rawValue)")
                }
            } catch {
                fail("\(error)")
            }
        }
    }

    /// Runs `body` on the worker's thread and returns its result.
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }
}
