import Foundation

/// What the coordinator's transport reports to the operator and to the journal's audit trail.
public enum TransportNotice: Sendable, Equatable {
    /// A client authenticated and joined (again, when `session` > 1).
    case joined(client: String, peer: String, session: Int)
    /// A client's session ended.
    case left(client: String, reason: String)
    /// A connection or message was refused for a security or protocol reason: a missing or
    /// foreign certificate, a name outside the scenario, a replayed or late submission, a
    /// protocol violation. `identity` is the certificate's name when there was one.
    case rejected(peer: String, identity: String?, reason: String)
    /// A key-lifecycle event: the coordinator's certificate or revocation list in use, or a
    /// certificate (the coordinator's, the CA's or a client's) that expires soon (`warning`).
    /// `actor` is "coordinator" or the client's certificate name.
    case credentials(actor: String, event: String, warning: Bool)

    /// One line for logs.
    public var description: String {
        switch self {
        case .joined(let c, let peer, let n): return "\(c) joined from \(peer)\(n > 1 ? " (session \(n))" : "")"
        case .left(let c, let reason): return "\(c) left: \(reason)"
        case .rejected(let peer, let identity, let reason): return "rejected \(identity.map { "'\($0)' " } ?? "")from \(peer): \(reason)"
        case .credentials(let actor, let event, let warning): return "\(warning ? "warning: " : "")\(actor): \(event)"
        }
    }
}
