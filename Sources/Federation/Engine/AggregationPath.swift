import Foundation
import TensorMath

/// What the aggregation stage receives: the round's surviving updates.
struct AggregationInput {
    var round: Int
    /// The round's selected clients, in selection order (every one has metrics).
    var selected: [String]
    var updates: [ClientUpdate]
}

/// A round that cannot complete: the global adapter stays as it was and `reason` is published.
struct RoundFailure: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// One way of turning a round's updates into the next global adapter: `PlainPath` (the
/// strategy sees every update), `CentralDPPath` (clipped, noised mean) or `SecurePath` (only
/// a masked sum reaches the coordinator). A path steps the coordinator's strategy and adds the
/// round to the privacy ledger; on failure it throws `RoundFailure` and leaves the adapter alone.
protocol AggregationPath {
    /// The new global values and per-client weights. `metrics` holds the selected clients'
    /// metrics; a path may mark clients that dropped out during aggregation.
    func aggregate(_ input: AggregationInput, metrics: inout [String: ClientRoundMetrics], rng: inout SeededRandom,
                   coordinator: Coordinator) throws -> AggregationOutcome
}

extension Coordinator {
    /// The aggregation path the round's privacy settings call for.
    var aggregationPath: any AggregationPath {
        if privacy.secureAggregation { return SecurePath() }
        if privacy.differentialPrivacy { return CentralDPPath() }
        return PlainPath()
    }
}

/// The strategy aggregates the individual updates (robust rules may reject some).
struct PlainPath: AggregationPath {
    func aggregate(_ input: AggregationInput, metrics: inout [String: ClientRoundMetrics], rng: inout SeededRandom,
                   coordinator c: Coordinator) throws -> AggregationOutcome {
        let before = c.strategy
        let outcome: AggregationOutcome
        do {
            outcome = try c.strategy.aggregate(global: c.global.values, updates: input.updates)
            guard outcome.global.allSatisfy(\.isFinite) else { throw NonFiniteAggregate() }
        } catch {
            c.strategy = before
            throw RoundFailure("aggregation failed: \(error); the global adapter is unchanged")
        }
        c.account(round: input.round, selected: input.selected.count)
        return outcome
    }
}

/// Central DP (DP-FedAvg): the strategy steps by the clipped, noised mean of `privateMean`.
struct CentralDPPath: AggregationPath {
    func aggregate(_ input: AggregationInput, metrics: inout [String: ClientRoundMetrics], rng: inout SeededRandom,
                   coordinator c: Coordinator) throws -> AggregationOutcome {
        guard var linear = c.strategy as? any MeanAggregationStrategy else {
            throw RoundFailure("strategy \(c.strategy.kind.rawValue) cannot aggregate with differential privacy")
        }
        let outcome: AggregationOutcome
        do {
            let stepped = try linear.step(global: c.global.values, mean: c.privateMean(input.updates))
            guard stepped.allSatisfy(\.isFinite) else { throw NonFiniteAggregate() }
            c.strategy = linear
            outcome = AggregationOutcome(global: stepped, rejected: [], weights: equalWeights(input.updates.map(\.client)))
        } catch {
            throw RoundFailure("aggregation failed: \(error); the global adapter is unchanged")
        }
        c.account(round: input.round, selected: input.selected.count)
        return outcome
    }
}

/// Every client weighs 1/n.
func equalWeights(_ clients: [String]) -> [String: Double] {
    Dictionary(uniqueKeysWithValues: clients.map { ($0, 1 / Double(clients.count)) })
}

/// The strategy's new global adapter holds NaN or infinity; the round fails and the adapter stays.
struct NonFiniteAggregate: Error, CustomStringConvertible {
    var description: String { "the aggregate holds non-finite values" }
}
