import Foundation

/// What a client process reports while it takes part in a run (`fedpilot join` prints these
/// as a status line or as JSON lines).
public enum ClientEvent: Sendable {
    case connecting(attempt: Int)
    case joined(client: String, scenario: String, session: Int)
    case loadingModel(path: String)
    case request(kind: String, round: Int, bytes: Int)
    case answered(kind: String, round: Int, bytes: Int, seconds: Double)
    case failed(kind: String, round: Int, reason: String)
    case notice(code: String, message: String)
    /// A secure-aggregation key event of this client (fingerprints and ids only, never key material).
    case keyEvent(name: String, fields: [String: String])
    case disconnected(reason: String, retryIn: Double)
    case finished(reason: String)

    /// One JSON object (an event type and its fields).
    public var json: [String: any Sendable] {
        switch self {
        case .connecting(let a): return ["event": "connecting", "attempt": a]
        case .joined(let c, let s, let n): return ["event": "joined", "client": c, "scenario": s, "session": n]
        case .loadingModel(let p): return ["event": "loading_model", "path": p]
        case .request(let k, let r, let b): return ["event": "request", "kind": k, "round": r, "bytes": b]
        case .answered(let k, let r, let b, let s): return ["event": "answered", "kind": k, "round": r, "bytes": b, "seconds": s]
        case .failed(let k, let r, let why): return ["event": "failed", "kind": k, "round": r, "reason": why]
        case .notice(let c, let m): return ["event": "notice", "code": c, "message": m]
        case .keyEvent(let name, let fields): return ["event": "key_event", "name": name, "fields": fields]
        case .disconnected(let why, let wait): return ["event": "disconnected", "reason": why, "retry_in": wait]
        case .finished(let why): return ["event": "finished", "reason": why]
        }
    }
}
