import Federation
import Foundation

/// Synthetic runs for render benchmarks and tests: `clients` clients over `rounds` rounds,
/// with deterministic metrics, a few drops and alerts.
public enum SyntheticRun {
    public static func events(clients: Int, rounds: Int, seed: UInt64 = 1) -> [FederationEvent] {
        var rng = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
        func next() -> Double {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            return Double(rng % 1_000_000) / 1_000_000
        }
        let ids = (0..<clients).map { String(format: "client-%03d", $0) }
        let domainNames = ["clinical", "aml", "support", "legal"]
        var domains: [String: String] = [:]
        for (i, id) in ids.enumerated() { domains[id] = domainNames[i % domainNames.count] }
        var out: [FederationEvent] = [.runStarted(scenario: "synthetic", model: "tiny", strategy: "fedavg", rounds: rounds,
                                                  clients: ids, domains: domains),
                                      .phase(round: 0, .evaluating)]
        var base: [String: Double] = [:], last: [String: Double] = [:]
        for id in ids { base[id] = 3 + next(); last[id] = base[id] }
        for r in 1...max(1, rounds) {
            out.append(.phase(round: r, .selecting))
            out.append(.roundStarted(round: r, selected: ids))
            out.append(.phase(round: r, .training))
            var dropped: [String] = []
            var metrics: [ClientRoundMetrics] = []
            for (i, id) in ids.enumerated() {
                var m = ClientRoundMetrics(client: id, round: r, status: .done)
                if (i + r) % 17 == 0 { m.status = .dropped; dropped.append(id) }
                m.trainExamples = 20 + i % 50
                m.localLossStart = 3 - Double(r) * 0.05 + next() * 0.2
                m.localLossEnd = m.localLossStart! - 0.1 - next() * 0.1
                let eval = base[id]! - Double(r) * 0.04 * (i % 5 == 4 ? -0.5 : 1) + next() * 0.03
                m.evalLoss = eval
                m.qualityDeltaBase = base[id]! - eval
                m.qualityDeltaLast = last[id]! - eval
                last[id] = eval
                if m.status == .done {
                    m.drift = 0.2 + next() * 0.5
                    m.updateNorm = 0.01 + next() * 0.01
                    m.cosineToOthers = i % 23 == 5 ? -0.3 : 0.5 + next() * 0.4
                    m.bytesDown = 180_000; m.bytesUp = 45_000 + i
                    m.aggregationWeight = 1 / Double(clients)
                }
                m.simulatedSeconds = 1 + next()
                metrics.append(m)
                out.append(.clientUpdate(m))
            }
            out.append(.phase(round: r, .aggregating))
            out.append(.phase(round: r, .evaluating))
            for (i, m) in metrics.enumerated() where i % 23 == 5 {
                out.append(.alert(Alert.make(round: r, client: m.client, severity: .warning, reason: "update points against the others (cosine -0.30)")))
            }
            let done = metrics.filter { $0.status == .done }
            out.append(.roundCompleted(RoundMetrics(
                round: r, selected: ids, aggregated: done.map(\.client), dropped: dropped,
                globalEvalLoss: 3.5 - Double(r) * 0.03, baseEvalLoss: nil,
                bytesUp: done.reduce(0) { $0 + $1.bytesUp }, bytesDown: done.reduce(0) { $0 + $1.bytesDown },
                wallSeconds: 0.5, simulatedSeconds: 2, strategy: "fedavg", updateNormMean: 0.015, domainEvalLoss: [:])))
        }
        out.append(.phase(round: max(1, rounds), .finished))
        out.append(.runFinished(rounds: max(1, rounds), finalEvalLoss: 3.5 - Double(max(1, rounds)) * 0.03, baseEvalLoss: 3.5,
                                wallSeconds: 0.5 * Double(max(1, rounds)), stopped: false))
        return out
    }

    /// A state after `rounds` rounds of `clients` clients (the run still going: the finish is left out).
    public static func state(clients: Int, rounds: Int) -> DashboardState {
        var s = DashboardState()
        s.apply(events(clients: clients, rounds: rounds).dropLast(2))
        return s
    }
}

/// Times `render` of a synthetic run; returns (mean, best) milliseconds per frame.
public func benchmarkRender(clients: Int = 128, rounds: Int = 30, width: Int = 120, height: Int = 40,
                            frames: Int = 50) -> (meanMs: Double, bestMs: Double) {
    var state = SyntheticRun.state(clients: clients, rounds: rounds)
    state.ui.width = width; state.ui.height = height
    _ = render(state, width: width, height: height)   // warm-up
    var best = Double.infinity, total = 0.0
    for i in 0..<max(1, frames) {
        // Move the selection so each frame is different.
        state.ui.selected = state.run.clients[i % state.run.clients.count].id
        let start = DispatchTime.now().uptimeNanoseconds
        let buffer = render(state, width: width, height: height)
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        precondition(buffer.width == width)
        best = min(best, ms)
        total += ms
    }
    return (total / Double(max(1, frames)), best)
}
