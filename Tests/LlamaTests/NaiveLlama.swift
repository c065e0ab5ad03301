import Foundation
import TensorMath
@testable import Llama

/// A deliberately plain Llama forward pass, one sequence at a time, built from the
/// naive reference kernels. Tests compare the fast model against it. The `BlockVariant`
/// switches are written out from transformers' Gemma 3 code (`Gemma3DecoderLayer.forward`):
/// scaled embedding, q/k norms before RoPE, post-norms on both sub-block outputs, GeGLU,
/// sliding-window local layers with their own RoPE base.
enum NaiveLlama {
    static func logits(_ tokens: [Int], config c: LlamaConfig, weights w: LlamaWeights) -> [Float] {
        let t = tokens.count, d = c.hiddenSize, v = c.variant
        var x = tokens.flatMap { Array(w.embedding.data[($0 * d)..<(($0 + 1) * d)]) }
        if v.scalesEmbedding { x = x.map { $0 * Float(Double(d).squareRoot()) } }
        func linear(_ input: [Float], _ weight: Tensor) -> [Float] {
            var out = [Float](repeating: 0, count: t * weight.shape[0])
            Matmul.referenceGemm(transA: false, transB: true, m: t, n: weight.shape[0], k: weight.shape[1],
                                 a: input, lda: weight.shape[1], b: weight.data, ldb: weight.shape[1], c: &out, ldc: weight.shape[0])
            return out
        }
        let positions = Array(0..<t)
        for (i, l) in w.layers.enumerated() {
            let local = v.slidingWindow != nil && (i + 1) % v.globalLayerPeriod != 0
            let theta = local ? (v.localRoPETheta ?? c.ropeTheta) : c.ropeTheta
            let h = RMSNorm.reference(x, weight: l.attentionNorm, rows: t, dim: d, eps: c.rmsNormEps)
            var q = linear(h, l.wq), k = linear(h, l.wk)
            if v.queryKeyNorm {
                q = RMSNorm.reference(q, weight: l.queryNorm, rows: t * c.headCount, dim: c.headDim, eps: c.rmsNormEps)
                k = RMSNorm.reference(k, weight: l.keyNorm, rows: t * c.kvHeadCount, dim: c.headDim, eps: c.rmsNormEps)
            }
            q = RoPE.reference(q, rows: t, heads: c.headCount, headDim: c.headDim, positions: positions, theta: theta)
            k = RoPE.reference(k, rows: t, heads: c.kvHeadCount, headDim: c.headDim, positions: positions, theta: theta)
            let values = linear(h, l.wv)
            let a = Attention.reference(q: q, k: k, v: values, shape: AttentionShape(batch: 1, queries: t, keys: t, heads: c.headCount,
                                                                                      kvHeads: c.kvHeadCount, headDim: c.headDim),
                                        scale: v.attentionScale, window: local ? v.slidingWindow : nil)
            var attnOut = linear(a, l.wo)
            if v.postNorms { attnOut = RMSNorm.reference(attnOut, weight: l.postAttentionNorm, rows: t, dim: d, eps: c.rmsNormEps) }
            x = zip(x, attnOut).map(+)
            let h2 = RMSNorm.reference(x, weight: l.mlpNorm, rows: t, dim: d, eps: c.rmsNormEps)
            let gate = linear(h2, l.gate), up = linear(h2, l.up)
            let mlp: [Float]
            switch v.activation {
            case .silu: mlp = Activation.referenceSwiGLU(gate: gate, up: up)
            case .geluTanh: mlp = zip(gate, up).map { GELU.reference($0) * $1 }
            }
            var mlpOut = linear(mlp, l.down)
            if v.postNorms { mlpOut = RMSNorm.reference(mlpOut, weight: l.postMLPNorm, rows: t, dim: d, eps: c.rmsNormEps) }
            x = zip(x, mlpOut).map(+)
        }
        return linear(RMSNorm.reference(x, weight: w.finalNorm, rows: t, dim: d, eps: c.rmsNormEps), w.outputProjection)
    }
}
