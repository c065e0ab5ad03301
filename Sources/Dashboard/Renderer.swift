import Federation
import Foundation

/// Draws a state into a screen buffer. Pure: the same state and size give the same cells,
/// and the state is never changed.
///
/// Each panel is an extension of `Renderer` in its own file under `Panels/`; `draw()` below
/// decides which panels a view shows and in what order.
public func render(_ state: DashboardState, width: Int, height: Int) -> ScreenBuffer {
    Renderer(state: state, width: width, height: height).draw()
}

struct Renderer {
    let state: DashboardState
    let width: Int
    let height: Int
    let layout: Layout
    let cs: Charset
    var run: RunModel { state.run }
    var ui: UIState { state.ui }

    init(state: DashboardState, width: Int, height: Int) {
        self.state = state; self.width = width; self.height = height
        layout = Layout(width: width, height: height, clients: state.run.clients.count)
        cs = state.ui.charset
    }

    func draw() -> ScreenBuffer {
        var b = ScreenBuffer(width: width, height: height)
        if layout.tooSmall {
            drawTooSmall(&b)
            return b
        }
        drawHeader(&b)
        switch ui.view {
        case .main:
            drawTable(&b)
            drawCharts(&b)
            drawLog(&b)
        case .detail:
            drawDetail(&b)
        }
        drawStatusBar(&b)
        if ui.showHelp { drawHelp(&b) }
        return b
    }

    // MARK: Too small

    func drawTooSmall(_ b: inout ScreenBuffer) {
        let message = "terminal too small (need \(Layout.minWidth)x\(Layout.minHeight), have \(width)x\(height))"
        guard height > 0 else { return }
        let lines = [message, "enlarge the window, or press q to quit"]
        let top = max(0, height / 2 - 1)
        for (i, line) in lines.enumerated() where top + i < height {
            let x = max(0, (width - line.unicodeScalars.count) / 2)
            b.put(line, x: x, y: top + i, style: i == 0 ? .bold : [], color: i == 0 ? .yellow : .normal)
        }
    }
}
