#ifndef CKERNELS_H
#define CKERNELS_H

// Single-precision GEMM against a pre-packed right-hand side.
//
//   C[m, n] (+)= A[m, k] · B[k, n]
//
// A and C are row-major with leading dimensions lda / ldc. B is given only in
// packed form: column panels of CK_NR columns, each panel storing its k rows
// of CK_NR floats contiguously (panel p starts at p * k * CK_NR); columns past
// n in the last panel are zero. Any K block of a panel is therefore contiguous,
// so B never has to be re-packed per call. A is read in place (not packed).
//
// The two product forms of a linear layer with weight W[out, in] (row-major):
//   forward  Y[m, out] = X[m, in] · Wᵀ  -> B = Wᵀ (k = in,  n = out): ck_pack_b_nt
//   backward dX[m, in] = dY[m, out] · W -> B = W  (k = out, n = in):  ck_pack_b_nn

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Columns per packed panel of B.
#define CK_NR 16

/// Floats needed to hold B[k, n] packed (n rounded up to CK_NR).
size_t ck_packed_count(int k, int n);

/// Packs B = Wᵀ for W[out, in] row-major (k = in, n = out) into dst
/// (ck_packed_count(in, out) floats, 32-byte aligned).
void ck_pack_b_nt(const float *w, int out, int in, float *dst);

/// Packs B = W for W[out, in] row-major (k = out, n = in) into dst
/// (ck_packed_count(out, in) floats, 32-byte aligned).
void ck_pack_b_nn(const float *w, int out, int in, float *dst);

/// Packs op(B)[k, n] scaled by alpha into dst (ck_packed_count(k, n) floats), with
/// op(B)[kk][j] = trans ? b[j * ldb + kk] : b[kk * ldb + j]: the two above, and the
/// per-call packing of ck_sgemm.
void ck_pack_b(int trans, int k, int n, float alpha, const float *b, long ldb, float *dst);

/// 64-byte aligned allocation for packed panels; free with ck_free.
void *ck_alloc(size_t bytes);
void ck_free(void *p);

/// C[m, n] (+)= A[m, k] · Bpacked[k, n] on up to `threads` threads (1 or 2:
/// the calling thread plus one persistent worker, started on first use). If
/// another call is already using the worker, this call runs on the calling
/// thread only, so the function is safe to call from several threads at once.
/// Both threads take column ranges in turn (ck_parallel_for), so a late or
/// preempted worker only costs its share. After a job the worker polls for the
/// next one for ~100 us, yielding the CPU to any runnable thread, then sleeps; if
/// it finds itself on the caller's CPU it moves itself off it (worker_pool.c).
/// accumulate = 0 overwrites C, accumulate != 0 adds to it.
void ck_gemm_packed(int m, int n, int k, const float *a, long lda,
                    const float *bp, float *c, long ldc, int accumulate, int threads);

/// Same product restricted to the columns [n0, n1) of C and B (single-threaded;
/// n0 must be a multiple of CK_NR). Lets a caller split the work itself.
void ck_gemm_packed_cols(int m, int n, int k, const float *a, long lda,
                         const float *bp, float *c, long ldc, int accumulate,
                         int n0, int n1);

/// Row-major C[m, n] = alpha * op(A)[m, k] · op(B)[k, n] + beta * C, with op(X) = Xᵀ
/// when trans_x != 0 (cblas_sgemm's row-major contract), on the calling thread only
/// (small_gemm.c: skinny dot products for n <= 8 < m, B read in place by register tiles
/// when it is not transposed and small or read once, else op(B) packed per call into
/// per-thread scratch for the packed micro-kernel). beta == 0 overwrites C (NaN in C does
/// not survive). Returns 0, or -1 when scratch memory could not be allocated (C untouched).
int ck_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
             const float *a, long lda, const float *b, long ldb,
             float beta, float *c, long ldc);

/// 1 if this build uses the AVX2/FMA micro-kernel, 0 for the portable fallback.
int ck_uses_avx2(void);

/// The F32 kernels' instruction set (packed micro-kernel, ck_sgemm's in-place tiles): 2 =
/// AVX-512F (512-bit registers), 1 = AVX2/FMA, 0 = portable C. The 512-bit and 256-bit
/// kernels give identical bits. ck_f32_isa_available: what this CPU has (CPUID, once;
/// FEDPILOT_F32_ISA=avx2 lowers it); ck_f32_isa: what is used; ck_f32_set_isa(limit): use at
/// most `limit` (-1: no limit), returns the ISA now used.
int ck_f32_isa_available(void);
int ck_f32_isa(void);
int ck_f32_set_isa(int limit);

/// Tuning knobs (benchmarks only). Values <= 0 leave a knob unchanged.
/// mc: rows per A block, kc: max depth per K block, chunk: max columns per
/// work item, spin_us: how long the worker polls (yielding) before sleeping,
/// items_per_thread: work items per thread.
void ck_set_tuning(int mc, int kc, int chunk, int spin_us, int items_per_thread);
/// a_bytes: size of A above which the K-outer loop order is used;
/// kc_outer: K block depth in that order.
void ck_set_tuning_large_a(double a_bytes, int kc_outer);

/// Largest of a[0..<n] (-infinity when n == 0); NaN entries are skipped.
float ck_max_f32(const float *a, long n);

/// dst[i] = e^(src[i] - shift) for i < n (dst may be src), bit for bit Swift's
/// BackwardMath.exp (Cephes range reduction and polynomial, no FMA), 8 lanes at a time.
void ck_exp_shifted(const float *src, float shift, float *dst, long n);

/// One work item of a parallel loop: `item` in [0, items).
typedef void (*ck_item_fn)(void *ctx, int item);

/// Runs fn(ctx, item) for every item in [0, items) on up to `threads` threads (1
/// or 2: the calling thread plus the process's one persistent worker, started on
/// first use; worker_pool.c). Items are claimed in order from a shared counter,
/// so a late or preempted worker only costs the item it is on. If another call
/// is already using the worker (a concurrent or nested call), this one runs all
/// its items on the calling thread. Items must be independent of each other.
/// Returns when every item has finished.
void ck_parallel_for(int items, int threads, ck_item_fn fn, void *ctx);

/// How long the worker polls (yielding) for the next job before it sleeps.
void ck_pool_set_spin(int spin_us);

/// Diagnostics of the two-thread pool since start: out[0] threaded calls,
/// out[1] calls the worker joined, out[2] work items the worker ran,
/// out[3] calls that ran alone because the worker was busy with another caller,
/// out[4] times the worker moved off the caller's CPU.
void ck_pool_stats(long out[5]);


// ---- Products with weights kept in ggml's quantized blocks (quant_gemm.c) ----
//
// A weight W[n, k] is n rows of k/32 blocks, in the GGUF byte layout (little-endian f16):
//   Q4_0 (18 bytes): d, 16 bytes of nibbles;      w = (q - 8) · d
//   Q4_1 (20 bytes): d, m, 16 bytes of nibbles;   w = q · d + m
//   Q8_0 (34 bytes): d, 32 signed bytes;          w = q · d
// In a nibble byte j, the low nibble is element j and the high one element j + 16.
// k must be a multiple of 32.

/// Block type codes (ggml's type ids).
#define CK_Q4_0 2
#define CK_Q4_1 3
#define CK_Q8_0 8
/// Q4_K (super-blocks of 256: f16 d, dmin, 12 bytes of 6-bit scales and minimums, 128 bytes of
/// nibbles; w = d·sc·q - dmin·m per sub-block of 32): the interleaved products only (ck_qi_*,
/// k a multiple of 256); the GGUF-layout functions above do not take it.
#define CK_Q4_K 12
/// Q5_0 (22 bytes: d, 32 fifth bits as a little-endian u32, 16 bytes of nibbles; w = (q - 16) · d,
/// bit j the fifth bit of element j): the interleaved products only.
#define CK_Q5_0 6
/// Q6_K (super-blocks of 256, 210 bytes: 128 bytes of low nibbles, 64 bytes of high bit pairs,
/// 16 signed 8-bit scales (one per 16 weights), f16 d; w = d·sc·(q - 32)): the interleaved
/// products only (k a multiple of 256).
#define CK_Q6_K 14
/// Q5_K (super-blocks of 256, 176 bytes: f16 d, dmin, 12 bytes of 6-bit scales and minimums as
/// Q4_K's, 32 bytes of fifth bits, 128 bytes of nibbles as Q4_K's; w = d·sc·q - dmin·m, q 0..31):
/// the interleaved products only (k a multiple of 256).
#define CK_Q5_K 13

/// An activation block: 32 int8 values, scale d (x ≈ q · d), s = d · Σq and bias = -128 · Σq
/// (the integer correction of a dot product against unsigned weights w + 128, which the 512-bit
/// Q8_0 tile starts its accumulators from).
typedef struct {
    float d;
    float s;
    int32_t bias;
    int8_t q[32];
} ck_q8_block;

/// Bytes per weight block of `type`, 0 for an unsupported type.
int ck_quant_block_bytes(int type);

/// Dequantizes k elements (whole blocks) of a `type` row into dst.
void ck_dequantize_row(int type, const void *src, int k, float *dst);

/// Quantizes k floats (whole blocks) to Q8_0 weight blocks (round to nearest, d = amax / 127).
void ck_quantize_row_q8_0(const float *x, int k, void *dst);

/// Quantizes m rows of A[m, k] (leading dimension lda) to m · k/32 activation blocks.
void ck_q8_quantize_rows(const float *a, int m, int k, long lda, ck_q8_block *dst);

/// C[m, j] (+)= Σ_t A[m, t] · W[j, t] for the weight rows j in [n0, n1), from the
/// quantized activations aq (ck_q8_quantize_rows) in integer arithmetic.
void ck_qgemm_cols(int type, int m, int n, int k, const ck_q8_block *aq, const void *w,
                   float *c, long ldc, int accumulate, int n0, int n1);

/// Naive reference: c[m, n] = A · Wᵀ in double over the dequantized weights; with aq
/// non-null the activations are the dequantized aq instead of A.
void ck_qgemm_ref(int type, int m, int n, int k, const float *a, long lda, const ck_q8_block *aq,
                  const void *w, double *c);

/// The input gradient dX[i, :] (+)= Σ_j dY[i, j] · W[j, :] for the rows i in [i0, i1) of
/// dY[m, n] (leading dimension lddy) and dX[m, k] (lddx), with W[n, k] dequantized block by
/// block in registers (F32 FMA).
void ck_qgemm_backward_rows(int type, int m, int n, int k, const float *dy, long lddy, const void *w,
                            float *dx, long lddx, int accumulate, int i0, int i1);

/// Naive reference: dx[m, k] = dY · W in double over the dequantized weights.
void ck_qgemm_backward_ref(int type, int m, int n, int k, const float *dy, long lddy, const void *w, double *dx);

// ---- The same products on weights repacked into 8-row groups (quant_interleaved.c) ----
//
// ck_qi_pack copies a weight in the GGUF block layout above into the interleaved layout
// (ck_qi_bytes bytes, same bit width; Q8_0 adds 2 bytes per block for Σq), taking source
// row row_order[r] as row r when row_order is non-null. Returns 0, or -1 on a bad argument.

/// Bytes of the interleaved form of a [rows, k] weight of `type` (0 for an unsupported type;
/// Q4_K, Q5_K and Q6_K need k a multiple of 256, their source rows are k/256 blocks of 144, 176 and
/// 210 bytes).
size_t ck_qi_bytes(int type, int rows, int k);
int ck_qi_pack(int type, int rows, int k, const void *src, const int32_t *row_order, void *dst);
/// Row `row` of an interleaved weight dequantized into dst (k floats).
void ck_qi_dequantize_row(int type, const void *qi, int k, int row, float *dst);

/// Instruction set of the forward kernels: 2 = AVX512-VNNI, 1 = AVX2, 0 = portable C.
/// ck_qi_isa_available: what this CPU supports (CPUID); ck_qi_isa: what is used;
/// ck_qi_set_isa(limit): use at most `limit` (-1: no limit), returns the ISA now used.
int ck_qi_isa_available(void);
int ck_qi_isa(void);
int ck_qi_set_isa(int limit);

/// C[i, j] (+)= Σ_t A[i, t] · W[j, t] for the weight rows j in [n0, n1) (n0 a multiple of
/// 8; n1 = n or a multiple of 8) from the quantized activations aq[m, k/32].
void ck_qi_gemm_cols(int type, int m, int n, int k, const ck_q8_block *aq, const void *qi, float *c, long ldc,
                     int accumulate, int n0, int n1);

/// dX[i, t] (+)= Σ_j dY[i, j] · W[j, t] for the columns t in [c0, c1) (c0 a multiple of 16),
/// all m rows: W is dequantized 16 · panels columns at a time into packed F32 panels and
/// multiplied with the packed F32 micro-kernel (single-threaded).
void ck_qi_backward_cols(int type, int m, int n, int k, const float *dy, long lddy, const void *qi, float *dx,
                         long lddx, int accumulate, int c0, int c1);
/// Columns per chunk of the input gradient, in panels of 16 (tuning; <= 0 leaves it).
void ck_qi_set_backward_panels(int panels);

/// The input gradient through a transposed copy: Wᵀ[k, n32] (n32 = n rounded up to 32, zero
/// past n) requantized to Q8_0 along n, in the interleaved Q8_0 layout (ck_qt_bytes bytes), built
/// once from the interleaved weight qi of `type` by ck_qt_build (32 rows of W dequantized at a
/// time; returns 0, or -1 on a bad argument). Then dX (+)= dY · W is
///   ck_q8_quantize_rows_padded(dY, m, n, lddy, aq);   // aq: m · n32/32 blocks
///   ck_qi_gemm_cols(CK_Q8_0, m, k, n32, aq, qt, dX, lddx, accumulate, c0, c1);
size_t ck_qt_bytes(int n, int k);
int ck_qt_build(int type, int n, int k, const void *qi, void *dst);
/// ck_q8_quantize_rows for any n: the last block of each row is zero-padded to 32; writes
/// (n + 31) / 32 blocks per row.
void ck_q8_quantize_rows_padded(const float *a, int m, int n, long lda, ck_q8_block *dst);

/// Naive references over the dequantized interleaved weight, in double (see ck_qgemm_ref).
void ck_qi_gemm_ref(int type, int m, int n, int k, const float *a, long lda, const ck_q8_block *aq, const void *qi,
                    double *c);
void ck_qi_backward_ref(int type, int m, int n, int k, const float *dy, long lddy, const void *qi, double *dx);

/// float -> bfloat16 (the top 16 bits), rounded to nearest with ties to even; NaN stays NaN.
/// dst holds count 16-bit values (any alignment of 2).
void ck_f32_to_bf16(const float *src, void *dst, size_t count);
/// bfloat16 -> float, exact.
void ck_bf16_to_f32(const void *src, float *dst, size_t count);
/// float -> IEEE half (little-endian), rounded to nearest with ties to even, subnormal halves
/// included; beyond the half range: infinity; NaN stays NaN. F16C when compiled in.
void ck_f32_to_f16(const float *src, void *dst, size_t count);
/// The same conversion one value at a time without F16C (the reference of the tests).
void ck_f32_to_f16_reference(const float *src, void *dst, size_t count);
/// IEEE half -> float, exact.
void ck_f16_to_f32(const void *src, float *dst, size_t count);
/// ck_f32_to_f16 of the first cols floats of rows rows at stride ld, packed into dst
/// (rows * cols halves), and its inverse.
void ck_f32_to_f16_rows(const float *src, long ld, int rows, int cols, void *dst);
void ck_f16_to_f32_rows(const void *src, int rows, int cols, float *dst, long ld);

#ifdef __cplusplus
}
#endif

#endif
