import Foundation
import X509

/// The key lifecycle of a deployment's TLS directory: revocation, rotation of the
/// coordinator's certificate, validity periods and the permissions of private keys.
extension TLSDirectory {
    /// Certificates that expire within this many days draw a warning.
    public static let expiryWarningDays = 14

    /// What `revoke` did.
    public struct Revocation: Sendable {
        public var serial: String
        /// False when the certificate was already on the list (the list is rewritten anyway).
        public var newlyRevoked: Bool
        public var listed: Int
        public var number: Int
    }

    /// Adds client `name`'s current certificate to crl.pem, signed by the CA (the list is
    /// created on first use). A revoked client can be given a new certificate with `issue`.
    @discardableResult
    public func revoke(client name: String, now: Date = Date()) throws -> Revocation {
        try CertificateAuthority.checkName(name)
        let ca = try authority()
        let certificate = try loadCertificate(clientCertificate(name),
                                              what: "certificate of client '\(name)' (nothing to revoke; `fedpilot certs issue --client \(name)` writes one)")
        guard certificate.issuer == ca.certificate.subject else {
            throw DeploymentError.badCredentials("\(clientCertificate(name)) was not issued by this directory's CA")
        }
        var list = try revocations(verifiedBy: ca.certificate)
            ?? RevocationList(issuer: ca.certificate.subject, thisUpdate: now, nextUpdate: nil, number: 0, entries: [])
        let fresh = list.entry(for: certificate.serialNumber) == nil
        if fresh { list.entries.append(.init(serial: certificate.serialNumber, revokedAt: now)) }
        list.thisUpdate = now
        list.nextUpdate = now.addingTimeInterval(365 * 86_400)
        list.number += 1
        try write(try list.signedPEM(by: ca), to: revocationList, secret: false)
        return Revocation(serial: RevocationList.hex(certificate.serialNumber), newlyRevoked: fresh,
                          listed: list.entries.count, number: list.number)
    }

    /// The revocation list, its signature checked against `authority` (ca.pem when nil);
    /// nil when there is no crl.pem.
    public func revocations(verifiedBy authority: Certificate? = nil) throws -> RevocationList? {
        guard FileManager.default.fileExists(atPath: revocationList) else { return nil }
        let ca = try authority ?? loadCertificate(caCertificate, what: "CA certificate")
        return try RevocationList(pem: read(revocationList, what: "revocation list"), file: revocationList, verifiedBy: ca)
    }

    /// What `rotateServer` did.
    public struct Rotation: Sendable {
        public var host: String
        public var oldSerial: String?
        public var newSerial: String
        public var notAfter: Date
    }

    /// Reissues the coordinator's certificate and key with the same CA (ca.pem and ca-key.pem
    /// are only read). The host name is the current certificate's unless `host` is given.
    /// Clients trust the CA, not the certificate, so they keep working; a running `serve` uses
    /// the new pair from its next start.
    @discardableResult
    public func rotateServer(host: String? = nil, days: Int = CertificateAuthority.defaultLeafDays, now: Date = Date()) throws -> Rotation {
        let current = FileManager.default.fileExists(atPath: serverCertificate)
            ? try loadCertificate(serverCertificate, what: "server certificate") : nil
        guard let name = host ?? current?.commonName else {
            throw DeploymentError.badCredentials("\(serverCertificate) does not exist: give the coordinator's address with --host HOST (or use `fedpilot certs issue --server HOST`)")
        }
        try issue(.server(host: name), days: days, now: now)
        let issued = try loadCertificate(serverCertificate, what: "server certificate")
        return Rotation(host: name, oldSerial: current.map { RevocationList.hex($0.serialNumber) },
                        newSerial: RevocationList.hex(issued.serialNumber), notAfter: issued.notValidAfter)
    }

    /// Refuses a private key file that group or others may read (or that cannot be read).
    public static func checkPrivateKey(_ file: String) throws {
        var info = stat()
        guard stat(file, &info) == 0 else {
            throw DeploymentError.badCredentials("\(file): cannot read the private key (\(String(cString: strerror(errno))))")
        }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw DeploymentError.badCredentials(String(format: "%@: private key is readable by group or others (mode %03o); run `chmod 600 %@`",
                                                        file, mode, file))
        }
    }

    /// How a certificate stands at `now`: nil when it is valid for longer than the warning
    /// period; a warning when it expires within `expiryWarningDays`.
    /// - Throws: `DeploymentError.badCredentials` naming `file` when it has expired or is not yet valid.
    public static func checkValidity(_ certificate: Certificate, file: String, now: Date = Date()) throws -> String? {
        let day = ISO8601DateFormatter()
        if now > certificate.notValidAfter {
            throw DeploymentError.badCredentials("\(file): certificate expired on \(day.string(from: certificate.notValidAfter)); issue a new one with `fedpilot certs`")
        }
        if now < certificate.notValidBefore {
            throw DeploymentError.badCredentials("\(file): certificate is not valid before \(day.string(from: certificate.notValidBefore)); check the clock")
        }
        let left = certificate.notValidAfter.timeIntervalSince(now)
        guard left < Double(expiryWarningDays) * 86_400 else { return nil }
        return "\(file): certificate expires in \(Self.days(left)) (\(day.string(from: certificate.notValidAfter))); issue a new one before then"
    }

    /// "3 days", "1 day", "less than a day", to the nearest day.
    static func days(_ seconds: Double) -> String {
        let d = Int((seconds / 86_400).rounded())
        return d == 0 ? "less than a day" : d == 1 ? "1 day" : "\(d) days"
    }

    /// The coordinator's credentials before it listens: the server key's permissions, the CA's
    /// and the server certificate's validity, and the revocation list's signature.
    /// - Returns: lines for the audit trail: the server certificate in use, the revocation
    ///   list, and a warning for each certificate that expires soon (`warning` true).
    /// - Throws: on an exposed key, an expired certificate or a revocation list that does not verify.
    public func checkCoordinatorCredentials(now: Date = Date()) throws -> [(event: String, warning: Bool)] {
        try Self.checkPrivateKey(serverKey)
        let ca = try loadCertificate(caCertificate, what: "CA certificate")
        let server = try loadCertificate(serverCertificate, what: "server certificate (issue one with `fedpilot certs issue --server HOST`)")
        var out: [(String, Bool)] = []
        for (certificate, file) in [(ca, caCertificate), (server, serverCertificate)] {
            if let warning = try Self.checkValidity(certificate, file: file, now: now) { out.append((warning, true)) }
        }
        let day = ISO8601DateFormatter()
        out.append(("server certificate serial \(RevocationList.hex(server.serialNumber)) for \(server.commonName ?? "?") valid until \(day.string(from: server.notValidAfter))", false))
        if let list = try revocations(verifiedBy: ca) {
            out.append(("revocation list number \(list.number) of \(day.string(from: list.thisUpdate)): \(list.entries.count) revoked certificate\(list.entries.count == 1 ? "" : "s")", false))
            if let next = list.nextUpdate, next < now {
                out.append(("\(revocationList): past its next update (\(day.string(from: next))); reissue it with `fedpilot certs revoke`", true))
            }
        }
        return out
    }

    /// A client's own credentials before it dials: its key's permissions and its certificate's validity.
    /// - Returns: a warning when the certificate expires soon.
    public func checkClientCredentials(_ name: String, now: Date = Date()) throws -> String? {
        try Self.checkPrivateKey(clientKey(name))
        return try Self.checkValidity(loadCertificate(clientCertificate(name), what: "client certificate"), file: clientCertificate(name), now: now)
    }

    /// When the PEM certificate in `file` expires (nil when it cannot be read).
    public static func expiry(of file: String) -> Date? {
        (try? String(contentsOfFile: file, encoding: .utf8)).flatMap { try? Certificate(pemEncoded: $0) }?.notValidAfter
    }

    func loadCertificate(_ file: String, what: String) throws -> Certificate {
        let text = try read(file, what: what)
        do { return try Certificate(pemEncoded: text) } catch {
            throw DeploymentError.badCredentials("\(file): not a PEM certificate")
        }
    }
}
