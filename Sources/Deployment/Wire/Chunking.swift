import Foundation

package typealias WireChunk = Fedpilot_Deployment_V1_Chunk
package typealias RequestKind = Fedpilot_Deployment_V1_RequestKind
typealias ClientMessage = Fedpilot_Deployment_V1_ClientMessage
typealias CoordinatorMessage = Fedpilot_Deployment_V1_CoordinatorMessage

/// Limits of the wire protocol that both sides enforce.
public enum WireLimits {
    /// The protocol version both sides must speak.
    public static let protocolVersion: UInt32 = 2
    /// Largest chunk payload, in bytes.
    public static let maxChunkBytes = 1 << 20
    /// Largest payload (a whole task, reply or message), in bytes.
    public static let maxPayloadBytes = 256 << 20
}

/// Cuts a payload into chunks of at most `limit` bytes (an empty payload is one empty chunk).
package func makeChunks(requestID: UInt64, kind: RequestKind, round: Int, payload: Data,
                limit: Int = WireLimits.maxChunkBytes) -> [WireChunk] {
    let count = max(1, (payload.count + limit - 1) / limit)
    return (0..<count).map { i in
        var c = WireChunk()
        c.requestID = requestID
        c.kind = kind
        c.round = UInt32(clamping: round)
        c.index = UInt32(i)
        c.count = UInt32(count)
        c.totalBytes = UInt64(payload.count)
        let start = payload.startIndex + i * limit
        c.data = payload[start..<min(payload.endIndex, start + limit)]
        return c
    }
}

/// Puts one payload back together from its chunks, checking each against the first:
/// same id, kind, round, count and total; indexes in order; no chunk over the limit.
/// Memory is allocated as chunks arrive, never from the announced total.
package struct ChunkAssembler {
    let requestID: UInt64
    let kind: RequestKind
    let round: UInt32
    let count: UInt32
    let totalBytes: UInt64
    private(set) var data = Data()
    private var next: UInt32 = 0

    package init(first: WireChunk, limit: Int = WireLimits.maxChunkBytes, maxPayload: Int = WireLimits.maxPayloadBytes) throws {
        guard first.totalBytes <= UInt64(maxPayload) else {
            throw DeploymentError.protocolViolation("payload of \(first.totalBytes) bytes for request \(first.requestID) exceeds the \(maxPayload)-byte limit")
        }
        let needed = max(1, (Int(first.totalBytes) + limit - 1) / limit)
        guard first.count >= UInt32(needed), first.count <= UInt32(needed) + 1, first.count > 0 else {
            throw DeploymentError.protocolViolation("request \(first.requestID): \(first.count) chunks cannot carry \(first.totalBytes) bytes")
        }
        requestID = first.requestID
        kind = first.kind
        round = first.round
        count = first.count
        totalBytes = first.totalBytes
        // Nothing is reserved from the announced size: the buffer grows with the bytes that
        // actually arrive, so a peer that announces 256 MiB and sends nothing costs nothing.
        self.limit = limit
    }

    private let limit: Int

    /// Adds a chunk; returns the payload once the last chunk arrived.
    package mutating func add(_ c: WireChunk) throws -> Data? {
        guard c.data.count <= limit else {
            throw DeploymentError.protocolViolation("chunk of \(c.data.count) bytes exceeds the \(limit)-byte limit")
        }
        guard c.requestID == requestID, c.kind == kind, c.round == round, c.count == count, c.totalBytes == totalBytes else {
            throw DeploymentError.protocolViolation("chunk \(c.index) of request \(c.requestID) does not match the chunks before it")
        }
        guard c.index == next else {
            throw DeploymentError.protocolViolation("request \(requestID): chunk \(c.index) arrived where chunk \(next) was expected")
        }
        guard data.count + c.data.count <= Int(totalBytes) else {
            throw DeploymentError.protocolViolation("request \(requestID): chunks carry more than the announced \(totalBytes) bytes")
        }
        data.append(c.data)
        next += 1
        guard next == count else { return nil }
        guard data.count == Int(totalBytes) else {
            throw DeploymentError.protocolViolation("request \(requestID): chunks carry \(data.count) bytes, \(totalBytes) were announced")
        }
        return data
    }
}

/// Evaluation answers: the loss as 8 little-endian bytes of a float64, or nothing when the
/// client holds no validation data.
enum LossCoding {
    static func encode(_ loss: Double?) -> Data {
        guard let loss else { return Data() }
        return withUnsafeBytes(of: loss.bitPattern.littleEndian) { Data($0) }
    }

    static func decode(_ data: Data) throws -> Double? {
        if data.isEmpty { return nil }
        guard data.count == 8 else { throw DeploymentError.protocolViolation("an evaluation answer has \(data.count) bytes, expected 8 or none") }
        var bits: UInt64 = 0
        for (i, b) in data.enumerated() { bits |= UInt64(b) << (8 * UInt64(i)) }
        return Double(bitPattern: bits)
    }
}
