import Federation
import Foundation

/// The help overlay (`?`), drawn from the key map.
extension Renderer {
    func drawHelp(_ b: inout ScreenBuffer) {
        let replay = ui.replay != nil
        let lines = KeyMap.helpLines(replay: replay, charset: cs)
        let keyWidth = lines.map { $0.keys.unicodeScalars.count }.max() ?? 4
        let textWidth = lines.map { $0.help.unicodeScalars.count }.max() ?? 10
        let innerWidth = min(width - 6, keyWidth + textWidth + 4)
        let boxWidth = innerWidth + 2
        let boxHeight = min(height - 2, lines.count + 4)
        let x0 = (width - boxWidth) / 2, y0 = max(1, (height - boxHeight) / 2)
        b.fill(x: x0, y: y0, width: boxWidth, height: boxHeight)
        let (tl, tr, bl, br) = cs.corners
        let title = replay ? " keys (replay) " : " keys "
        let top = tl + cs.horizontal + title + String(repeating: cs.horizontal, count: max(0, boxWidth - 3 - title.count)) + tr
        b.put(top, x: x0, y: y0, style: .bold)
        for y in (y0 + 1)..<(y0 + boxHeight - 1) {
            b.put(cs.vertical, x: x0, y: y, style: .bold)
            b.put(cs.vertical, x: x0 + boxWidth - 1, y: y, style: .bold)
        }
        b.put(bl + String(repeating: cs.horizontal, count: boxWidth - 2) + br, x: x0, y: y0 + boxHeight - 1, style: .bold)
        for (i, line) in lines.prefix(boxHeight - 4).enumerated() {
            let y = y0 + 1 + i
            b.put(Fmt.pad(line.keys, keyWidth, charset: cs), x: x0 + 2, y: y, style: .bold, color: .cyan)
            b.put(line.help, x: x0 + 2 + keyWidth + 2, y: y, limit: innerWidth - keyWidth - 3)
        }
        b.put("? or Esc closes this help", x: x0 + 2, y: y0 + boxHeight - 2, style: .dim, limit: innerWidth - 2)
    }
}
