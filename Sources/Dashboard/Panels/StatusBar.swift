import Federation
import Foundation

/// The status bar on the last row: keys, pending commands, messages.
extension Renderer {
    func drawStatusBar(_ b: inout ScreenBuffer) {
        let y = layout.statusRow
        let hints = KeyMap.hints(replay: ui.replay != nil, charset: cs)
        var left = ""
        var color = CellColor.yellow
        if let flash = ui.flash { left = flash }
        else if ui.quitRequested && !run.finished && ui.replay == nil { left = "stopping: waiting for the current step to finish\(cs.ellipsis) (q again quits now)" }
        else if run.finished && ui.replay == nil { left = "run \(run.stoppedEarly ? "stopped" : "finished"): q quits"; color = .green }
        else if ui.view == .main && run.clients.count > layout.tableRows {
            let rows = state.sortedRows
            let sel = rows.firstIndex { $0.id == ui.selected } ?? 0
            let top = layout.scroll(ui.scroll, selected: sel, count: rows.count)
            left = "clients \(top + 1)-\(min(rows.count, top + layout.tableRows)) of \(rows.count)"
            color = .normal
        }
        // The bottom-right cell stays blank: curses cannot write it without scrolling.
        // A message longer than the room beside the hints displaces them.
        var room = width - hints.unicodeScalars.count - 3
        let showHints = left.unicodeScalars.count <= room
        if !showHints { room = width - 2 }
        if room > 0 { b.put(Fmt.pad(left, room, charset: cs), x: 0, y: y, style: .bold, color: color) }
        if showHints { b.putRight(hints, end: width - 1, y: y, style: .dim) }
    }
}
