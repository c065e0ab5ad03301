import Foundation

/// Invalid inputs to the privacy accountant, calibration and adaptive clipping.
///
/// Each case prints as one self-contained sentence naming the offending value, so a command can
/// show it as is.
public enum PrivacyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The sampling rate q is not in [0, 1] (or not finite).
    case invalidSampleRate(Double)
    /// The noise multiplier σ is negative or not finite.
    case invalidNoiseMultiplier(Double)
    /// δ is not in (0, 1).
    case invalidDelta(Double)
    /// A step (round) count is negative.
    case invalidSteps(Int)
    /// A target ε is not positive and finite.
    case invalidEpsilon(Double)
    /// An order grid is empty, unsorted or contains an order ≤ 1 or a non-finite order.
    case invalidOrders(String)
    /// A parameter of adaptive clipping is out of range.
    case invalidClipping(String)
    /// The noise budget cannot be split between the clip count and the update.
    case insufficientNoise(total: Double, countNoise: Double)
    /// Calibration could not bracket the target.
    case calibrationFailed(String)

    public var description: String {
        switch self {
        case .invalidSampleRate(let q):
            return "sample rate must be in [0, 1], got \(q)"
        case .invalidNoiseMultiplier(let s):
            return "noise multiplier must be a finite number >= 0, got \(s)"
        case .invalidDelta(let d):
            return "delta must be in (0, 1), got \(d)"
        case .invalidSteps(let n):
            return "the number of rounds must be >= 0, got \(n)"
        case .invalidEpsilon(let e):
            return "target epsilon must be a finite number > 0, got \(e)"
        case .invalidOrders(let why):
            return "invalid RDP orders: \(why)"
        case .invalidClipping(let why):
            return "invalid adaptive clipping parameter: \(why)"
        case .insufficientNoise(let z, let sb):
            return "noise multiplier \(z) is too small to split with a clip-count noise of \(sb) "
                + "(need 2 * count noise > noise multiplier, i.e. > \(z / 2))"
        case .calibrationFailed(let why):
            return "calibration failed: \(why)"
        }
    }
}
