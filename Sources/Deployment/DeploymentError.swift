import Foundation

/// What goes wrong in a deployment, each with a one-line explanation.
public enum DeploymentError: Error, CustomStringConvertible, Equatable {
    /// Certificates, keys or names that cannot be used.
    case badCredentials(String)
    /// A peer broke the wire protocol (the session with it ends).
    case protocolViolation(String)
    /// The peer is not connected, or went away while a request was outstanding.
    case disconnected(String)
    /// A request got no answer within its deadline.
    case deadlineExceeded(String)
    /// The client reported that it could not handle a request.
    case clientFailed(String)
    /// The client's model or settings do not match the coordinator's.
    case mismatch(String)

    public var description: String {
        switch self {
        case .badCredentials(let s): return s
        case .protocolViolation(let s): return "protocol error: \(s)"
        case .disconnected(let s): return s
        case .deadlineExceeded(let s): return s
        case .clientFailed(let s): return "the client failed: \(s)"
        case .mismatch(let s): return s
        }
    }
}
