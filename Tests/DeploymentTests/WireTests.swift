import Foundation
import XCTest
@testable import Deployment

final class WireTests: XCTestCase {
    func testChunksReassembleAndRefuseOversizedOrOutOfOrderPieces() throws {
        let payload = Data((0..<2_500).map { UInt8($0 % 251) })
        let chunks = makeChunks(requestID: 9, kind: .roundTask, round: 3, payload: payload, limit: 1_000)
        XCTAssertEqual(chunks.count, 3)
        var assembler = try ChunkAssembler(first: chunks[0], limit: 1_000)
        XCTAssertNil(try assembler.add(chunks[0]))
        XCTAssertNil(try assembler.add(chunks[1]))
        XCTAssertEqual(try assembler.add(chunks[2]), payload)

        var skipping = try ChunkAssembler(first: chunks[0], limit: 1_000)
        _ = try skipping.add(chunks[0])
        XCTAssertThrowsError(try skipping.add(chunks[2])) { XCTAssertTrue("\($0)".contains("chunk 2 arrived where chunk 1 was expected")) }

        var big = chunks[0]
        big.data = Data(count: 1_001)
        var oversized = try ChunkAssembler(first: big, limit: 1_000)
        XCTAssertThrowsError(try oversized.add(big)) { XCTAssertTrue("\($0)".contains("exceeds the 1000-byte limit")) }

        let empty = makeChunks(requestID: 1, kind: .evaluation, round: 0, payload: Data())
        XCTAssertEqual(empty.count, 1)
        var e = try ChunkAssembler(first: empty[0])
        XCTAssertEqual(try e.add(empty[0]), Data())
    }

    func testLossCodingRoundTrips() throws {
        XCTAssertEqual(try LossCoding.decode(LossCoding.encode(3.25)), 3.25)
        XCTAssertNil(try LossCoding.decode(LossCoding.encode(nil)))
        XCTAssertThrowsError(try LossCoding.decode(Data([1, 2, 3])))
    }

    func testCertificatesNameTheirHoldersAndChainToTheirCA() throws {
        let tls = try makeCredentials("certs", clients: ["hospital-a"])
        let client = try X509Text.certificate(tls.clientCertificate("hospital-a"))
        XCTAssertEqual(client.commonName, "hospital-a")
        let server = try X509Text.certificate(tls.serverCertificate)
        XCTAssertEqual(server.commonName, "127.0.0.1")
        let ca = try X509Text.certificate(tls.caCertificate)
        XCTAssertEqual(client.issuer, ca.subject)
        XCTAssertThrowsError(try tls.initialize()) { XCTAssertTrue("\($0)".contains("already exists")) }
        XCTAssertThrowsError(try tls.issue(.client(name: "bad/name"))) { XCTAssertTrue("\($0)".contains("not a usable name")) }
        XCTAssertEqual(try tls.soleClientName(), "hospital-a")
    }
}
