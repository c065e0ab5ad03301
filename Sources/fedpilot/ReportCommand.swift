import ArgumentParser
import Foundation
import Report

/// `fedpilot report JOURNAL --out DIR`: a shareable HTML report of a recorded run, with CSV files.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report of a recorded run (inline SVG charts) and CSV files of its data.",
        discussion: """
        JOURNAL is a run journal (SQLite, from `fedpilot run --journal` or `fedpilot compare --journal-dir`) \
        or the JSON lines that `fedpilot run --headless` prints. DIR receives report.html, rounds.csv, \
        client_rounds.csv, alerts.csv, events.csv, audit.csv and privacy.csv.
        """)
    @Argument(help: "A run journal or a JSON-lines event file.") var journal: String
    @Option(help: "Output directory (created if needed).") var out: String

    func run() throws {
        try reportingErrors {
            let record = try RunRecord.load(path: journal)
            let files = try ReportWriter.write(record, to: out)
            let names = files.dropFirst().map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")
            print("wrote \(files[0]) (\(record.scenario.isEmpty ? "run" : record.scenario): \(record.completedRounds.count) round\(record.completedRounds.count == 1 ? "" : "s"), "
                  + "\(record.allClients.count) clients, \(record.alerts.count) alerts) and \(names)")
        }
    }
}
