/// Where each part of the main view goes for a terminal size. Pure: the renderer draws
/// with it and the key handler scrolls with it, so both agree on the table's height.
public struct Layout: Sendable, Equatable {
    public static let minWidth = 100
    public static let minHeight = 30

    public let width: Int
    public let height: Int
    /// Rows 0 and 1.
    public let headerRows = 2
    /// The table's column header row; client rows follow it.
    public let tableHeader = 2
    public let tableRows: Int
    public let chartTop: Int
    /// Plot rows of each chart (a title row above, an axis row below).
    public let chartPlotRows: Int
    public let logTop: Int
    public let logRows: Int
    public var statusRow: Int { height - 1 }
    public var tooSmall: Bool { width < Self.minWidth || height < Self.minHeight }

    public init(width: Int, height: Int, clients: Int) {
        self.width = width
        self.height = height
        let fixed = 2 + 1 + 2 + 1 + 1        // header, table header, chart title + axis, log title, status
        let minPlot = 5, minLog = 4
        let available = max(0, height - fixed - minPlot - minLog)
        let rows = min(max(1, clients), available)
        var spare = available - rows
        let extraPlot = min(spare / 2, 5)
        spare -= extraPlot
        tableRows = rows
        chartPlotRows = minPlot + extraPlot
        chartTop = 3 + rows
        logTop = chartTop + chartPlotRows + 2
        logRows = minLog + spare
    }

    /// The first visible row so that `selected` (an index into the sorted rows) is on screen.
    public func scroll(_ current: Int, selected: Int, count: Int) -> Int {
        let visible = max(1, tableRows)
        var top = min(current, max(0, count - visible))
        if selected < top { top = selected }
        if selected >= top + visible { top = selected - visible + 1 }
        return max(0, top)
    }
}
