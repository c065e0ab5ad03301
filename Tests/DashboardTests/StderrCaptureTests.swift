import Foundation
import XCTest
@testable import Dashboard
import Federation

/// While the dashboard runs, stderr goes to a log file whose lines show in the event log.
final class StderrCaptureTests: XCTestCase {
    func temporaryPath() -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fedpilot-stderr-\(UUID().uuidString).log").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testStderrIsCapturedShownAndRestored() throws {
        let path = temporaryPath()
        let capture = try StderrCapture(path: path)
        FileHandle.standardError.write(Data("journal write failed\nhalf a ".utf8))
        _ = "line\n".withCString { write(2, $0, 5) }   // straight to fd 2, as C code would
        let lines = capture.newLines()
        XCTAssertEqual(lines, ["journal write failed", "half a line"])
        XCTAssertEqual(capture.newLines(), [], "each line is handed over once")

        var s = DashboardState(scenario: try TestSupport.scenario())
        s.noteStderr(lines, path: path)
        let screen = render(s, width: 120, height: 40).text
        XCTAssertTrue(screen.contains("stderr: journal write failed"), screen)
        XCTAssertTrue(screen.contains("(2 stderr lines in \(path.prefix(40))"), screen)

        XCTAssertGreaterThan(capture.finish(), 0)
        FileHandle.standardError.write(Data("fedpilot stderr capture test: this line goes to the real stderr\n".utf8))
        let saved = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertEqual(saved, "journal write failed\nhalf a line\n", "nothing reaches the file after the capture ends")
        XCTAssertEqual(capture.finish(), capture.bytes, "finishing twice is harmless")
    }

    func testAnUnusedCaptureRemovesItsFile() throws {
        let path = temporaryPath()
        let capture = try StderrCapture(path: path)
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        XCTAssertEqual(capture.finish(), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testTerminalRestoreAlsoRestoresStderr() throws {
        let path = temporaryPath()
        let capture = try StderrCapture(path: path)
        FileHandle.standardError.write(Data("before\n".utf8))
        restoreTerminal()   // what the crash and second-signal handlers do
        FileHandle.standardError.write(Data("fedpilot stderr capture test: after restoreTerminal\n".utf8))
        XCTAssertFalse(try String(contentsOfFile: path, encoding: .utf8).contains("after restoreTerminal"))
        capture.finish()
        XCTAssertTrue(FileManager.default.fileExists(atPath: path), "a log with lines in it is kept")
    }

    func testTerminalRestoreRemovesAnEmptyLog() throws {
        let path = temporaryPath()
        let capture = try StderrCapture(path: path)
        restoreTerminal()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        capture.finish()
    }

    func testUnwritablePathIsAnError() {
        XCTAssertThrowsError(try StderrCapture(path: "/nonexistent-dir/x.log")) {
            XCTAssertTrue("\($0)".contains("/nonexistent-dir/x.log"), "\($0)")
        }
    }

    func testDefaultPathIsNextToTheJournal() {
        XCTAssertEqual(StderrCapture.defaultPath(journal: "/tmp/run.sqlite"), "/tmp/run.sqlite.stderr.log")
        XCTAssertTrue(StderrCapture.defaultPath(journal: nil).hasSuffix("-stderr.log"))
    }
}
