import Foundation
import TensorMath

/// Secure aggregation (SecAgg+): the coordinator learns only the weighted sum of the clients'
/// prepared updates, and steps a mean-based strategy by it. A failed protocol run fails the
/// round; clients still waiting for the sum are then marked aborted.
struct SecurePath: AggregationPath {
    func aggregate(_ input: AggregationInput, metrics: inout [String: ClientRoundMetrics], rng: inout SeededRandom,
                   coordinator c: Coordinator) throws -> AggregationOutcome {
        guard var linear = c.strategy as? any MeanAggregationStrategy else {
            throw RoundFailure("strategy \(c.strategy.kind.rawValue) needs individual updates; secure aggregation gives only their sum")
        }
        do {
            // Marks every participant whose masked input is not in the sum as dropped.
            let secure = try SecureAggregationRound(coordinator: c, round: input.round, participants: input.updates)
                .run(metrics: &metrics, rng: &rng)
            let stepped = try linear.step(global: c.global.values, mean: secure.mean)
            guard stepped.allSatisfy(\.isFinite) else { throw NonFiniteAggregate() }
            c.strategy = linear
            if let b = secure.clippedFraction { c.adaptClip(noisedFraction: b) }
            c.account(round: input.round, selected: input.selected.count,
                      noiseScale: (Double(secure.included.count) / Double(secure.summary.clients.count)).squareRoot())
            return AggregationOutcome(global: stepped, rejected: [], weights: equalWeights(secure.included))
        } catch {
            for client in input.selected {
                guard var m = metrics[client], m.status == .uploading || m.status == .dropped else { continue }
                if m.status == .uploading { m.status = .aborted }
                c.sink(.clientUpdate(m))
            }
            throw RoundFailure("secure aggregation failed: \(error); the global adapter is unchanged")
        }
    }
}
