import Federation
import Foundation

/// The event log at the bottom of the main view.
extension Renderer {
    func logColor(_ kind: LogEntry.Kind) -> (CellColor, CellStyle) {
        switch kind {
        case .info: return (.normal, .dim)
        case .round: return (.normal, [])
        case .drop: return (.yellow, [])
        case .failure: return (.red, .bold)
        case .alert(let s): return s == .critical ? (.red, .bold) : (s == .warning ? (.yellow, .bold) : (.normal, []))
        case .operatorAction: return (.cyan, [])
        case .privacy: return (.green, [])
        case .stderr: return (.yellow, [])
        }
    }

    func drawLog(_ b: inout ScreenBuffer) {
        let y = layout.logTop
        var title = " events "
        if ui.stderrLines > 0, let path = ui.stderrPath {
            title += "(\(ui.stderrLines) stderr line\(ui.stderrLines == 1 ? "" : "s") in \(path)) "
        }
        b.put(String(repeating: cs.horizontal, count: 2) + title + String(repeating: cs.horizontal, count: max(0, width - 2 - title.count)),
              x: 0, y: y, style: .dim)
        let lines = run.log.suffix(layout.logRows)
        for (i, entry) in lines.enumerated() {
            let (color, style) = logColor(entry.kind)
            let x = b.put(Fmt.pad("r\(entry.round)", 4, charset: cs), x: 0, y: y + 1 + i, style: .dim)
            b.put(Fmt.pad(entry.text, width - x - 1, charset: cs), x: x + 1, y: y + 1 + i, style: style, color: color)
        }
    }
}
