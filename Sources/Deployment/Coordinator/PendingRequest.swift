import Foundation

/// A request sent to a client, waited on by the coordinator's thread until the client's
/// session delivers the answer, fails it, or the deadline passes.
final class PendingRequest: @unchecked Sendable {
    let id: UInt64
    let kind: RequestKind
    let round: Int
    private let condition = NSCondition()
    private var result: Result<Data, any Error>?

    init(id: UInt64, kind: RequestKind, round: Int) {
        self.id = id; self.kind = kind; self.round = round
    }

    /// Sets the outcome once; later calls are ignored.
    func complete(_ outcome: Result<Data, any Error>) {
        condition.lock()
        if result == nil {
            result = outcome
            condition.broadcast()
        }
        condition.unlock()
    }

    /// The outcome, or nil when `deadline` passed first.
    func wait(until deadline: Date) -> Result<Data, any Error>? {
        condition.lock()
        defer { condition.unlock() }
        while result == nil {
            if !condition.wait(until: deadline) { break }
        }
        return result
    }
}

extension RequestKind {
    /// How operators read the kind in messages.
    var label: String {
        switch self {
        case .roundTask: return "round task"
        case .evaluation: return "evaluation request"
        case .secureAggregation: return "secure-aggregation message"
        case .labelScore: return "label scoring request"
        case .generationScore: return "generation scoring request"
        default: return "request"
        }
    }
}
