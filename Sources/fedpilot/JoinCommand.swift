import ArgumentParser
import Deployment
import Federation
import Foundation

/// `fedpilot join`: a client of a real deployment, on its own local data.
struct JoinCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "join",
        abstract: "Take part in a deployment's run as one client, training on local data.",
        discussion: """
        Dials the coordinator with the client certificate in --tls-dir (client-NAME.pem); the name in \
        the certificate is the client's identity. Raw text never leaves this process: only adapter \
        updates and evaluation losses do. Reconnects with backoff when the connection drops. \
        Exit codes: 0 the run finished; 1 bad input; 2 the coordinator refused this client \
        (identity, protocol version or model); 3 no session for --retry-for seconds.
        """)
    @Option(help: "The coordinator's HOST:PORT (HOST must match its certificate).") var coordinator: String
    @Option(help: "Directory with ca.pem and this client's certificate and key.") var tlsDir: String
    @Option(help: "This client's training text (its own file).") var data: String
    @Option(help: "Format of --data: jsonl_text, jsonl_instruction or text (default: as the scenario says).") var format: String?
    @Option(help: "The base model (default: the built-in test model when the run uses it, else \(defaultModelPath)).") var model: String?
    @Option(help: "Which client certificate of --tls-dir to use (needed when it holds several).") var name: String?
    @Option(help: "Give up after this many seconds without a session.") var retryFor: Double = 600
    @Flag(help: "Print events as JSON lines.") var json = false
    @Option(help: .hidden) var testOnlyHold: Double = 0

    func run() async throws {
        let outcome: RemoteClient.Outcome
        do {
            let address = try parseHostPort(coordinator, option: "--coordinator")
            guard FileManager.default.fileExists(atPath: data) else { throw ValidationError("\(data): no such data file") }
            let parsedFormat = try format.map { f -> DataFormat in
                guard let d = DataFormat(rawValue: f) else {
                    throw ValidationError("--format '\(f)' is not one of \(DataFormat.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return d
            }
            let tls = TLSDirectory(path: tlsDir)
            let clientName = try name ?? tls.soleClientName()
            for file in [tls.caCertificate, tls.clientCertificate(clientName), tls.clientKey(clientName)] {
                guard FileManager.default.isReadableFile(atPath: file) else {
                    throw ValidationError("\(file): cannot read (issue it with `fedpilot certs issue --client \(clientName)`)")
                }
            }
            if let warning = try tls.checkClientCredentials(clientName) {
                FileHandle.standardError.write(Data("fedpilot: warning: \(warning)\n".utf8))
            }
            var options = RemoteClient.Options(host: address.host, port: address.port, tls: tls, name: clientName, dataPath: data,
                                               format: parsedFormat, modelPath: model, defaultModelPath: defaultModelPath)
            options.retryFor = retryFor
            options.hold = testOnlyHold
            let status = StatusPrinter(json: json, name: clientName)
            outcome = await RemoteClient(options: options) { status.show($0) }.run()
            status.finish()
        } catch {
            FileHandle.standardError.write(Data("fedpilot: \(error)\n".utf8))
            throw ExitCode(1)
        }
        switch outcome {
        case .finished: return
        case .refused(let why):
            FileHandle.standardError.write(Data("fedpilot: the coordinator refused this client: \(why)\n".utf8))
            throw ExitCode(2)
        case .gaveUp(let why):
            FileHandle.standardError.write(Data("fedpilot: \(why)\n".utf8))
            throw ExitCode(3)
        }
    }
}

/// A client's progress: one status line rewritten in place on a terminal, else one line per
/// event; or JSON lines.
final class StatusPrinter: @unchecked Sendable {
    let json: Bool
    let name: String
    let inPlace = isatty(1) == 1
    private let lock = NSLock()
    private var answered = 0

    init(json: Bool, name: String) { self.json = json; self.name = name }

    func show(_ event: ClientEvent) {
        lock.lock()
        defer { lock.unlock() }
        if json {
            var object = event.json.mapValues { $0 as Any }
            object["client"] = name
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            }
            return
        }
        let text: String
        switch event {
        case .connecting(let a): text = a == 1 ? "connecting…" : "connecting (attempt \(a))…"
        case .joined(_, let scenario, let n): text = "joined \(scenario)\(n > 1 ? " (session \(n))" : "")"
        case .loadingModel(let p): text = "loading model \(p)…"
        case .request(let kind, let round, let bytes): text = "round \(round): \(kind) (\(bytes) B)…"
        case .answered(let kind, let round, let bytes, let s):
            answered += 1
            text = String(format: "round %d: answered %@ (%d B, %.2f s); %d answers so far", round, kind, bytes, s, answered)
        case .failed(let kind, let round, let why): text = "round \(round): \(kind) failed: \(why)"
        case .notice(let code, let message): text = "coordinator: \(message) [\(code)]"
        case .keyEvent(let event, let fields): text = "secure aggregation: \(event)\(fields["round"].map { " (round \($0))" } ?? "")"
        case .disconnected(let why, let wait): text = String(format: "disconnected (%@); retrying in %.1f s", why, wait)
        case .finished(let why): text = "finished: \(why)"
        }
        let line = "\(name): \(text)"
        FileHandle.standardOutput.write(Data((inPlace ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    func finish() {
        if inPlace && !json { FileHandle.standardOutput.write(Data("\n".utf8)) }
    }
}
