import Foundation
import XCTest

/// `Fixtures/accountant.json`, written by scripts/make_accountant_fixture.py.
struct AccountantFixture: Decodable {
    struct Reference: Decodable { let dpAccounting: String; let opacus: String; let conversion: String }
    struct Case: Decodable {
        let sampleRate: Double, noise: Double, rounds: Int, delta: Double
        /// dp-accounting 0.6.0 (nil = infinite).
        let dpAccountingEpsilon: Double?
        let dpAccountingOrder: Double
        /// Opacus 1.6.0 (nil = infinite).
        let opacusEpsilon: Double?
        let opacusOrder: Double
    }
    struct SingleStep: Decodable {
        let sampleRate: Double, noise: Double
        let orders: [Double]
        let dpAccountingRdp: [Double?]
        let opacusRdp: [Double?]
        let quadratureRdp: [Double?]
    }
    struct Segment: Decodable { let noise: Double, sampleRate: Double, rounds: Int }
    struct Heterogeneous: Decodable {
        let segments: [Segment]
        let delta: Double
        let dpAccountingEpsilon: Double?
        let opacusEpsilon: Double?
    }
    struct Calibration: Decodable {
        let targetEpsilon: Double, delta: Double, sampleRate: Double, rounds: Int
        let dpAccountingNoise: Double
    }
    let reference: Reference
    let orders: [Double]
    let cases: [Case]
    let rdpSingleStep: [SingleStep]
    let heterogeneous: [Heterogeneous]
    let calibration: [Calibration]

    static func load() throws -> AccountantFixture {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "accountant", withExtension: "json", subdirectory: "Fixtures"))
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(AccountantFixture.self, from: Data(contentsOf: url))
    }
}

/// |a − b| / |b|, with 0 when both are 0.
func relativeError(_ a: Double, _ b: Double) -> Double {
    if a == b { return 0 }
    return abs(a - b) / abs(b)
}

/// A small seeded generator (SplitMix64) so that randomized tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
