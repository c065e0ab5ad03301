import ArgumentParser
import Dashboard
import Foundation

/// `fedpilot bench render`: time to draw one dashboard frame.
struct BenchRender: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render", abstract: "Time the dashboard's render of one frame (pure, no terminal).")
    @Option(help: "Clients in the synthetic run.") var clients: Int = 128
    @Option(help: "Rounds in the synthetic run.") var rounds: Int = 30
    @Option(help: "Terminal width.") var width: Int = 120
    @Option(help: "Terminal height.") var height: Int = 40
    @Option(help: "Timed frames.") var frames: Int = 200
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try reportingErrors {
            guard clients > 0, rounds > 0, frames > 0, width > 0, height > 0 else {
                throw ValidationError("--clients, --rounds, --frames, --width and --height must be positive")
            }
            let r = benchmarkRender(clients: clients, rounds: rounds, width: width, height: height, frames: frames)
            if json {
                try printJSON(["mean_ms": r.meanMs, "best_ms": r.bestMs, "clients": clients, "rounds": rounds,
                               "width": width, "height": height, "frames": frames])
            } else {
                print(String(format: "render: %.2f ms/frame mean, %.2f ms best (%d clients, %d rounds, %dx%d, %d frames)",
                             r.meanMs, r.bestMs, clients, rounds, width, height, frames))
            }
        }
    }
}
