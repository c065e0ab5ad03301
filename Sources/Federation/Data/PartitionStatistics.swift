/// How a set of client shards differs from the pooled data: per-client sizes, per-client value
/// histograms of a field (the label by default) and each client's total variation distance from
/// the pooled distribution, TV = ½ Σ_v |p_client(v) − p_pooled(v)|, between 0 (same mix) and
/// 1 (disjoint). Examples without the field are counted under ``missingValue``.
public struct PartitionStatistics: Sendable, Equatable {
    public static let missingValue = "(none)"

    /// The field the histograms count ("label" reads ``TextExample/label``).
    public var field: String
    /// Every value seen, sorted.
    public var values: [String]
    /// Examples per client.
    public var counts: [Int]
    /// Per client: value → count (values the client lacks are absent).
    public var histograms: [[String: Int]]
    /// Value → count over all clients.
    public var pooled: [String: Int]
    /// Per client: total variation distance from the pooled distribution (1 for an empty client).
    public var totalVariation: [Double]

    public init(shards: [[TextExample]], field: String = "label") {
        self.field = field
        counts = shards.map(\.count)
        histograms = shards.map { shard in
            var histogram: [String: Int] = [:]
            for example in shard { histogram[example.value(forField: field) ?? Self.missingValue, default: 0] += 1 }
            return histogram
        }
        var pooled: [String: Int] = [:]
        for histogram in histograms { for (value, n) in histogram { pooled[value, default: 0] += n } }
        self.pooled = pooled
        values = pooled.keys.sorted()
        let total = Double(pooled.values.reduce(0, +))
        totalVariation = zip(histograms, counts).map { histogram, count in
            guard count > 0, total > 0 else { return 1 }
            var sum = 0.0
            for (value, n) in pooled {
                sum += abs(Double(histogram[value] ?? 0) / Double(count) - Double(n) / total)
            }
            return sum / 2
        }
    }

    public var clients: Int { counts.count }
    public var total: Int { counts.reduce(0, +) }
    /// Mean of ``totalVariation`` over clients (0 when there are none).
    public var meanTotalVariation: Double {
        totalVariation.isEmpty ? 0 : totalVariation.reduce(0, +) / Double(totalVariation.count)
    }
    public var maxTotalVariation: Double { totalVariation.max() ?? 0 }

    /// Number of distinct values each client holds.
    public var valuesPerClient: [Int] { histograms.map { $0.values.filter { $0 > 0 }.count } }

    /// A plain-text table, one line per client: "client 0: 97 examples, TV 0.04 | a=20 b=19 ...".
    public var summary: String {
        var lines = ["\(clients) clients, \(total) examples, field \"\(field)\", mean TV \(format(meanTotalVariation)), max TV \(format(maxTotalVariation))"]
        for client in 0..<clients {
            let histogram = values.compactMap { value in histograms[client][value].map { "\(value)=\($0)" } }.joined(separator: " ")
            lines.append("client \(client): \(counts[client]) examples, TV \(format(totalVariation[client])) | \(histogram)")
        }
        return lines.joined(separator: "\n")
    }

    private func format(_ x: Double) -> String {
        let scaled = (x * 1000).rounded() / 1000
        return "\(scaled)"
    }
}
