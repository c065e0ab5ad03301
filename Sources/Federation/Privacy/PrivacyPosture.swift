import Foundation
import Privacy

/// What a scenario's privacy settings guarantee, as the code implements them: who sees what,
/// what is released, and the (ε, δ) the accountant can stand behind, or why the configuration is
/// refused. `fedpilot privacy check` prints it; the coordinator refuses to start a refused one.
///
/// The guarantee is client-level DP under *zero-out* adjacency: two runs are neighbours when one
/// client's whole contribution (every round's update) is replaced by zero. Each update is clipped
/// to L2 norm C and weighs the same, so the sum has sensitivity C; Gaussian noise of std z·C is
/// added to the sum; clients are sampled each round by secret Poisson sampling with rate q.
/// The accountant composes the sampled Gaussian mechanism (Mironov et al. 2019) round by round.
/// Participation (who was selected, who replied) is not protected.
public struct PrivacyPosture: Sendable, Equatable {
    /// One refusal: the key that causes it and why the code cannot back the guarantee.
    public struct Refusal: Sendable, Equatable, CustomStringConvertible {
        public var key: String
        public var reason: String
        public var description: String { "\(key): \(reason)" }
    }

    public var accepted: Bool { refusals.isEmpty }
    public var refusals: [Refusal] = []
    /// ε(δ) after every planned round against everyone who sees only released adapters (clients,
    /// anyone given the exported model); nil without DP or when refused.
    public var epsilon: Double?
    /// ε(δ) against the coordinator, which knows who was sampled (no amplification by sampling);
    /// nil when the coordinator sees individual updates (central noise) or without DP.
    public var epsilonAgainstCoordinator: Double?
    public var delta: Double?
    /// q, the secret per-round sampling probability the accountant uses.
    public var sampleRate: Double?
    public var noiseMultiplier: Double?
    public var rounds: Int
    public var coordinatorSees: [String] = []
    public var clientSees: [String] = []
    public var released: [String] = []
    public var assumptions: [String] = []
    public var warnings: [String] = []

    /// Strategies whose aggregate is a mean of equally weighted updates followed by a server step:
    /// the only ones whose sensitivity the accountant's C/n describes. Robust aggregators release
    /// one or a few (noised) updates, and SCAFFOLD releases un-noised control variates.
    public static let differentiallyPrivateStrategies: [StrategyKind] = [.fedavg, .fedprox, .fedavgm, .fedadam, .fedyogi, .fedadagrad]

    /// The refusals of `privacy` with `strategy` (empty: the combination is backed by the code).
    /// Also used for operator commands that turn DP on mid-run.
    public static func refusals(privacy p: PrivacyConfig, strategy: StrategyKind) -> [Refusal] {
        guard p.differentialPrivacy else { return [] }
        var out: [Refusal] = []
        if strategy == .scaffold {
            out.append(Refusal(key: "[strategy] name", reason: """
                "scaffold" cannot run with differential_privacy: its control variates are computed from each client's \
                raw update and sent to every client un-noised, which the accountant does not cover; use fedavg, fedprox, \
                fedavgm, fedadam, fedyogi or fedadagrad
                """))
        } else if !differentiallyPrivateStrategies.contains(strategy) {
            out.append(Refusal(key: "[strategy] name", reason: """
                "\(strategy.rawValue)" cannot run with differential_privacy: it releases one or a few individual updates \
                (noise std z·C/√n each), not their mean, so the sensitivity the accountant assumes (C/n) does not hold; \
                use fedavg, fedprox, fedavgm, fedadam, fedyogi or fedadagrad
                """))
        }
        if p.noise == .distributed, !p.secureAggregation {
            out.append(Refusal(key: "[privacy] noise", reason: """
                "distributed" needs secure_aggregation = true: without it the coordinator sees every update before any \
                noise; use noise = "central" or turn secure aggregation on
                """))
        }
        if !(p.noiseMultiplier > 0) {
            out.append(Refusal(key: "[privacy] noise_multiplier", reason: "must be > 0 with differential_privacy: 0 releases the un-noised sum"))
        }
        return out
    }

    /// The posture of `scenario` as configured.
    public static func assess(_ scenario: Scenario) -> PrivacyPosture {
        let p = scenario.privacy
        var out = PrivacyPosture(rounds: scenario.rounds)
        out.refusals = refusals(privacy: p, strategy: scenario.strategy.kind)
        let secure = p.secureAggregation
        out.clientSees = ["its own text and its own update", "the global adapter at the start of each round it is selected in"]
        if secure { out.clientSees.append("its secure-aggregation neighbours' ids and public keys, and Shamir shares of their mask seeds") }
        if scenario.strategy.kind == .scaffold { out.clientSees.append("the server's control variate, built from every client's raw update") }
        out.coordinatorSees = secure
            ? ["which clients were selected and which replied", "each client's self-reported example count, local losses and update norm",
               "the sum of the clients' masked updates (never an individual update)", "every client's evaluation loss on its own validation split"]
            : ["which clients were selected and which replied", "each client's self-reported example count, local losses and update norm",
               "every individual update in the clear", "every client's evaluation loss on its own validation split"]
        out.released = ["the global adapter after every round (sent to the next round's clients; exported by `fedpilot export`)"]
        if !p.differentialPrivacy {
            out.assumptions = ["no differential privacy: no ε is claimed; the released adapters can reveal a client's text"]
            if !secure { out.warnings.append("without secure aggregation the coordinator sees every client's update") }
            return out
        }
        guard out.accepted else { return out }

        let q = min(1, max(0, scenario.selection.fraction))
        out.sampleRate = q
        out.noiseMultiplier = p.noiseMultiplier
        out.delta = p.delta
        out.epsilon = epsilon(noise: p.noiseMultiplier, sampleRate: q, rounds: scenario.rounds, delta: p.delta)
        if secure { out.epsilonAgainstCoordinator = epsilon(noise: p.noiseMultiplier, sampleRate: 1, rounds: scenario.rounds, delta: p.delta) }
        out.assumptions = [
            "client-level DP under zero-out adjacency: one client's every update replaced by zero",
            "each update clipped to L2 norm C = \(p.clipNorm)\(p.adaptiveClipping ? " (adaptive: C follows the noised \(p.targetQuantile)-quantile of the norms; the count query is charged to the same budget)" : ""), every client weighs the same (self-reported example counts are ignored), sensitivity of the sum C",
            "Gaussian noise of std z·C = \(p.noiseMultiplier)·C on the sum, from a cryptographic generator (never from the run's seed)",
            q < 1 ? "clients sampled each round by Poisson sampling with q = \(q) from a cryptographic generator; amplification by sampling holds against parties who do not learn the selection"
                : "every available client takes part in every round (q = 1): no amplification by sampling",
            "participation (who was selected, who replied) is not protected",
            secure ? "noise is distributed: each client adds N(0, (zC)²/m) before masking; a round where fewer clients added their share is charged with the smaller noise"
                : "noise is central: the coordinator adds it, so the coordinator itself is trusted with the raw updates",
        ]
        if Double(scenario.clients.count) * p.delta > 1 {
            out.warnings.append("δ = \(p.delta) exceeds 1/\(scenario.clients.count) clients: the guarantee allows revealing one client outright with probability δ")
        }
        return out
    }

    static func epsilon(noise: Double, sampleRate q: Double, rounds: Int, delta: Double) -> Double? {
        guard rounds > 0, q > 0, let e = try? RDPAccountant.epsilon(noiseMultiplier: noise, sampleRate: q, steps: rounds, delta: delta).epsilon,
              e.isFinite else { return nil }
        return e
    }

    /// The JSON object `fedpilot privacy check --json` prints.
    public var jsonObject: [String: Any] {
        func num(_ x: Double?) -> Any { x.map { $0.isFinite ? $0 as Any : NSNull() } ?? NSNull() }
        return [
            "accepted": accepted, "epsilon": num(epsilon), "epsilon_vs_coordinator": num(epsilonAgainstCoordinator),
            "delta": num(delta), "sample_rate": num(sampleRate), "noise_multiplier": num(noiseMultiplier), "rounds": rounds,
            "reasons": refusals.map(\.description), "coordinator_sees": coordinatorSees, "client_sees": clientSees,
            "released": released, "assumptions": assumptions, "warnings": warnings,
        ]
    }
}

/// A scenario whose privacy guarantee the code cannot back; names the file and key.
public struct PrivacyPostureError: Error, CustomStringConvertible {
    public var file: String
    public var refusals: [PrivacyPosture.Refusal]
    public init(file: String, refusals: [PrivacyPosture.Refusal]) { self.file = file; self.refusals = refusals }
    public var description: String {
        "\(file.isEmpty ? "scenario" : file): " + refusals.map(\.description).joined(separator: "; ")
    }
}
