import Federation
import Foundation

/// The header: scenario, phase, round, clocks, privacy and bytes (rows 0 and 1).
extension Renderer {
    var phaseText: (String, CellColor) {
        if let r = ui.replay {
            let speed = String(format: "%g rounds/s", r.roundsPerSecond)
            if r.atEnd { return ("replay: end", .green) }
            return r.playing ? ("replay \(cs.play) \(speed)", .cyan) : ("replay paused (\(speed))", .yellow)
        }
        if run.finished { return run.stoppedEarly ? ("stopped", .yellow) : ("finished", .green) }
        if run.stopping || ui.quitRequested { return ("stopping\(cs.ellipsis)", .yellow) }
        let name = run.phase == .secureAggregation ? "secure aggregation" : run.phase.rawValue
        if run.phase == .paused { return ("paused", .yellow) }
        if run.paused { return ("\(name), pausing", .yellow) }
        return (name, .cyan)
    }

    func drawHeader(_ b: inout ScreenBuffer) {
        b.fill(x: 0, y: 0, width: width, height: 1, with: Cell(" ", style: .reverse))
        let (phase, color) = phaseText
        let round = "\(run.round)/\(run.totalRounds)"
        let fullModel = (run.model as NSString).lastPathComponent
        // Try the roomiest form first: labelled fields and both clocks; then without labels; then wall time only.
        // The model name gives way last (paths are long).
        var labels = true, clock = ""
        var model = fullModel
        for (withLabels, withNet) in [(true, true), (false, true), (false, false)] {
            labels = withLabels
            clock = "wall \(Fmt.clock(run.wallSeconds))" + (withNet ? "  net \(Fmt.duration(run.simulatedSeconds))" : "") + " "
            let names = run.scenario.count + run.strategy.count + (withLabels ? " scenario  model  strategy ".count + 2 : 6)
            let fixed = " FedPilot ".count + names + "  round ".count + round.count + 2 + phase.count
            let room = width - fixed - clock.count - 2
            model = fullModel.count > room ? (room >= 6 ? Fmt.pad(fullModel, room, charset: cs) : "") : fullModel
            if room >= min(fullModel.count, 12) { break }
        }
        var x = b.put(" FedPilot ", x: 0, y: 0, style: [.reverse, .bold])
        let fields: [(String, String)] = [("scenario", run.scenario), ("model", model), ("strategy", run.strategy)]
        for (i, (k, v)) in fields.enumerated() where !v.isEmpty {
            x = b.put(labels ? " \(k) " : (i == 0 ? " " : "  "), x: x, y: 0, style: .reverse)
            x = b.put(v, x: x, y: 0, style: [.reverse, .bold])
        }
        x = b.put("  round ", x: x, y: 0, style: .reverse)
        x = b.put(round, x: x, y: 0, style: [.reverse, .bold])
        x = b.put("  ", x: x, y: 0, style: .reverse)
        x = b.put(phase, x: x, y: 0, style: [.reverse, .bold], color: color)
        if x + clock.count + 1 <= width { b.putRight(clock, end: width, y: 0, style: .reverse) }

        // Row 1: privacy, secure aggregation, traffic, commands in flight.
        var y1 = 0
        y1 = b.put(" DP ", x: y1, y: 1)
        if run.dpEnabled {
            y1 = b.put("on", x: y1, y: 1, style: .bold, color: .green)
            y1 = b.put(" \(cs.epsilon)\(Fmt.epsilon(run.epsilon))", x: y1, y: 1, style: .bold)
            y1 = b.put(String(format: " \(cs.sigma)%.2f clip=%.3g \(cs == .unicode ? "δ=" : "delta=")%.0e", run.noiseMultiplier, run.clipNorm, run.delta),
                       x: y1, y: 1)
        } else {
            y1 = b.put("off", x: y1, y: 1, style: .bold)
            y1 = b.put(String(format: " (noise %.2f when on)", run.noiseMultiplier), x: y1, y: 1, style: .dim)
        }
        y1 = b.put("  \(cs.vertical) secure aggregation ", x: y1, y: 1)
        y1 = b.put(run.secureAggregation ? "on" : "off", x: y1, y: 1, style: .bold, color: run.secureAggregation ? .green : .normal)
        if let s = run.secureRound {
            y1 = b.put(s.aborted == nil ? " k=\(s.degree) t=\(s.threshold) \(s.included.count)/\(s.clients.count) in sum" : " last round aborted",
                       x: y1, y: 1, color: s.aborted == nil ? .normal : .red)
        }
        y1 = b.put("  \(cs.vertical) moved ", x: y1, y: 1)
        y1 = b.put(Fmt.bytesLong(run.bytesMoved), x: y1, y: 1, style: .bold)
        if run.failedRounds > 0 {
            y1 = b.put("  \(cs.vertical) ", x: y1, y: 1)
            y1 = b.put("\(run.failedRounds) failed round\(run.failedRounds == 1 ? "" : "s")", x: y1, y: 1, style: .bold, color: .red)
        }
        if !ui.pending.isEmpty {
            y1 = b.put("  \(cs.vertical) ", x: y1, y: 1)
            y1 = b.put("pending: ", x: y1, y: 1, style: .bold, color: .yellow)
            b.put(ui.pending.map(\.description).joined(separator: ", "), x: y1, y: 1, color: .yellow)
        }
    }
}
