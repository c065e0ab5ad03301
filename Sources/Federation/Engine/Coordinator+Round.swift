import Foundation
import Llama
import TensorMath

/// A completed round as the checkpoint callback receives it: the new global adapter and the
/// server state that a resumed run continues from.
public struct RoundCheckpoint: Sendable {
    public var round: Int
    public var adapter: LoRAAdapter
    public var state: ServerState
}

/// The updates that reached the coordinator, with every selected client's metrics so far.
struct CollectedUpdates {
    var metrics: [String: ClientRoundMetrics]
    var updates: [ClientUpdate]
    /// Individual deltas, for update geometry (none under secure aggregation).
    var deltas: [String: [Float]]
}

/// The aggregation stage's result: the strategy's outcome, the metrics (the path may have
/// marked drops) and each client's update geometry against the aggregate.
struct AggregatedRound {
    var outcome: AggregationOutcome
    var metrics: [String: ClientRoundMetrics]
    var geometry: [String: (cosineOthers: Double?, cosineAggregate: Double?, drift: Double?)]
}

/// One round as a pipeline:
///
///     select → collectUpdates → aggregate → evaluate → publish
///
/// Each stage takes and returns plain values; a stage that cannot go on throws `RoundFailure`,
/// and the round fails with the global adapter unchanged.
extension Coordinator {
    /// Runs round `round`; returns the new global eval loss, or nil when the round failed.
    func runRound(_ round: Int) -> Double? {
        let began = Date()
        var rng = SeededRandom(seed: Seeds.derive(scenario.seed, purpose: .round, index: round))
        sink(.phase(round: round, .selecting))
        let selected = select(round: round, rng: &rng)
        sink(.roundStarted(round: round, selected: selected))
        do {
            guard selected.count >= scenario.selection.minimumClients else {
                throw RoundFailure("only \(selected.count) clients available; the round needs \(scenario.selection.minimumClients)")
            }
            let collected = try collectUpdates(round: round, selected: selected, rng: &rng)
            let aggregated = try aggregate(collected, round: round, selected: selected, rng: &rng)
            let evaluation = evaluate(round: round)
            let metrics = publish(round: round, selected: selected, aggregated: aggregated, evaluation: evaluation, began: began)
            paceForDemo(simulatedSeconds: metrics.simulatedSeconds, began: began)
            return evaluation.global
        } catch let failure as RoundFailure {
            return fail(round, failure.reason)
        } catch {
            return fail(round, "\(error)")
        }
    }

    /// Sends the round's task to each selected client through the lanes and takes their replies
    /// in selection order. Applies operator commands before each client starts and once more
    /// before aggregation: a client dropped while it trained is left out.
    func collectUpdates(round: Int, selected: [String], rng: inout SeededRandom) throws -> CollectedUpdates {
        var metrics: [String: ClientRoundMetrics] = [:]
        var updates: [ClientUpdate] = []
        var deltas: [String: [Float]] = [:]
        sink(.phase(round: round, .training))
        let specs = selected.map { id in clientSpecs.first { $0.id == id }! }
        inLanes(specs.count, prepare: { i -> (client: String, task: Data)? in
            applyCommands(commands.drain())   // step boundary: before each client starts
            var m = ClientRoundMetrics(client: specs[i].id, round: round, status: .training)
            if excluded.contains(specs[i].id) || stopRequested { m.status = .excluded }
            metrics[specs[i].id] = m
            sink(.clientUpdate(m))
            guard m.status == .training else { return nil }
            let task = self.task(for: specs[i], round: round)
            metrics[specs[i].id]?.bytesDown = task.count
            return (specs[i].id, task)
        }, work: { [transport] job in
            let sent = Date()
            let reply = Result { try transport.exchange(client: job.client, task: job.task) }
            return (reply: reply, seconds: Date().timeIntervalSince(sent))
        }, finished: { i, exchanged in
            // In selection order: a simulated link's random draws do not depend on which lane finished first.
            guard var m = metrics[specs[i].id] else { return }
            if let update = receive(exchanged.reply, exchangeSeconds: exchanged.seconds, from: specs[i], round: round,
                                    metrics: &m, rng: &rng) {
                updates.append(update)
                if !update.delta.isEmpty { deltas[specs[i].id] = update.delta }
            }
            metrics[specs[i].id] = m
            sink(.clientUpdate(m))   // uploading, or dropped, timed out, failed
        })
        // A step boundary before aggregation: an operator who drops a client while it trains
        // means "keep its update out", so its update is discarded if it has not been aggregated.
        applyCommands(commands.drain())
        for update in updates where excluded.contains(update.client) {
            guard var m = metrics[update.client] else { continue }
            m.status = .excluded
            metrics[update.client] = m
            deltas[update.client] = nil
            sink(.clientUpdate(m))
            sink(.alert(Alert(round: round, client: update.client, severity: .info,
                              reason: "dropped by the operator during round \(round): its update is left out of this round's aggregate")))
        }
        updates.removeAll { excluded.contains($0.client) }
        guard updates.count >= scenario.selection.minimumClients, !updates.isEmpty else {
            for client in selected {
                guard var m = metrics[client], m.status == .uploading else { continue }
                m.status = .dropped
                sink(.clientUpdate(m))
            }
            throw RoundFailure("only \(updates.count) updates arrived; the round needs \(max(1, scenario.selection.minimumClients))")
        }
        return CollectedUpdates(metrics: metrics, updates: updates, deltas: deltas)
    }

    /// Aggregation through the path the privacy settings call for: no command is applied until
    /// it is done. Sets the new global adapter and measures each update against the aggregate.
    func aggregate(_ collected: CollectedUpdates, round: Int, selected: [String], rng: inout SeededRandom) throws -> AggregatedRound {
        sink(.phase(round: round, .aggregating))
        let previous = global.values
        var metrics = collected.metrics
        let outcome = try aggregationPath.aggregate(AggregationInput(round: round, selected: selected, updates: collected.updates),
                                                    metrics: &metrics, rng: &rng, coordinator: self)
        global.values = outcome.global
        var aggregate = global.values
        for i in aggregate.indices { aggregate[i] -= previous[i] }
        return AggregatedRound(outcome: outcome, metrics: metrics,
                               geometry: UpdateGeometry.measure(collected.deltas, aggregate: aggregate))
    }

    /// Evaluates the new global adapter on every client's own validation data (in the rounds
    /// the scenario asks for, and the last).
    func evaluate(round: Int) -> Evaluation {
        sink(.phase(round: round, .evaluating))
        let shouldEvaluate = round % max(1, scenario.evaluation.every) == 0 || round == scenario.rounds
        return shouldEvaluate ? evaluateAll(round: round, adapter: global) : Evaluation()
    }

    /// Merges each client's training, aggregation and evaluation metrics, raises alerts, and
    /// publishes the round: client updates, alerts, the privacy ledger, the checkpoint and
    /// `roundCompleted`. Returns the round's metrics.
    @discardableResult
    func publish(round: Int, selected: [String], aggregated: AggregatedRound, evaluation eval: Evaluation, began: Date) -> RoundMetrics {
        let outcome = aggregated.outcome
        var merged: [ClientRoundMetrics] = []
        for spec in clientSpecs {
            var m = aggregated.metrics[spec.id]
                ?? ClientRoundMetrics(client: spec.id, round: round, status: excluded.contains(spec.id) ? .excluded : .idle)
            if aggregated.metrics[spec.id] != nil {   // selected this round
                if m.status == .uploading { m.status = outcome.rejected.contains(spec.id) ? .rejected : .done }
                if let g = aggregated.geometry[spec.id] {
                    m.cosineToOthers = g.cosineOthers
                    m.cosineToAggregate = g.cosineAggregate
                    m.drift = g.drift
                }
                m.aggregationWeight = outcome.weights[spec.id]
            }
            if let loss = eval.perClient[spec.id] {
                m.evalLoss = loss
                if let b = baseEval[spec.id] { m.qualityDeltaBase = b - loss }
                if let l = lastEval[spec.id] { m.qualityDeltaLast = l - loss }
                lastEval[spec.id] = loss
            }
            applyTask(eval.tasks[spec.id], to: &m)
            m.rougeL = eval.generation[spec.id]?.rougeL
            merged.append(m)
        }
        let raised = alerts.inspect(&merged, round: round)
        for m in merged {
            lastClientMetrics[m.client] = m
            sink(.clientUpdate(m))
        }
        for alert in raised { sink(.alert(alert)) }
        if privacy.differentialPrivacy || scenario.privacy.differentialPrivacy { publishPrivacy(round: round) }
        let participants = merged.filter { aggregated.metrics[$0.client] != nil }
        let norms = participants.compactMap(\.updateNorm)
        let all = Array(aggregated.metrics.values)
        var roundMetrics = RoundMetrics(
            round: round, selected: selected, aggregated: participants.filter { $0.status == .done }.map(\.client),
            dropped: all.filter { [.dropped, .timedOut, .failed].contains($0.status) }.map(\.client).sorted(),
            globalEvalLoss: eval.global, baseEvalLoss: nil, bytesUp: all.reduce(0) { $0 + $1.bytesUp },
            bytesDown: all.reduce(0) { $0 + $1.bytesDown }, wallSeconds: Date().timeIntervalSince(began),
            simulatedSeconds: all.map(\.simulatedSeconds).max() ?? 0, strategy: strategy.kind.rawValue,
            updateNormMean: norms.isEmpty ? nil : norms.reduce(0, +) / Double(norms.count),
            domainEvalLoss: eval.perDomain)
        applyTask(eval.tasks, to: &roundMetrics)
        applyGeneration(eval.generation, to: &roundMetrics)
        if let onCheckpoint {
            onCheckpoint(RoundCheckpoint(round: round, adapter: global, state: serverState(round: round)))
        }
        sink(.roundCompleted(roundMetrics))
        return roundMetrics
    }

    /// Demo pacing: lets the round last as long as the simulated network and compute would.
    /// The only sleep in the engine; off unless the scenario asks for real-time pacing.
    func paceForDemo(simulatedSeconds: Double, began: Date) {
        guard scenario.realTimePacing else { return }
        let remaining = simulatedSeconds - Date().timeIntervalSince(began)
        if remaining > 0 { Thread.sleep(forTimeInterval: min(remaining, 60)) }
    }
}
