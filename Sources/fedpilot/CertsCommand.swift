import ArgumentParser
import Deployment
import Foundation

/// `fedpilot certs ...`: the certificates of a deployment with mutual TLS, and their lifecycle.
struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs", abstract: "Create a deployment's CA; issue, revoke and rotate its certificates.",
        subcommands: [CertsInit.self, CertsIssue.self, CertsRevoke.self, CertsRotate.self])
}

/// "until 2027-12-04T11:20:07Z".
private func until(_ file: String) -> String {
    guard let date = TLSDirectory.expiry(of: file) else { return "" }
    return ", valid until \(ISO8601DateFormatter().string(from: date))"
}

struct CertsInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a certificate authority (P-256 key and self-signed certificate) in DIR.",
        discussion: "Writes DIR/ca.pem and DIR/ca-key.pem (mode 0600). Keep ca-key.pem with the operator; hand out ca.pem.")
    @Option(help: "Directory for the PEM files (created if missing).") var dir: String
    @Option(help: "Days the CA is valid (the certificates it issues never outlive it).") var days: Int = CertificateAuthority.defaultCADays

    func run() throws {
        try reportingErrors {
            let tls = TLSDirectory(path: dir)
            let ca = try tls.initialize(days: days)
            print("created CA '\(ca.certificate.commonName ?? "")': \(tls.caCertificate) (key \(tls.caCertificate.replacingOccurrences(of: "ca.pem", with: "ca-key.pem")))\(until(tls.caCertificate))")
        }
    }
}

struct CertsIssue: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Issue a client or server certificate signed by DIR's CA.",
        discussion: """
        --client NAME writes DIR/client-NAME.pem and DIR/client-NAME-key.pem; NAME must be the client's id in \
        the scenario, and is the only identity the coordinator accepts from that certificate. \
        --server HOST writes DIR/server.pem and DIR/server-key.pem for the address clients dial (a DNS name or an IP). \
        Keys are written with mode 0600.
        """)
    @Option(help: "Directory holding ca.pem and ca-key.pem.") var dir: String
    @Option(help: "Issue a client certificate for this client id.") var client: String?
    @Option(help: "Issue the coordinator's certificate for this host name or IP address.") var server: String?
    @Option(help: "Days the certificate is valid.") var days: Int = CertificateAuthority.defaultLeafDays

    func run() throws {
        try reportingErrors {
            guard (client == nil) != (server == nil) else { throw ValidationError("give exactly one of --client NAME and --server HOST") }
            let tls = TLSDirectory(path: dir)
            let role: CertificateAuthority.Role = client.map { .client(name: $0) } ?? .server(host: server!)
            let written = try tls.issue(role, days: days)
            print("issued \(written.certificate) (key \(written.key))\(until(written.certificate))")
        }
    }
}

struct CertsRevoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a client's certificate: add it to DIR/crl.pem, an X.509 CRL signed by the CA.",
        discussion: """
        Needs DIR/ca-key.pem and the client's certificate DIR/client-NAME.pem. Copy crl.pem into the \
        coordinator's --tls-dir: `fedpilot serve` reads it at every TLS handshake, so the client is refused \
        from its next connection on (a running session is not cut), with a line in the journal's audit trail. \
        Issue the client a new certificate with `certs issue --client NAME` if it should come back.
        """)
    @Option(help: "Directory holding ca.pem, ca-key.pem and the client's certificate.") var dir: String
    @Option(help: "The client id whose certificate is revoked.") var client: String

    func run() throws {
        try reportingErrors {
            let tls = TLSDirectory(path: dir)
            let r = try tls.revoke(client: client)
            print("\(r.newlyRevoked ? "revoked" : "already revoked:") \(tls.clientCertificate(client)) (serial \(r.serial)); "
                  + "\(tls.revocationList) number \(r.number) lists \(r.listed) certificate\(r.listed == 1 ? "" : "s")")
        }
    }
}

struct CertsRotate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Reissue the coordinator's certificate and key, signed by the same CA (which is not changed).",
        discussion: """
        Replaces DIR/server.pem and DIR/server-key.pem (mode 0600) for the same host as before, or --host. \
        Clients trust the CA, so they need nothing new. `serve` uses the new pair from its next start, and \
        a resumed run's audit trail records the rotation (old and new serial).
        """)
    @Option(help: "Directory holding ca.pem, ca-key.pem and server.pem.") var dir: String
    @Flag(help: "Rotate the coordinator's certificate (the only one rotated in place; clients get new ones with `certs issue`).")
    var server = false
    @Option(help: "The coordinator's host name or IP address (default: the current certificate's).") var host: String?
    @Option(help: "Days the new certificate is valid.") var days: Int = CertificateAuthority.defaultLeafDays

    func run() throws {
        try reportingErrors {
            guard server else { throw ValidationError("give --server: `certs rotate` reissues the coordinator's certificate") }
            let tls = TLSDirectory(path: dir)
            let r = try tls.rotateServer(host: host, days: days)
            print("rotated \(tls.serverCertificate) for \(r.host): serial \(r.oldSerial ?? "none") → \(r.newSerial), "
                  + "valid until \(ISO8601DateFormatter().string(from: r.notAfter)); the CA is unchanged")
        }
    }
}
