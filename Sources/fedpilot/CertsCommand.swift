import ArgumentParser
import Deployment
import Foundation

/// `fedpilot certs ...`: the certificates of a deployment with mutual TLS.
struct CertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certs", abstract: "Create a deployment's CA and issue its server and client certificates.",
        subcommands: [CertsInit.self, CertsIssue.self])
}

struct CertsInit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a certificate authority (P-256 key and self-signed certificate) in DIR.",
        discussion: "Writes DIR/ca.pem and DIR/ca-key.pem. Keep ca-key.pem with the operator; hand out ca.pem.")
    @Option(help: "Directory for the PEM files (created if missing).") var dir: String

    func run() throws {
        try reportingErrors {
            let tls = TLSDirectory(path: dir)
            let ca = try tls.initialize()
            print("created CA '\(ca.certificate.commonName ?? "")': \(tls.caCertificate) (key \(tls.caCertificate.replacingOccurrences(of: "ca.pem", with: "ca-key.pem")))")
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
        --server HOST writes DIR/server.pem and DIR/server-key.pem for the address clients dial (a DNS name or an IP).
        """)
    @Option(help: "Directory holding ca.pem and ca-key.pem.") var dir: String
    @Option(help: "Issue a client certificate for this client id.") var client: String?
    @Option(help: "Issue the coordinator's certificate for this host name or IP address.") var server: String?

    func run() throws {
        try reportingErrors {
            guard (client == nil) != (server == nil) else { throw ValidationError("give exactly one of --client NAME and --server HOST") }
            let tls = TLSDirectory(path: dir)
            let role: CertificateAuthority.Role = client.map { .client(name: $0) } ?? .server(host: server!)
            let written = try tls.issue(role)
            print("issued \(written.certificate) (key \(written.key))")
        }
    }
}
