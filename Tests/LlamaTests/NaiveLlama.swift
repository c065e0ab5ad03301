import Foundation
import TensorMath
@testable import Llama

/// A deliberately plain Llama forward pass, one sequence at a time, built from the
/// naive reference kernels. Tests compare the fast model against it.
enum NaiveLlama {
    static func logits(_ tokens: [Int], config c: LlamaConfig, weights w: LlamaWeights) -> [Float] {
        let t = tokens.count, d = c.hiddenSize
        var x = tokens.flatMap { Array(w.embedding.data[($0 * d)..<(($0 + 1) * d)]) }
        func linear(_ input: [Float], _ weight: Tensor) -> [Float] {
            var out = [Float](repeating: 0, count: t * weight.shape[0])
            Matmul.referenceGemm(transA: false, transB: true, m: t, n: weight.shape[0], k: weight.shape[1],
                                 a: input, lda: weight.shape[1], b: weight.data, ldb: weight.shape[1], c: &out, ldc: weight.shape[0])
            return out
        }
        let positions = Array(0..<t)
        for l in w.layers {
            let h = RMSNorm.reference(x, weight: l.attentionNorm, rows: t, dim: d, eps: c.rmsNormEps)
            let q = RoPE.reference(linear(h, l.wq), rows: t, heads: c.headCount, headDim: c.headDim, positions: positions, theta: c.ropeTheta)
            let k = RoPE.reference(linear(h, l.wk), rows: t, heads: c.kvHeadCount, headDim: c.headDim, positions: positions, theta: c.ropeTheta)
            let v = linear(h, l.wv)
            let a = Attention.reference(q: q, k: k, v: v, shape: AttentionShape(batch: 1, queries: t, keys: t, heads: c.headCount,
                                                                                 kvHeads: c.kvHeadCount, headDim: c.headDim))
            x = zip(x, linear(a, l.wo)).map(+)
            let h2 = RMSNorm.reference(x, weight: l.mlpNorm, rows: t, dim: d, eps: c.rmsNormEps)
            let mlp = Activation.referenceSwiGLU(gate: linear(h2, l.gate), up: linear(h2, l.up))
            x = zip(x, linear(mlp, l.down)).map(+)
        }
        return linear(RMSNorm.reference(x, weight: w.finalNorm, rows: t, dim: d, eps: c.rmsNormEps), w.outputProjection)
    }
}
