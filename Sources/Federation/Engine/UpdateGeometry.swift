/// Norms, cosines and drift of client updates within a round.
enum UpdateGeometry {
    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        var s = 0.0
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                var acc: Float = 0, acc2: Float = 0
                var i = 0
                // Two accumulators in Float, folded into Double per chunk, keep the sum accurate and fast.
                while i < ap.count {
                    let end = min(i + 4096, ap.count)
                    acc = 0; acc2 = 0
                    var j = i
                    while j + 1 < end { acc += ap[j] * bp[j]; acc2 += ap[j + 1] * bp[j + 1]; j += 2 }
                    if j < end { acc += ap[j] * bp[j] }
                    s += Double(acc) + Double(acc2)
                    i = end
                }
            }
        }
        return s
    }

    static func norm(_ a: [Float]) -> Double { dot(a, a).squareRoot() }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double? {
        let n = norm(a) * norm(b)
        return n > 0 ? dot(a, b) / n : nil
    }

    static func mean(_ vectors: [[Float]]) -> [Float] {
        guard let first = vectors.first else { return [] }
        var out = [Float](repeating: 0, count: first.count)
        for v in vectors { for i in out.indices { out[i] += v[i] } }
        let inv = 1 / Float(vectors.count)
        for i in out.indices { out[i] *= inv }
        return out
    }

    /// Per client: cosine to the mean of the others' updates, cosine to the aggregate,
    /// and drift `‖Δᵢ − Δ̄‖ / ‖Δ̄‖` from the aggregate `Δ̄`.
    static func measure(_ deltas: [String: [Float]], aggregate: [Float]) -> [String: (cosineOthers: Double?, cosineAggregate: Double?, drift: Double?)] {
        var out: [String: (Double?, Double?, Double?)] = [:]
        // Summed in client order, not the dictionary's (which Swift seeds per process): the same
        // run must give the same cosines to the last bit.
        var total = [Float](repeating: 0, count: aggregate.count)
        for client in deltas.keys.sorted() {
            guard let v = deltas[client] else { continue }
            for i in total.indices { total[i] += v[i] }
        }
        let aggregateNorm = norm(aggregate)
        for (client, d) in deltas {
            var others: Double? = nil
            if deltas.count > 1 {
                var rest = total
                for i in rest.indices { rest[i] -= d[i] }
                others = cosine(d, rest)
            }
            var diff = d
            for i in diff.indices { diff[i] -= aggregate[i] }
            out[client] = (others, cosine(d, aggregate), aggregateNorm > 0 ? norm(diff) / aggregateNorm : nil)
        }
        return out
    }
}
