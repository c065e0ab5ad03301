import Foundation
import XCTest
@testable import SecureAggregation

enum SecAggTestSupport {
    /// Random updates in [-range, range].
    static func updates(n: Int, d: Int, range: Float = 1, seed: UInt64) -> [PlainUpdate] {
        var rng = SecAggSeededRandom(seed: seed)
        return (0..<n).map { _ in PlainUpdate((0..<d).map { _ in Float(rng.unit() * 2 - 1) * range }) }
    }

    /// What each simulated client quantizes its update to (recomputed independently of the round).
    static func quantized(_ updates: [PlainUpdate], config: SecAggConfig, roundingSeed: UInt64) throws -> [QuantizedUpdate] {
        try updates.enumerated().map { i, u in
            try u.quantized(with: config.quantization,
                            roundingSeed: SecAggSimulation.roundingSeed(base: roundingSeed, client: SecAggClientID(i)))
        }
    }

    /// Σ quantized updates of `clients`, mod 2^32: the plain integer sum the protocol must match.
    static func integerSum(_ q: [QuantizedUpdate], of clients: [SecAggClientID], d: Int) -> [UInt32] {
        var sum = [UInt32](repeating: 0, count: d)
        for i in clients { for j in 0..<d { sum[j] &+= q[Int(i)].words[j] } }
        return sum
    }

    /// Prediction of a round's outcome from the graph, the threshold and the drop schedule alone,
    /// restating the protocol's rules: the server drops clients with < t neighbours left after
    /// steps 1 and 2, aborts below the minimum number of clients, survivors refuse to unmask with
    /// < t surviving neighbours, and every survivor (and every dropped client that left masks in
    /// the sum) needs ≥ t responding neighbours.
    struct Prediction: Equatable {
        var survivors: [SecAggClientID]?
    }

    static func predict(config: SecAggConfig, drops: [SecAggClientID: SecAggDropPoint]) -> Prediction {
        let g = config.graph, t = config.threshold
        func prune(_ s: inout Set<SecAggClientID>) {
            var changed = true
            while changed {
                changed = false
                for i in s.sorted() where g.neighbours(of: i).filter({ s.contains($0) }).count < t {
                    s.remove(i); changed = true
                }
            }
        }
        let all = (0..<SecAggClientID(config.clientCount))
        var u1 = Set(all.filter { drops[$0] != .beforeAdvertise })
        prune(&u1)
        if u1.count < config.minimumSurvivors { return Prediction(survivors: nil) }
        var u2 = u1.filter { drops[$0] != .afterAdvertise }
        prune(&u2)
        if u2.count < config.minimumSurvivors { return Prediction(survivors: nil) }
        let u3 = u2.filter { drops[$0] != .afterSharing }
        if u3.count < config.minimumSurvivors { return Prediction(survivors: nil) }
        let responders = u3.filter { i in
            drops[i] != .afterMaskedInput && g.neighbours(of: i).filter { u2.contains($0) && u3.contains($0) }.count >= t
        }
        for j in u2 {
            let needs = u3.contains(j) || g.neighbours(of: j).contains { u3.contains($0) }
            if needs && g.neighbours(of: j).filter({ responders.contains($0) }).count < t { return Prediction(survivors: nil) }
        }
        return Prediction(survivors: u3.sorted())
    }

    static let dropPoints = SecAggDropPoint.allCases

    /// Collects audit events.
    final class AuditLog: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: [SecAggAuditEvent] = []
        var events: [SecAggAuditEvent] { lock.withLock { stored } }
        func record(_ e: SecAggAuditEvent) { lock.withLock { stored.append(e) } }
        func count(_ name: String) -> Int { events.filter { $0.name == name }.count }
    }
}

/// A value behind a lock, for results gathered from worker threads.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
