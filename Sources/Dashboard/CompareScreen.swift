import Foundation

/// Shows a running comparison until it finishes and the user closes the view (q, Enter or
/// Esc), or until the user abandons it (q while it runs, or SIGINT/SIGTERM).
///
/// The comparison runs on another thread and writes into `feed`; this loop only draws.
/// - Returns: true when the comparison finished before the view closed.
public func showCompare(feed: CompareFeed) throws -> Bool {
    let terminal = try Terminal()
    defer { terminal.close() }
    let began = Date()
    var shown = -1
    var shownSecond = -1
    var handledSignals = 0
    var charsetSet = false
    while true {
        var redraw = false
        var close = false
        var wait = true
        while let input = terminal.read(wait: wait) {
            wait = false
            switch input {
            case .resize: redraw = true
            case .key(.char("q")), .key(.char("Q")), .key(.enter), .key(.escape): close = true
            case .key, .other: break
            }
        }
        if Terminal.stopRequests > handledSignals { handledSignals = Terminal.stopRequests; close = true }
        let (snapshot, version) = feed.read()
        if close { return snapshot.finished }
        if !charsetSet {
            feed.update { $0.charset = terminal.charset }
            charsetSet = true
            continue
        }
        let second = Int(Date().timeIntervalSince(began))
        if !snapshot.finished, second != shownSecond {
            shownSecond = second
            feed.update { $0.elapsedSeconds = Double(second) }
            continue
        }
        if version != shown || redraw {
            shown = version
            terminal.draw(renderCompare(snapshot, width: terminal.width, height: terminal.height))
        }
    }
}
