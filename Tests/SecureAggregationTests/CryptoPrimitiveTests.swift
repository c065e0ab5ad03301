import Crypto
import CryptoExtras
import Foundation
import XCTest
@testable import SecureAggregation

/// Field arithmetic, Shamir sharing, the mask PRG and the statistical look of masked vectors.
final class CryptoPrimitiveTests: XCTestCase {
    func testFieldArithmetic() {
        let p = Field61.p
        var rng = SecAggSeededRandom(seed: 1)
        for _ in 0..<1000 {
            let a = Field61.random(using: &rng), b = Field61.random(using: &rng)
            XCTAssertLessThan(a, p)
            let expected = p.dividingFullWidth(a.multipliedFullWidth(by: b)).remainder
            XCTAssertEqual(Field61.mul(a, b), expected)
            XCTAssertEqual(Field61.add(Field61.sub(a, b), b), a)
            if a != 0 { XCTAssertEqual(Field61.mul(a, Field61.inverse(a)), 1) }
        }
        XCTAssertEqual(Field61.mul(p - 1, p - 1), 1)
    }

    func testShamirAnyThresholdSubsetRebuildsAndFewerDoNot() throws {
        var rng = SystemRandomNumberGenerator()
        var prng = SecAggSeededRandom(seed: 2)
        for trial in 0..<50 {
            let m = 1 + Int(prng.below(20)), t = 1 + Int(prng.below(UInt64(m)))
            let secret = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
            XCTAssertEqual(Shamir.bytes(of: Shamir.elements(of: secret)), secret)
            let points = (0..<m).map { UInt64($0) * 3 + 1 }
            let shares = Shamir.split(secret: secret, threshold: t, points: points, using: &rng)
            let subset = Array(shares.shuffled(using: &prng).prefix(t))
            XCTAssertEqual(Shamir.bytes(of: Shamir.interpolate(subset)), secret, "trial \(trial)")
            if case let .success(s) = Shamir.reconstruct(shares.shuffled(using: &prng), threshold: t, verify: { $0 == secret }) {
                XCTAssertEqual(s, secret)
            } else { XCTFail("reconstruct failed, m=\(m) t=\(t)") }
            if t > 1 {
                // t - 1 shares: the interpolated constant is unrelated to the secret.
                XCTAssertNotEqual(Shamir.interpolate(Array(subset.prefix(t - 1))), Shamir.elements(of: secret))
            }
        }
    }

    func testShamirSinglesOutOneBadShare() {
        var rng = SystemRandomNumberGenerator()
        let secret = (0..<32).map { UInt8($0) }
        var shares = Shamir.split(secret: secret, threshold: 3, points: [1, 2, 3, 4, 5], using: &rng)
        shares[1] = ShamirShare(x: 2, y: shares[1].y.map { Field61.add($0, 1) })
        XCTAssertEqual(Shamir.reconstruct(shares, threshold: 3, verify: { $0 == secret }), .failure(.badShare(x: 2)))
        shares[3] = ShamirShare(x: 4, y: shares[3].y.map { Field61.add($0, 1) })
        XCTAssertEqual(Shamir.reconstruct(shares, threshold: 3, verify: { $0 == secret }), .failure(.inconsistent))
    }

    /// RFC 8439 appendix A.1, test vectors 1 and 2 (all-zero key and nonce, block counters 0 and
    /// 1): the mask PRG is exactly the ChaCha20 keystream, words little-endian.
    func testMaskPRGIsChaCha20KeystreamRFC8439() {
        let block0 = "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
        let block1 = "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f"
        let bytes = stride(from: 0, to: 256, by: 2).map { i -> UInt8 in
            let s = block0 + block1
            let idx = s.index(s.startIndex, offsetBy: i)
            return UInt8(s[idx..<s.index(idx, offsetBy: 2)], radix: 16)!
        }
        let expected = (0..<32).map { w in (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[4 * w + $1]) << (8 * $1) } }
        XCTAssertEqual(MaskExpander.keystream(key: SymmetricKey(data: [UInt8](repeating: 0, count: 32)), count: 32), expected)
    }

    /// Chunked, threaded expansion equals one long ChaCha20 keystream; add then subtract cancels.
    func testChunkedExpansionMatchesOneShotKeystream() throws {
        let key = SymmetricKey(size: .bits256)
        let count = 3 * MaskExpander.chunkWords + 7
        let oneShot = try Insecure.ChaCha20CTR.encrypt(Data(count: 4 * count), using: key,
                                                        nonce: Insecure.ChaCha20CTR.Nonce(data: Data(count: 12)))
        let expected = oneShot.withUnsafeBytes { raw in (0..<count).map { UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self)) } }
        for threads in [1, 2, 3] {
            var v = [UInt32](repeating: 0, count: count)
            MaskExpander.apply([MaskStream(key: key, subtract: false)], to: &v, threads: threads)
            XCTAssertEqual(v, expected, "threads \(threads)")
        }
        var start = (0..<count).map { UInt32(truncatingIfNeeded: $0 &* 2654435761) }
        let original = start
        let other = SymmetricKey(size: .bits256)
        MaskExpander.apply([MaskStream(key: key, subtract: false), MaskStream(key: other, subtract: true)], to: &start)
        MaskExpander.apply([MaskStream(key: other, subtract: false), MaskStream(key: key, subtract: true)], to: &start, threads: 1)
        XCTAssertEqual(start, original)
    }

    /// A single masked vector looks uniform, even when the update is constant. Thresholds (65,536
    /// words = 262,144 bytes):
    /// - byte histogram: χ² with 255 degrees of freedom < 400 (P[false alarm] ≈ 2e-8 by
    ///   Wilson–Hilferty);
    /// - each of the 32 bit positions: |ones − N/2| < 6σ = 768 with σ = √N/2 = 128 (false alarm
    ///   ≈ 32 × 2e-9);
    /// - the low 8 bits of consecutive words are uncorrelated: |r| < 6/√N ≈ 0.023.
    func testMaskedVectorIsStatisticallyIndistinguishableFromUniform() throws {
        let n = 3, d = 65_536
        let config = try SecAggConfig(round: 1, clientCount: n, dimension: d, degree: 2, threshold: 2, graphSeed: 1, clipBound: 1)
        for constant: Float in [0, 1] {
            var observed: [UInt32]?
            let outcome = try SecAggSimulation.run(config: config, updates: (0..<n).map { _ in PlainUpdate([Float](repeating: constant, count: d)) },
                                                   relay: { type, client, bytes in
                if type == "masked-input", client == 0 { observed = try! MaskedInputMessage(encoded: bytes).vector.words }
            })
            XCTAssertNotNil(outcome.aggregate)
            let words = try XCTUnwrap(observed)
            // Byte histogram.
            var histogram = [Int](repeating: 0, count: 256)
            for w in words { for k in 0..<4 { histogram[Int((w >> (8 * k)) & 0xFF)] += 1 } }
            let expected = Double(4 * d) / 256
            let chi2 = histogram.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
            XCTAssertLessThan(chi2, 400, "input \(constant): byte χ² = \(chi2)")
            // Per-bit balance.
            for bit in 0..<32 {
                let ones = words.reduce(0) { $0 + Int(($1 >> UInt32(bit)) & 1) }
                XCTAssertLessThan(abs(ones - d / 2), 768, "input \(constant): bit \(bit) has \(ones) ones of \(d)")
            }
            // Serial correlation of low bytes.
            let x = words.map { Double($0 & 0xFF) }
            let mean = x.reduce(0, +) / Double(d)
            var num = 0.0, den = 0.0
            for i in 0..<(d - 1) { num += (x[i] - mean) * (x[i + 1] - mean) }
            for v in x { den += (v - mean) * (v - mean) }
            XCTAssertLessThan(abs(num / den), 6 / Double(d).squareRoot())
        }
    }

    func testMessageEncodingsRoundTrip() throws {
        let config = try SecAggConfig(round: 9, clientCount: 5, dimension: 3, degree: 4, threshold: 3, graphSeed: 77, clipBound: 0.25)
        XCTAssertEqual(try SecAggConfig(encoded: config.encoded()), config)
        let share = ShamirShare(x: 3, y: [1, 2, 3, 4, 5])
        let sealed = [UInt8](repeating: 7, count: EncryptedShare.sealedSize)
        let messages: [any SecAggMessage] = [
            AdvertiseKeysMessage(round: 9, sender: 1, encryptionPublicKey: .init(repeating: 1, count: 32), maskingPublicKey: .init(repeating: 2, count: 32)),
            KeyDirectory(round: 9, recipient: 1, entries: [.init(client: 2, encryptionPublicKey: .init(repeating: 3, count: 32), maskingPublicKey: .init(repeating: 4, count: 32))]),
            ShareKeysMessage(round: 9, sender: 1, selfMaskCommitment: .init(repeating: 5, count: 32), shares: [EncryptedShare(sender: 1, recipient: 2, sealed: sealed)]),
            ShareRelay(round: 9, recipient: 2, participants: [1, 3], shares: [EncryptedShare(sender: 1, recipient: 2, sealed: sealed)]),
            MaskedInputMessage(round: 9, sender: 4, vector: MaskedVector(words: [0, 1, 0xFFFF_FFFF])),
            UnmaskRequest(round: 9, survivors: [0, 1, 4], dropped: [2]),
            UnmaskResponse(round: 9, sender: 4, shares: [RevealedShare(owner: 0, kind: .selfMaskSeed, share: share),
                                                         RevealedShare(owner: 2, kind: .maskingKey, share: share)]),
        ]
        func check<M: SecAggMessage>(_ m: M) throws {
            let bytes = m.encoded()
            XCTAssertEqual(try M(encoded: bytes), m)
            XCTAssertThrowsError(try M(encoded: Array(bytes.dropLast())), "\(M.self) truncated")
            XCTAssertThrowsError(try M(encoded: bytes + [0]), "\(M.self) trailing byte")
        }
        for m in messages { try check(m) }
        XCTAssertEqual(MaskedInputMessage(round: 1, sender: 0, vector: MaskedVector(words: .init(repeating: 0, count: 1000))).encoded().count, 21 + 4000,
                       "4 bytes per value")
        // A hostile element count does not allocate.
        var hostile = UnmaskRequest(round: 1, survivors: [], dropped: []).encoded()
        hostile.replaceSubrange(13..<17, with: [0xFF, 0xFF, 0xFF, 0x7F])
        XCTAssertThrowsError(try UnmaskRequest(encoded: hostile))
    }
}
