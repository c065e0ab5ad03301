@preconcurrency import CNcurses
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Process-wide terminal bookkeeping, touched from signal handlers: plain C-compatible values only.
nonisolated(unsafe) private var cursesActive: sig_atomic_t = 0
/// Count of SIGINT/SIGTERM received while the dashboard runs.
nonisolated(unsafe) private var stopSignals: sig_atomic_t = 0
nonisolated(unsafe) private var previousCrashActions: [Int32: sigaction] = [:]
nonisolated(unsafe) private var crashHandlersInstalled = false

/// Restores the terminal if curses is active. Safe to call more than once.
func restoreTerminal() {
    if cursesActive != 0 {
        cursesActive = 0
        endwin()
    }
    restoreStderr()
}

private let crashSignals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP]

/// On a crash: put the terminal back, let the previous handler (the Swift runtime's backtracer,
/// when it has one) report, then die of the signal with its default action.
private func crashHandler(_ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _ context: UnsafeMutableRawPointer?) {
    restoreTerminal()
    if let previous = previousCrashActions[signal] {
        if previous.sa_flags & Int32(SA_SIGINFO) != 0 {
            previous.__sigaction_handler.sa_sigaction?(signal, info, context)
        } else if let handler = previous.__sigaction_handler.sa_handler,
                  unsafeBitCast(handler, to: Int.self) > 1 {   // neither SIG_DFL (0) nor SIG_IGN (1)
            handler(signal)
        }
    }
    var dfl = sigaction()
    dfl.__sigaction_handler.sa_handler = SIG_DFL
    sigaction(signal, &dfl, nil)
    raise(signal)   // delivered, with the default action, as this handler returns
}

/// SIGINT/SIGTERM: the first asks the loop to stop cleanly; the second restores the terminal and exits at once.
private func stopHandler(_ signal: Int32) {
    stopSignals += 1
    if stopSignals >= 2 {
        restoreTerminal()
        _exit(128 + signal)
    }
}

/// A key read from the terminal, or a resize.
enum TerminalInput: Equatable {
    case key(Key)
    case resize
    case other
}

/// The ncursesw screen: set-up, drawing a ScreenBuffer, reading keys, and restoring the terminal
/// on quit, on SIGINT/SIGTERM and on a crash.
final class Terminal {
    let colors: Bool
    let charset: Charset
    private(set) var width: Int
    private(set) var height: Int
    private var wideBuffer: [wchar_t] = []
    /// The standard screen (`stdscr` after `newterm`; ncurses resizes it on KEY_RESIZE).
    private let window: UnsafeMutablePointer<WINDOW>

    /// Whether the C locale (after `setlocale(LC_ALL, "")`) is UTF-8.
    static func localeIsUTF8() -> Bool {
        guard let codeset = nl_langinfo(nl_item(CODESET)) else { return false }
        let name = String(cString: codeset).uppercased()
        return name == "UTF-8" || name == "UTF8"
    }

    init() throws {
        setlocale(LC_ALL, "")
        guard isatty(STDIN_FILENO) != 0, isatty(STDOUT_FILENO) != 0 else {
            throw DashboardError.notATerminal
        }
        charset = Self.localeIsUTF8() ? .unicode : .ascii
        Self.installHandlers()
        // newterm, unlike initscr, reports failure (an unknown TERM) instead of exiting.
        guard let output = fdopen(dup(STDOUT_FILENO), "w"), let input = fdopen(dup(STDIN_FILENO), "r"),
              let screen = newterm(nil, output, input) else {
            throw DashboardError.cursesFailed("newterm")
        }
        set_term(screen)
        guard let window = stdscr else {
            endwin()
            throw DashboardError.cursesFailed("stdscr")
        }
        self.window = window
        cursesActive = 1
        cbreak()
        noecho()
        nonl()
        keypad(window, true)
        set_escdelay(25)
        wtimeout(window, 30)
        curs_set(0)
        if has_colors() {
            start_color()
            use_default_colors()
            init_pair(1, Int16(COLOR_GREEN), -1)
            init_pair(2, Int16(COLOR_RED), -1)
            init_pair(3, Int16(COLOR_YELLOW), -1)
            init_pair(4, Int16(COLOR_CYAN), -1)
            colors = true
        } else {
            colors = false
        }
        width = Int(getmaxx(window))
        height = Int(getmaxy(window))
    }

    deinit { close() }

    /// Restores the terminal and the default SIGINT/SIGTERM behaviour (the crash handlers stay:
    /// they do nothing once curses is off).
    func close() {
        restoreTerminal()
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }

    /// Signals received asking to stop (SIGINT/SIGTERM).
    static var stopRequests: Int { Int(stopSignals) }

    private static func installHandlers() {
        atexit { restoreTerminal() }
        signal(SIGINT) { stopHandler($0) }
        signal(SIGTERM) { stopHandler($0) }
        guard !crashHandlersInstalled else { return }
        crashHandlersInstalled = true
        for s in crashSignals {
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = { crashHandler($0, $1, $2) }
            sigemptyset(&action.sa_mask)
            action.sa_flags = Int32(SA_SIGINFO | SA_ONSTACK)
            var old = sigaction()
            sigaction(s, &action, &old)
            previousCrashActions[s] = old
        }
    }

    func refreshSize() {
        width = Int(getmaxx(window))
        height = Int(getmaxy(window))
    }

    /// Waits up to the input timeout (30 ms) for one input; nil when none came.
    func read(wait: Bool) -> TerminalInput? {
        // After a crash handler restored the terminal, curses must not be touched again
        // (any curses call would switch the screen back); just idle.
        guard cursesActive != 0 else {
            if wait { usleep(30_000) }
            return nil
        }
        wtimeout(window, wait ? 30 : 0)
        var ch: wint_t = 0
        let r = wget_wch(window, &ch)
        if r == ERR { return nil }
        if r == KEY_CODE_YES {
            switch Int32(ch) {
            case KEY_RESIZE: refreshSize(); return .resize
            case KEY_UP: return .key(.up)
            case KEY_DOWN: return .key(.down)
            case KEY_LEFT: return .key(.left)
            case KEY_RIGHT: return .key(.right)
            case KEY_PPAGE: return .key(.pageUp)
            case KEY_NPAGE: return .key(.pageDown)
            case KEY_HOME: return .key(.home)
            case KEY_END: return .key(.end)
            case KEY_ENTER: return .key(.enter)
            default: return .other
            }
        }
        switch ch {
        case 10, 13: return .key(.enter)
        case 27: return .key(.escape)
        default:
            guard let scalar = Unicode.Scalar(UInt32(ch)) else { return .other }
            return .key(.char(Character(scalar)))
        }
    }

    private func attributes(_ cell: Cell) -> Int32 {
        var a: Int32 = 0
        if cell.style.contains(.bold) { a |= NcursesAttr.bold }
        if cell.style.contains(.dim) { a |= NcursesAttr.dim }
        if cell.style.contains(.reverse) { a |= NcursesAttr.reverse }
        if cell.style.contains(.underline) { a |= NcursesAttr.underline }
        if colors {
            if cell.color != .normal { a |= Int32(cell.color.rawValue) << 8 }
        } else if cell.color == .red || cell.color == .yellow {
            a |= NcursesAttr.bold   // monochrome: warnings stand out by weight
        }
        return a
    }

    /// Draws the buffer (runs of equally styled cells at a time) and refreshes the screen.
    func draw(_ buffer: ScreenBuffer) {
        guard cursesActive != 0 else { return }
        werase(window)
        let w = min(buffer.width, width), h = min(buffer.height, height)
        for y in 0..<h {
            var x = 0
            while x < w {
                let first = buffer[x, y]
                var end = x + 1
                while end < w, buffer[end, y].style == first.style, buffer[end, y].color == first.color { end += 1 }
                // The bottom-right cell cannot be written without scrolling; stop short of it.
                if y == height - 1 && end == width { end -= 1 }
                if end > x {
                    wideBuffer.removeAll(keepingCapacity: true)
                    for i in x..<end { wideBuffer.append(wchar_t(bitPattern: buffer[i, y].char.value)) }
                    wideBuffer.append(0)
                    wattrset(window, attributes(first))
                    _ = wideBuffer.withUnsafeBufferPointer { mvwaddwstr(window, Int32(y), Int32(x), $0.baseAddress) }
                }
                x = max(end, x + 1)
            }
        }
        wattrset(window, 0)
        wrefresh(window)
    }
}

/// ncurses attribute bits (the C macros are not importable).
enum NcursesAttr {
    static let underline: Int32 = 1 << (8 + 9)
    static let reverse: Int32 = 1 << (8 + 10)
    static let dim: Int32 = 1 << (8 + 12)
    static let bold: Int32 = 1 << (8 + 13)
}

public enum DashboardError: Error, CustomStringConvertible {
    case notATerminal
    case cursesFailed(String)
    public var description: String {
        switch self {
        case .notATerminal: return "the dashboard needs a terminal (use --headless to print events instead)"
        case .cursesFailed(let what): return "cannot start the terminal UI (\(what) failed; is TERM set?)"
        }
    }
}
