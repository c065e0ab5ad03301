import Dispatch
import Foundation

/// Where a client stops in a simulated round.
public enum SecAggDropPoint: String, CaseIterable, Sendable {
    /// Never advertises keys.
    case beforeAdvertise = "before-advertise"
    /// Advertises keys, never shares them.
    case afterAdvertise = "after-advertise"
    /// Shares keys, never sends its masked input (the server must rebuild its masking key).
    case afterSharing = "after-sharing"
    /// Sends its masked input (so it is in the sum), never answers the unmask request.
    case afterMaskedInput = "after-masked-input"
}

/// What a simulated round produced.
public struct SecAggRoundOutcome: Sendable {
    public let config: SecAggConfig
    /// The sum, or nil when the round aborted.
    public let aggregate: AggregateSum?
    /// Why the round aborted.
    public let error: SecAggError?
    /// Clients that stopped on an error of their own (e.g. a share that failed authentication).
    public let clientErrors: [SecAggClientID: SecAggError]
    /// Messages the server rejected, by sender.
    public let rejections: [SecAggClientID: SecAggError]
    /// Seconds each client spent in its own protocol steps (including quantization, encoding and
    /// decoding of its messages).
    public let clientSeconds: [SecAggClientID: Double]
    public let serverSeconds: Double
    /// Bytes each client sent and received.
    public let bytesUp: [SecAggClientID: Int]
    public let bytesDown: [SecAggClientID: Int]
}

/// Runs one round in process: clients and server exchange encoded messages only, the way a
/// coordinator relays them. For tests and benchmarks, and as a reference for wiring the
/// protocol into the federated engine.
public enum SecAggSimulation {
    /// The stochastic-rounding seed a simulated client uses for its update.
    public static func roundingSeed(base: UInt64, client: SecAggClientID) -> UInt64 {
        base ^ (UInt64(client) &+ 1) &* 0x9E37_79B9_7F4A_7C15
    }

    /// A relay hook: sees (and may change) every encoded message in transit, with its type and
    /// the client it comes from or goes to.
    public typealias Relay = (_ type: String, _ client: SecAggClientID, _ bytes: inout [UInt8]) -> Void

    /// - Parameters:
    ///   - updates: one update per client (index = client id), each `config.dimension` long.
    ///   - drops: where clients stop; clients not listed complete the round.
    ///   - threads: mask-expansion threads for each client and for the server.
    public static func run(config: SecAggConfig, updates: [PlainUpdate], roundingSeed: UInt64 = 0,
                           drops: [SecAggClientID: SecAggDropPoint] = [:],
                           threads: Int = ProcessInfo.processInfo.activeProcessorCount,
                           relay: Relay? = nil, audit: @escaping SecAggAuditSink = { _ in }) throws -> SecAggRoundOutcome {
        let n = config.clientCount
        guard updates.count == n else { throw SecAggError.invalidParameters("\(updates.count) updates for \(n) clients") }
        var clientSeconds = [SecAggClientID: Double](), serverSeconds = 0.0
        var clientErrors = [SecAggClientID: SecAggError](), rejections = [SecAggClientID: SecAggError]()
        var up = [SecAggClientID: Int](), down = [SecAggClientID: Int]()
        func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
            let start = DispatchTime.now().uptimeNanoseconds
            let value = try body()
            return (value, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        func outcome(_ aggregate: AggregateSum?, _ error: SecAggError?) -> SecAggRoundOutcome {
            SecAggRoundOutcome(config: config, aggregate: aggregate, error: error, clientErrors: clientErrors, rejections: rejections,
                               clientSeconds: clientSeconds, serverSeconds: serverSeconds, bytesUp: up, bytesDown: down)
        }
        let server = SecAggServer(config: config, threads: threads, audit: audit)
        var clients: [SecAggClientID: SecAggClient] = [:]
        for i in 0..<SecAggClientID(n) {
            let (c, s) = try timed { try SecAggClient(id: i, config: config, threads: threads, audit: audit) }
            clients[i] = c
            clientSeconds[i] = s
        }
        func active(_ stop: SecAggDropPoint?) -> [SecAggClientID] {
            clients.keys.sorted().filter { i in
                guard clientErrors[i] == nil else { return false }
                guard let d = drops[i], let stop else { return true }
                return SecAggDropPoint.allCases.firstIndex(of: d)! > SecAggDropPoint.allCases.firstIndex(of: stop)!
            }
        }
        /// Client step: decode the server's message, run, encode the reply.
        func clientStep<In: SecAggMessage, Out: SecAggMessage>(_ i: SecAggClientID, _ type: String, _ input: In?,
                                                                 _ body: (SecAggClient, In?) throws -> Out) -> [UInt8]? {
            var inBytes = input?.encoded()
            if var b = inBytes { relay?(type + "-in", i, &b); inBytes = b; down[i, default: 0] += b.count }
            do {
                let (bytes, s) = try timed { () -> [UInt8] in
                    let decoded = try inBytes.map { try In(encoded: $0) }
                    return try body(clients[i]!, decoded).encoded()
                }
                clientSeconds[i, default: 0] += s
                var out = bytes
                relay?(type, i, &out)
                up[i, default: 0] += out.count
                return out
            } catch {
                clientErrors[i] = SecAggError.wrapping(error)
                return nil
            }
        }
        /// Server receive: decode and hand over; rejections are recorded.
        func deliver<M: SecAggMessage>(_ i: SecAggClientID, _ bytes: [UInt8], as: M.Type, _ body: (M) throws -> Void) {
            do {
                let (_, s) = try timed { try body(try M(encoded: bytes)) }
                serverSeconds += s
            } catch {
                rejections[i] = SecAggError.wrapping(error)
            }
        }
        do {
            // Step 1.
            for i in active(.beforeAdvertise) {
                guard let b = clientStep(i, "advertise-keys", Optional<KeyDirectory>.none, { c, _ in try c.advertiseKeys() }) else { continue }
                deliver(i, b, as: AdvertiseKeysMessage.self) { try server.receive($0) }
            }
            let (directories, s1) = try timed { try server.closeAdvertiseKeys() }
            serverSeconds += s1
            // Step 2.
            let dirs = Dictionary(uniqueKeysWithValues: directories.map { ($0.recipient, $0) })
            for i in active(.afterAdvertise) {
                guard let d = dirs[i] else { continue }
                guard let b = clientStep(i, "share-keys", d, { c, d in try c.shareKeys(d!) }) else { continue }
                deliver(i, b, as: ShareKeysMessage.self) { try server.receive($0) }
            }
            let (relays, s2) = try timed { try server.closeShareKeys() }
            serverSeconds += s2
            // Step 3.
            let relayed = Dictionary(uniqueKeysWithValues: relays.map { ($0.recipient, $0) })
            for i in active(.afterSharing) {
                guard let r = relayed[i] else { continue }
                let seed = SecAggSimulation.roundingSeed(base: roundingSeed, client: i)
                guard let b = clientStep(i, "masked-input", r, { c, r in try c.maskedInput(r!, update: updates[Int(i)], roundingSeed: seed) }) else { continue }
                deliver(i, b, as: MaskedInputMessage.self) { try server.receive($0) }
            }
            let (request, s3) = try timed { try server.closeMaskedInput() }
            serverSeconds += s3
            // Step 4.
            for i in active(.afterMaskedInput) where request.survivors.contains(i) {
                guard let b = clientStep(i, "unmask-response", request, { c, r in try c.unmask(r!) }) else { continue }
                deliver(i, b, as: UnmaskResponse.self) { try server.receive($0) }
            }
            let (sum, s4) = try timed { try server.finish() }
            serverSeconds += s4
            return outcome(sum, nil)
        } catch {
            return outcome(nil, SecAggError.wrapping(error))
        }
    }
}
