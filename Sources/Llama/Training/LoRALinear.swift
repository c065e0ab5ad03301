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
        // Row halves on the two threads (each row's u and output depend only on that row).
        let items = halves(n)
        ComputeThreads.parallelFor(items) { p in
            let (r0, r1) = ComputeThreads.part(p, of: n, parts: items)
            Matmul.gemm(transA: false, transB: true, m: r1 - r0, n: s.rank, k: inF, a: loraInput + r0 * inF, lda: inF,
                        b: params + s.aOffset, ldb: inF, c: u + r0 * s.rank, ldc: s.rank)
            Matmul.gemm(transA: false, transB: true, m: r1 - r0, n: outF, k: s.rank, alpha: scale, a: u + r0 * s.rank, lda: s.rank,
                        b: params + s.bOffset, ldb: s.rank, beta: 1, c: out + r0 * outF, ldc: outF)
        }
    }

    /// Two work items when the adapter products are worth splitting (training batches), else one.
    private static func halves(_ n: Int) -> Int { n >= 64 ? 2 : 1 }

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
        let items = halves(n)
        // First dB (split by its rows) and t (split by the batch rows), then dA (split by its
        // columns, it needs all of t) and the input gradient (by the batch rows).
        ComputeThreads.parallelFor(items) { p in
            let (o0, o1) = ComputeThreads.part(p, of: outF, parts: items)
            let (r0, r1) = ComputeThreads.part(p, of: n, parts: items)
            // dB [out, r] += scale * dOut^T [out, n] · u [n, r]
            Matmul.gemm(transA: true, transB: false, m: o1 - o0, n: s.rank, k: n, alpha: scale, a: dOut + o0, lda: outF,
                        b: u, ldb: s.rank, beta: 1, c: grads + s.bOffset + o0 * s.rank, ldc: s.rank)
            // t [n, r] = dOut [n, out] · B [out, r]
            Matmul.gemm(transA: false, transB: false, m: r1 - r0, n: s.rank, k: outF, a: dOut + r0 * outF, lda: outF,
                        b: params + s.bOffset, ldb: s.rank, c: t + r0 * s.rank, ldc: s.rank)
        }
        ComputeThreads.parallelFor(items) { p in
            let (c0, c1) = ComputeThreads.part(p, of: inF, parts: items)
            let (r0, r1) = ComputeThreads.part(p, of: n, parts: items)
            // dA [r, in] += scale * t^T [r, n] · loraInput [n, in]
            Matmul.gemm(transA: true, transB: false, m: s.rank, n: c1 - c0, k: n, alpha: scale, a: t, lda: s.rank,
                        b: loraInput + c0, ldb: inF, beta: 1, c: grads + s.aOffset + c0, ldc: inF)
            guard inputGradient else { return }
            let rows = r1 - r0, tr = t + r0 * s.rank
            if let mask = dropoutMask {
                // The adapter saw input ⊙ mask, so its input gradient is masked the same way.
                let scratch = loraScratch + r0 * inF, dx = dInput + r0 * inF, m = mask + r0 * inF
                Matmul.gemm(transA: false, transB: false, m: rows, n: inF, k: s.rank, alpha: scale, a: tr, lda: s.rank,
                            b: params + s.aOffset, ldb: inF, c: scratch, ldc: inF)
                for i in 0..<(rows * inF) { dx[i] += scratch[i] * m[i] }
            } else {
                // dInput [n, in] += scale * t [n, r] · A [r, in]
                Matmul.gemm(transA: false, transB: false, m: rows, n: inF, k: s.rank, alpha: scale, a: tr, lda: s.rank,
                            b: params + s.aOffset, ldb: inF, beta: 1, c: dInput + r0 * inF, ldc: inF)
            }
        }
    }
}
