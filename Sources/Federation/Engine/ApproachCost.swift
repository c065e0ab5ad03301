import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What one phase of an approach (training, or inference on every client's task examples) cost.
public struct ResourceUsage: Sendable, Equatable {
    /// User + system CPU seconds of the process over the phase (getrusage), every thread.
    public var cpuSeconds: Double
    public var wallSeconds: Double
    /// The process's peak resident memory during the phase (VmHWM, reset at the phase's start
    /// through /proc/self/clear_refs). When the reset is not possible it is the process's peak
    /// so far (ru_maxrss) and `peakIsProcessWide` is true.
    public var peakMemoryBytes: Int
    public var peakIsProcessWide: Bool

    public init(cpuSeconds: Double, wallSeconds: Double, peakMemoryBytes: Int, peakIsProcessWide: Bool = false) {
        self.cpuSeconds = cpuSeconds; self.wallSeconds = wallSeconds
        self.peakMemoryBytes = peakMemoryBytes; self.peakIsProcessWide = peakIsProcessWide
    }

    /// Runs `body` and measures it.
    public static func measure<T>(_ body: () throws -> T) rethrows -> (T, ResourceUsage) {
        let reset = resetPeak()
        let cpu0 = processCPUSeconds(), wall0 = Date()
        let value = try body()
        let cpu = processCPUSeconds() - cpu0, wall = Date().timeIntervalSince(wall0)
        let phasePeak = reset ? highWaterMark() : nil
        let usage = ResourceUsage(cpuSeconds: cpu, wallSeconds: wall, peakMemoryBytes: phasePeak ?? maxRSS(),
                                  peakIsProcessWide: phasePeak == nil)
        return (value, usage)
    }

    #if os(Linux)
    static let selfUsage = __rusage_who_t(RUSAGE_SELF.rawValue)
    #else
    static let selfUsage = RUSAGE_SELF
    #endif

    /// User + system CPU seconds of this process so far.
    public static func processCPUSeconds() -> Double {
        var u = rusage()
        getrusage(selfUsage, &u)
        return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) / 1e6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) / 1e6
    }

    /// Peak resident bytes of the process over its life (ru_maxrss is in KiB on Linux).
    static func maxRSS() -> Int {
        var u = rusage()
        getrusage(selfUsage, &u)
        #if os(Linux)
        return Int(u.ru_maxrss) * 1024
        #else
        return Int(u.ru_maxrss)
        #endif
    }

    /// Resets the kernel's peak-RSS mark of this process (Linux: writing 5 to clear_refs).
    static func resetPeak() -> Bool {
        guard let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? h.close() }
        do { try h.write(contentsOf: Data("5".utf8)) } catch { return false }
        return true
    }

    /// VmHWM of /proc/self/status in bytes; nil where there is none.
    static func highWaterMark() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count >= 2, let kib = Int(parts[1]) else { return nil }
        return kib * 1024
    }
}

/// What an approach lets leave each client and who sees it.
public struct ApproachPrivacy: Sendable, Equatable {
    /// What leaves each client: "nothing", "adapter updates", "masked adapter updates", "raw text".
    public var leavesClient: String
    /// Whether the coordinator (or the central service) sees each client's own contribution
    /// (its update, or its text); false when nothing leaves or updates are masked.
    public var coordinatorSeesIndividual: Bool
    /// Whether the clients' training text is pooled in one place.
    public var rawTextPooled: Bool
    /// Differential privacy's ε over the run; nil without DP (0 for an approach that uses no
    /// client data at all).
    public var epsilon: Double?
    /// One line for the operator.
    public var summary: String

    public init(leavesClient: String, coordinatorSeesIndividual: Bool, rawTextPooled: Bool, epsilon: Double?, summary: String) {
        self.leavesClient = leavesClient; self.coordinatorSeesIndividual = coordinatorSeesIndividual
        self.rawTextPooled = rawTextPooled; self.epsilon = epsilon; self.summary = summary
    }

    /// A federated run of `scenario` (with `epsilon` when it has DP).
    static func federated(_ privacy: PrivacyConfig, epsilon: Double?) -> ApproachPrivacy {
        let masked = privacy.secureAggregation
        let what = masked ? "masked adapter updates" : "adapter updates"
        var summary = masked ? "masked updates; coordinator sees only the sum" : "adapter updates; coordinator sees each"
        if let epsilon { summary += String(format: "; ε %.2f", epsilon) }
        return ApproachPrivacy(leavesClient: what, coordinatorSeesIndividual: !masked, rawTextPooled: false, epsilon: epsilon,
                               summary: summary)
    }

    static let centralized = ApproachPrivacy(leavesClient: "raw text", coordinatorSeesIndividual: true, rawTextPooled: true, epsilon: nil,
                                             summary: "raw training text pooled centrally")
    static let localOnly = ApproachPrivacy(leavesClient: "nothing", coordinatorSeesIndividual: false, rawTextPooled: false, epsilon: nil,
                                           summary: "nothing leaves a client")
    static let baseModel = ApproachPrivacy(leavesClient: "nothing", coordinatorSeesIndividual: false, rawTextPooled: false, epsilon: 0,
                                           summary: "no client data used")
    static let retrieval = ApproachPrivacy(leavesClient: "raw text", coordinatorSeesIndividual: true, rawTextPooled: true, epsilon: nil,
                                           summary: "raw text pooled in a central index")
}
