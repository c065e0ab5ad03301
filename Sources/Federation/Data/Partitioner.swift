import Foundation
import TensorMath

/// Splits a pooled dataset among simulated clients (``PartitionerKind``).
///
/// Every example goes to exactly one client. Apart from `natural`, the split is random but
/// fully determined by `seed`, and every client gets at least ``minimumExamplesPerClient``
/// examples (so it can hold one out for validation), which needs at least
/// `clients × minimumExamplesPerClient` examples.
///
/// - `iid`: shuffle, then near-equal contiguous shards (sizes differ by at most 1).
/// - `dirichlet(field, alpha)`: for each value of `field` (sorted), draw client proportions from
///   a symmetric Dirichlet(alpha) and deal that value's shuffled examples accordingly
///   (largest-remainder rounding); then clients below the minimum take examples, one at a time,
///   from the currently largest client. Small alpha (0.1) gives each client one or two dominant
///   labels; large alpha (100) is close to iid.
/// - `pathological(field, labelsPerClient)`: the distinct values are shuffled and dealt
///   round-robin, client c holding values c·k ..< c·k + k (mod the number of values); each
///   value's examples are split near-equally among the clients holding it. Needs
///   `clients × labelsPerClient ≥` the number of values, or some examples would be lost.
/// - `quantitySkew(power)`: client i (0-based) gets a share ∝ (i + 1)^(-power), so client 0 is
///   the largest and sizes never increase with the index; power 0 is equal sizes.
/// - `natural(field)`: one shard per distinct value of `field`, in sorted order of the values,
///   keeping file order inside a shard; `clients` must be 0 (infer) or the number of values. The
///   seed is not used.
///
/// Shards of the random partitioners are shuffled, so labels are interleaved within a client.
public enum Partitioner {
    /// The fewest examples the random partitioners leave a client with.
    public static let minimumExamplesPerClient = 2

    public static func split(_ examples: [TextExample], kind: PartitionerKind, clients: Int,
                             seed: UInt64) throws -> [[TextExample]] {
        if case .natural(let field) = kind {
            return try natural(examples, field: field, clients: clients)
        }
        let name = partitionerName(kind)
        guard clients >= 1 else { throw PartitionError.invalidClientCount(partitioner: name, clients: clients) }
        guard examples.count >= clients * minimumExamplesPerClient else {
            throw PartitionError.tooFewExamples(partitioner: name, examples: examples.count, clients: clients,
                                                minimumPerClient: minimumExamplesPerClient)
        }
        var rng = SeededRandom(seed: seed)
        var assignment: [[Int]]
        switch kind {
        case .iid:
            let order = DataRandom.shuffled(Array(examples.indices), &rng)
            assignment = chunks(order, sizes: DataRandom.apportion(order.count, weights: Array(repeating: 1, count: clients)))
        case .dirichlet(let field, let alpha):
            guard alpha > 0, alpha.isFinite else {
                throw PartitionError.invalidParameter(partitioner: name, message: "alpha must be a positive number, got \(alpha)")
            }
            let groups = try groupsByValue(examples, field: field, partitioner: name)
            assignment = Array(repeating: [], count: clients)
            for (_, members) in groups {
                let order = DataRandom.shuffled(members, &rng)
                let proportions = DataRandom.dirichlet(alpha: alpha, count: clients, &rng)
                for (client, part) in chunks(order, sizes: DataRandom.apportion(order.count, weights: proportions)).enumerated() {
                    assignment[client] += part
                }
            }
            topUp(&assignment, &rng)
        case .pathological(let field, let perClient):
            let groups = try groupsByValue(examples, field: field, partitioner: name)
            guard perClient >= 1, perClient <= groups.count else {
                throw PartitionError.invalidParameter(partitioner: name,
                    message: "labelsPerClient must be between 1 and the \(groups.count) distinct values of field \"\(field)\", got \(perClient)")
            }
            guard clients * perClient >= groups.count else {
                throw PartitionError.labelsNotCovered(field: field, labels: groups.count, clients: clients, labelsPerClient: perClient)
            }
            let labelOrder = DataRandom.shuffled(Array(groups.indices), &rng)
            var holders = [[Int]](repeating: [], count: groups.count)
            for client in 0..<clients {
                for j in 0..<perClient { holders[labelOrder[(client * perClient + j) % groups.count]].append(client) }
            }
            assignment = Array(repeating: [], count: clients)
            for (g, (_, members)) in groups.enumerated() {
                let order = DataRandom.shuffled(members, &rng)
                let parts = chunks(order, sizes: DataRandom.apportion(order.count, weights: Array(repeating: 1, count: holders[g].count)))
                for (holder, part) in zip(holders[g], parts) { assignment[holder] += part }
            }
            if let small = assignment.firstIndex(where: { $0.count < minimumExamplesPerClient }) {
                throw PartitionError.clientTooSmall(partitioner: name, client: small, examples: assignment[small].count)
            }
        case .quantitySkew(let power):
            guard power >= 0, power.isFinite else {
                throw PartitionError.invalidParameter(partitioner: name, message: "power must be a number ≥ 0, got \(power)")
            }
            let weights = (1...clients).map { pow(Double($0), -power) }
            var sizes = DataRandom.apportion(examples.count, weights: weights)
            while let needy = sizes.firstIndex(where: { $0 < minimumExamplesPerClient }) {
                let donor = sizes.indices.max { sizes[$0] < sizes[$1] || (sizes[$0] == sizes[$1] && $0 > $1) }!
                sizes[donor] -= 1; sizes[needy] += 1
            }
            // Keep sizes non-increasing after the top-up (the donor is always the largest).
            sizes.sort(by: >)
            let order = DataRandom.shuffled(Array(examples.indices), &rng)
            assignment = chunks(order, sizes: sizes)
        case .natural:
            fatalError("handled above")
        }
        return assignment.map { indices in DataRandom.shuffled(indices, &rng).map { examples[$0] } }
    }

    /// A short name for messages: "iid", "dirichlet", "pathological", "quantity_skew", "natural".
    static func partitionerName(_ kind: PartitionerKind) -> String {
        switch kind {
        case .iid: return "iid"
        case .dirichlet: return "dirichlet"
        case .pathological: return "pathological"
        case .quantitySkew: return "quantity_skew"
        case .natural: return "natural"
        }
    }

    private static func natural(_ examples: [TextExample], field: String, clients: Int) throws -> [[TextExample]] {
        guard clients >= 0 else { throw PartitionError.invalidClientCount(partitioner: "natural", clients: clients) }
        guard !examples.isEmpty else {
            throw PartitionError.tooFewExamples(partitioner: "natural", examples: 0, clients: max(clients, 1), minimumPerClient: 1)
        }
        let groups = try groupsByValue(examples, field: field, partitioner: "natural")
        guard clients == 0 || clients == groups.count else {
            throw PartitionError.clientCountMismatch(field: field, values: groups.map(\.value), clients: clients)
        }
        return groups.map { group in group.members.map { examples[$0] } }
    }

    /// Example indices per distinct value of `field`, sorted by value; every example must have it.
    private static func groupsByValue(_ examples: [TextExample], field: String,
                                      partitioner: String) throws -> [(value: String, members: [Int])] {
        var byValue: [String: [Int]] = [:]
        var missing = 0, first = -1
        for (index, example) in examples.enumerated() {
            if let value = example.value(forField: field) {
                byValue[value, default: []].append(index)
            } else {
                missing += 1
                if first < 0 { first = index }
            }
        }
        if missing > 0 {
            throw PartitionError.missingField(partitioner: partitioner, field: field, missing: missing,
                                              total: examples.count, firstIndex: first)
        }
        return byValue.keys.sorted().map { ($0, byValue[$0]!) }
    }

    private static func chunks(_ items: [Int], sizes: [Int]) -> [[Int]] {
        var out: [[Int]] = [], start = 0
        for size in sizes {
            out.append(Array(items[start..<start + size]))
            start += size
        }
        return out
    }

    /// Moves random examples from the currently largest client to clients under the minimum.
    private static func topUp(_ assignment: inout [[Int]], _ rng: inout SeededRandom) {
        while let needy = assignment.firstIndex(where: { $0.count < minimumExamplesPerClient }) {
            let donor = assignment.indices.max {
                assignment[$0].count < assignment[$1].count || (assignment[$0].count == assignment[$1].count && $0 > $1)
            }!
            let pick = DataRandom.index(below: assignment[donor].count, &rng)
            assignment[donor].swapAt(pick, assignment[donor].count - 1)
            assignment[needy].append(assignment[donor].removeLast())
        }
    }
}
