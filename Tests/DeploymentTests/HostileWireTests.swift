import Foundation
import XCTest
@testable import Deployment

/// Chunk assembly and Setup decoding against a hostile peer.
final class HostileWireTests: XCTestCase {
    #if os(Linux)
    /// The process's virtual size (a large malloc is an mmap, counted here even before it is touched).
    func heapBytes() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmSize:") } ?? ""
        return 1024 * (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0)
    }

    func testAnAnnouncedPayloadReservesNothingBeforeItsDataArrives() throws {
        // A first chunk that announces the largest payload but carries 10 bytes.
        var first = makeChunks(requestID: 1, kind: .roundTask, round: 0, payload: Data(count: 10))[0]
        first.totalBytes = UInt64(WireLimits.maxPayloadBytes)
        first.count = UInt32(WireLimits.maxPayloadBytes / WireLimits.maxChunkBytes)
        let before = heapBytes()
        var assemblers: [ChunkAssembler] = []
        for _ in 0..<8 {
            var a = try ChunkAssembler(first: first)
            XCTAssertNil(try a.add(first))
            assemblers.append(a)
        }
        let grown = heapBytes() - before
        // Before, each assembler reserved the announced 256 MiB (2 GiB for these eight).
        XCTAssertLessThan(grown, 64 << 20, "eight assemblers holding 10 bytes each grew the heap by \(grown) bytes")
        XCTAssertEqual(assemblers.map { $0.data.count }, [Int](repeating: 10, count: 8))
    }
    #endif

    func testChunksStillReassembleAsTheyArrive() throws {
        let payload = Data((0..<5_000).map { UInt8($0 % 253) })
        let chunks = makeChunks(requestID: 4, kind: .evaluation, round: 1, payload: payload, limit: 512)
        var assembler = try ChunkAssembler(first: chunks[0], limit: 512)
        for c in chunks.dropLast() {
            XCTAssertNil(try assembler.add(c))
            XCTAssertEqual(assembler.data.count, (Int(c.index) + 1) * 512)
        }
        XCTAssertEqual(try assembler.add(chunks.last!), payload)
    }
}
