import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Process-wide, for the signal and crash handlers: the saved terminal stderr and the note to print.
nonisolated(unsafe) private var savedStderr: Int32 = -1
nonisolated(unsafe) private var stderrNote: UnsafeMutablePointer<CChar>?
nonisolated(unsafe) private var stderrNoteLength = 0
nonisolated(unsafe) private var stderrLogPath: UnsafeMutablePointer<CChar>?

/// Puts fd 2 back on the terminal if a capture is active, and says where the captured text is.
/// Async-signal-safe (dup2, write, close): the crash and signal handlers call it through
/// `restoreTerminal()`, so that a crash report reaches the terminal. Safe to call more than once.
func restoreStderr() {
    let fd = savedStderr
    guard fd >= 0 else { return }
    savedStderr = -1
    var info = stat()
    let empty = fstat(2, &info) == 0 && info.st_size == 0
    _ = dup2(fd, 2)
    _ = close(fd)
    if empty, let path = stderrLogPath {
        _ = unlink(path)   // nothing was written: leave no file behind
    } else if let note = stderrNote {
        _ = write(2, note, stderrNoteLength)
    }
}

/// Replaces a C string kept for the signal handlers.
private func keep(_ s: String?, in slot: inout UnsafeMutablePointer<CChar>?) {
    let old = slot
    slot = s.map { strdup($0) }
    old.map { free($0) }
}

/// While the dashboard owns the terminal, anything written to stderr (fd 2) would corrupt the
/// screen. A capture sends fd 2 to a log file instead, hands the new lines to the dashboard,
/// and puts fd 2 back when it finishes (or when the terminal is restored after a signal or crash).
public final class StderrCapture {
    /// The log file.
    public let path: String
    private var readFD: Int32
    private var partial: [UInt8] = []
    /// Bytes and lines written to stderr since the capture began.
    public private(set) var bytes = 0
    public private(set) var lines = 0
    private var finished = false

    /// Redirects fd 2 to `path` (created or truncated).
    public init(path: String) throws {
        fflush(nil)   // whatever stdio buffered goes out before fd 2 moves
        restoreStderr()   // a capture still active (never expected) is ended first
        let writeFD = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0o644)
        guard writeFD >= 0 else { throw CaptureError(path: path, reason: String(cString: strerror(errno))) }
        let readFD = open(path, O_RDONLY | O_CLOEXEC)
        let saved = dup(2)
        guard readFD >= 0, saved >= 0 else {
            let reason = String(cString: strerror(errno))
            close(writeFD)
            if readFD >= 0 { close(readFD) }
            throw CaptureError(path: path, reason: reason)
        }
        self.path = path
        self.readFD = readFD
        let note = "fedpilot: what was written to stderr while the dashboard ran is in \(path)\n"
        keep(note, in: &stderrNote)
        stderrNoteLength = note.utf8.count
        keep(path, in: &stderrLogPath)
        savedStderr = saved
        dup2(writeFD, 2)
        close(writeFD)
    }

    /// A log file for a run's stderr: next to its journal, or in the temporary directory.
    public static func defaultPath(journal: String?) -> String {
        if let journal { return journal + ".stderr.log" }
        return (NSTemporaryDirectory() as NSString).appendingPathComponent("fedpilot-\(getpid())-stderr.log")
    }

    /// The complete lines written since the last call (a line still being written waits).
    public func newLines() -> [String] {
        guard readFD >= 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(readFD, &buffer, buffer.count)
            guard n > 0 else { break }
            bytes += n
            partial.append(contentsOf: buffer[0..<n])
        }
        var out: [String] = []
        while let newline = partial.firstIndex(of: 10) {
            out.append(String(decoding: partial[..<newline], as: UTF8.self))
            partial.removeSubrange(...newline)
        }
        lines += out.count
        return out
    }

    /// Puts fd 2 back on the terminal. When anything was written, prints where it is (and keeps the
    /// file); otherwise removes the empty file. Returns the number of bytes written.
    @discardableResult
    public func finish() -> Int {
        guard !finished else { return bytes }
        finished = true
        let rest = newLines()
        if !partial.isEmpty { lines += 1 }
        _ = rest
        keep(nil, in: &stderrNote)
        keep(nil, in: &stderrLogPath)
        restoreStderr()
        close(readFD)
        readFD = -1
        if bytes > 0 {
            let note = "fedpilot: \(lines) line\(lines == 1 ? "" : "s") written to stderr while the dashboard ran \(lines == 1 ? "is" : "are") in \(path)\n"
            FileHandle.standardError.write(Data(note.utf8))
        } else {
            unlink(path)
        }
        return bytes
    }

    deinit { finish() }

    public struct CaptureError: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "cannot send stderr to \(path): \(reason)" }
    }
}
