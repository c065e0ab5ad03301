import Crypto
import CryptoExtras
import Dispatch
import Foundation

/// Key derivation: every symmetric key is HKDF-SHA256 of an X25519 shared secret (or of the
/// self-mask seed) with a salt naming the protocol and an info string binding its purpose, the
/// round and the client ids, so no key is ever used for two purposes, rounds or pairs.
enum SecAggKDF {
    static let salt = Array("FedPilot SecAgg+ v1".utf8)

    static func info(_ label: String, round: UInt64, _ ids: [SecAggClientID], extra: [UInt8] = []) -> [UInt8] {
        var w = ByteWriter()
        w.raw(Array(label.utf8))
        w.u8(0)
        w.u64(round)
        for id in ids { w.u32(id) }
        w.raw(extra)
        return w.bytes
    }

    /// AEAD key for shares sent from `sender` to `recipient` (direction-bound: the key for i→j
    /// differs from j→i although the X25519 secret is the same).
    static func shareKey(secret: SharedSecret, round: UInt64, sender: SecAggClientID, recipient: SecAggClientID,
                         senderKey: [UInt8], recipientKey: [UInt8]) -> SymmetricKey {
        secret.hkdfDerivedSymmetricKey(using: SHA256.self, salt: salt,
                                       sharedInfo: info("share-encryption", round: round, [sender, recipient], extra: senderKey + recipientKey),
                                       outputByteCount: 32)
    }

    /// PRG key of the pairwise mask between two clients (symmetric in the pair).
    static func pairwiseMaskKey(secret: SharedSecret, round: UInt64, _ a: SecAggClientID, _ b: SecAggClientID) -> SymmetricKey {
        secret.hkdfDerivedSymmetricKey(using: SHA256.self, salt: salt,
                                       sharedInfo: info("pairwise-mask", round: round, [min(a, b), max(a, b)]),
                                       outputByteCount: 32)
    }

    /// PRG key of a client's self mask, from its seed b_i.
    static func selfMaskKey(seed: [UInt8], round: UInt64, owner: SecAggClientID) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: seed), salt: salt,
                               info: info("self-mask", round: round, [owner]), outputByteCount: 32)
    }

    /// Hiding, binding commitment to a self-mask seed (the seed is 256 uniform bits).
    static func seedCommitment(seed: [UInt8], round: UInt64, owner: SecAggClientID) -> [UInt8] {
        var h = SHA256()
        h.update(data: info("self-mask-commitment", round: round, [owner]))
        h.update(data: seed)
        return Array(h.finalize())
    }

    static func fingerprint(_ publicKey: [UInt8]) -> String {
        Array(SHA256.hash(data: publicKey).prefix(8)).hexString
    }
}

/// One mask stream: the ChaCha20 keystream under `key` read as little-endian UInt32 words,
/// added (or subtracted) mod 2^32.
struct MaskStream: Sendable {
    let key: SymmetricKey
    let subtract: Bool
}

/// Mask expansion, the protocol's hot loop. The PRG is ChaCha20 (RFC 8439 block function, via
/// swift-crypto's `Insecure.ChaCha20CTR`, i.e. BoringSSL's SIMD `CRYPTO_chacha_20`) with a fresh
/// 256-bit key per stream and an all-zero nonce: each key is used for exactly one stream, so the
/// nonce need not vary. The keystream is generated in 64 KiB chunks (block counter = chunk offset
/// / 64 bytes) and added into the target while the chunk is in cache; chunk ranges are split
/// across threads.
enum MaskExpander {
    static let chunkWords = 16 * 1024 // 64 KiB of keystream; a multiple of 16 words (one ChaCha block)
    private static let zeroNonce = try! Insecure.ChaCha20CTR.Nonce(data: [UInt8](repeating: 0, count: 12))
    private static let zeros = Data(count: 64 * 1024 * 4)

    /// Largest vector a stream can cover with ChaCha20's 32-bit block counter.
    static let maximumWords = Int(UInt32.max) * 16

    static func apply(_ streams: [MaskStream], to words: inout [UInt32], threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                      chunkWords: Int = MaskExpander.chunkWords) {
        precondition(chunkWords > 0 && chunkWords % 16 == 0 && chunkWords <= 64 * 1024)
        let count = words.count
        guard count > 0, !streams.isEmpty else { return }
        precondition(count <= maximumWords)
        let chunks = (count + chunkWords - 1) / chunkWords
        let workers = max(1, min(threads, chunks))
        words.withUnsafeMutableBufferPointer { buffer in
            let target = UnsafeTarget(base: buffer.baseAddress!, count: count)
            if workers == 1 {
                for c in 0..<chunks { expand(chunk: c, chunkWords: chunkWords, streams: streams, into: target) }
            } else {
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    var c = w * chunks / workers
                    let end = (w + 1) * chunks / workers
                    while c < end {
                        expand(chunk: c, chunkWords: chunkWords, streams: streams, into: target)
                        c += 1
                    }
                }
            }
        }
    }

    /// The keystream words of one stream (for tests).
    static func keystream(key: SymmetricKey, count: Int) -> [UInt32] {
        var v = [UInt32](repeating: 0, count: count)
        apply([MaskStream(key: key, subtract: false)], to: &v, threads: 1)
        return v
    }

    private static func expand(chunk c: Int, chunkWords: Int, streams: [MaskStream], into target: UnsafeTarget) {
        let start = c * chunkWords
        let n = min(chunkWords, target.count - start)
        let counter = try! Insecure.ChaCha20CTR.Counter(offset: UInt32(start / 16))
        let input = zeros.prefix(n * 4)
        let dst = target.base + start
        for stream in streams {
            let keystream = try! Insecure.ChaCha20CTR.encrypt(input, using: stream.key, counter: counter, nonce: zeroNonce)
            keystream.withUnsafeBytes { raw in
                if let base = raw.baseAddress, Int(bitPattern: base) % MemoryLayout<UInt32>.alignment == 0 {
                    let src = base.assumingMemoryBound(to: UInt32.self)
                    if stream.subtract {
                        for i in 0..<n { dst[i] &-= UInt32(littleEndian: src[i]) }
                    } else {
                        for i in 0..<n { dst[i] &+= UInt32(littleEndian: src[i]) }
                    }
                } else {
                    for i in 0..<n {
                        let v = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                        dst[i] = stream.subtract ? dst[i] &- v : dst[i] &+ v
                    }
                }
            }
        }
    }

    /// Adds `other` into `sum` mod 2^32.
    static func add(_ other: [UInt32], into sum: inout [UInt32]) {
        precondition(other.count == sum.count)
        sum.withUnsafeMutableBufferPointer { s in
            other.withUnsafeBufferPointer { o in
                for i in 0..<s.count { s[i] &+= o[i] }
            }
        }
    }
}

/// A raw pointer handed to worker threads, each of which writes a disjoint chunk range.
private struct UnsafeTarget: @unchecked Sendable {
    let base: UnsafeMutablePointer<UInt32>
    let count: Int
}

/// Measurements for `fedpilot secagg bench`.
public enum SecAggMeasurements {
    /// Mask-expansion throughput in bytes of keystream per second: `streams` random-key ChaCha20
    /// streams of `dimension` words added into one vector with `threads` threads (best of `repeats`).
    public static func maskExpansionBytesPerSecond(dimension: Int, streams: Int, threads: Int, repeats: Int = 3,
                                                   chunkBytes: Int? = nil) -> Double {
        let list = (0..<streams).map { MaskStream(key: SymmetricKey(size: .bits256), subtract: $0 % 2 == 1) }
        var v = [UInt32](repeating: 0, count: dimension)
        var best = Double.infinity
        for _ in 0..<max(1, repeats) {
            let start = DispatchTime.now().uptimeNanoseconds
            MaskExpander.apply(list, to: &v, threads: threads, chunkWords: (chunkBytes ?? 4 * MaskExpander.chunkWords) / 4)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(4 * dimension * streams) / best
    }
}
