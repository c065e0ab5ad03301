import Foundation
import Llama
import TensorMath

/// A reply to a round task as it reached the coordinator, before any link is accounted for.
public struct ReplyReceipt: Sendable, Equatable {
    public var client: String
    public var round: Int
    /// The encoded task's size and the encoded reply's size.
    public var bytesDown: Int
    public var bytesUp: Int
    /// The client's own measure of its local training time.
    public var computeSeconds: Double
    /// Wall-clock seconds from sending the task to holding the reply.
    public var exchangeSeconds: Double

    public init(client: String, round: Int, bytesDown: Int, bytesUp: Int, computeSeconds: Double, exchangeSeconds: Double) {
        self.client = client; self.round = round; self.bytesDown = bytesDown; self.bytesUp = bytesUp
        self.computeSeconds = computeSeconds; self.exchangeSeconds = exchangeSeconds
    }
}

/// How a reply was delivered, and how long its round trip took.
public struct Delivery: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case arrived
        /// The upload was lost on the way (the client counts as dropped).
        case lost
        /// It arrived after the round's deadline (the client counts as timed out).
        case missedDeadline
    }
    public var outcome: Outcome
    /// Download plus upload.
    public var transferSeconds: Double
    public var computeSeconds: Double
    /// The whole round trip: transfer plus compute.
    public var seconds: Double
}

extension ClientTransport {
    /// A real transport holds the reply: it arrived, its compute time is the client's own and
    /// the rest of the exchange was transfer. No loss is rolled and no simulated deadline applies
    /// (a network deployment has its own, real deadlines).
    public func delivery(of receipt: ReplyReceipt, draws: inout SeededRandom) -> Delivery {
        let transfer = max(0, receipt.exchangeSeconds - receipt.computeSeconds)
        return Delivery(outcome: .arrived, transferSeconds: transfer, computeSeconds: receipt.computeSeconds,
                        seconds: transfer + receipt.computeSeconds)
    }
}

/// Simulated time: nothing sleeps; a round trip lasts what the payload sizes, the link and the
/// measured compute say it would.
struct VirtualClock {
    /// Simulated seconds since the clock started.
    private(set) var now: Double = 0

    mutating func advance(by seconds: Double) { now += seconds }

    /// Seconds to move `bytes` over a link of `mbps` megabits per second with `latencyMs` one-way latency.
    static func transferSeconds(bytes: Int, mbps: Double, latencyMs: Double) -> Double {
        latencyMs / 1000 + Double(bytes) * 8 / (mbps * 1_000_000)
    }
}

/// The scenario's network around any transport (the in-process clients in a pilot): every
/// call goes through to `inner`, and each reply's delivery follows the client's link
/// (bandwidth, latency, compute factor, loss) and faults (stragglers, lossy links) on a
/// virtual clock, against the scenario's round deadline.
public final class SimulatedNetwork: ClientTransport, @unchecked Sendable {
    public let inner: any ClientTransport
    let links: [String: LinkSpec]
    let faults: FaultInjector
    /// Simulated seconds a round waits for an upload (nil: it waits for all).
    let deadline: Double?

    public init(wrapping inner: any ClientTransport, links: [String: LinkSpec], faults: FaultInjector, deadline: Double?) {
        self.inner = inner; self.links = links; self.faults = faults; self.deadline = deadline
    }

    /// The network `scenario` describes: each client's link, its faults and the selection deadline.
    public convenience init(wrapping inner: any ClientTransport, scenario: Scenario) {
        self.init(wrapping: inner, links: Dictionary(uniqueKeysWithValues: scenario.clients.map { ($0.id, $0.link) }),
                  faults: FaultInjector(scenario.faults), deadline: scenario.selection.deadlineSeconds)
    }

    /// The link model: download, the client's compute scaled by its link's compute factor and
    /// any straggler fault, then upload, on a virtual clock. The upload is lost with the link's
    /// probability combined with any lossy-link fault, drawn from `draws` (the round's random
    /// stream, one draw per reply in selection order, so that any number of lanes gives the same run).
    public func delivery(of r: ReplyReceipt, draws: inout SeededRandom) -> Delivery {
        let link = links[r.client] ?? LinkSpec()
        let down = VirtualClock.transferSeconds(bytes: r.bytesDown, mbps: link.downMbps, latencyMs: link.latencyMs)
        let up = VirtualClock.transferSeconds(bytes: r.bytesUp, mbps: link.upMbps, latencyMs: link.latencyMs)
        let transfer = down + up
        let compute = r.computeSeconds * link.computeFactor * faults.slowdown(client: r.client, round: r.round)
        var clock = VirtualClock()
        clock.advance(by: transfer + compute)
        var delivery = Delivery(outcome: .arrived, transferSeconds: transfer, computeSeconds: compute, seconds: clock.now)
        let loss = faults.uploadLoss(client: r.client, round: r.round, link: link.dropProbability)
        if Double(draws.uniform()) < loss {
            delivery.outcome = .lost
        } else if let deadline, clock.now > deadline {
            delivery.outcome = .missedDeadline
        }
        return delivery
    }

    public func exchange(client: String, task: Data) throws -> Data { try inner.exchange(client: client, task: task) }
    public func evaluate(client: String, request: Data) throws -> Double? { try inner.evaluate(client: client, request: request) }
    public func validationLabels(client: String) throws -> [String] { try inner.validationLabels(client: client) }
    public func scoreLabels(client: String, request: Data, labels: [String]) throws -> TaskScore? {
        try inner.scoreLabels(client: client, request: request, labels: labels)
    }
    public func scoreGeneration(client: String, request: Data) throws -> GenerationScore? {
        try inner.scoreGeneration(client: client, request: request)
    }
    public func secureAggregation(client: String, message: Data) throws -> Data {
        try inner.secureAggregation(client: client, message: message)
    }
    public var parallelClients: Int { inner.parallelClients }
    public func withParallelCalls<T>(lanes: Int, _ body: () throws -> T) rethrows -> T {
        try inner.withParallelCalls(lanes: lanes, body)
    }
}
