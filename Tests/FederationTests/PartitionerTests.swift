import Foundation
import TensorMath
import XCTest
@testable import Federation

final class PartitionerTests: XCTestCase {
    static let labels = ["a", "b", "c", "d", "e"]
    static let sites = ["north", "south", "west"]

    /// `count` examples with labels round-robin over `labels`, sites over `sites`, and a unique id.
    static func pool(_ count: Int = 500, labels: [String] = labels) -> [TextExample] {
        (0..<count).map { i in
            TextExample(completion: "example \(i)", label: labels[i % labels.count],
                        fields: ["id": "\(i)", "site": sites[(i / 7) % sites.count]])
        }
    }

    static let kinds: [PartitionerKind] = [
        .iid, .dirichlet(field: "label", alpha: 0.1), .dirichlet(field: "label", alpha: 100),
        .pathological(field: "label", labelsPerClient: 2), .quantitySkew(power: 1), .natural(field: "site"),
    ]

    private func clients(for kind: PartitionerKind) -> Int {
        if case .natural = kind { return 3 }
        return 5
    }

    private func ids(_ shards: [[TextExample]]) -> [String] {
        shards.flatMap { $0.map { $0.fields["id"]! } }.sorted()
    }

    private func partitionError(_ examples: [TextExample], _ kind: PartitionerKind, clients: Int,
                                file: StaticString = #filePath, line: UInt = #line) -> PartitionError? {
        do {
            let shards = try Partitioner.split(examples, kind: kind, clients: clients, seed: 1)
            XCTFail("expected an error, got \(shards.count) shards", file: file, line: line)
        } catch let error as PartitionError {
            return error
        } catch {
            XCTFail("expected a PartitionError, got \(error)", file: file, line: line)
        }
        return nil
    }

    // MARK: invariants shared by every partitioner

    func testEveryExampleAssignedExactlyOnce() throws {
        let examples = Self.pool()
        for kind in Self.kinds {
            let shards = try Partitioner.split(examples, kind: kind, clients: clients(for: kind), seed: 42)
            XCTAssertEqual(shards.count, clients(for: kind), "\(kind)")
            XCTAssertEqual(ids(shards), ids([examples]), "\(kind): the shards are a partition (multiset equality)")
            XCTAssertTrue(shards.allSatisfy { $0.count >= 2 }, "\(kind)")
        }
    }

    func testSameSeedSameSplit() throws {
        let examples = Self.pool()
        for kind in Self.kinds {
            let n = clients(for: kind)
            let first = try Partitioner.split(examples, kind: kind, clients: n, seed: 9)
            XCTAssertEqual(first, try Partitioner.split(examples, kind: kind, clients: n, seed: 9), "\(kind)")
            if case .natural = kind { continue }
            XCTAssertNotEqual(first, try Partitioner.split(examples, kind: kind, clients: n, seed: 10), "\(kind): the seed matters")
        }
    }

    /// Pins the exact output for one seed, so a change to the sampling (and thus to every
    /// recorded run) is noticed.
    func testSplitIsStableAcrossBuilds() throws {
        let shards = try Partitioner.split(Self.pool(20), kind: .iid, clients: 2, seed: 2024)
        let pinned = shards.map { $0.map { $0.fields["id"]! }.joined(separator: ",") }
        XCTAssertEqual(pinned, ["6,7,13,17,18,2,3,0,19,5", "16,9,11,14,12,8,15,1,10,4"])
    }

    // MARK: iid

    func testIIDShardsAreEqualAndBalanced() throws {
        let shards = try Partitioner.split(Self.pool(), kind: .iid, clients: 5, seed: 3)
        XCTAssertEqual(shards.map(\.count), [100, 100, 100, 100, 100])
        let statistics = PartitionStatistics(shards: shards)
        print("iid 500/5: TV per client \(statistics.totalVariation.map { String(format: "%.3f", $0) }), mean \(String(format: "%.3f", statistics.meanTotalVariation))")
        XCTAssertLessThan(statistics.maxTotalVariation, 0.15)
        let uneven = try Partitioner.split(Self.pool(503), kind: .iid, clients: 5, seed: 3)
        XCTAssertEqual(uneven.map(\.count), [101, 101, 101, 100, 100])
    }

    // MARK: dirichlet

    func testDirichletSkewGrowsAsAlphaShrinks() throws {
        let examples = Self.pool()
        var means: [Double: Double] = [:]
        for alpha in [0.1, 1, 100] {
            // Average over a few seeds so the comparison is about alpha, not one draw.
            var total = 0.0
            for seed in UInt64(1)...5 {
                let shards = try Partitioner.split(examples, kind: .dirichlet(field: "label", alpha: alpha), clients: 5, seed: seed)
                total += PartitionStatistics(shards: shards).meanTotalVariation
            }
            means[alpha] = total / 5
        }
        print("dirichlet 500/5, mean TV over seeds 1-5: α=0.1 \(String(format: "%.3f", means[0.1]!)), α=1 \(String(format: "%.3f", means[1]!)), α=100 \(String(format: "%.3f", means[100]!))")
        XCTAssertGreaterThan(means[0.1]!, 0.5)
        XCTAssertLessThan(means[100]!, 0.1)
        XCTAssertGreaterThan(means[0.1]!, means[1]!)
        XCTAssertGreaterThan(means[1]!, means[100]!)
    }

    func testDirichletGivesEveryClientAtLeastTwo() throws {
        let examples = Self.pool(60)
        for seed in UInt64(0)..<20 {
            let shards = try Partitioner.split(examples, kind: .dirichlet(field: "label", alpha: 0.01), clients: 20, seed: seed)
            XCTAssertTrue(shards.allSatisfy { $0.count >= 2 }, "seed \(seed): \(shards.map(\.count))")
            XCTAssertEqual(ids(shards), ids([examples]))
        }
        // Exactly 2 per client is still possible.
        let tight = try Partitioner.split(Self.pool(10), kind: .dirichlet(field: "label", alpha: 0.05), clients: 5, seed: 4)
        XCTAssertEqual(tight.map(\.count), [2, 2, 2, 2, 2])
    }

    func testDirichletWorksOnOtherFields() throws {
        let shards = try Partitioner.split(Self.pool(), kind: .dirichlet(field: "site", alpha: 0.1), clients: 4, seed: 5)
        XCTAssertGreaterThan(PartitionStatistics(shards: shards, field: "site").meanTotalVariation, 0.3)
    }

    // MARK: pathological

    func testPathologicalClientsHoldExactlyKLabels() throws {
        for (clients, k) in [(5, 2), (10, 1), (4, 3), (5, 5), (3, 2)] {
            let shards = try Partitioner.split(Self.pool(), kind: .pathological(field: "label", labelsPerClient: k), clients: clients, seed: 6)
            let statistics = PartitionStatistics(shards: shards)
            XCTAssertEqual(statistics.valuesPerClient, Array(repeating: k, count: clients), "\(clients) clients, k=\(k)")
            XCTAssertEqual(ids(shards), ids([Self.pool()]))
        }
        let shards = try Partitioner.split(Self.pool(), kind: .pathological(field: "label", labelsPerClient: 1), clients: 5, seed: 6)
        print("pathological k=1 500/5: mean TV \(String(format: "%.3f", PartitionStatistics(shards: shards).meanTotalVariation))")
        XCTAssertEqual(PartitionStatistics(shards: shards).meanTotalVariation, 0.8, accuracy: 1e-9, "one label of five each")
    }

    func testPathologicalErrors() {
        let examples = Self.pool()
        XCTAssertEqual(partitionError(examples, .pathological(field: "label", labelsPerClient: 2), clients: 2),
                       .labelsNotCovered(field: "label", labels: 5, clients: 2, labelsPerClient: 2))
        XCTAssertEqual(partitionError(examples, .pathological(field: "label", labelsPerClient: 2), clients: 2)?.description,
                       "partitioner pathological: 2 clients × 2 labels each cover at most 4 of the 5 values of field \"label\"; examples would be left out")
        guard case .invalidParameter = partitionError(examples, .pathological(field: "label", labelsPerClient: 0), clients: 5) else {
            return XCTFail("labelsPerClient 0")
        }
        XCTAssertTrue(partitionError(examples, .pathological(field: "label", labelsPerClient: 6), clients: 5)?.description.contains("5 distinct values") ?? false)
        // A label with a single example, held by one client alone, leaves that client short.
        var sparse = Self.pool(20, labels: ["b", "c", "d", "e"])
        sparse.append(TextExample(completion: "lonely", label: "a", fields: ["id": "20"]))
        guard case .clientTooSmall(_, _, let count)? = partitionError(sparse, .pathological(field: "label", labelsPerClient: 1), clients: 5) else {
            return XCTFail("expected clientTooSmall")
        }
        XCTAssertEqual(count, 1)
    }

    // MARK: quantity skew

    func testQuantitySkewSizesDecreaseAndSum() throws {
        let shards = try Partitioner.split(Self.pool(), kind: .quantitySkew(power: 1), clients: 5, seed: 7)
        let sizes = shards.map(\.count)
        print("quantity skew power 1, 500/5: sizes \(sizes)")
        XCTAssertEqual(sizes, [219, 109, 73, 55, 44], "500 × (1/i) / H5, largest remainder")
        XCTAssertEqual(sizes.reduce(0, +), 500)

        let steep = try Partitioner.split(Self.pool(50), kind: .quantitySkew(power: 3), clients: 10, seed: 7).map(\.count)
        XCTAssertEqual(steep.reduce(0, +), 50)
        XCTAssertEqual(steep, steep.sorted(by: >), "non-increasing")
        XCTAssertTrue(steep.allSatisfy { $0 >= 2 }, "\(steep)")
        XCTAssertGreaterThan(steep[0], steep[9])

        let flat = try Partitioner.split(Self.pool(), kind: .quantitySkew(power: 0), clients: 4, seed: 7).map(\.count)
        XCTAssertEqual(flat, [125, 125, 125, 125])
        guard case .invalidParameter = partitionError(Self.pool(), .quantitySkew(power: -1), clients: 4) else {
            return XCTFail("negative power")
        }
    }

    // MARK: natural

    func testNaturalOneShardPerValue() throws {
        let examples = Self.pool()
        let shards = try Partitioner.split(examples, kind: .natural(field: "site"), clients: 0, seed: 0)
        XCTAssertEqual(shards.count, 3)
        XCTAssertEqual(shards.map { Set($0.map { $0.fields["site"]! }) }, [["north"], ["south"], ["west"]], "one value each, sorted")
        XCTAssertEqual(shards, try Partitioner.split(examples, kind: .natural(field: "site"), clients: 3, seed: 99))
        XCTAssertEqual(shards[0].map { $0.fields["id"]! }, examples.filter { $0.fields["site"] == "north" }.map { $0.fields["id"]! },
                       "file order is kept")
        let byLabel = try Partitioner.split(examples, kind: .natural(field: "label"), clients: 5, seed: 0)
        XCTAssertEqual(PartitionStatistics(shards: byLabel).valuesPerClient, [1, 1, 1, 1, 1])

        let error = partitionError(examples, .natural(field: "site"), clients: 4)
        XCTAssertEqual(error, .clientCountMismatch(field: "site", values: ["north", "south", "west"], clients: 4))
        XCTAssertEqual(error?.description,
                       "partitioner natural: field \"site\" has 3 distinct values (north, south, west) but the scenario asks for 4 clients; use 3 or 0")
    }

    // MARK: errors

    func testMissingFieldAndTooFewExamples() {
        var examples = Self.pool(50)
        examples[7].fields["site"] = nil
        examples[30].fields["site"] = nil
        for kind in [PartitionerKind.natural(field: "site"), .dirichlet(field: "site", alpha: 1), .pathological(field: "site", labelsPerClient: 1)] {
            let error = partitionError(examples, kind, clients: 3)
            XCTAssertEqual(error?.description.contains("2 of 50 examples have no field \"site\" (first is example 8)"), true, "\(String(describing: error))")
        }
        let unknown = partitionError(Self.pool(50), .dirichlet(field: "hospital", alpha: 1), clients: 3)
        XCTAssertEqual(unknown, .missingField(partitioner: "dirichlet", field: "hospital", missing: 50, total: 50, firstIndex: 0))

        let few = partitionError(Self.pool(9), .iid, clients: 5)
        XCTAssertEqual(few?.description, "partitioner iid: too few examples: 9 examples for 5 clients (each client needs at least 2, so at least 10)")
        XCTAssertEqual(partitionError(Self.pool(9), .iid, clients: 0), .invalidClientCount(partitioner: "iid", clients: 0))
        guard case .invalidParameter = partitionError(Self.pool(), .dirichlet(field: "label", alpha: 0), clients: 5) else {
            return XCTFail("alpha 0")
        }
        guard case .tooFewExamples = partitionError([], .natural(field: "site"), clients: 0) else { return XCTFail("empty natural") }
    }

    // MARK: statistics and sampling

    func testPartitionStatistics() {
        let shards = [
            [TextExample(completion: "1", label: "a"), TextExample(completion: "2", label: "a")],
            [TextExample(completion: "3", label: "b"), TextExample(completion: "4")],
        ]
        let statistics = PartitionStatistics(shards: shards)
        XCTAssertEqual(statistics.counts, [2, 2])
        XCTAssertEqual(statistics.values, ["(none)", "a", "b"])
        XCTAssertEqual(statistics.histograms, [["a": 2], ["b": 1, "(none)": 1]])
        XCTAssertEqual(statistics.pooled, ["a": 2, "b": 1, "(none)": 1])
        // Pooled (a .5, b .25, none .25); client 0 (a 1): ½(.5 + .25 + .25) = .5; client 1: ½(.5 + .25 + .25) = .5.
        XCTAssertEqual(statistics.totalVariation[0], 0.5, accuracy: 1e-12)
        XCTAssertEqual(statistics.totalVariation[1], 0.5, accuracy: 1e-12)
        XCTAssertEqual(statistics.valuesPerClient, [1, 2])
        XCTAssertTrue(statistics.summary.contains("client 1: 2 examples, TV 0.5 | (none)=1 b=1"), statistics.summary)
        XCTAssertEqual(PartitionStatistics(shards: [[], shards[0]]).totalVariation, [1, 0])
    }

    func testGammaAndDirichletSamplers() {
        var rng = SeededRandom(seed: 11)
        for shape in [0.1, 0.5, 1, 2.5, 10] {
            let n = 20_000
            var sum = 0.0, sumSquares = 0.0
            for _ in 0..<n {
                let x = DataRandom.gamma(shape: shape, &rng)
                XCTAssertTrue(x >= 0 && x.isFinite)
                sum += x; sumSquares += x * x
            }
            let mean = sum / Double(n), variance = sumSquares / Double(n) - mean * mean
            XCTAssertEqual(mean, shape, accuracy: 0.05 * shape + 0.01, "Gamma(\(shape)) mean")
            XCTAssertEqual(variance, shape, accuracy: 0.1 * shape + 0.01, "Gamma(\(shape)) variance")
        }
        for alpha in [0.01, 1, 1000] {
            let p = DataRandom.dirichlet(alpha: alpha, count: 7, &rng)
            XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-9)
            XCTAssertTrue(p.allSatisfy { $0 >= 0 })
        }
        XCTAssertEqual(DataRandom.apportion(10, weights: [1, 1, 1]), [4, 3, 3])
        XCTAssertEqual(DataRandom.apportion(7, weights: [0, 0]), [4, 3])
    }
}
