import Foundation
import XCTest
@testable import Deployment
import Federation

/// The repository root (scenarios and data are read relative to it).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh temporary directory.
func temporaryDirectory(_ name: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("fedpilot-\(name)-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// A CA in a temporary directory with a server certificate for 127.0.0.1 and the given clients.
func makeCredentials(_ name: String, clients: [String]) throws -> TLSDirectory {
    let tls = TLSDirectory(path: try temporaryDirectory(name))
    try tls.initialize()
    try tls.issue(.server(host: "127.0.0.1"))
    for c in clients { try tls.issue(.client(name: c)) }
    return tls
}

/// Options for an in-test `join` of `spec` on the tiny model, reading its own data file and
/// retrying for 30 s; nil for a client whose data is a shard of pooled data.
func tinyClientOptions(_ spec: ClientSpec, port: Int, tls: TLSDirectory) -> RemoteClient.Options? {
    guard case .file(let path, let format) = spec.data else { return nil }
    var options = RemoteClient.Options(host: "127.0.0.1", port: port, tls: tls, name: spec.id, dataPath: path, format: format,
                                       modelPath: "tiny", defaultModelPath: "tiny")
    options.retryFor = 30
    return options
}

/// Collects what the transport reports, for assertions.
final class NoticeLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [TransportNotice] = []
    func add(_ n: TransportNotice) { lock.withLock { items.append(n) } }
    var all: [TransportNotice] { lock.withLock { items } }
    var refusals: [String] {
        all.compactMap { if case .rejected(_, _, let reason) = $0 { return reason } else { return nil } }
    }
    /// Waits without blocking a thread: the clients, the server and this test share the
    /// cooperative pool, which has one thread per core (two here), and a blocked thread
    /// starves the clients' heartbeats.
    func waitFor(_ predicate: ([TransportNotice]) -> Bool, timeout: Double = 20) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if predicate(all) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return predicate(all)
    }
}

/// Collects a client's events.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [ClientEvent] = []
    func add(_ e: ClientEvent) { lock.withLock { items.append(e) } }
    var notices: [String] {
        lock.withLock { items.compactMap { if case .notice(let code, let m) = $0 { return "\(code): \(m)" } else { return nil } } }
    }
}

import X509

enum X509Text {
    static func certificate(_ path: String) throws -> Certificate {
        try Certificate(pemEncoded: String(contentsOfFile: path, encoding: .utf8))
    }
}
