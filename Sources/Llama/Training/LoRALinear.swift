import TensorMath

/// A frozen linear layer `W [out, in]` with an optional LoRA adapter
/// `y = x W^T + scale * (x A^T) B^T`, as a forward/backward pair over raw buffers.
///
/// Sizes: `n` rows; `A [r, in]` and `B [out, r]` live in an adapter's flat vector
/// (`params`), and their gradients at the same offsets in `grads`.
enum LoRALinear {
    /// `out = input W^T (+ scale * u B^T)`, where `u = loraInput A^T` is written to `u [n, r]`
    /// for the backward pass. `loraInput` is the input after dropout (the same as `input` without it).
    static func forward(
        input: UnsafePointer<Float>, loraInput: UnsafePointer<Float>, n: Int, base: LlamaModel, weight id: FrozenWeightID,
        slot: LoRASlot?, scale: Float, params: UnsafePointer<Float>,
        u: UnsafeMutablePointer<Float>?, out: UnsafeMutablePointer<Float>, accumulate: Bool = false
    ) {
        base.frozenForward(id, input, rows: n, out: out, accumulate: accumulate)
        guard let s = slot, let u else { return }
        let (outF, inF) = (s.output, s.input)
        Matmul.gemm(transA: false, transB: true, m: n, n: s.rank, k: inF, a: loraInput, lda: inF,
                    b: params + s.aOffset, ldb: inF, c: u, ldc: s.rank)
        Matmul.gemm(transA: false, transB: true, m: n, n: outF, k: s.rank, alpha: scale, a: u, lda: s.rank,
                    b: params + s.bOffset, ldb: s.rank, beta: 1, c: out, ldc: outF)
    }

    /// Given `dOut [n, out]`: adds `dOut W (+ scale * (dOut B) A ⊙ dropout mask)` into `dInput [n, in]`
    /// (or writes it when `accumulate` is false), and adds the adapter gradients
    /// `dB += scale * dOut^T u` and `dA += scale * (dOut B)^T loraInput`. The frozen weight gets no gradient.
    /// `t [n, r]` and `loraScratch [n, in]` are scratch buffers. With `inputGradient: false`
    /// (nothing below needs it, e.g. the first block's projections) only the adapter
    /// gradients are computed and `dInput` is not touched.
    static func backward(
        dOut: UnsafePointer<Float>, loraInput: UnsafePointer<Float>, n: Int, base: LlamaModel, weight id: FrozenWeightID,
        slot: LoRASlot?, scale: Float, params: UnsafePointer<Float>, grads: UnsafeMutablePointer<Float>,
        u: UnsafePointer<Float>?, dInput: UnsafeMutablePointer<Float>, accumulate: Bool,
        t: UnsafeMutablePointer<Float>, dropoutMask: UnsafePointer<Float>?, loraScratch: UnsafeMutablePointer<Float>,
        inputGradient: Bool = true
    ) {
        if inputGradient { base.frozenBackward(id, dOut, rows: n, dInput: dInput, accumulate: accumulate) }
        guard let s = slot, let u else { return }
        let (outF, inF) = (s.output, s.input)
        // dB [out, r] += scale * dOut^T [out, n] · u [n, r]
        Matmul.gemm(transA: true, transB: false, m: outF, n: s.rank, k: n, alpha: scale, a: dOut, lda: outF,
                    b: u, ldb: s.rank, beta: 1, c: grads + s.bOffset, ldc: s.rank)
        // t [n, r] = dOut [n, out] · B [out, r]
        Matmul.gemm(transA: false, transB: false, m: n, n: s.rank, k: outF, a: dOut, lda: outF,
                    b: params + s.bOffset, ldb: s.rank, c: t, ldc: s.rank)
        // dA [r, in] += scale * t^T [r, n] · loraInput [n, in]
        Matmul.gemm(transA: true, transB: false, m: s.rank, n: inF, k: n, alpha: scale, a: t, lda: s.rank,
                    b: loraInput, ldb: inF, beta: 1, c: grads + s.aOffset, ldc: inF)
        guard inputGradient else { return }
        if let mask = dropoutMask {
            // The adapter saw input ⊙ mask, so its input gradient is masked the same way.
            Matmul.gemm(transA: false, transB: false, m: n, n: inF, k: s.rank, alpha: scale, a: t, lda: s.rank,
                        b: params + s.aOffset, ldb: inF, c: loraScratch, ldc: inF)
            for i in 0..<(n * inF) { dInput[i] += loraScratch[i] * mask[i] }
        } else {
            // dInput [n, in] += scale * t [n, r] · A [r, in]
            Matmul.gemm(transA: false, transB: false, m: n, n: inF, k: s.rank, alpha: scale, a: t, lda: s.rank,
                        b: params + s.aOffset, ldb: inF, beta: 1, c: dInput, ldc: inF)
        }
    }
}
