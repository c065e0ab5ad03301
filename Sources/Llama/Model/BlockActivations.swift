import TensorMath

/// What one decoder block's forward pass writes, as pointers into a caller's buffer.
///
/// Training gives every layer its own set, kept for the backward pass; inference gives every
/// layer the same set of scratch buffers, so nothing is kept (and may alias: see the fields).
/// A field that is nil is not written. Sizes: n = B*T rows, D hidden, H / KV heads of hd
/// floats, I intermediate, r the LoRA rank, `in` a target's input width.
struct BlockActivations {
    /// Per adapted target (training): the low-rank product and, with dropout, its input.
    struct LoRA {
        var u: UnsafeMutablePointer<Float>           // [n, r]   input (after dropout) · Aᵀ
        var input: UnsafeMutablePointer<Float>?      // [n, in]  input ⊙ dropout mask; nil without dropout
        var mask: UnsafeMutablePointer<Float>?       // [n, in]  the dropout mask (0 or 1/(1-p)); nil without dropout
    }

    var xIn: UnsafeMutablePointer<Float>             // [n, D]   block input (residual stream)
    var inv1: UnsafeMutablePointer<Float>?           // [n]      1/rms of xIn (attention norm)
    var h1: UnsafeMutablePointer<Float>              // [n, D]   normed xIn, the q/k/v input
    var q: UnsafeMutablePointer<Float>               // [n, H*hd]  queries after q-norm and RoPE
    var k: UnsafeMutablePointer<Float>               // [n, KV*hd] keys after k-norm and RoPE
    var v: UnsafeMutablePointer<Float>               // [n, KV*hd] values
    var probs: UnsafeMutablePointer<Float>?          // [B, H, T, T] attention probabilities
    var attn: UnsafeMutablePointer<Float>            // [n, H*hd]  attention output, the o input
    var xMid: UnsafeMutablePointer<Float>            // [n, D]   residual after attention (may be xIn)
    var inv2: UnsafeMutablePointer<Float>?           // [n]      1/rms of xMid (MLP norm)
    var h2: UnsafeMutablePointer<Float>              // [n, D]   normed xMid, the gate/up input (may be h1)
    var gate: UnsafeMutablePointer<Float>            // [n, I]   gate projection
    var up: UnsafeMutablePointer<Float>              // [n, I]   up projection
    var act: UnsafeMutablePointer<Float>             // [n, I]   act(gate) * up, the down input (may be gate)
    // Gemma's switches (nil for the plain block):
    var qPre: UnsafeMutablePointer<Float>?           // [n, H*hd]  queries before their per-head norm; nil: normed in place
    var kPre: UnsafeMutablePointer<Float>?           // [n, KV*hd] keys before their per-head norm; nil: normed in place
    var invQ: UnsafeMutablePointer<Float>?           // [n*H]    1/rms of each head's query
    var invK: UnsafeMutablePointer<Float>?           // [n*KV]   1/rms of each head's key
    var oOut: UnsafeMutablePointer<Float>?           // [n, D]   o output before the post-attention norm
    var invPostA: UnsafeMutablePointer<Float>?       // [n]      its 1/rms
    var downOut: UnsafeMutablePointer<Float>?        // [n, D]   down output before the post-MLP norm
    var invPostM: UnsafeMutablePointer<Float>?       // [n]      its 1/rms
    /// Adapted targets' saved products; a target without an entry uses `BlockScratch.loraU`.
    var lora: [LoRATarget: LoRA] = [:]

    /// One layer's training activations, every field saved: `take(count)` reserves each field
    /// and returns its offset in floats; the result places them at a workspace's base.
    static func layOut(_ c: LlamaConfig, lora: LoRAConfig, batch: Int, length: Int,
                       take: (Int) -> Int) -> (UnsafeMutablePointer<Float>) -> BlockActivations {
        let n = batch * length
        let d = c.hiddenSize, qw = c.queryWidth, kvw = c.kvWidth, inter = c.intermediateSize
        let v = c.variant
        let xIn = take(n * d), inv1 = take(n), h1 = take(n * d)
        let q = take(n * qw), k = take(n * kvw), vv = take(n * kvw), probs = take(batch * c.headCount * length * length)
        let attn = take(n * qw), xMid = take(n * d), inv2 = take(n), h2 = take(n * d)
        let gate = take(n * inter), up = take(n * inter), act = take(n * inter)
        let qk = v.queryKeyNorm ? [take(n * qw), take(n * kvw), take(n * c.headCount), take(n * c.kvHeadCount)] : nil
        let post = v.postNorms ? [take(n * d), take(n), take(n * d), take(n)] : nil
        var loraOffsets: [(LoRATarget, Int, Int?, Int?)] = []
        for target in lora.targets {
            let u = take(n * lora.rank)
            if lora.dropout > 0 {
                let width = target.dimensions(c).input
                loraOffsets.append((target, u, take(n * width), take(n * width)))
            } else {
                loraOffsets.append((target, u, nil, nil))
            }
        }
        return { s in
            var a = BlockActivations(xIn: s + xIn, inv1: s + inv1, h1: s + h1, q: s + q, k: s + k, v: s + vv,
                                     probs: s + probs, attn: s + attn, xMid: s + xMid, inv2: s + inv2, h2: s + h2,
                                     gate: s + gate, up: s + up, act: s + act)
            if let qk { (a.qPre, a.kPre, a.invQ, a.invK) = (s + qk[0], s + qk[1], s + qk[2], s + qk[3]) }
            if let post { (a.oOut, a.invPostA, a.downOut, a.invPostM) = (s + post[0], s + post[1], s + post[2], s + post[3]) }
            for (target, u, input, mask) in loraOffsets {
                a.lora[target] = LoRA(u: s + u, input: input.map { s + $0 }, mask: mask.map { s + $0 })
            }
            return a
        }
    }
}

/// Buffers a block's forward pass uses and does not keep.
struct BlockScratch {
    var normed: UnsafeMutablePointer<Float>          // [n, D]  a post-norm's output before it joins the residual
    var loraU: UnsafeMutablePointer<Float>           // [n, r]  the low-rank product of a target without saved one
}
