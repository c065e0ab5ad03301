import XCTest
@testable import Federation

final class UpdateGeometryTests: XCTestCase {
    /// Updates whose float sum depends on the order of addition.
    private func deltas() -> [(String, [Float])] {
        (0..<7).map { c in
            let sign: Float = c % 2 == 0 ? 1 : -1
            let values: [Float] = (0..<64).map { i in
                let exponent = Float((c * 3 + i) % 9) - 4
                return sign * Float(i % 5 + 1 + c) * powf(10, exponent)
            }
            return ("client-\(c)", values)
        }
    }

    func testCosinesDoNotDependOnDictionaryOrder() {
        let pairs = deltas()
        var small: [String: [Float]] = [:]
        var large: [String: [Float]] = [:]
        large.reserveCapacity(4096)  // another bucket count, another iteration order
        for (k, v) in pairs { small[k] = v }
        for (k, v) in pairs.reversed() { large[k] = v }
        let aggregate = UpdateGeometry.mean(pairs.map(\.1))
        let a = UpdateGeometry.measure(small, aggregate: aggregate)
        let b = UpdateGeometry.measure(large, aggregate: aggregate)
        for (client, _) in pairs {
            XCTAssertEqual(a[client]?.cosineOthers, b[client]?.cosineOthers, client)
            XCTAssertEqual(a[client]?.drift, b[client]?.drift, client)
        }
    }

    func testCosineToOthersAgainstDirectComputation() {
        let pairs = deltas()
        let map = Dictionary(uniqueKeysWithValues: pairs)
        let aggregate = UpdateGeometry.mean(pairs.map(\.1))
        let measured = UpdateGeometry.measure(map, aggregate: aggregate)
        for (client, d) in pairs {
            let others = pairs.filter { $0.0 != client }.map { $0.1.map(Double.init) }
            let rest = (0..<d.count).map { i in others.reduce(0) { $0 + $1[i] } }
            let dd = d.map(Double.init)
            let dot = zip(dd, rest).reduce(0) { $0 + $1.0 * $1.1 }
            let expected = dot / (sqrt(dd.reduce(0) { $0 + $1 * $1 }) * sqrt(rest.reduce(0) { $0 + $1 * $1 }))
            XCTAssertEqual(measured[client]?.cosineOthers ?? .nan, expected, accuracy: 1e-5, client)
        }
    }
}
