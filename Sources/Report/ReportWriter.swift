import Foundation

/// Writes a run report into a directory: `report.html` and one CSV file per table.
public enum ReportWriter {
    public static let htmlName = "report.html"

    /// The files written, in order (the HTML first).
    @discardableResult
    public static func write(_ record: RunRecord, to directory: String) throws -> [String] {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: directory, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw ReportError(path: directory, reason: "exists and is not a directory; pass --out a directory")
        }
        do { try fm.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw ReportError(path: directory, reason: "cannot create the output directory: \(error.localizedDescription)")
        }
        let tables = CSVTables.all(record)
        let html = HTMLReport.document(record, csvFiles: tables.map(\.name))
        var written: [String] = []
        for (name, text) in [(htmlName, html)] + tables.map({ ($0.name, $0.text) }) {
            let path = (directory as NSString).appendingPathComponent(name)
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
                throw ReportError(path: path, reason: "cannot be written: \(error.localizedDescription)")
            }
            written.append(path)
        }
        return written
    }
}
