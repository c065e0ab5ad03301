import Foundation
import NIOCore
import NIOSSL
import X509

/// Checks a client's certificate chain against the deployment's CA during the TLS handshake
/// (swift-certificates' RFC 5280 verifier), and reports each refusal so it reaches the
/// journal's audit trail. A verified chain is handed to the gRPC transport, which exposes its
/// leaf to the service as the peer certificate.
///
/// Each handshake (a first connection or a reconnect) also reads the CA-signed revocation list
/// (crl.pem) afresh and refuses a revoked certificate, refuses an expired one with its date,
/// and reports one that expires within `TLSDirectory.expiryWarningDays`.
struct PeerVerifier: Sendable {
    let authority: Certificate
    let tls: TLSDirectory
    let notify: @Sendable (TransportNotice) -> Void

    func verify(_ presented: [NIOSSLCertificate], _ promise: EventLoopPromise<NIOSSLVerificationResultWithMetadata>) {
        let authority = self.authority, notify = self.notify
        Task {
            let chain: [Certificate]
            do { chain = try presented.map { try Certificate(derEncoded: $0.toDERBytes()) } } catch {
                notify(.rejected(peer: "TLS handshake", identity: nil, reason: "unreadable client certificate: \(error)"))
                promise.succeed(.failed)
                return
            }
            guard let leaf = chain.first else {
                notify(.rejected(peer: "TLS handshake", identity: nil, reason: "no client certificate"))
                promise.succeed(.failed)
                return
            }
            var expiring: String?
            if leaf.issuer == authority.subject {
                do { expiring = try TLSDirectory.checkValidity(leaf, file: "certificate of '\(leaf.commonName ?? "?")'") } catch {
                    notify(.rejected(peer: "TLS handshake", identity: leaf.commonName, reason: "certificate refused: \(error)"))
                    promise.succeed(.failed)
                    return
                }
            }
            var verifier = Verifier(rootCertificates: CertificateStore([authority])) {
                RFC5280Policy(validationTime: Date())
            }
            let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(chain.dropFirst()))
            switch result {
            case .validCertificate(let validated):
                if let refusal = revocationRefusal(leaf) {
                    notify(.rejected(peer: "TLS handshake", identity: leaf.commonName, reason: refusal))
                    promise.succeed(.failed)
                    return
                }
                if let expiring { notify(.credentials(actor: leaf.commonName ?? "unnamed", event: expiring, warning: true)) }
                do {
                    let nio = try validated.map { try NIOSSLCertificate(bytes: Array($0.serializeAsPEM().derBytes), format: .der) }
                    promise.succeed(.certificateVerified(VerificationMetadata(NIOSSL.ValidatedCertificateChain(nio))))
                } catch {
                    promise.succeed(.failed)
                }
            case .couldNotValidate(let failures):
                let why = failures.first.map { "\($0.policyFailureReason)" }
                    ?? "it was not issued by this deployment's CA (issuer: \(leaf.issuer))"
                notify(.rejected(peer: "TLS handshake", identity: leaf.commonName, reason: "certificate refused: \(why)"))
                promise.succeed(.failed)
            }
        }
    }
}

extension PeerVerifier {
    /// Why `leaf` is refused by the revocation list, or nil when it is not on it. A list that
    /// cannot be read or does not verify refuses every client (fail closed) until it is fixed.
    func revocationRefusal(_ leaf: Certificate) -> String? {
        let list: RevocationList?
        do { list = try tls.revocations(verifiedBy: authority) } catch {
            return "the revocation list cannot be used, so no client is admitted: \(error)"
        }
        guard let entry = list?.entry(for: leaf.serialNumber) else { return nil }
        return "certificate revoked: serial \(RevocationList.hex(leaf.serialNumber)) is on \(tls.revocationList) since "
            + ISO8601DateFormatter().string(from: entry.revokedAt)
    }
}

/// Reports TLS handshakes that fail for another reason than a refused certificate (which
/// `PeerVerifier` reports): above all, a client that presents no certificate.
final class HandshakeAuditHandler: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = NIOAny
    let notify: @Sendable (TransportNotice) -> Void
    private var reported = false

    init(notify: @escaping @Sendable (TransportNotice) -> Void) { self.notify = notify }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !reported, let tls = error as? NIOSSLError, case .handshakeFailed(let inner) = tls {
            reported = true
            let text = "\(inner)"
            if !text.contains("CERTIFICATE_VERIFY_FAILED") {
                let peer = context.channel.remoteAddress.map { "\($0)" } ?? "unknown address"
                let reason = text.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE") || text.contains("CERTIFICATE_REQUIRED")
                    ? "no client certificate" : "TLS handshake failed: \(text)"
                notify(.rejected(peer: peer, identity: nil, reason: reason))
            }
        }
        context.fireErrorCaught(error)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    /// Installs the handler right after the TLS handler of an accepted connection.
    static func install(on channel: any Channel, notify: @escaping @Sendable (TransportNotice) -> Void) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            let tls = try sync.handler(type: NIOSSLServerHandler.self)
            try sync.addHandler(HandshakeAuditHandler(notify: notify), position: .after(tls))
        }
    }
}
