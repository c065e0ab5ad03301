import ArgumentParser
import Foundation
import Privacy

/// `fedpilot privacy ...`: the client-level DP budget of a DP-FedAvg run (RDP accountant for the
/// Poisson-subsampled Gaussian mechanism; see Sources/Privacy).
struct PrivacyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "privacy",
        abstract: "Client-level differential privacy budget: epsilon of a run, or the noise for a target epsilon.",
        discussion: """
            Each round samples every client with probability --sample-rate, clips each update to the clip norm C \
            and adds Gaussian noise of std (noise multiplier) x C to the sum. Epsilon comes from Renyi DP at \
            \(RDPAccountant.defaultOrders.count) orders (1.1 ... 1024), converted to (epsilon, delta)-DP with the \
            conversion of Balle et al. 2020, as Opacus and Google's dp-accounting do.
            """,
        subcommands: [PrivacyEpsilon.self, PrivacyCalibrate.self, PrivacyCheck.self])
}

/// `fedpilot privacy epsilon --noise SIGMA --sample-rate Q --rounds N --delta D [--json]`
struct PrivacyEpsilon: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "epsilon", abstract: "Epsilon spent by N rounds at noise multiplier SIGMA and sample rate Q.")
    @Option(parsing: .unconditional, help: "Noise multiplier sigma (noise std / clip norm), >= 0; 0 means no noise.") var noise: Double
    @Option(parsing: .unconditional, help: "Probability that a client takes part in a round, in (0, 1].") var sampleRate: Double
    @Option(parsing: .unconditional, help: "Number of rounds, >= 1.") var rounds: Int
    @Option(parsing: .unconditional, help: "Target delta, in (0, 1).") var delta: Double
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            try PrivacyInputs.check(noise: noise, sampleRate: sampleRate, rounds: rounds, delta: delta)
            let (epsilon, order) = try RDPAccountant.epsilon(noiseMultiplier: noise, sampleRate: sampleRate,
                                                             steps: rounds, delta: delta)
            if json {
                try printJSON([
                    "epsilon": PrivacyInputs.jsonNumber(epsilon), "delta": delta, "order": PrivacyInputs.jsonNumber(order),
                    "noise": noise, "sample_rate": sampleRate, "rounds": rounds,
                ] as [String: Any])
            } else if epsilon.isInfinite {
                print("epsilon = infinity at delta \(delta): noise multiplier 0 releases the un-noised sum")
            } else {
                print("epsilon \(PrivacyInputs.format(epsilon)) at delta \(delta) after \(rounds) rounds "
                      + "(noise multiplier \(noise), sample rate \(sampleRate); best RDP order \(PrivacyInputs.format(order)))")
            }
        }
    }
}

/// `fedpilot privacy calibrate --epsilon E --delta D --sample-rate Q --rounds N [--json]`
struct PrivacyCalibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "The smallest noise multiplier (to 1% in epsilon) that keeps N rounds at sample rate Q within epsilon E.")
    @Option(parsing: .unconditional, help: "Target epsilon, > 0.") var epsilon: Double
    @Option(parsing: .unconditional, help: "Target delta, in (0, 1).") var delta: Double
    @Option(parsing: .unconditional, help: "Probability that a client takes part in a round, in (0, 1].") var sampleRate: Double
    @Option(parsing: .unconditional, help: "Number of rounds, >= 1.") var rounds: Int
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            guard epsilon.isFinite, epsilon > 0 else { throw ValidationError("--epsilon must be a number > 0, got \(epsilon)") }
            try PrivacyInputs.check(noise: nil, sampleRate: sampleRate, rounds: rounds, delta: delta)
            let noise = try RDPAccountant.noiseMultiplier(targetEpsilon: epsilon, delta: delta,
                                                          sampleRate: sampleRate, steps: rounds)
            let achieved = try RDPAccountant.epsilon(noiseMultiplier: noise, sampleRate: sampleRate,
                                                     steps: rounds, delta: delta).epsilon
            if json {
                try printJSON([
                    "noise": noise, "epsilon": epsilon, "delta": delta, "sample_rate": sampleRate, "rounds": rounds,
                    "achieved_epsilon": achieved,
                ] as [String: Any])
            } else {
                print("noise multiplier \(PrivacyInputs.format(noise)) gives epsilon \(PrivacyInputs.format(achieved)) "
                      + "(target \(epsilon)) at delta \(delta) after \(rounds) rounds with sample rate \(sampleRate)")
            }
        }
    }
}

/// Input checks shared by the privacy commands, with messages naming the option.
enum PrivacyInputs {
    static func check(noise: Double?, sampleRate: Double, rounds: Int, delta: Double) throws {
        if let noise, !(noise.isFinite && noise >= 0) {
            throw ValidationError("--noise must be a number >= 0, got \(noise)")
        }
        guard sampleRate.isFinite, sampleRate > 0, sampleRate <= 1 else {
            throw ValidationError("--sample-rate must be in (0, 1], got \(sampleRate)")
        }
        guard rounds >= 1 else { throw ValidationError("--rounds must be >= 1, got \(rounds)") }
        guard delta.isFinite, delta > 0, delta < 1 else { throw ValidationError("--delta must be in (0, 1), got \(delta)") }
    }

    /// A finite number, or JSON null (infinite epsilon, undefined order).
    static func jsonNumber(_ x: Double) -> Any { x.isFinite ? x : NSNull() }

    static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e6 ? String(format: "%.1f", x) : String(format: "%.4g", x)
    }
}
