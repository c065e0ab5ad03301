import ArgumentParser
import Federation
import Foundation

/// `fedpilot privacy check SCENARIO [--json]`: the scenario's privacy guarantee as the code
/// implements it (who sees what, what is released, ε and δ with their assumptions), or the keys
/// whose combination the code cannot back. Exits 1 when refused; `run` and `serve` refuse the
/// same scenarios at start.
struct PrivacyCheck: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "State a scenario's privacy guarantee, or refuse it (exit 1) when the code cannot back it.")
    @Argument(help: "A scenario file (TOML).") var scenario: String
    @Option(help: "Override the number of rounds (ε is for all of them).") var rounds: Int?
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        let posture: PrivacyPosture
        do {
            posture = PrivacyPosture.assess(try ScenarioLoader.load(path: scenario, overrides: ScenarioOverrides(rounds: rounds)))
        } catch {
            // A scenario that does not load is refused too, with the loader's one-line reason.
            if json { try printJSON(["accepted": false, "epsilon": NSNull(), "delta": NSNull(), "reasons": ["\(error)"]] as [String: Any]) }
            FileHandle.standardError.write(Data("fedpilot: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if json { try printJSON(posture.jsonObject) } else { print(Self.describe(posture, file: scenario)) }
        if !posture.accepted {
            if json { FileHandle.standardError.write(Data("fedpilot: \(PrivacyPostureError(file: scenario, refusals: posture.refusals))\n".utf8)) }
            throw ExitCode(1)
        }
    }

    static func describe(_ p: PrivacyPosture, file: String) -> String {
        var lines: [String] = []
        if !p.accepted {
            lines.append("\(file): REFUSED, the code cannot back this configuration's guarantee:")
            lines += p.refusals.map { "  - \($0)" }
            return lines.joined(separator: "\n")
        }
        if let e = p.epsilon, let d = p.delta {
            lines.append(String(format: "%@: (ε = %.3g, δ = %.1e)-DP per client after %d rounds (q = %.3g, z = %.3g)",
                                file, e, d, p.rounds, p.sampleRate ?? 1, p.noiseMultiplier ?? 0))
            if let c = p.epsilonAgainstCoordinator { lines.append(String(format: "  against the coordinator (it knows the selection): ε = %.3g", c)) }
        } else {
            lines.append("\(file): no differential privacy, no ε claimed")
        }
        func section(_ title: String, _ items: [String]) {
            guard !items.isEmpty else { return }
            lines.append(title)
            lines += items.map { "  - \($0)" }
        }
        section("the coordinator sees:", p.coordinatorSees)
        section("each client sees:", p.clientSees)
        section("released:", p.released)
        section("assumptions:", p.assumptions)
        section("warnings:", p.warnings)
        return lines.joined(separator: "\n")
    }
}
