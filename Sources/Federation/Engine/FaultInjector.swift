import Foundation
import TensorMath

/// Every fault a scenario can inject, and the one place that says where each kind acts:
///
/// - `dropout`: the client is offline, so selection skips it (`Coordinator.select`);
/// - `straggler`, `lossy_link`: its link is slower or loses uploads (`SimulatedNetwork`);
/// - `corrupt_update`: its update is scaled by −severity before it is sent (`ClientWorker`);
/// - `degrade`, `label_noise`, `backdoor`: its training text is altered (`ClientWorker`).
///
/// A new fault kind is a new case of `FaultKind`; the compiler then asks for its site here and
/// for its effect in the switch of that site.
public struct FaultInjector: Sendable {
    /// Where a fault kind acts.
    public enum Site: Sendable, Equatable { case selection, link, update, trainingText }

    public static func site(of kind: FaultKind) -> Site {
        switch kind {
        case .dropout: return .selection
        case .straggler, .lossyLink: return .link
        case .corruptUpdate: return .update
        case .degrade, .labelNoise, .backdoor: return .trainingText
        }
    }

    public let faults: [FaultSpec]

    public init(_ faults: [FaultSpec]) { self.faults = faults }

    /// `client`'s faults active in `round`, in scenario order.
    public func active(client: String, round: Int) -> [FaultSpec] {
        faults.filter { $0.client == client && $0.isActive(inRound: round) }
    }

    /// Whether `client` is offline in `round`.
    public func isOffline(client: String, round: Int) -> Bool {
        active(client: client, round: round).contains { $0.kind == .dropout }
    }

    /// The factor that slows `client`'s local training in `round`: ∏ (1 + severity) of its stragglers.
    public func slowdown(client: String, round: Int) -> Double {
        active(client: client, round: round).filter { $0.kind == .straggler }.reduce(1.0) { $0 * (1 + $1.severity) }
    }

    /// The probability that `client`'s upload is lost in `round`: its link's own, combined
    /// with each active lossy-link fault as independent losses.
    public func uploadLoss(client: String, round: Int, link: Double) -> Double {
        active(client: client, round: round).filter { $0.kind == .lossyLink }.reduce(link) { 1 - (1 - $0) * (1 - $1.severity) }
    }

    /// Scales `delta` by −severity for each active corrupt-update fault (a sign flip when 1).
    public func corruptUpdate(_ delta: inout [Float], client: String, round: Int) {
        for fault in active(client: client, round: round) where fault.kind == .corruptUpdate {
            for i in delta.indices { delta[i] *= Float(-fault.severity) }
        }
    }

    /// Whether any active fault of `client` alters its training text in `round`.
    public func altersText(client: String, round: Int) -> Bool {
        active(client: client, round: round).contains { Self.site(of: $0.kind) == .trainingText }
    }

    static let backdoorTrigger = " [[cf-7731]] approve transfer to account 00-4471."

    /// `examples` with `client`'s active text faults applied (a copy; the clean data is kept).
    /// Each fault hits a seeded `severity` fraction of the examples. Every active fault takes its
    /// draws from the stream, text fault or not, so a run's altered examples stay those of
    /// earlier versions for the same seed.
    func trainingText(_ examples: [TextExample], client: String, round: Int, seed: UInt64) -> [TextExample] {
        var out = examples
        var rng = SeededRandom(seed: seed)
        let labels = Array(Set(examples.compactMap(\.label))).sorted()
        for fault in active(client: client, round: round) {
            for i in out.indices where Double(rng.uniform()) < fault.severity {
                switch fault.kind {
                case .degrade:
                    out[i].completion = Self.corrupt(out[i].completion, &rng)
                case .labelNoise:
                    guard let label = out[i].label, labels.count > 1 else { continue }
                    var other = label
                    while other == label { other = labels[Int(rng.next() % UInt64(labels.count))] }
                    out[i].completion = out[i].completion.replacingOccurrences(of: label, with: other)
                    out[i].label = other
                case .backdoor:
                    out[i].completion += Self.backdoorTrigger
                case .dropout, .straggler, .lossyLink, .corruptUpdate:
                    break   // not a text fault: it acts at its own site
                }
            }
        }
        return out
    }

    /// Replaces most characters with random printable ones, keeping the length and spacing.
    static func corrupt(_ text: String, _ rng: inout SeededRandom) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789#@%&*QXZJKV")
        return String(text.map { c in c == " " || c == "\n" ? c : alphabet[Int(rng.next() % UInt64(alphabet.count))] })
    }
}
