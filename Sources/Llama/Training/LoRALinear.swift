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
        u: UnsafeMutablePointer<Float>?, out: UnsafeMutablePointer<Float>, accumulate: Bool = false,
        quantized: QuantGemm.QuantizedRows? = nil
    ) {
        guard let s = slot, let u else {
            base.frozenForward(id, input, rows: n, out: out, accumulate: accumulate, quantized: quantized)
            return
        }
        let (outF, inF) = (s.output, s.input)
        // u [r0..<r1, r] = loraInput · Aᵀ, and out [r0..<r1, n0..<n1] += scale · u · B[n0..<n1]ᵀ.
        func uRows(_ r0: Int, _ r1: Int) {
            Matmul.gemm(transA: false, transB: true, m: r1 - r0, n: s.rank, k: inF, a: loraInput + r0 * inF, lda: inF,
                        b: params + s.aOffset, ldb: inF, c: u + r0 * s.rank, ldc: s.rank)
        }
        func addTerm(rows r0: Int, _ r1: Int, columns n0: Int, _ n1: Int) {
            Matmul.gemm(transA: false, transB: true, m: r1 - r0, n: n1 - n0, k: s.rank, alpha: scale, a: u + r0 * s.rank,
                        lda: s.rank, b: params + s.bOffset + n0 * s.rank, ldb: s.rank, beta: 1, c: out + r0 * outF + n0, ldc: outF)
        }
        // Row halves on the two threads (each row's u and output depend only on that row).
        let items = halves(n)
        if base.frozenGemm == .int8 {
            // u first, then the adapter's term inside the int8 product's work items, over each
            // item's columns while they are still in its cache.
            ComputeThreads.parallelFor(items) { p in
                let (r0, r1) = ComputeThreads.part(p, of: n, parts: items)
                uRows(r0, r1)
            }
            base.frozenForward(id, input, rows: n, out: out, accumulate: accumulate, quantized: quantized) { n0, n1 in
                addTerm(rows: 0, n, columns: n0, n1)
            }
            return
        }
        base.frozenForward(id, input, rows: n, out: out, accumulate: accumulate, quantized: quantized)
        ComputeThreads.parallelFor(items) { p in
            let (r0, r1) = ComputeThreads.part(p, of: n, parts: items)
            uRows(r0, r1)
            addTerm(rows: r0, r1, columns: 0, outF)
        }
    }

    /// Two work items when the adapter products are worth splitting (training batches), else one.
    private static func halves(_ n: Int) -> Int { n >= 64 ? 2 : 1 }

    /// Rows per chunk of the backward's adapter products (a chunk of a 1536-wide dOut is 384 KB).
    static let chunk = 64

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
        let (outF, inF, r) = (s.output, s.input, s.rank)
        let items = halves(n)
        // Each item takes a half of the batch rows and walks it in chunks of `chunk` rows, doing
        // all four adapter products on a chunk while its rows of dOut are still in cache (dOut
        // is read once instead of twice; a gate/up dOut is 3 MB at 512 rows). Each item sums its
        // dB transposed (`dBᵀ [r, out]`, so the product reads dOut in place and needs no
        // transposed copy per chunk) into its own buffer, and the second item its dA too; they
        // are added into `grads` after both finish, so the result does not depend on which
        // thread ran which item.
        // work: each item's dBᵀ [r, out], the second item's dA [r, in], then Bᵀ [r, out].
        let sums = r * (items * outF + (items - 1) * inF)
        let work = UnsafeMutablePointer<Float>.allocate(capacity: sums + r * outF)
        work.initialize(repeating: 0, count: sums)
        defer { work.deallocate() }
        // Bᵀ [r, out], so that t = dOut · B reads both factors along rows (the skinny kernel).
        let bT = work + sums, b = params + s.bOffset
        for o in 0..<outF { for j in 0..<r { bT[j * outF + o] = b[o * r + j] } }
        ComputeThreads.parallelFor(items) { p in
            let (r0, r1) = ComputeThreads.part(p, of: n, parts: items)
            let dBt = work + p * r * outF, dA = p == 0 ? grads + s.aOffset : work + items * r * outF
            var c0 = r0
            while c0 < r1 {
                let rows = min(chunk, r1 - c0), dOutC = dOut + c0 * outF, xC = loraInput + c0 * inF, tC = t + c0 * r
                // t [rows, r] = dOut [rows, out] · B [out, r]
                Matmul.gemm(transA: false, transB: true, m: rows, n: r, k: outF, a: dOutC, lda: outF,
                            b: bT, ldb: outF, c: tC, ldc: r)
                // dBᵀ [r, out] += scale * u^T [r, rows] · dOut [rows, out]
                Matmul.gemm(transA: true, transB: false, m: r, n: outF, k: rows, alpha: scale, a: u + c0 * r, lda: r,
                            b: dOutC, ldb: outF, beta: 1, c: dBt, ldc: outF)
                // dA [r, in] += scale * t^T [r, rows] · loraInput [rows, in]
                Matmul.gemm(transA: true, transB: false, m: r, n: inF, k: rows, alpha: scale, a: tC, lda: r,
                            b: xC, ldb: inF, beta: 1, c: dA, ldc: inF)
                if inputGradient {
                    if let mask = dropoutMask {
                        // The adapter saw input ⊙ mask, so its input gradient is masked the same way.
                        let scratch = loraScratch + c0 * inF, dx = dInput + c0 * inF, m = mask + c0 * inF
                        Matmul.gemm(transA: false, transB: false, m: rows, n: inF, k: r, alpha: scale, a: tC, lda: r,
                                    b: params + s.aOffset, ldb: inF, c: scratch, ldc: inF)
                        for i in 0..<(rows * inF) { dx[i] += scratch[i] * m[i] }
                    } else {
                        // dInput [rows, in] += scale * t [rows, r] · A [r, in]
                        Matmul.gemm(transA: false, transB: false, m: rows, n: inF, k: r, alpha: scale, a: tC, lda: r,
                                    b: params + s.aOffset, ldb: inF, beta: 1, c: dInput + c0 * inF, ldc: inF)
                    }
                }
                c0 += rows
            }
        }
        let dB = grads + s.bOffset
        for p in 0..<items {
            let dBt = work + p * r * outF
            for o in 0..<outF { for j in 0..<r { dB[o * r + j] += dBt[j * outF + o] } }
        }
        if items > 1 {
            let dA = grads + s.aOffset, partial = work + items * r * outF
            for i in 0..<(inF * r) { dA[i] += partial[i] }
        }
    }
}
