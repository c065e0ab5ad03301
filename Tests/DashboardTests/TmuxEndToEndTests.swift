import Foundation
import XCTest

/// Runs scripts/dashboard-tmux-test.sh: the real binary in a 120x40 tmux pane (about a minute).
/// Skipped when tmux or the debug binary is missing, or with FEDPILOT_SKIP_TMUX_TEST=1.
final class TmuxEndToEndTests: XCTestCase {
    func testDashboardInTmux() throws {
        let env = ProcessInfo.processInfo.environment
        if env["FEDPILOT_SKIP_TMUX_TEST"] == "1" { throw XCTSkip("FEDPILOT_SKIP_TMUX_TEST=1") }
        let root = TestSupport.root
        let binary = root.appendingPathComponent(".build/debug/fedpilot").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw XCTSkip("no debug binary at \(binary)") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux") || FileManager.default.isExecutableFile(atPath: "/usr/local/bin/tmux")
        else { throw XCTSkip("tmux is not installed") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent("scripts/dashboard-tmux-test.sh").path]
        process.currentDirectoryURL = root
        var environment = env
        environment["FEDPILOT_BIN"] = binary
        environment.removeValue(forKey: "TMUX")
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        print(text)
        XCTAssertEqual(process.terminationStatus, 0, text)
    }
}
