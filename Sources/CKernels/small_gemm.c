// General row-major SGEMM on the packed micro-kernel (packed_gemm.c), for the
// project's many small products: attention per head, the rank-r adapter
// products. OpenBLAS did these before; Debian's 0.3.21 does not know every
// CPU it meets and then falls back to its SSE3 "Prescott" kernels (measured on
// a 2-core Intel Xeon with AVX-512: 21% of an int8 training step in
// sgemm_kernel_PRESCOTT), and its result depends on the kernel it picks.
//
// Three paths, all on the calling thread (callers parallelise above them):
// - Few columns (n <= 8 < m, the rank-8 adapter products u = x·Aᵀ and t = dY·B):
//   dot products of contiguous rows (skinny_nt below); dYᵀ·u as (uᵀ·dY)ᵀ on
//   the in-place tiles.
// - B not transposed, and small enough to stay in cache or read once (A with
//   at most 8 rows) (most of these products: P·V and the attention gradients,
//   the adapter gradients): a 6 x 16 register tile reads B's rows where they are and
//   broadcasts op(A) through its strides, transposed or not. Nothing is copied:
//   for the adapter gradients (C = Aᵀ·B with 8 rows or columns) packing cost
//   more than the product (measured: 11% of an int8 training step in the
//   packing alone, and 10% in rank-1 updates that loaded and stored C).
// - Otherwise: op(B) (scaled by alpha) packed into NR-wide panels in a
//   per-thread scratch buffer, op(A) copied into row-major order when
//   transposed, then the packed micro-kernel of packed_gemm.c.

#include "CKernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// Per-thread scratch, grown on demand and kept for the thread's next call.
typedef struct {
    float *p;
    size_t cap;
} scratch_t;

static _Thread_local scratch_t tl_b, tl_a;

static float *scratch(scratch_t *s, size_t floats) {
    if (floats > s->cap) {
        ck_free(s->p);
        s->cap = floats + floats / 4;
        s->p = ck_alloc(sizeof(float) * s->cap);
        if (!s->p) { s->cap = 0; return NULL; }
    }
    return s->p;
}

static void scale_c(int m, int n, float beta, float *c, long ldc) {
    for (int i = 0; i < m; ++i) {
        float *row = c + (size_t)i * ldc;
        if (beta == 0) memset(row, 0, sizeof(float) * (size_t)n);
        else for (int j = 0; j < n; ++j) row[j] *= beta;
    }
}

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

// Lanes [0, n) of a vector (n in 0...8).
static inline __m256i lanes(int n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

// C[6 rows, nr <= 16 columns] = alpha * sum_p opA(i, p) * b[p * ldb + j] + beta * C,
// opA(i, p) = a[i * ars + p * aks]. Rows past mr repeat the last valid row and are
// not stored. WIDE: two vectors per row (nr > 8), else one.
#define DIRECT_TILE(NAME, WIDE)                                                              \
static void NAME(int mr, int nr, int k, float alpha, const float *a, long ars, long aks,      \
                 const float *b, long ldb, float beta, float *c, long ldc) {                  \
    const float *r[6];                                                                       \
    for (int i = 0; i < 6; ++i) r[i] = a + (size_t)(i < mr ? i : mr - 1) * ars;              \
    const __m256i m0 = lanes(nr < 8 ? nr : 8), m1 = lanes(nr > 8 ? nr - 8 : 0);              \
    __m256 c00 = _mm256_setzero_ps(), c10 = c00, c20 = c00, c30 = c00, c40 = c00, c50 = c00; \
    __m256 c01 = c00, c11 = c00, c21 = c00, c31 = c00, c41 = c00, c51 = c00;                  \
    for (long p = 0; p < k; ++p) {                                                           \
        const float *bp = b + p * ldb;                                                       \
        const __m256 b0 = nr >= 8 ? _mm256_loadu_ps(bp) : _mm256_maskload_ps(bp, m0);        \
        const __m256 b1 = WIDE ? (nr >= 16 ? _mm256_loadu_ps(bp + 8) : _mm256_maskload_ps(bp + 8, m1)) : b0; \
        const long o = p * aks;                                                              \
        __m256 x;                                                                            \
        x = _mm256_broadcast_ss(r[0] + o); c00 = _mm256_fmadd_ps(x, b0, c00); if (WIDE) c01 = _mm256_fmadd_ps(x, b1, c01); \
        x = _mm256_broadcast_ss(r[1] + o); c10 = _mm256_fmadd_ps(x, b0, c10); if (WIDE) c11 = _mm256_fmadd_ps(x, b1, c11); \
        x = _mm256_broadcast_ss(r[2] + o); c20 = _mm256_fmadd_ps(x, b0, c20); if (WIDE) c21 = _mm256_fmadd_ps(x, b1, c21); \
        x = _mm256_broadcast_ss(r[3] + o); c30 = _mm256_fmadd_ps(x, b0, c30); if (WIDE) c31 = _mm256_fmadd_ps(x, b1, c31); \
        x = _mm256_broadcast_ss(r[4] + o); c40 = _mm256_fmadd_ps(x, b0, c40); if (WIDE) c41 = _mm256_fmadd_ps(x, b1, c41); \
        x = _mm256_broadcast_ss(r[5] + o); c50 = _mm256_fmadd_ps(x, b0, c50); if (WIDE) c51 = _mm256_fmadd_ps(x, b1, c51); \
    }                                                                                        \
    const __m256 acc[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}}; \
    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);                      \
    for (int i = 0; i < mr; ++i) {                                                          \
        for (int h = 0; h < (WIDE ? 2 : 1); ++h) {                                           \
            float *cp = c + (size_t)i * ldc + 8 * h;                                         \
            const int w = h == 0 ? (nr < 8 ? nr : 8) : nr - 8;                               \
            const __m256i m = h == 0 ? m0 : m1;                                              \
            __m256 v = _mm256_mul_ps(va, acc[i][h]);                                         \
            if (beta != 0) {                                                                 \
                const __m256 old = w == 8 ? _mm256_loadu_ps(cp) : _mm256_maskload_ps(cp, m); \
                v = _mm256_fmadd_ps(vb, old, v);                                             \
            }                                                                                \
            if (w == 8) _mm256_storeu_ps(cp, v); else _mm256_maskstore_ps(cp, m, v);         \
        }                                                                                    \
    }                                                                                        \
}
DIRECT_TILE(direct_6x16, 1)
DIRECT_TILE(direct_6x8, 0)

// The same products in 512-bit registers (AVX-512F, chosen at run time): 8 rows x up to 32
// columns (WIDE: two zmm per row), masked loads and stores at the column tail. Each C element
// is the same FMA chain over p, then the same alpha/beta arithmetic, as in the tiles above, so
// the two give identical bits.
#define DIRECT_TILE_Z(NAME, WIDE)                                                            \
static __attribute__((target("avx512f"))) void NAME(int mr, int nr, int k, float alpha,       \
        const float *a, long ars, long aks, const float *b, long ldb, float beta, float *c, long ldc) { \
    const float *r[8];                                                                       \
    for (int i = 0; i < 8; ++i) r[i] = a + (size_t)(i < mr ? i : mr - 1) * ars;              \
    const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);          \
    const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0; \
    __m512 acc[8][2];                                                                        \
    for (int i = 0; i < 8; ++i) acc[i][0] = acc[i][1] = _mm512_setzero_ps();                 \
    for (long p = 0; p < k; ++p) {                                                           \
        const float *bp = b + p * ldb;                                                       \
        const __m512 b0 = _mm512_maskz_loadu_ps(m0, bp);                                     \
        const __m512 b1 = WIDE ? _mm512_maskz_loadu_ps(m1, bp + 16) : b0;                    \
        const long o = p * aks;                                                              \
        for (int i = 0; i < 8; ++i) {                                                        \
            const __m512 x = _mm512_set1_ps(r[i][o]);                                        \
            acc[i][0] = _mm512_fmadd_ps(x, b0, acc[i][0]);                                   \
            if (WIDE) acc[i][1] = _mm512_fmadd_ps(x, b1, acc[i][1]);                         \
        }                                                                                    \
    }                                                                                        \
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);                      \
    for (int i = 0; i < mr; ++i) {                                                          \
        for (int h = 0; h < (WIDE ? 2 : 1); ++h) {                                           \
            float *cp = c + (size_t)i * ldc + 16 * h;                                        \
            const __mmask16 m = h == 0 ? m0 : m1;                                            \
            __m512 v = _mm512_mul_ps(va, acc[i][h]);                                         \
            if (beta != 0) v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, cp), v);         \
            _mm512_mask_storeu_ps(cp, m, v);                                                 \
        }                                                                                    \
    }                                                                                        \
}
DIRECT_TILE_Z(direct_8x32_z, 1)
DIRECT_TILE_Z(direct_8x16_z, 0)

typedef void (*direct_tile_t)(int mr, int nr, int k, float alpha, const float *a, long ars, long aks,
                              const float *b, long ldb, float beta, float *c, long ldc);

// C = alpha * op(A)·B + beta * C with B [k, n] read in place (row stride ldb), in tiles of
// 6 x 16 (AVX2) or 8 x 32 (AVX-512F); a column tail of at most half a tile takes the narrow tile.
static void direct_gemm(int trans_a, int m, int n, int k, float alpha, const float *a, long lda,
                        const float *b, long ldb, float beta, float *c, long ldc) {
    const int z = ck_f32_isa() == 2;
    const int th = z ? 8 : 6, tw = z ? 32 : 16;
    const direct_tile_t wide = z ? direct_8x32_z : direct_6x16, narrow = z ? direct_8x16_z : direct_6x8;
    const long ars = trans_a ? 1 : lda, aks = trans_a ? lda : 1;
    for (int i0 = 0; i0 < m; i0 += th) {
        const int mr = m - i0 < th ? m - i0 : th;
        for (int j0 = 0; j0 < n; j0 += tw) {
            const int nr = n - j0 < tw ? n - j0 : tw;
            (nr > tw / 2 ? wide : narrow)(mr, nr, k, alpha, a + (size_t)i0 * ars, ars, aks, b + j0, ldb, beta,
                                          c + (size_t)i0 * ldc + j0, ldc);
        }
    }
}

// Skinny products, C[m, n <= 8] = alpha * A[m, k] · Btᵀ + beta * C with Bt [n, k] row-major,
// row stride ldbt (the adapter's u = x·Aᵀ and t = dY·B): each C element is a dot product of two contiguous rows,
// vectorized along k in 16 lanes (lane l sums p ≡ l mod 16, zero-padded at the k tail), then
// reduced as 16 -> 8 -> 4 -> 2 -> 1 by halves. The register tiles above would use 8 of their
// 16 or 32 columns here. The 512-bit kernel holds the 16 lanes in one zmm, the 256-bit one in
// two ymm (lanes 0-7, 8-15), and both reduce in the same order, so they give identical bits;
// every element is computed the same way whatever the row tile, so splitting the rows between
// threads does not change them.
// v + beta * c as the tiles store it (beta 0 overwrites: a NaN in C does not survive).
static inline float plus_beta_c(float v, float beta, const float *c) {
    return beta != 0 ? fmaf(beta, *c, v) : v;
}

static inline float reduce8(__m256 s) {  // 8 -> 4 -> 2 -> 1 by halves
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}

// Lanes [0, n) of a 256-bit load, n in 0...8 (the k tail).
static inline __m256 load_tail(const float *p, int n) {
    return n >= 8 ? _mm256_loadu_ps(p) : n <= 0 ? _mm256_setzero_ps() : _mm256_maskload_ps(p, lanes(n));
}

// 256-bit: 2 rows x 2 columns, each element's 16 lanes in two ymm (8 accumulators; more spill).
static void skinny_nt(int m, int n, int k, float alpha, const float *a, long lda, const float *bt,
                      long ldbt, float beta, float *c, long ldc) {
    const int k16 = k & ~15, rem = k - k16;
    for (int i0 = 0; i0 < m; i0 += 2) {
        const float *ar[2] = {a + (size_t)i0 * lda, a + (size_t)(i0 + 1 < m ? i0 + 1 : i0) * lda};
        for (int j0 = 0; j0 < n; j0 += 2) {
            const float *br[2] = {bt + (size_t)j0 * ldbt, bt + (size_t)(j0 + 1 < n ? j0 + 1 : j0) * ldbt};
            __m256 lo[2][2], hi[2][2];
            for (int r = 0; r < 2; ++r) lo[r][0] = lo[r][1] = hi[r][0] = hi[r][1] = _mm256_setzero_ps();
            for (int p = 0; p < k16; p += 16) {
                const __m256 b0l = _mm256_loadu_ps(br[0] + p), b0h = _mm256_loadu_ps(br[0] + p + 8);
                const __m256 b1l = _mm256_loadu_ps(br[1] + p), b1h = _mm256_loadu_ps(br[1] + p + 8);
                for (int r = 0; r < 2; ++r) {
                    const __m256 xl = _mm256_loadu_ps(ar[r] + p), xh = _mm256_loadu_ps(ar[r] + p + 8);
                    lo[r][0] = _mm256_fmadd_ps(xl, b0l, lo[r][0]);
                    hi[r][0] = _mm256_fmadd_ps(xh, b0h, hi[r][0]);
                    lo[r][1] = _mm256_fmadd_ps(xl, b1l, lo[r][1]);
                    hi[r][1] = _mm256_fmadd_ps(xh, b1h, hi[r][1]);
                }
            }
            if (rem) {
                for (int j = 0; j < 2; ++j) {
                    const __m256 bl = load_tail(br[j] + k16, rem), bh = load_tail(br[j] + k16 + 8, rem - 8);
                    for (int r = 0; r < 2; ++r) {
                        lo[r][j] = _mm256_fmadd_ps(load_tail(ar[r] + k16, rem), bl, lo[r][j]);
                        hi[r][j] = _mm256_fmadd_ps(load_tail(ar[r] + k16 + 8, rem - 8), bh, hi[r][j]);
                    }
                }
            }
            for (int r = 0; r < 2 && i0 + r < m; ++r) {
                for (int j = 0; j < 2 && j0 + j < n; ++j) {
                    float *cp = c + (size_t)(i0 + r) * ldc + j0 + j;
                    *cp = plus_beta_c(alpha * reduce8(_mm256_add_ps(lo[r][j], hi[r][j])), beta, cp);
                }
            }
        }
    }
}

// The same in 512-bit registers: 2 rows x 8 columns, 16 zmm accumulators.
static __attribute__((target("avx512f"))) void skinny_nt_z(int m, int n, int k, float alpha, const float *a,
        long lda, const float *bt, long ldbt, float beta, float *c, long ldc) {
    const int k16 = k & ~15, rem = k - k16;
    const __mmask16 tail = (__mmask16)((1u << rem) - 1);
    const float *br[8];
    for (int j = 0; j < 8; ++j) br[j] = bt + (size_t)(j < n ? j : n - 1) * ldbt;
    for (int i0 = 0; i0 < m; i0 += 2) {
        const float *ar[2] = {a + (size_t)i0 * lda, a + (size_t)(i0 + 1 < m ? i0 + 1 : i0) * lda};
        __m512 acc[2][8];
        for (int j = 0; j < 8; ++j) acc[0][j] = acc[1][j] = _mm512_setzero_ps();
        for (int p = 0; p < k16; p += 16) {
            const __m512 x0 = _mm512_loadu_ps(ar[0] + p), x1 = _mm512_loadu_ps(ar[1] + p);
            for (int j = 0; j < 8; ++j) {
                const __m512 b = _mm512_loadu_ps(br[j] + p);
                acc[0][j] = _mm512_fmadd_ps(x0, b, acc[0][j]);
                acc[1][j] = _mm512_fmadd_ps(x1, b, acc[1][j]);
            }
        }
        if (rem) {
            const __m512 x0 = _mm512_maskz_loadu_ps(tail, ar[0] + k16), x1 = _mm512_maskz_loadu_ps(tail, ar[1] + k16);
            for (int j = 0; j < 8; ++j) {
                const __m512 b = _mm512_maskz_loadu_ps(tail, br[j] + k16);
                acc[0][j] = _mm512_fmadd_ps(x0, b, acc[0][j]);
                acc[1][j] = _mm512_fmadd_ps(x1, b, acc[1][j]);
            }
        }
        for (int r = 0; r < 2 && i0 + r < m; ++r) {
            for (int j = 0; j < n; ++j) {
                const __m256 s = _mm256_add_ps(_mm512_castps512_ps256(acc[r][j]),
                                               _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[r][j]), 1)));
                float *cp = c + (size_t)(i0 + r) * ldc + j;
                *cp = plus_beta_c(alpha * reduce8(s), beta, cp);
            }
        }
    }
}

static void skinny_gemm(int m, int n, int k, float alpha, const float *a, long lda, const float *bt,
                        long ldbt, float beta, float *c, long ldc) {
    if (ck_f32_isa() == 2) skinny_nt_z(m, n, k, alpha, a, lda, bt, ldbt, beta, c, ldc);
    else skinny_nt(m, n, k, alpha, a, lda, bt, ldbt, beta, c, ldc);
}
#define CK_DIRECT 1
#endif

int ck_sgemm(int trans_a, int trans_b, int m, int n, int k, float alpha,
             const float *a, long lda, const float *b, long ldb,
             float beta, float *c, long ldc) {
    if (m <= 0 || n <= 0) return 0;
    if (k <= 0 || alpha == 0) {
        if (beta != 1) scale_c(m, n, beta, c, ldc);
        return 0;
    }
#ifdef CK_DIRECT
    if (n <= 8 && m > n) {
        if (!trans_a) {
            // Skinny: dot products of A's rows and op(B)'s columns, which are B's rows when B is
            // transposed, else copied into rows (n x k floats against m·n·k multiply-adds).
            if (trans_b) {
                skinny_gemm(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
                return 0;
            }
            float *t = scratch(&tl_b, (size_t)n * k);
            if (!t) return -1;
            for (int kk = 0; kk < k; ++kk)
                for (int j = 0; j < n; ++j) t[(size_t)j * k + kk] = b[(size_t)kk * ldb + j];
            skinny_gemm(m, n, k, alpha, a, lda, t, k, beta, c, ldc);
            return 0;
        }
        if (!trans_b && ck_f32_isa() == 2) {
            // Aᵀ·B with few columns (the adapter's dB = dYᵀ·u): Cᵀ = Bᵀ·A has n rows, so it runs
            // on the in-place tiles at full width, into scratch, then is added back transposed.
            // Each element is the same FMA chain over p and the same alpha/beta arithmetic as
            // the direct tile on C itself (the two factors of each product swap places), so the
            // bits are the same. 512-bit only: with 6-row tiles, 8 rows take two passes over A
            // (measured slower than the direct tiles on C).
            float *t = scratch(&tl_a, (size_t)n * m);
            if (!t) return -1;
            direct_gemm(1, n, m, k, alpha, b, ldb, a, lda, 0, t, m);
            for (int i = 0; i < m; ++i) {
                float *cr = c + (size_t)i * ldc;
                for (int j = 0; j < n; ++j) cr[j] = plus_beta_c(t[(size_t)j * m + i], beta, cr + j);
            }
            return 0;
        }
    }
    // B in place when it is not transposed and fits in L2 with room to spare (1 MB), or when
    // A has at most one tile of rows (B is read once either way; packing would copy it).
    if (!trans_b && ((size_t)k * n <= (1u << 18) || m <= 8)) {
        direct_gemm(trans_a, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return 0;
    }
#endif
    float *bp = scratch(&tl_b, ck_packed_count(k, n));
    if (!bp) return -1;
    const float *ap = a;
    long ldap = lda;
    if (trans_a) {
        // op(A)[i][kk] = a[kk * lda + i]: copied row by row of A (sequential reads).
        float *t = scratch(&tl_a, (size_t)m * k);
        if (!t) return -1;
        for (int kk = 0; kk < k; ++kk) {
            const float *src = a + (size_t)kk * lda;
            for (int i = 0; i < m; ++i) t[(size_t)i * k + kk] = src[i];
        }
        ap = t;
        ldap = k;
    }
    ck_pack_b(trans_b, k, n, alpha, b, ldb, bp);
    if (beta != 0 && beta != 1) scale_c(m, n, beta, c, ldc);
    ck_gemm_packed_cols(m, n, k, ap, ldap, bp, c, ldc, beta != 0, 0, n);
    return 0;
}
