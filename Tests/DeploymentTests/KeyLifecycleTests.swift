import Federation
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import XCTest
@testable import Deployment

/// Revocation lists, validity periods, rotation and key permissions, in process.
final class KeyLifecycleTests: XCTestCase {
    func testRevocationListIsSignedByTheCAAndListsTheRevokedSerials() throws {
        let tls = try makeCredentials("crl", clients: ["hospital-a", "hospital-b"])
        XCTAssertNil(try tls.revocations(), "no list before the first revocation")
        let first = try tls.revoke(client: "hospital-a")
        XCTAssertTrue(first.newlyRevoked)
        XCTAssertEqual(first.number, 1)
        let again = try tls.revoke(client: "hospital-a")
        XCTAssertFalse(again.newlyRevoked)
        XCTAssertEqual(again.listed, 1)
        try tls.revoke(client: "hospital-b")
        let list = try XCTUnwrap(try tls.revocations())
        XCTAssertEqual(list.number, 3)
        let a = try X509Text.certificate(tls.clientCertificate("hospital-a")), b = try X509Text.certificate(tls.clientCertificate("hospital-b"))
        XCTAssertEqual(list.entries.map(\.serial), [a.serialNumber, b.serialNumber])
        XCTAssertEqual(list.issuer, try X509Text.certificate(tls.caCertificate).subject)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: tls.revocationList)[.posixPermissions] as? Int, 0o644)

        // A reissued certificate for the same name is a new serial, and not revoked.
        try tls.issue(.client(name: "hospital-a"))
        XCTAssertNil(try tls.revocations()?.entry(for: try X509Text.certificate(tls.clientCertificate("hospital-a")).serialNumber))

        // Altered, or signed by another CA: refused, naming the file.
        let pem = try String(contentsOfFile: tls.revocationList, encoding: .utf8)
        var der = try XCTUnwrap(Data(base64Encoded: pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()))
        der[der.count - 80] ^= 0x01
        let altered = "-----BEGIN X509 CRL-----\n" + der.base64EncodedString(options: .lineLength64Characters) + "\n-----END X509 CRL-----\n"
        try altered.write(toFile: tls.revocationList, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try tls.revocations()) { XCTAssertTrue("\($0)".hasPrefix(tls.revocationList + ": "), "\($0)") }
        let foreign = try makeCredentials("crl-foreign", clients: ["hospital-a"])
        try foreign.revoke(client: "hospital-a")
        try FileManager.default.removeItem(atPath: tls.revocationList)
        try FileManager.default.copyItem(atPath: foreign.revocationList, toPath: tls.revocationList)
        XCTAssertThrowsError(try tls.revocations()) {
            XCTAssertTrue("\($0)".contains("signature does not verify with the CA in ca.pem"), "\($0)")
        }
        try "not a list".write(toFile: tls.revocationList, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try tls.revocations()) { XCTAssertTrue("\($0)".contains("not a PEM revocation list"), "\($0)") }
    }

    func testValidityPeriodsWarningsAndExpiry() throws {
        let tls = TLSDirectory(path: try temporaryDirectory("validity"))
        try tls.initialize()
        let ca = try X509Text.certificate(tls.caCertificate)
        XCTAssertEqual(ca.notValidAfter.timeIntervalSinceNow / 86_400, 3650, accuracy: 0.01, "the CA is valid for ten years")
        try tls.issue(.client(name: "fresh"))
        XCTAssertEqual(try X509Text.certificate(tls.clientCertificate("fresh")).notValidAfter.timeIntervalSinceNow / 86_400, 365, accuracy: 0.01)
        try tls.issue(.client(name: "short"), days: 30)
        XCTAssertEqual(try X509Text.certificate(tls.clientCertificate("short")).notValidAfter.timeIntervalSinceNow / 86_400, 30, accuracy: 0.01)
        XCTAssertThrowsError(try tls.issue(.client(name: "never"), days: 0)) { XCTAssertTrue("\($0)".contains("--days 0"), "\($0)") }

        XCTAssertNil(try tls.checkClientCredentials("fresh"))
        try tls.issue(.client(name: "soon"), days: 10)
        let warning = try XCTUnwrap(try tls.checkClientCredentials("soon"))
        XCTAssertTrue(warning.contains("expires in 10 days"), warning)
        try tls.issue(.client(name: "old"), days: 30, now: Date().addingTimeInterval(-40 * 86_400))
        XCTAssertThrowsError(try tls.checkClientCredentials("old")) {
            XCTAssertTrue("\($0)".hasPrefix("\(tls.clientCertificate("old")): certificate expired on "), "\($0)")
        }

        // The coordinator refuses to start on an expired certificate, and reports one that expires soon.
        try tls.issue(.server(host: "127.0.0.1"), days: 30, now: Date().addingTimeInterval(-31 * 86_400))
        XCTAssertThrowsError(try tls.checkCoordinatorCredentials()) { XCTAssertTrue("\($0)".contains("expired"), "\($0)") }
        try tls.issue(.server(host: "127.0.0.1"), days: 5)
        let lines = try tls.checkCoordinatorCredentials()
        XCTAssertTrue(lines.contains { $0.warning && $0.event.contains("server.pem: certificate expires in 5 days") }, "\(lines)")
        XCTAssertTrue(lines.contains { !$0.warning && $0.event.hasPrefix("server certificate serial ") }, "\(lines)")
    }

    func testRotationReissuesTheServerCertificateAndLeavesTheCA() throws {
        let tls = try makeCredentials("rotate", clients: [])
        let caBytes = try Data(contentsOf: URL(fileURLWithPath: tls.caCertificate))
        let caKeyBytes = try Data(contentsOf: URL(fileURLWithPath: tls.caKey))
        let before = try X509Text.certificate(tls.serverCertificate)
        let keyBefore = try Data(contentsOf: URL(fileURLWithPath: tls.serverKey))
        let r = try tls.rotateServer(days: 90)
        let after = try X509Text.certificate(tls.serverCertificate)
        XCTAssertEqual(r.host, "127.0.0.1")
        XCTAssertEqual(after.commonName, "127.0.0.1")
        XCTAssertNotEqual(after.serialNumber, before.serialNumber)
        XCTAssertEqual(r.oldSerial, RevocationList.hex(before.serialNumber))
        XCTAssertNotEqual(after.publicKey, before.publicKey, "a new key")
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: tls.serverKey)), keyBefore)
        XCTAssertEqual(after.issuer, before.issuer)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: tls.caCertificate)), caBytes)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: tls.caKey)), caKeyBytes)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: tls.serverKey)[.posixPermissions] as? Int, 0o600)
        XCTAssertEqual(after.notValidAfter.timeIntervalSinceNow / 86_400, 90, accuracy: 0.01)
    }

    func testKeysReadableByOthersAreRefused() throws {
        let tls = try makeCredentials("modes", clients: ["hospital-a"])
        for file in [tls.caKey, tls.serverKey, tls.clientKey("hospital-a")] {
            XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int, 0o600, file)
        }
        XCTAssertNoThrow(try TLSDirectory.checkPrivateKey(tls.serverKey))
        chmod(tls.serverKey, 0o604)
        XCTAssertThrowsError(try TLSDirectory.checkPrivateKey(tls.serverKey)) {
            XCTAssertEqual("\($0)", "\(tls.serverKey): private key is readable by group or others (mode 604); run `chmod 600 \(tls.serverKey)`")
        }
        XCTAssertThrowsError(try tls.checkCoordinatorCredentials())
    }

    /// The handshake refuses a revoked certificate, on a first connection and on a reconnect
    /// after the revocation, and an expired one; it reports one that expires soon.
    func testHandshakeRefusesRevokedAndExpiredCertificates() async throws {
        FileManager.default.changeCurrentDirectoryPath(repositoryRoot.path)
        let tls = try makeCredentials("handshake", clients: ["hospital-a", "hospital-b"])
        try tls.issue(.client(name: "law-firm"), days: 30, now: Date().addingTimeInterval(-31 * 86_400))   // expired
        try tls.issue(.client(name: "support"), days: 3)                                                  // expires soon
        try tls.revoke(client: "hospital-b")
        let scenario = try ScenarioLoader.load(path: "scenarios/tiny-deploy.toml")
        let model = try EngineModel.load(path: "tiny")
        let notices = NoticeLog()
        let server = try CoordinatorServer.forScenario(scenario, modelPath: "tiny", modelConfig: model.model.config, host: "127.0.0.1",
                                                       port: 0, tls: tls, heartbeat: 1, notify: notices.add)
        let port = try await server.start()
        XCTAssertTrue(notices.all.contains { if case .credentials("coordinator", let e, false) = $0 { return e.hasPrefix("revocation list number 1") } else { return false } },
                      "\(notices.all)")

        let first = await sessionExpectingSetup(port: port, tls, "hospital-a")
        XCTAssertEqual(first, "setup")
        let revoked = await session(port: port, tls, "hospital-b")
        XCTAssertNotEqual(revoked, "setup")
        let revokedRefused = await notices.waitFor { _ in notices.refusals.contains { $0.hasPrefix("certificate revoked: serial ") } }
        XCTAssertTrue(revokedRefused, "\(notices.refusals)")

        // Revoked after it joined: refused at its next connection.
        try tls.revoke(client: "hospital-a")
        let reconnect = await session(port: port, tls, "hospital-a")
        XCTAssertNotEqual(reconnect, "setup")
        let revokedAfterJoinRefused = await notices.waitFor { _ in notices.all.contains { if case .rejected(_, "hospital-a", let r) = $0 { return r.contains("certificate revoked") } else { return false } } }
        XCTAssertTrue(revokedAfterJoinRefused, "\(notices.all)")

        let expired = await session(port: port, tls, "law-firm")
        XCTAssertNotEqual(expired, "setup")
        let expiredRefused = await notices.waitFor { _ in notices.all.contains { if case .rejected(_, "law-firm", let r) = $0 { return r.contains("certificate expired on") } else { return false } } }
        XCTAssertTrue(expiredRefused, "\(notices.all)")

        let expiring = await sessionExpectingSetup(port: port, tls, "support")
        XCTAssertEqual(expiring, "setup")
        XCTAssertTrue(notices.all.contains { if case .credentials("support", let e, true) = $0 { return e.contains("expires in 3 days") } else { return false } },
                      "\(notices.all)")
        await server.stop()
    }

    /// Opens a session as `name` and sends Join: "setup" when the coordinator answered with its
    /// Setup, else the error that ended the session.
    /// A session that should be accepted: up to three attempts 0.3 s apart (a refusal would end
    /// every attempt). Full CI runs twice saw such a session end without its Setup.
    func sessionExpectingSetup(port: Int, _ tls: TLSDirectory, _ name: String) async -> String {
        var last = ""
        for attempt in 0..<3 {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(300)) }
            last = await session(port: port, tls, name)
            if last == "setup" { return last }
        }
        return last
    }

    func session(port: Int, _ tls: TLSDirectory, _ name: String) async -> String {
        let security = HTTP2ClientTransport.Posix.TransportSecurity.mTLS(
            certificateChain: [.file(path: tls.clientCertificate(name), format: .pem)],
            privateKey: .file(path: tls.clientKey(name), format: .pem)) { c in
            c.trustRoots = .certificates([.file(path: tls.caCertificate, format: .pem)])
        }
        do {
            let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: security)
            return try await withGRPCClient(transport: transport) { grpc in
                let stub = Fedpilot_Deployment_V1_Coordinator.Client(wrapping: grpc)
                var options = CallOptions.defaults
                options.waitForReady = false
                options.timeout = .seconds(10)
                return try await stub.session(options: options, requestProducer: { writer in
                    // Half-closes right after Join: the coordinator must still write the Setup
                    // (it used to be lost when the closed stream ended the session first).
                    try await writer.write(RefusalTests.join(version: WireLimits.protocolVersion))
                }) { response in
                    for try await message in response.messages {
                        if case .setup = message.kind { return "setup" }
                    }
                    return "ended"
                }
            }
        } catch {
            return "\(error)"
        }
    }
}
