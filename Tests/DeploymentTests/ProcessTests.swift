import Foundation
import Journal
import XCTest
@testable import Deployment

/// End to end with the real binary: `fedpilot serve` and four `fedpilot join` processes on
/// loopback with mutual TLS, on scenarios/tiny-deploy.toml (tiny model, DP on, 3 rounds).
/// Skipped when the debug binary is missing (run `swift build` first).
final class ProcessTests: XCTestCase {
    var binary: String!
    var work: String!
    var tlsDir: String!
    let clients = ["hospital-a", "hospital-b", "law-firm", "support"]
    let data = ["hospital-a": "data/clinical-hospital-a.jsonl", "hospital-b": "data/clinical-hospital-b.jsonl",
                "law-firm": "data/legal-clauses.jsonl", "support": "data/support-instructions.jsonl"]

    override func setUpWithError() throws {
        binary = repositoryRoot.appendingPathComponent(".build/debug/fedpilot").path
        guard FileManager.default.isExecutableFile(atPath: binary) else { throw XCTSkip("no debug binary at \(binary!)") }
        work = try temporaryDirectory("process")
        tlsDir = work + "/tls"
        XCTAssertEqual(try run(["certs", "init", "--dir", tlsDir]).status, 0)
        XCTAssertEqual(try run(["certs", "issue", "--dir", tlsDir, "--server", "127.0.0.1"]).status, 0)
        for c in clients { XCTAssertEqual(try run(["certs", "issue", "--dir", tlsDir, "--client", c]).status, 0) }
    }

    /// One client is killed in the middle of its round-2 training; the run completes without it.
    func testFourClientsOverMutualTLSAndOneKilledMidRound() throws {
        let port = freePort()
        let journal = work + "/run.sqlite"
        let serve = try launch(serveArguments(port: port) + ["--journal", journal], output: "serve")
        var joins: [String: Process] = [:]
        for c in clients {
            joins[c] = try launch(joinArguments(c, port: port) + (c == "law-firm" ? ["--test-only-hold", "2"] : []), output: c)
        }
        // law-firm holds each round task for 2 s: kill it once it has round 2's.
        XCTAssertTrue(waitForOutput("law-firm", timeout: 90) { $0.contains(#""kind":"round task""#) && $0.contains(#""round":2"#) },
                      "law-firm never got round 2: \(self.output("law-firm"))")
        kill(joins["law-firm"]!.processIdentifier, SIGKILL)
        XCTAssertTrue(wait(serve, timeout: 120), "serve did not finish: \(output("serve"))")
        XCTAssertEqual(serve.terminationStatus, 0, output("serve") + output("serve.err"))
        for c in clients where c != "law-firm" {
            XCTAssertTrue(wait(joins[c]!, timeout: 30))
            XCTAssertEqual(joins[c]!.terminationStatus, 0, output(c))
        }
        let events = lines("serve")
        let completed = events.filter { $0["type"] as? String == "round_completed" }
        XCTAssertEqual(completed.compactMap { $0["round"] as? Int }, [1, 2, 3])
        let round2 = events.filter { $0["type"] as? String == "client_update" && $0["round"] as? Int == 2 && $0["client"] as? String == "law-firm" }
        XCTAssertEqual(round2.last?["status"] as? String, "failed", "\(round2)")
        // Which clients each round aggregated: all four before the kill, the other three after it
        // (law-firm's round-2 update never arrived, and it is gone for round 3).
        let survivors = Set(clients).subtracting(["law-firm"])
        func aggregated(_ rounds: [[String: Any]]) -> [Int: Set<String>] {
            Dictionary(rounds.compactMap { e in (e["round"] as? Int).map { ($0, Set(e["aggregated"] as? [String] ?? [])) } },
                       uniquingKeysWith: { a, _ in a })
        }
        let printed = aggregated(completed)
        XCTAssertEqual(printed[1], Set(clients), "round 1 aggregates every client")
        XCTAssertEqual(printed[2], survivors, "round 2 aggregates the three that answered")
        XCTAssertEqual(printed[3], survivors, "round 3 aggregates the three still connected")
        for round in 2...3 {
            let done = events.filter { $0["type"] as? String == "client_update" && $0["round"] as? Int == round && $0["status"] as? String == "done" }
            XCTAssertEqual(Set(done.compactMap { $0["client"] as? String }), survivors, "round \(round): clients reported done")
        }
        // The journal records the same.
        let recorded = try RunJournal(readingFrom: journal).events().filter { $0.type == "round_completed" }
            .compactMap { (try? JSONSerialization.jsonObject(with: Data($0.json.utf8))) as? [String: Any] }
        XCTAssertEqual(aggregated(recorded), printed)
        let finished = events.first { $0["type"] as? String == "run_finished" }
        XCTAssertEqual(finished?["round"] as? Int, 3)
        XCTAssertEqual(finished?["stopped"] as? Bool, false)
        let trail = try RunJournal(path: journal).auditTrail()
        XCTAssertEqual(Set(trail.filter { $0.applied && $0.action.hasPrefix("joined") }.map(\.actor)), Set(clients))
        XCTAssertEqual(try RunJournal(path: journal).lastRound(), 3)
    }

    /// The coordinator is killed during round 2 and restarted from its journal; clients reconnect
    /// and the run ends with rounds 1, 2, 3 each recorded once.
    func testCoordinatorRestartResumesWithoutLosingOrRepeatingARound() throws {
        let port = freePort()
        let journal = work + "/restart.sqlite"
        let first = try launch(serveArguments(port: port) + ["--journal", journal], output: "serve1")
        var joins: [Process] = []
        for c in clients { joins.append(try launch(joinArguments(c, port: port) + ["--test-only-hold", "0.5"], output: c)) }
        XCTAssertTrue(waitForOutput("serve1", timeout: 90) { $0.contains(#""type":"round_completed""#) }, output("serve1"))
        kill(first.processIdentifier, SIGKILL)
        XCTAssertTrue(wait(first, timeout: 10))
        let journalAfterKill = try RunJournal(path: journal).lastRound()
        XCTAssertGreaterThanOrEqual(journalAfterKill, 1)

        // While the coordinator is down its certificate is rotated: the CA stays as it was, so
        // the clients reconnect to the new certificate, and the resumed run records the rotation.
        let ca = try Data(contentsOf: URL(fileURLWithPath: tlsDir + "/ca.pem")), caKey = try Data(contentsOf: URL(fileURLWithPath: tlsDir + "/ca-key.pem"))
        let oldServer = try Data(contentsOf: URL(fileURLWithPath: tlsDir + "/server.pem"))
        let rotated = try run(["certs", "rotate", "--dir", tlsDir, "--server"])
        XCTAssertEqual(rotated.status, 0, rotated.output)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: tlsDir + "/ca.pem")), ca)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: tlsDir + "/ca-key.pem")), caKey)
        XCTAssertNotEqual(try Data(contentsOf: URL(fileURLWithPath: tlsDir + "/server.pem")), oldServer)

        let second = try launch(serveArguments(port: port) + ["--resume", journal], output: "serve2")
        XCTAssertTrue(wait(second, timeout: 120), "the restarted coordinator did not finish: \(output("serve2"))")
        XCTAssertEqual(second.terminationStatus, 0, output("serve2") + output("serve2.err"))
        for (i, p) in joins.enumerated() {
            XCTAssertTrue(wait(p, timeout: 30))
            XCTAssertEqual(p.terminationStatus, 0, output(clients[i]))
        }
        let j = try RunJournal(path: journal)
        XCTAssertEqual(try j.lastRound(), 3)
        let completed = try j.events().filter { $0.type == "round_completed" }.map(\.round)
        XCTAssertEqual(completed, [1, 2, 3], "each round completed exactly once")
        let trail = try j.auditTrail()
        XCTAssertEqual(trail.filter { $0.actor == "coordinator" && $0.action.hasPrefix("server certificate rotated") }.count, 1,
                       "\(trail.map(\.action))")
        let resumed = lines("serve2").filter { $0["type"] as? String == "round_completed" }.compactMap { $0["round"] as? Int }
        XCTAssertEqual(resumed, Array((journalAfterKill + 1)...3))
    }

    // MARK: Helpers

    func serveArguments(port: Int) -> [String] {
        ["serve", "scenarios/tiny-deploy.toml", "--listen", "127.0.0.1:\(port)", "--tls-dir", tlsDir, "--headless",
         "--heartbeat", "1", "--join-timeout", "60", "--task-timeout", "30", "--eval-timeout", "30"]
    }

    func joinArguments(_ client: String, port: Int) -> [String] {
        ["join", "--coordinator", "127.0.0.1:\(port)", "--tls-dir", tlsDir, "--name", client, "--data", data[client]!,
         "--model", "tiny", "--json", "--retry-for", "60"]
    }

    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let p = try launch(arguments, output: "cmd")
        p.waitUntilExit()
        return (p.terminationStatus, output("cmd"))
    }

    func launch(_ arguments: [String], output name: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        p.currentDirectoryURL = repositoryRoot
        FileManager.default.createFile(atPath: "\(work!)/\(name).out", contents: nil)
        FileManager.default.createFile(atPath: "\(work!)/\(name).err", contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: "\(work!)/\(name).out")
        p.standardError = FileHandle(forWritingAtPath: "\(work!)/\(name).err")
        try p.run()
        addTeardownBlock { if p.isRunning { p.terminate() } }
        return p
    }

    func output(_ name: String) -> String {
        (try? String(contentsOfFile: "\(work!)/\(name).out", encoding: .utf8)) ?? ""
    }

    func lines(_ name: String) -> [[String: Any]] {
        output(name).split(separator: "\n").compactMap {
            (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
        }
    }

    func waitForOutput(_ name: String, timeout: Double, _ predicate: (String) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if output(name).split(separator: "\n").contains(where: { predicate(String($0)) }) { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    func wait(_ p: Process, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return !p.isRunning
    }

    /// A port that was free a moment ago.
    func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
