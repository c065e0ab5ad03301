import Foundation
import XCTest
@testable import SecureAggregation

/// Wire messages with hostile counts and sizes: each is a `malformedMessage` naming the field and
/// offset, never a trap or an allocation sized by the attacker.
final class HostileMessageTests: XCTestCase {
    func config() throws -> SecAggConfig {
        try SecAggConfig(round: 1, clientCount: 5, dimension: 10, degree: 4, threshold: 3, graphSeed: 9, clipBound: 1)
    }

    /// The config's bytes with the field at `offset` (after the 5-byte header) replaced.
    func patched<T: FixedWidthInteger>(_ offset: Int, _ value: T) throws -> [UInt8] {
        var bytes = try config().encoded()
        withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<(offset + MemoryLayout<T>.size), with: $0) }
        return bytes
    }

    func testConfigDimensionAboveIntMaxIsRefusedNotTrapped() throws {
        // header 5 + round 8 + clients 4: the dimension is at offset 17. Int(UInt64) trapped on it.
        let bytes = try patched(17, UInt64.max)
        XCTAssertThrowsError(try SecAggConfig(encoded: bytes)) {
            XCTAssertEqual("\($0)".contains("config: dimension 18446744073709551615 at offset 17 is outside 1..."), true, "\($0)")
        }
    }

    func testConfigClientCountIsBoundedBeforeTheGraphIsBuilt() throws {
        // Four billion clients made every client build a four-billion-entry neighbour graph.
        let bytes = try patched(13, UInt32.max)
        XCTAssertThrowsError(try SecAggConfig(encoded: bytes)) {
            XCTAssertTrue("\($0)".contains("config: client count 4294967295 at offset 13 is outside 2...\(NeighbourGraph.maximumClients)"), "\($0)")
        }
        // A complete graph of the largest client count would hold n² entries.
        XCTAssertThrowsError(try NeighbourGraph(clientCount: NeighbourGraph.maximumClients, degree: NeighbourGraph.maximumClients, seed: 1)) {
            XCTAssertTrue("\($0)".contains("graph limit"), "\($0)")
        }
    }

    func testCountsAreCheckedAgainstTheBytesLeft() throws {
        // A key directory announcing 2^32 - 1 entries of 68 bytes in a 21-byte message.
        var bytes = KeyDirectory(round: 1, recipient: 2, entries: []).encoded()
        bytes.replaceSubrange(17..<21, with: [0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertThrowsError(try KeyDirectory(encoded: bytes)) {
            XCTAssertTrue("\($0)".contains("key-directory: 4294967295 elements of 68 bytes at offset 17 do not fit in 0 bytes"), "\($0)")
        }
    }
}
