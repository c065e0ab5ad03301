import Crypto
import Foundation
import X509

/// The PEM files of a deployment in one directory:
///
///     ca.pem, ca-key.pem                    the CA (`certs init`); ca-key.pem stays with the operator
///     server.pem, server-key.pem            the coordinator (`certs issue --server HOST`)
///     client-NAME.pem, client-NAME-key.pem  one client (`certs issue --client NAME`)
///     crl.pem                               revoked certificates (`certs revoke --client NAME`)
///
/// A coordinator needs ca.pem, the server pair and crl.pem when there is one; a client needs
/// ca.pem and its own pair. Private keys are written 0600, and `serve` and `join` refuse a key
/// that group or others can read.
public struct TLSDirectory: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    public var caCertificate: String { file("ca.pem") }
    var caKey: String { file("ca-key.pem") }
    public var serverCertificate: String { file("server.pem") }
    public var serverKey: String { file("server-key.pem") }
    public func clientCertificate(_ name: String) -> String { file("client-\(name).pem") }
    public func clientKey(_ name: String) -> String { file("client-\(name)-key.pem") }
    public var revocationList: String { file("crl.pem") }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Writes a new CA; refuses to overwrite one.
    @discardableResult
    public func initialize(days: Int = CertificateAuthority.defaultCADays) throws -> CertificateAuthority {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard !FileManager.default.fileExists(atPath: caCertificate) else {
            throw DeploymentError.badCredentials("\(caCertificate) already exists; remove it to start a new CA (every certificate it issued stops working)")
        }
        let ca = try CertificateAuthority.create(days: days)
        try write(ca.keyPEM, to: caKey, secret: true)
        try write(try ca.certificate.serializeAsPEM().pemString, to: caCertificate, secret: false)
        return ca
    }

    /// Issues a certificate signed by this directory's CA and writes it with its key.
    /// - Returns: the paths written (certificate, key).
    @discardableResult
    public func issue(_ role: CertificateAuthority.Role, days: Int = CertificateAuthority.defaultLeafDays,
                      now: Date = Date()) throws -> (certificate: String, key: String) {
        let ca = try authority()
        let issued = try ca.issue(role, days: days, now: now)
        let paths: (String, String)
        switch role {
        case .client(let name): paths = (clientCertificate(name), clientKey(name))
        case .server: paths = (serverCertificate, serverKey)
        }
        try write(issued.key.pemRepresentation, to: paths.1, secret: true)
        try write(try issued.certificate.serializeAsPEM().pemString, to: paths.0, secret: false)
        return paths
    }

    /// The one client whose certificate is in this directory (for `join` without `--name`).
    public func soleClientName() throws -> String {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [])
            .filter { $0.hasPrefix("client-") && $0.hasSuffix(".pem") && !$0.hasSuffix("-key.pem") }
            .map { String($0.dropFirst("client-".count).dropLast(".pem".count)) }
        guard names.count == 1 else {
            throw DeploymentError.badCredentials(names.isEmpty
                ? "\(path) holds no client certificate (client-NAME.pem); issue one with `fedpilot certs issue --client NAME`"
                : "\(path) holds certificates for \(names.sorted().joined(separator: ", ")); choose one with --name")
        }
        return names[0]
    }

    func read(_ file: String, what: String) throws -> String {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            throw DeploymentError.badCredentials("\(file): cannot read the \(what)")
        }
        return text
    }

    /// The CA with its key (for issuing and revoking).
    func authority() throws -> CertificateAuthority {
        try CertificateAuthority(certificatePEM: read(caCertificate, what: "CA certificate (run `fedpilot certs init` first)"),
                                 keyPEM: read(caKey, what: "CA key"))
    }

    /// Writes `text` to `file` through a temporary file created with its final mode (0600 for
    /// a secret, else 0644) and renamed over it, so a key is never readable by others, not even
    /// for a moment, and a reader never sees half a file.
    func write(_ text: String, to file: String, secret: Bool) throws {
        let mode: mode_t = secret ? 0o600 : 0o644
        let temporary = file + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, mode)
        guard fd >= 0 else { throw DeploymentError.badCredentials("\(file): cannot write (\(String(cString: strerror(errno))))") }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        let ok = written == bytes.count && fchmod(fd, mode) == 0 && fsync(fd) == 0
        close(fd)
        guard ok, rename(temporary, file) == 0 else {
            unlink(temporary)
            throw DeploymentError.badCredentials("\(file): cannot write (\(String(cString: strerror(errno))))")
        }
    }
}
