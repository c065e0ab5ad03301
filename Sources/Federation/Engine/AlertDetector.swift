import Foundation

/// Flags clients that look degraded, each with its reason: an outlying update norm,
/// an update pointing against the others, own quality falling for consecutive rounds,
/// or local training loss jumping above the client's own history.
struct AlertDetector {
    var qualityFalls: [String: Int] = [:]
    var bestLocalLoss: [String: Double] = [:]
    /// Each client's task accuracy at its last evaluation, and its consecutive falls.
    var lastAccuracy: [String: Double] = [:]
    var accuracyFalls: [String: Int] = [:]

    /// Alerts for one completed round's client metrics.
    mutating func inspect(_ metrics: [ClientRoundMetrics], round: Int) -> [Alert] {
        var alerts: [Alert] = []
        let norms = metrics.compactMap(\.updateNorm).sorted()
        let median = norms.isEmpty ? 0 : norms[norms.count / 2]
        for m in metrics {
            if let n = m.updateNorm, norms.count >= 3, median > 0, n > 3 * median {
                alerts.append(Alert(round: round, client: m.client, severity: .warning,
                                    reason: String(format: "update norm %.3g is %.1fx the round's median", n, n / median)))
            }
            if let c = m.cosineToOthers, c < -0.15 {
                alerts.append(Alert(round: round, client: m.client, severity: .warning,
                                    reason: String(format: "update points against the others (cosine %.2f)", c)))
            }
            if let d = m.qualityDeltaLast {
                qualityFalls[m.client] = d < 0 ? (qualityFalls[m.client] ?? 0) + 1 : 0
                if let falls = qualityFalls[m.client], falls >= 2 {
                    alerts.append(Alert(round: round, client: m.client, severity: .warning,
                                        reason: "own eval loss worsened \(falls) rounds in a row"))
                }
            }
            if let alert = accuracyAlert(m, round: round) { alerts.append(alert) }
            if let loss = m.localLossEnd, loss.isFinite {
                if let best = bestLocalLoss[m.client], loss > 1.5 * best, loss - best > 0.5 {
                    alerts.append(Alert(round: round, client: m.client, severity: .critical,
                                        reason: String(format: "local training loss rose to %.2f from %.2f: its data may have degraded", loss, best)))
                }
                bestLocalLoss[m.client] = min(bestLocalLoss[m.client] ?? loss, loss)
            }
        }
        return alerts
    }

    /// A warning when a client's task accuracy fell at two evaluations in a row, or by at least
    /// 0.2 at once (the loss alert's counterpart for the task people decide on).
    mutating func accuracyAlert(_ m: ClientRoundMetrics, round: Int) -> Alert? {
        guard let accuracy = m.taskAccuracy else { return nil }
        defer { lastAccuracy[m.client] = accuracy }
        guard let last = lastAccuracy[m.client] else { return nil }
        let falls = accuracy < last ? (accuracyFalls[m.client] ?? 0) + 1 : 0
        accuracyFalls[m.client] = falls
        guard falls >= 2 || last - accuracy >= 0.2 - 1e-9 else { return nil }
        var reason = String(format: "task accuracy fell to %.2f from %.2f", accuracy, last)
        if falls >= 2 { reason += " (\(falls) evaluations in a row)" }
        return Alert(round: round, client: m.client, severity: .warning, reason: reason)
    }
}
