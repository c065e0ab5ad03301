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

/// 64-byte aligned allocation for packed panels; free with ck_free.
void *ck_alloc(size_t bytes);
void ck_free(void *p);

/// C[m, n] (+)= A[m, k] · Bpacked[k, n] on up to `threads` threads (1 or 2:
/// the calling thread plus one persistent worker, started on first use). If
/// another call is already using the worker, this call runs on the calling
/// thread only, so the function is safe to call from several threads at once.
/// Both threads take column ranges in turn, so a late or preempted worker only
/// costs its share. After a job the worker polls for the next one for ~100 us,
/// yielding the CPU to any runnable thread (e.g. OpenBLAS's), then sleeps; if
/// it finds itself on the caller's CPU it moves itself off it (see the .c file).
/// accumulate = 0 overwrites C, accumulate != 0 adds to it.
void ck_gemm_packed(int m, int n, int k, const float *a, long lda,
                    const float *bp, float *c, long ldc, int accumulate, int threads);

/// Same product restricted to the columns [n0, n1) of C and B (single-threaded;
/// n0 must be a multiple of CK_NR). Lets a caller split the work itself.
void ck_gemm_packed_cols(int m, int n, int k, const float *a, long lda,
                         const float *bp, float *c, long ldc, int accumulate,
                         int n0, int n1);

/// 1 if this build uses the AVX2/FMA micro-kernel, 0 for the portable fallback.
int ck_uses_avx2(void);

/// Tuning knobs (benchmarks only). Values <= 0 leave a knob unchanged.
/// mc: rows per A block, kc: max depth per K block, chunk: max columns per
/// work item, spin_us: how long the worker polls (yielding) before sleeping,
/// items_per_thread: work items per thread.
void ck_set_tuning(int mc, int kc, int chunk, int spin_us, int items_per_thread);
/// a_bytes: size of A above which the K-outer loop order is used;
/// kc_outer: K block depth in that order.
void ck_set_tuning_large_a(double a_bytes, int kc_outer);

/// Diagnostics of the two-thread pool since start: out[0] threaded calls,
/// out[1] calls the worker joined, out[2] work items the worker ran,
/// out[3] calls that ran alone because the worker was busy with another caller,
/// out[4] times the worker moved off the caller's CPU.
void ck_pool_stats(long out[5]);

#ifdef __cplusplus
}
#endif

#endif
