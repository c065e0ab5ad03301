import Foundation
import TensorMath

/// AdamW with decoupled weight decay, as `torch.optim.AdamW` computes it:
/// `p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g²;
///  p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)`.
public struct AdamW: Sendable, Codable, Equatable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0.01
    /// Number of steps taken.
    public private(set) var step = 0
    private var m: [Float] = []
    private var v: [Float] = []

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    /// Applies one update to `params` with gradient `grads` and learning rate `lr`.
    public mutating func update(_ params: inout [Float], grads: [Float], lr: Float) {
        precondition(params.count == grads.count, "AdamW: \(params.count) parameters, \(grads.count) gradients")
        if m.count != params.count {
            m = [Float](repeating: 0, count: params.count)
            v = m
        }
        step += 1
        let b1c = 1 - Float(pow(Double(beta1), Double(step)))
        let b2c = 1 - Float(pow(Double(beta2), Double(step)))
        let decay = 1 - lr * weightDecay
        let (b1, b2, eps) = (beta1, beta2, epsilon)
        params.withUnsafeMutableBufferPointer { p in
            grads.withUnsafeBufferPointer { g in
                m.withUnsafeMutableBufferPointer { mp in
                    v.withUnsafeMutableBufferPointer { vp in
                        // Independent per parameter: two ranges on the two threads for a large adapter.
                        ComputeThreads.elementwise(p.count) { start, end in
                            for i in start..<end {
                                let gi = g[i]
                                mp[i] = b1 * mp[i] + (1 - b1) * gi
                                vp[i] = b2 * vp[i] + (1 - b2) * gi * gi
                                p[i] = p[i] * decay - lr * (mp[i] / b1c) / ((vp[i] / b2c).squareRoot() + eps)
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Linear warmup then cosine decay to `minimumRatio * peak`.
///
/// Step `s` (0-based) gets `peak * (s + 1) / warmup` during warmup, so the first
/// step already moves; afterwards the cosine runs over the remaining steps.
public struct LearningRateSchedule: Sendable, Codable, Equatable {
    public var peak: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var minimumRatio: Float

    public init(peak: Float, warmupSteps: Int = 0, totalSteps: Int, minimumRatio: Float = 0) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.minimumRatio = minimumRatio
    }

    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        let span = max(1, totalSteps - warmupSteps)
        let progress = min(1, Float(step - warmupSteps) / Float(span))
        let cosine = 0.5 * (1 + cos(Float.pi * progress))
        return peak * (minimumRatio + (1 - minimumRatio) * cosine)
    }
}

/// Scales `grads` so that their global L2 norm is at most `maxNorm` (as
/// `torch.nn.utils.clip_grad_norm_` does). Returns the norm before clipping.
@discardableResult
public func clipGlobalNorm(_ grads: inout [Float], maxNorm: Float) -> Double {
    var sum = 0.0
    for g in grads { sum += Double(g) * Double(g) }
    let norm = sum.squareRoot()
    if maxNorm > 0, norm > Double(maxNorm) {
        let factor = Float(Double(maxNorm) / (norm + 1e-6))
        for i in grads.indices { grads[i] *= factor }
    }
    return norm
}
