import Foundation
import Journal
import XCTest
@testable import Deployment

/// The key lifecycle through the real binary: revocation refused at the handshake with a line
/// in the journal, private keys that others can read, usage errors' exit status.
extension ProcessTests {
    /// `certs revoke` writes a CRL that openssl accepts; `serve` refuses the revoked client at
    /// its handshake and its journal's audit trail says so; the other clients run as usual.
    func testRevokedClientIsRefusedAndAudited() throws {
        let revoke = try run(["certs", "revoke", "--dir", tlsDir, "--client", "law-firm"])
        XCTAssertEqual(revoke.status, 0, revoke.output)
        XCTAssertTrue(revoke.output.contains("revoked \(tlsDir!)/client-law-firm.pem"), revoke.output)
        let crl = tlsDir + "/crl.pem"
        if let openssl = ["/usr/bin/openssl", "/bin/openssl"].first(where: FileManager.default.isExecutableFile) {
            let check = Process()
            check.executableURL = URL(fileURLWithPath: openssl)
            check.arguments = ["crl", "-in", crl, "-CAfile", tlsDir + "/ca.pem", "-noout", "-text"]
            let pipe = Pipe()
            check.standardOutput = pipe
            check.standardError = pipe
            try check.run()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            check.waitUntilExit()
            XCTAssertEqual(check.terminationStatus, 0, text)
            XCTAssertTrue(text.contains("verify OK"), text)
            let serial = try X509Text.certificate(tlsDir + "/client-law-firm.pem").serialNumber
            let hex = serial.bytes.map { String(format: "%02X", $0) }.joined()
            XCTAssertTrue(text.replacingOccurrences(of: ":", with: "").uppercased().contains(hex), "serial \(hex) not in \(text)")
        }

        let port = freePort()
        let journal = work + "/revoked.sqlite"
        let serve = try launch(serveArguments(port: port) + ["--journal", journal, "--wait-for", "3"], output: "serve")
        var joins: [String: Process] = [:]
        for c in clients {
            joins[c] = try launch(joinArguments(c, port: port) + (c == "law-firm" ? ["--retry-for", "3"] : []), output: c)
        }
        guard wait(serve, timeout: 120) else { return XCTFail("serve did not finish: \(output("serve"))") }
        XCTAssertEqual(serve.terminationStatus, 0, output("serve.err"))
        guard wait(joins["law-firm"]!, timeout: 30) else { return XCTFail("the revoked client still runs: \(output("law-firm"))") }
        XCTAssertNotEqual(joins["law-firm"]!.terminationStatus, 0, "the revoked client was not admitted")
        let trail = try RunJournal(readingFrom: journal).auditTrail()
        let refusals = trail.filter { $0.actor == "law-firm" && !$0.applied }
        XCTAssertFalse(refusals.isEmpty, "\(trail)")
        XCTAssertTrue(refusals.allSatisfy { $0.action.contains("certificate revoked") }, "\(refusals)")
        XCTAssertFalse(trail.contains { $0.actor == "law-firm" && $0.applied && $0.action.hasPrefix("joined") }, "\(trail)")
        XCTAssertTrue(trail.contains { $0.actor == "coordinator" && $0.action.hasPrefix("revocation list number 1") }, "\(trail)")
        let completed = lines("serve").filter { $0["type"] as? String == "round_completed" }
        XCTAssertEqual(completed.count, 3)
        for round in completed {
            XCTAssertEqual(Set(round["aggregated"] as? [String] ?? []), Set(clients).subtracting(["law-firm"]))
        }

        // The report shows the audit trail as a table.
        let reportDir = work + "/report"
        let report = try run(["report", journal, "--out", reportDir])
        XCTAssertEqual(report.status, 0, report.output)
        let html = try String(contentsOfFile: reportDir + "/report.html", encoding: .utf8)
        XCTAssertTrue(html.contains("<section id=\"security-audit\">"), "no security audit table")
        XCTAssertTrue(html.contains("<td>law-firm</td><td>refused from TLS handshake: certificate revoked"), "no revocation row")
    }

    /// Keys are written 0600; `serve` and `join` refuse a key that group or others can read.
    func testKeysReadableByOthersAreRefused() throws {
        for file in ["ca-key.pem", "server-key.pem", "client-hospital-a-key.pem"] {
            XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: "\(tlsDir!)/\(file)")[.posixPermissions] as? Int, 0o600, file)
        }
        let serverKey = tlsDir + "/server-key.pem"
        chmod(serverKey, 0o644)
        let serve = try launch(serveArguments(port: freePort()) + ["--join-timeout", "1"], output: "serve")
        guard wait(serve, timeout: 30) else { return XCTFail("serve started with an exposed key") }
        XCTAssertEqual(serve.terminationStatus, 1)
        let serveError = try String(contentsOfFile: work + "/serve.err", encoding: .utf8)
        XCTAssertEqual(serveError, "fedpilot: \(serverKey): private key is readable by group or others (mode 644); run `chmod 600 \(serverKey)`\n")

        let clientKey = tlsDir + "/client-hospital-a-key.pem"
        chmod(clientKey, 0o640)
        let join = try launch(joinArguments("hospital-a", port: freePort()), output: "join")
        guard wait(join, timeout: 30) else { return XCTFail("join ran with an exposed key") }
        XCTAssertEqual(join.terminationStatus, 1)
        let joinError = try String(contentsOfFile: work + "/join.err", encoding: .utf8)
        XCTAssertEqual(joinError, "fedpilot: \(clientKey): private key is readable by group or others (mode 640); run `chmod 600 \(clientKey)`\n")
    }

    /// A usage error exits 1 with one line, as the README says, not ArgumentParser's 64.
    func testUsageErrorsExitOneWithOneLine() throws {
        for arguments in [["certs", "init"], ["run", "scenarios/tiny-test.toml", "--rounds", "three"], ["certs", "issue", "--dir", tlsDir!, "--bogus"],
                          ["run", "--parallel-clients", "0"]] {
            let p = try launch(arguments, output: "usage")
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 1, "\(arguments)")
            let stderr = try String(contentsOfFile: work + "/usage.err", encoding: .utf8)
            XCTAssertEqual(stderr.split(separator: "\n").count, 1, "\(arguments): \(stderr)")
            XCTAssertTrue(stderr.hasPrefix("fedpilot: error: "), stderr)
        }
        let help = try launch(["certs", "revoke", "--help"], output: "help")
        help.waitUntilExit()
        XCTAssertEqual(help.terminationStatus, 0)
        XCTAssertTrue(output("help").contains("--client"))
    }
}
