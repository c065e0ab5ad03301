import Foundation

/// Draws the compare screen: the approaches side by side (status, eval loss, gain over the
/// base model as a bar, bytes, time, ε), each client's eval loss under each approach, and
/// the verdict. Pure, like `render(_:width:height:)`.
public func renderCompare(_ s: CompareSnapshot, width: Int, height: Int) -> ScreenBuffer {
    var b = ScreenBuffer(width: width, height: height)
    let cs = s.charset
    guard width >= 80, height >= 16 else {
        if height > 0 {
            b.put("terminal too small for the comparison (need 80x16, have \(width)x\(height))", x: 0, y: max(0, height / 2 - 1),
                  style: .bold, color: .yellow)
        }
        return b
    }

    // Header.
    b.fill(x: 0, y: 0, width: width, height: 1, with: Cell(" ", style: .reverse))
    var x = b.put(" FedPilot compare ", x: 0, y: 0, style: [.reverse, .bold])
    for (k, v) in [("scenario", s.scenario), ("model", (s.model as NSString).lastPathComponent)] where !v.isEmpty {
        x = b.put("  \(k) ", x: x, y: 0, style: .reverse)
        x = b.put(v, x: x, y: 0, style: [.reverse, .bold])
    }
    x = b.put("  \(s.rounds) rounds  \(s.clients.count) clients", x: x, y: 0, style: .reverse)
    let clock = "elapsed \(Fmt.clock(s.elapsedSeconds)) "
    if x + clock.count + 1 <= width { b.putRight(clock, end: width, y: 0, style: .reverse) }

    var y1 = b.put(" same data, splits and training budget for each approach", x: 0, y: 1, style: .dim)
    if let dp = s.dpTarget {
        y1 = b.put("  \(cs.vertical) DP target \(cs.epsilon)", x: y1, y: 1)
        y1 = b.put(String(format: "%.2f", dp.epsilon), x: y1, y: 1, style: .bold)
        y1 = b.put(String(format: " (\(cs.sigma)%.3f)", dp.noise), x: y1, y: 1)
    }
    if let base = s.baseEvalLoss {
        y1 = b.put("  \(cs.vertical) base eval loss ", x: y1, y: 1)
        b.put(String(format: "%.4f", base), x: y1, y: 1, style: .bold)
    }

    // Approaches.
    let columns: [(String, Int, Bool)] = [("approach", 14, false), ("status", 11, false), ("eval loss", 10, true), ("perplexity", 11, true),
                                          ("\(cs.delta) base", 9, true), ("bytes", 9, true), ("time", 8, true), (cs == .unicode ? "ε" : "eps", 10, true)]
    var top = 3
    var cx = 1
    for (title, w, right) in columns {
        b.put(Fmt.pad(title, w, right: right, charset: cs), x: cx, y: top, style: .bold)
        cx += w + 1
    }
    let barX = cx + 1, barWidth = max(0, width - barX - 2)
    b.put("gain over base", x: barX, y: top, style: .bold, limit: barWidth)
    let gains = s.approaches.compactMap { a in a.evalLoss.flatMap { l in s.baseEvalLoss.map { $0 - l } } }
    let maxGain = max(gains.map(abs).max() ?? 0, 1e-9)
    for (i, a) in s.approaches.enumerated() {
        let y = top + 1 + i
        var c = 1
        func cell(_ text: String, _ w: Int, right: Bool = true, style: CellStyle = [], color: CellColor = .normal) {
            b.put(Fmt.pad(text, w, right: right, charset: cs), x: c, y: y, style: style, color: color)
            c += w + 1
        }
        cell(a.name, 14, right: false, style: .bold)
        switch a.status {
        case .waiting: cell("waiting", 11, right: false, style: .dim)
        case .running(let r, let n): cell(n > 1 ? "round \(r)/\(n)" : "training", 11, right: false, color: .cyan)
        case .done: cell("done", 11, right: false, color: .green)
        }
        let gain = a.evalLoss.flatMap { l in s.baseEvalLoss.map { $0 - l } }
        cell(Fmt.num(a.evalLoss, width: 10, decimals: 4, charset: cs), 10)
        cell(Fmt.num(a.evalLoss.map { exp($0) }, width: 11, decimals: 2, charset: cs), 11)
        cell(Fmt.num(gain, width: 9, decimals: 4, signed: true, charset: cs), 9, color: gain.map { $0 > 0 ? .green : .red } ?? .normal)
        cell(a.bytes.map { Fmt.bytes($0) } ?? cs.dash, 9)
        cell(a.seconds.map { Fmt.duration($0) } ?? cs.dash, 8)
        cell(a.status == .done ? (a.epsilon.map { String(format: "%.2f", $0) } ?? "none") : cs.dash, 10)
        if let gain, gain != 0, barWidth > 0 {
            let eighths = Int((abs(gain) / maxGain * Double(barWidth * 8)).rounded())
            b.put(bar(eighths: max(1, eighths), charset: cs), x: barX, y: y, color: gain > 0 ? .green : .red, limit: barWidth)
        }
    }
    top += s.approaches.count + 2
    let statusRow = height - 1
    if s.approaches.contains(where: { $0.details != nil }), top + 1 < statusRow - 2 {
        top = renderCompareDetails(s, into: &b, top: top, statusRow: statusRow)
    }

    // Per-client accuracy (with labels) or eval loss, best per client in bold.
    let accuracy = s.approaches.contains { !($0.details?.perClientAccuracy.isEmpty ?? true) }
    if top < statusRow - 2 {
        b.put(accuracy ? "task accuracy per client (higher is better; the best is bold)"
                       : "eval loss per client (lower is better; the best is bold)", x: 1, y: top, style: .bold)
        top += 1
        let nameWidth = min(18, max(8, (s.clients.map(\.count).max() ?? 6) + 1))
        var hx = 1 + nameWidth
        b.put(Fmt.pad("client", nameWidth, charset: cs), x: 1, y: top, style: .dim)
        b.put(Fmt.pad("base", 9, right: true), x: hx, y: top, style: .dim)
        hx += 10
        // The base model is the base column.
        let columns = s.approaches.filter { $0.name != "base-model" }
        let colWidth = max(10, min(14, columns.map(\.name.count).max() ?? 10) + 1)
        func value(_ a: CompareSnapshot.Approach, _ client: String) -> Double? {
            accuracy ? a.details?.perClientAccuracy[client] : a.perClient[client]
        }
        let baseAccuracy = s.approaches.first { $0.name == "base-model" }?.details?.perClientAccuracy ?? [:]
        for a in columns {
            b.put(Fmt.pad(a.name, colWidth, right: true, charset: cs), x: hx, y: top, style: .dim)
            hx += colWidth + 1
        }
        top += 1
        for client in s.clients where top < statusRow - 2 {
            b.put(Fmt.pad(client, nameWidth, charset: cs), x: 1, y: top)
            var px = 1 + nameWidth
            let baseValue = accuracy ? baseAccuracy[client] : s.basePerClient[client]
            b.put(Fmt.pad(Fmt.num(baseValue, width: 9, decimals: accuracy ? 3 : 4, charset: cs), 9, right: true), x: px, y: top, style: .dim)
            px += 10
            let values = columns.compactMap { value($0, client) }
            let best = accuracy ? values.max() : values.min()
            for a in columns {
                let v = value(a, client)
                let isBest = v != nil && v == best && values.count > 1
                b.put(Fmt.pad(Fmt.num(v, width: colWidth, decimals: accuracy ? 3 : 4, charset: cs), colWidth, right: true), x: px, y: top,
                      style: isBest ? .bold : [], color: isBest ? .green : .normal)
                px += colWidth + 1
            }
            top += 1
        }
        top += 1
    }

    // Verdict, one clause per line.
    if let verdict = s.verdict, !verdict.isEmpty, top < statusRow - 1 {
        b.put("verdict", x: 1, y: top, style: .bold)
        top += 1
        let text = cs == .unicode ? verdict : asciiOnly(verdict)
        for clause in text.components(separatedBy: "; ") where top < statusRow {
            b.put("\(cs == .unicode ? "•" : "-") \(clause)", x: 2, y: top, limit: width - 3)
            top += 1
        }
    }

    // Status bar.
    b.fill(x: 0, y: statusRow, width: width, height: 1, with: Cell(" ", style: .reverse))
    let status: String
    if s.finished {
        status = " done: q or Enter closes this view (the table is printed on exit)"
    } else if let a = s.approaches.first(where: { if case .running = $0.status { return true } else { return false } }) {
        status = " running \(a.name)\(cs.ellipsis)  q abandons the comparison"
    } else if let next = s.approaches.first(where: { $0.status == .waiting }), s.approaches.contains(where: { $0.status == .done }) {
        status = " scoring \(next.name)\(cs.ellipsis)  q abandons the comparison"
    } else {
        status = " loading the model and data\(cs.ellipsis)  q abandons the comparison"
    }
    b.put(status, x: 0, y: statusRow, style: .reverse)
    return b
}

/// The second table: each approach's task accuracy, macro-F1, latency per prediction, CPU
/// seconds of training and of inference, peak memory and privacy posture. Returns the next free row.
private func renderCompareDetails(_ s: CompareSnapshot, into b: inout ScreenBuffer, top start: Int, statusRow: Int) -> Int {
    let cs = s.charset
    var top = start
    let columns: [(String, Int)] = [("approach", 14), ("accuracy", 8), ("macro-F1", 8), ("ms/pred", 8), ("train cpu", 9),
                                    ("infer cpu", 9), ("peak mem", 8)]
    var cx = 1
    for (i, (title, w)) in columns.enumerated() {
        b.put(Fmt.pad(title, w, right: i > 0, charset: cs), x: cx, y: top, style: .bold)
        cx += w + 1
    }
    b.put("privacy: what leaves each client", x: cx, y: top, style: .bold, limit: max(0, b.width - cx - 1))
    let bestAccuracy = s.approaches.compactMap { $0.details?.accuracy }.max()
    for a in s.approaches where top + 1 < statusRow - 2 {
        top += 1
        var c = 1
        func cell(_ text: String, _ w: Int, right: Bool = true, style: CellStyle = [], color: CellColor = .normal) {
            b.put(Fmt.pad(text, w, right: right, charset: cs), x: c, y: top, style: style, color: color)
            c += w + 1
        }
        cell(a.name, 14, right: false, style: .bold)
        guard let d = a.details else { continue }
        let best = d.accuracy != nil && d.accuracy == bestAccuracy
        cell(Fmt.num(d.accuracy, width: 8, decimals: 3, charset: cs), 8, style: best ? .bold : [], color: best ? .green : .normal)
        cell(Fmt.num(d.macroF1, width: 8, decimals: 3, charset: cs), 8)
        cell(Fmt.num(d.latencySeconds.map { $0 * 1000 }, width: 8, decimals: 1, charset: cs), 8)
        cell(d.trainingCPUSeconds.map { Fmt.duration($0) } ?? "none", 9)
        cell(d.inferenceCPUSeconds.map { Fmt.duration($0) } ?? cs.dash, 9)
        cell(d.peakMemoryBytes.map { Fmt.bytes($0) } ?? cs.dash, 8)
        let privacy = cs == .unicode ? d.privacy : asciiOnly(d.privacy)
        b.put(privacy, x: c, y: top, color: privacy.contains("raw text") ? .yellow : .normal, limit: max(0, b.width - c - 1))
    }
    return top + 2
}

/// A horizontal bar of `eighths` eighth-columns.
private func bar(eighths: Int, charset: Charset) -> String {
    guard charset == .unicode else { return String(repeating: "#", count: max(1, (eighths + 4) / 8)) }
    let partial: [String] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"]
    return String(repeating: "█", count: eighths / 8) + partial[eighths % 8]
}

/// Text for an ASCII terminal: ε as "eps", any other non-ASCII character as "?".
private func asciiOnly(_ text: String) -> String {
    var out = ""
    for scalar in text.unicodeScalars {
        if scalar.isASCII { out.unicodeScalars.append(scalar) } else { out += scalar == "ε" ? "eps" : "?" }
    }
    return out
}
