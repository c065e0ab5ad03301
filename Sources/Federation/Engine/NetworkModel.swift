/// Simulated transfer and compute times. Network time comes from the real encoded
/// payload size, the link's bandwidth and its latency; it is kept apart from wall time.
enum NetworkModel {
    /// Seconds to move `bytes` over a link of `mbps` megabits per second with `latencyMs` one-way latency.
    static func transferSeconds(bytes: Int, mbps: Double, latencyMs: Double) -> Double {
        latencyMs / 1000 + Double(bytes) * 8 / (mbps * 1_000_000)
    }
}
