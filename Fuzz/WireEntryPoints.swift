import Deployment
import Federation
import Foundation

/// Entry points into the Deployment wire code (package-visible) for the fuzz targets.
enum FuzzEntryPoints {
    /// A Setup message as the client receives it, then turned into its training settings.
    static func setup(_ data: Data) throws -> PilotBuilder.ClientSettings {
        let setup = try WireSetup(serializedBytes: data)
        return try SetupCoding.settings(from: setup, dataPath: "fuzz.jsonl", format: .jsonlText)
    }

    /// A stream of chunks as one side receives them: a flags byte (bit 0: a 16-byte chunk limit
    /// and a 4 KiB payload limit instead of the real ones), then records of a u16 length and a
    /// serialized `Chunk`. Chunks are assembled per request id as `RemoteClient` does.
    static func chunks(_ data: Data) throws -> [Data] {
        guard let flags = data.first else { return [] }
        let small = flags & 1 == 1
        let limit = small ? 16 : WireLimits.maxChunkBytes
        let maxPayload = small ? 4096 : WireLimits.maxPayloadBytes
        var assembling: [UInt64: ChunkAssembler] = [:]
        var payloads: [Data] = []
        var offset = data.startIndex + 1
        while offset + 2 <= data.endIndex {
            let length = Int(data[offset]) | Int(data[offset + 1]) << 8
            offset += 2
            guard length <= data.endIndex - offset else { break }
            let chunk = try WireChunk(serializedBytes: data[offset..<(offset + length)])
            offset += length
            if assembling[chunk.requestID] == nil {
                assembling[chunk.requestID] = try ChunkAssembler(first: chunk, limit: limit, maxPayload: maxPayload)
            }
            if let payload = try assembling[chunk.requestID]!.add(chunk) {
                assembling[chunk.requestID] = nil
                payloads.append(payload)
            }
        }
        return payloads
    }

    /// The chunk stream of `chunks(_:)` for the given payloads.
    static func chunkStream(_ payloads: [Data], small: Bool) throws -> Data {
        var out = Data([small ? 1 : 0])
        for (i, payload) in payloads.enumerated() {
            for chunk in makeChunks(requestID: UInt64(i + 1), kind: .roundTask, round: i, payload: payload,
                                    limit: small ? 16 : WireLimits.maxChunkBytes) {
                let bytes: Data = try chunk.serializedBytes()
                out.append(UInt8(bytes.count & 0xFF))
                out.append(UInt8(bytes.count >> 8))
                out.append(bytes)
            }
        }
        return out
    }
}
