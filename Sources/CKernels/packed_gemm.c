// Packed-B single-precision GEMM: C[m, n] (+)= A[m, k] · B[k, n].
// See include/CKernels.h for the layout of B.
//
// Micro-kernel: 6 x 16 tile of C in 12 ymm accumulators (AVX2 + FMA), inner loop
// in inline assembly (4 k steps per iteration). B comes from its packed panel
// (two aligned loads per k); A is broadcast straight from its 6 rows, so A is
// never packed or copied. Row tails repeat the last valid row into the spare
// kernel rows and discard them; column tails run on the zero-padded panel into
// a scratch tile. While a panel's row tiles run, the next B block is
// prefetched into L2, spread over those tiles.
//
// Blocking (defaults tuned on a 2-core Zen 3 EPYC, 32 KB L1d, 512 KB L2):
//   work items = column ranges of whole panels (threads take them in turn);
//   inside an item, rows outer (mc = 132) and K blocks of <= 576 inside, so the
//   C block stays in L2 over K; when A itself is large (> 8 MB, e.g. the LM
//   head's backward product with K = 49152) the order flips to K outer with
//   256-deep blocks and two items per thread, so A is streamed only a few
//   times and each B block is reused from L2 by all row blocks.
//
// Threads: the caller plus the pool's persistent worker (worker_pool.c).

#include "CKernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define CK_AVX2 1
#else
#define CK_AVX2 0
#endif

#define MR 6
#define NR CK_NR

// ---------------------------------------------------------------- tuning

static int g_mc = 132;      // rows of A per block (multiple of MR)
static int g_kc = 576;      // max K depth per block (K is split into equal blocks)
static int g_chunk = 256;   // max columns per work item (multiple of NR)
static int g_items = 4;     // work items per thread (load balance vs re-reading A)
static double g_big_a = 8e6; // A bytes above which the K-outer order is used
static int g_kc_outer = 256; // K block depth in the K-outer order

void ck_set_tuning(int mc, int kc, int chunk, int spin_us, int items_per_thread) {
    if (items_per_thread > 0) g_items = items_per_thread;
    if (mc > 0) g_mc = ((mc + MR - 1) / MR) * MR;
    if (kc > 0) g_kc = kc;
    if (chunk > 0) g_chunk = ((chunk + NR - 1) / NR) * NR;
    ck_pool_set_spin(spin_us);
}

void ck_set_tuning_large_a(double a_bytes, int kc_outer) {
    if (a_bytes > 0) g_big_a = a_bytes;
    if (kc_outer > 0) g_kc_outer = kc_outer;
}

int ck_uses_avx2(void) { return CK_AVX2; }

// ---------------------------------------------------------------- F32 ISA

static int g_f32_cap = -1;   // -1: not yet detected
static int g_f32_limit = 2;  // override (tests, benchmarks)

int ck_f32_isa_available(void) {
    if (g_f32_cap < 0) {
        int cap = CK_AVX2;
#if CK_AVX2 && (defined(__x86_64__) || defined(__i386__))
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) cap = 2;
        // FEDPILOT_F32_ISA=avx2 keeps the 256-bit kernels (A/B runs on one machine).
        const char *env = getenv("FEDPILOT_F32_ISA");
        if (env && strcmp(env, "avx2") == 0 && cap > 1) cap = 1;
#endif
        g_f32_cap = cap;
    }
    return g_f32_cap;
}

int ck_f32_isa(void) {
    const int cap = ck_f32_isa_available();
    return g_f32_limit < cap ? g_f32_limit : cap;
}

int ck_f32_set_isa(int limit) {
    g_f32_limit = limit < 0 ? 2 : limit;
    return ck_f32_isa();
}

// ---------------------------------------------------------------- packing

size_t ck_packed_count(int k, int n) {
    size_t panels = ((size_t)n + NR - 1) / NR;
    return panels * (size_t)NR * (size_t)k;
}

// No madvise(MADV_HUGEPAGE) here: measured, transparent huge pages gave no
// visible GEMM gain, and with this system's defrag=madvise setting they made the
// first packing of the LM head 3-5x slower (synchronous compaction on fault).
void *ck_alloc(size_t bytes) {
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (posix_memalign(&p, 64, bytes) != 0) return NULL;
    return p;
}

void ck_free(void *p) { free(p); }

// op(B)[kk][j] = alpha * (trans ? b[j * ldb + kk] : b[kk * ldb + j]).
void ck_pack_b(int trans, int k, int n, float alpha, const float *b, long ldb, float *dst) {
    const int panels = (n + NR - 1) / NR;
    for (int p = 0; p < panels; ++p) {
        float *panel = dst + (size_t)p * k * NR;
        const int j0 = p * NR;
        const int nj = (n - j0) < NR ? (n - j0) : NR;
        if (trans) {
            if (nj < NR) memset(panel, 0, sizeof(float) * (size_t)k * NR);
            // Read NR rows of b sequentially, write strided inside one panel (L1/L2 sized).
            for (int jj = 0; jj < nj; ++jj) {
                const float *row = b + (size_t)(j0 + jj) * ldb;
                for (int kk = 0; kk < k; ++kk) panel[(size_t)kk * NR + jj] = alpha * row[kk];
            }
        } else {
            for (int kk = 0; kk < k; ++kk) {
                const float *src = b + (size_t)kk * ldb + j0;
                float *d = panel + (size_t)kk * NR;
                if (alpha == 1) memcpy(d, src, sizeof(float) * (size_t)nj);
                else for (int jj = 0; jj < nj; ++jj) d[jj] = alpha * src[jj];
                if (nj < NR) memset(d + nj, 0, sizeof(float) * (size_t)(NR - nj));
            }
        }
    }
}

// B = Wᵀ: B[kk][j] = W[j][kk]; k = in, n = out.
void ck_pack_b_nt(const float *w, int out, int in, float *dst) { ck_pack_b(1, in, out, 1, w, in, dst); }

// B = W: B[kk][j] = W[kk][j]; k = out, n = in.
void ck_pack_b_nn(const float *w, int out, int in, float *dst) { ck_pack_b(0, out, in, 1, w, in, dst); }

// ---------------------------------------------------------------- micro-kernel

// c[0..5][0..15] (add ? += : =) sum_k a_i[k] * b[k][0..15]
// a: MR row pointers (already offset to the K block), b: packed panel block.
#if CK_AVX2
// [pf, pf_end): a slice of the next B block to prefetch into L2 while this tile
// runs (two cache lines per 4 k steps; empty when pf == pf_end).
static __attribute__((noinline)) void
ukr_6x16(long kc, const float *const a[MR], const float *restrict b,
         float *restrict c, long ldc, int add, const float *pf, const float *pf_end) {
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4], *a5 = a[5];
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

    for (int i = 0; i < MR; ++i) {
        _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + i * ldc + 15), _MM_HINT_T0);
    }

#define CK_STEP(kk)                                                        \
    do {                                                                   \
        const __m256 b0 = _mm256_load_ps(b + (kk) * NR);                   \
        const __m256 b1 = _mm256_load_ps(b + (kk) * NR + 8);               \
        __m256 t;                                                          \
        t = _mm256_broadcast_ss(a0 + (kk));                                \
        c00 = _mm256_fmadd_ps(t, b0, c00); c01 = _mm256_fmadd_ps(t, b1, c01); \
        t = _mm256_broadcast_ss(a1 + (kk));                                \
        c10 = _mm256_fmadd_ps(t, b0, c10); c11 = _mm256_fmadd_ps(t, b1, c11); \
        t = _mm256_broadcast_ss(a2 + (kk));                                \
        c20 = _mm256_fmadd_ps(t, b0, c20); c21 = _mm256_fmadd_ps(t, b1, c21); \
        t = _mm256_broadcast_ss(a3 + (kk));                                \
        c30 = _mm256_fmadd_ps(t, b0, c30); c31 = _mm256_fmadd_ps(t, b1, c31); \
        t = _mm256_broadcast_ss(a4 + (kk));                                \
        c40 = _mm256_fmadd_ps(t, b0, c40); c41 = _mm256_fmadd_ps(t, b1, c41); \
        t = _mm256_broadcast_ss(a5 + (kk));                                \
        c50 = _mm256_fmadd_ps(t, b0, c50); c51 = _mm256_fmadd_ps(t, b1, c51); \
    } while (0)

    // Main loop in inline assembly: 4 k steps per iteration, the 12 accumulators
    // pinned in ymm0-11 and B / broadcast temporaries in ymm12-15, so no compiler
    // scheduling decision can spill (clang did so for the intrinsics version).
    long ix = 0;                        // byte offset into the A rows
    long iters = kc / 4;
    long pf_iters = pf_end > pf ? (long)((pf_end - pf + 2 * NR - 1) / (2 * NR)) : 0;
    if (pf_iters > iters) pf_iters = iters;
    iters -= pf_iters;

#define CK_ASM_STEP(AO, BO0, BO1)                                   \
    "vmovaps " BO0 "(%[b]), %%ymm12\n\t"                            \
    "vmovaps " BO1 "(%[b]), %%ymm13\n\t"                            \
    "vbroadcastss " AO "(%[a0],%[ix]), %%ymm14\n\t"                 \
    "vfmadd231ps %%ymm12, %%ymm14, %[c00]\n\t"                      \
    "vfmadd231ps %%ymm13, %%ymm14, %[c01]\n\t"                      \
    "vbroadcastss " AO "(%[a1],%[ix]), %%ymm15\n\t"                 \
    "vfmadd231ps %%ymm12, %%ymm15, %[c10]\n\t"                      \
    "vfmadd231ps %%ymm13, %%ymm15, %[c11]\n\t"                      \
    "vbroadcastss " AO "(%[a2],%[ix]), %%ymm14\n\t"                 \
    "vfmadd231ps %%ymm12, %%ymm14, %[c20]\n\t"                      \
    "vfmadd231ps %%ymm13, %%ymm14, %[c21]\n\t"                      \
    "vbroadcastss " AO "(%[a3],%[ix]), %%ymm15\n\t"                 \
    "vfmadd231ps %%ymm12, %%ymm15, %[c30]\n\t"                      \
    "vfmadd231ps %%ymm13, %%ymm15, %[c31]\n\t"                      \
    "vbroadcastss " AO "(%[a4],%[ix]), %%ymm14\n\t"                 \
    "vfmadd231ps %%ymm12, %%ymm14, %[c40]\n\t"                      \
    "vfmadd231ps %%ymm13, %%ymm14, %[c41]\n\t"                      \
    "vbroadcastss " AO "(%[a5],%[ix]), %%ymm15\n\t"                 \
    "vfmadd231ps %%ymm12, %%ymm15, %[c50]\n\t"                      \
    "vfmadd231ps %%ymm13, %%ymm15, %[c51]\n\t"

#define CK_ASM_OUTS                                                          \
    [c00] "+x"(c00), [c01] "+x"(c01), [c10] "+x"(c10), [c11] "+x"(c11),      \
    [c20] "+x"(c20), [c21] "+x"(c21), [c30] "+x"(c30), [c31] "+x"(c31),      \
    [c40] "+x"(c40), [c41] "+x"(c41), [c50] "+x"(c50), [c51] "+x"(c51),      \
    [b] "+r"(b), [ix] "+r"(ix)
#define CK_ASM_INS                                                           \
    [a0] "r"(a0), [a1] "r"(a1), [a2] "r"(a2), [a3] "r"(a3), [a4] "r"(a4), [a5] "r"(a5)
#define CK_ASM_CLOBBERS "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory"

    if (pf_iters > 0) {
        __asm__ volatile(
            "1:\n\t"
            "prefetcht1 (%[pf])\n\t"
            CK_ASM_STEP("0", "0", "32")
            CK_ASM_STEP("4", "64", "96")
            "prefetcht1 64(%[pf])\n\t"
            CK_ASM_STEP("8", "128", "160")
            CK_ASM_STEP("12", "192", "224")
            "addq $256, %[b]\n\t"
            "addq $16, %[ix]\n\t"
            "addq $128, %[pf]\n\t"
            "decq %[n]\n\t"
            "jnz 1b\n\t"
            : CK_ASM_OUTS, [pf] "+r"(pf), [n] "+r"(pf_iters)
            : CK_ASM_INS
            : CK_ASM_CLOBBERS);
    }
    if (iters > 0) {
        __asm__ volatile(
            "1:\n\t"
            CK_ASM_STEP("0", "0", "32")
            CK_ASM_STEP("4", "64", "96")
            CK_ASM_STEP("8", "128", "160")
            CK_ASM_STEP("12", "192", "224")
            "addq $256, %[b]\n\t"
            "addq $16, %[ix]\n\t"
            "decq %[n]\n\t"
            "jnz 1b\n\t"
            : CK_ASM_OUTS, [n] "+r"(iters)
            : CK_ASM_INS
            : CK_ASM_CLOBBERS);
    }
#undef CK_ASM_STEP
#undef CK_ASM_OUTS
#undef CK_ASM_INS
#undef CK_ASM_CLOBBERS
    long k = (kc / 4) * 4;
    a0 += k; a1 += k; a2 += k; a3 += k; a4 += k; a5 += k;
    for (; k < kc; ++k) {
        CK_STEP(0);
        a0 += 1; a1 += 1; a2 += 1; a3 += 1; a4 += 1; a5 += 1;
        b += NR;
    }
#undef CK_STEP

#define CK_OUT(i, lo, hi)                                                   \
    do {                                                                    \
        float *ci = c + (i) * ldc;                                          \
        if (add) {                                                          \
            lo = _mm256_add_ps(lo, _mm256_loadu_ps(ci));                    \
            hi = _mm256_add_ps(hi, _mm256_loadu_ps(ci + 8));                \
        }                                                                   \
        _mm256_storeu_ps(ci, lo);                                           \
        _mm256_storeu_ps(ci + 8, hi);                                       \
    } while (0)
    CK_OUT(0, c00, c01); CK_OUT(1, c10, c11); CK_OUT(2, c20, c21);
    CK_OUT(3, c30, c31); CK_OUT(4, c40, c41); CK_OUT(5, c50, c51);
#undef CK_OUT
}

// The same tile with one zmm accumulator per row (AVX-512F, chosen at run time): per k one B
// load and six FMAs with the A element broadcast from memory, against two loads and twelve
// FMAs. Every C element is the same chain of FMAs in the same k order as in ukr_6x16, so the
// two give identical bits.
static __attribute__((noinline, target("avx512f"))) void
ukr_6x16_z(long kc, const float *const a[MR], const float *restrict b,
           float *restrict c, long ldc, int add, const float *pf, const float *pf_end) {
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4], *a5 = a[5];
    __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
    for (int i = 0; i < MR; ++i) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
#define CK_ZSTEP(kk)                                                        \
    do {                                                                    \
        const __m512 bv = _mm512_load_ps(b + (kk) * NR);                    \
        c0 = _mm512_fmadd_ps(_mm512_set1_ps(a0[kk]), bv, c0);               \
        c1 = _mm512_fmadd_ps(_mm512_set1_ps(a1[kk]), bv, c1);               \
        c2 = _mm512_fmadd_ps(_mm512_set1_ps(a2[kk]), bv, c2);               \
        c3 = _mm512_fmadd_ps(_mm512_set1_ps(a3[kk]), bv, c3);               \
        c4 = _mm512_fmadd_ps(_mm512_set1_ps(a4[kk]), bv, c4);               \
        c5 = _mm512_fmadd_ps(_mm512_set1_ps(a5[kk]), bv, c5);               \
    } while (0)
    long k = 0;
    for (; k + 4 <= kc; k += 4) {
        if (pf < pf_end) {  // two lines of the next B block per 4 k steps, as ukr_6x16
            _mm_prefetch((const char *)pf, _MM_HINT_T1);
            _mm_prefetch((const char *)(pf + 16), _MM_HINT_T1);
            pf += 2 * NR;
        }
        CK_ZSTEP(k); CK_ZSTEP(k + 1); CK_ZSTEP(k + 2); CK_ZSTEP(k + 3);
    }
    for (; k < kc; ++k) CK_ZSTEP(k);
#undef CK_ZSTEP
    const __m512 acc[MR] = {c0, c1, c2, c3, c4, c5};
    for (int i = 0; i < MR; ++i) {
        float *ci = c + i * ldc;
        _mm512_storeu_ps(ci, add ? _mm512_add_ps(acc[i], _mm512_loadu_ps(ci)) : acc[i]);
    }
}

static inline void ukr(long kc, const float *const a[MR], const float *restrict b,
                       float *restrict c, long ldc, int add, const float *pf, const float *pf_end) {
    if (ck_f32_isa() == 2) ukr_6x16_z(kc, a, b, c, ldc, add, pf, pf_end);
    else ukr_6x16(kc, a, b, c, ldc, add, pf, pf_end);
}
#else
static void
ukr_6x16(long kc, const float *const a[MR], const float *restrict b,
         float *restrict c, long ldc, int add, const float *pf, const float *pf_end) {
    (void)pf; (void)pf_end;
    float acc[MR][NR];
    memset(acc, 0, sizeof acc);
    for (long k = 0; k < kc; ++k) {
        const float *bk = b + k * NR;
        for (int i = 0; i < MR; ++i) {
            const float av = a[i][k];
            for (int j = 0; j < NR; ++j) acc[i][j] += av * bk[j];
        }
    }
    for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j)
            c[i * ldc + j] = add ? c[i * ldc + j] + acc[i][j] : acc[i][j];
}
#define ukr ukr_6x16
#endif

// Partial tile: only rows [0, mr) and columns [0, nr) of C are touched.
static void ukr_edge(long kc, const float *const a[MR], const float *restrict b,
                     float *restrict c, long ldc, int add, int mr, int nr,
                     const float *pf, const float *pf_end) {
    float tmp[MR * NR] __attribute__((aligned(64)));
    ukr(kc, a, b, tmp, NR, 0, pf, pf_end);
    for (int i = 0; i < mr; ++i) {
        float *ci = c + (long)i * ldc;
        const float *ti = tmp + i * NR;
        if (add) for (int j = 0; j < nr; ++j) ci[j] += ti[j];
        else     for (int j = 0; j < nr; ++j) ci[j] = ti[j];
    }
}

// ---------------------------------------------------------------- macro-kernel

typedef struct {
    int m, n, k;
    const float *a; long lda;
    const float *bp;
    float *c; long ldc;
    int accumulate;
    int kc;             // K block depth (K split into equal blocks)
    int mc;             // rows per A block
    int k_outer;        // loop order: K blocks outside row blocks
    int panels;         // NR-wide column panels in [n_begin, n_end)
    int nchunks;        // work items
    int n_begin;        // first column handled (multiple of NR)
    int n_end;          // one past the last column handled
} job_t;

// One panel of C (columns [jr, jr + NR)) for rows [ic, ie) and the K block
// [pc, pc + kc). pf/pf_lines: the next B block to pull towards L2, spread over
// this panel's row tiles.
static inline void do_panel(const job_t *jb, int ic, int ie, int pc, int kc, int jr,
                            const float *pf, long pf_lines) {
    const int k = jb->k, n = jb->n;
    const long lda = jb->lda, ldc = jb->ldc;
    const float *a = jb->a;
    const int add = jb->accumulate || pc > 0;
    const float *bpp = jb->bp + (size_t)(jr / NR) * k * NR + (size_t)pc * NR;
    const int nr = (n - jr) < NR ? (n - jr) : NR;
    const long tiles = (ie - ic + MR - 1) / MR;
    const long per = (pf_lines + tiles - 1) / tiles;   // lines per tile
    const float *const pf_stop = pf ? pf + pf_lines * NR : NULL;
    int ir = ic;
    const float *rows[MR];
    for (; ir + MR <= ie; ir += MR) {
        for (int i = 0; i < MR; ++i) rows[i] = a + (size_t)(ir + i) * lda + pc;
        float *ct = jb->c + (size_t)ir * ldc + jr;
        const float *pe = pf ? (pf + per * NR < pf_stop ? pf + per * NR : pf_stop) : NULL;
        if (nr == NR) ukr(kc, rows, bpp, ct, ldc, add, pf, pe);
        else ukr_edge(kc, rows, bpp, ct, ldc, add, MR, nr, pf, pe);
        pf = pe;
    }
    if (ir < ie) {
        // Row tail: repeat the last valid row; extra results are discarded.
        const int mr = ie - ir;
        for (int i = 0; i < MR; ++i)
            rows[i] = a + (size_t)(ir + (i < mr ? i : mr - 1)) * lda + pc;
        ukr_edge(kc, rows, bpp, jb->c + (size_t)ir * ldc + jr, ldc, add, mr, nr, pf, pf_stop);
    }
}

// One work item: columns [j0, j1) of C, all rows, all of K.
static void do_cols(const job_t *jb, int j0, int j1) {
    const int m = jb->m, k = jb->k;
    const int mc = jb->mc;
    if (!jb->k_outer) {
        // Rows outer: the C block (mc x item) stays in L2 across the K blocks;
        // B is streamed once per row block. Best when K is small or A is small.
        for (int ic = 0; ic < m; ic += mc) {
            const int ie = (ic + mc < m) ? ic + mc : m;
            for (int pc = 0; pc < k; pc += jb->kc) {
                const int kc = (pc + jb->kc < k) ? jb->kc : k - pc;
                for (int jr = j0; jr < j1; jr += NR) {
                    const float *pf = NULL;
                    long pf_lines = 0;
                    if (jr + NR < j1) {
                        pf = jb->bp + (size_t)(jr / NR + 1) * k * NR + (size_t)pc * NR;
                        pf_lines = kc;
                    } else if (pc + kc < k) {
                        pf = jb->bp + (size_t)(j0 / NR) * k * NR + (size_t)(pc + kc) * NR;
                        pf_lines = (k - pc - kc < jb->kc) ? k - pc - kc : jb->kc;
                    }
                    do_panel(jb, ic, ie, pc, kc, jr, pf, pf_lines);
                }
            }
        }
    } else {
        // K outer: each B block (kc x item) is read from memory once and reused
        // from L2 by every row block; C is revisited per K block instead. Best when
        // A is large (long K, e.g. the LM head's backward product).
        for (int pc = 0; pc < k; pc += jb->kc) {
            const int kc = (pc + jb->kc < k) ? jb->kc : k - pc;
            for (int ic = 0; ic < m; ic += mc) {
                const int ie = (ic + mc < m) ? ic + mc : m;
                for (int jr = j0; jr < j1; jr += NR) {
                    const float *pf = NULL;
                    long pf_lines = 0;
                    if (ic == 0 && jr + NR < j1) {
                        pf = jb->bp + (size_t)(jr / NR + 1) * k * NR + (size_t)pc * NR;
                        pf_lines = kc;
                    } else if (ie == m && jr + NR >= j1 && pc + kc < k) {
                        pf = jb->bp + (size_t)(j0 / NR) * k * NR + (size_t)(pc + kc) * NR;
                        pf_lines = (k - pc - kc < jb->kc) ? k - pc - kc : jb->kc;
                    }
                    do_panel(jb, ic, ie, pc, kc, jr, pf, pf_lines);
                }
            }
        }
    }
}

// Work item t of a job: P panels in `nchunks` items; the first r = P % items
// items get one panel more than the rest, so threads taking turns end within one
// panel of each other, and the last items (the ones that decide the end) are small.
static void gemm_item(void *ctx, int t) {
    const job_t *jb = ctx;
    const long q = jb->panels / jb->nchunks, r = jb->panels % jb->nchunks;
    const long p0 = (long)t * q + (t < r ? t : r);
    const long p1 = p0 + q + (t < r ? 1 : 0);
    const int j0 = jb->n_begin + (int)p0 * NR;
    int j1 = jb->n_begin + (int)p1 * NR;
    if (j1 > jb->n_end) j1 = jb->n_end;
    do_cols(jb, j0, j1);
}

static void setup_job(job_t *jb, int m, int n, int k, const float *a, long lda,
                      const float *bp, float *c, long ldc, int accumulate,
                      int n0, int n1, int threads) {
    jb->m = m; jb->n = n; jb->k = k; jb->a = a; jb->lda = lda; jb->bp = bp;
    jb->c = c; jb->ldc = ldc; jb->accumulate = accumulate;
    jb->mc = g_mc;
    const int panels = (n1 - n0 + NR - 1) / NR;
    // A (m x k) much larger than the caches: K outermost with shorter K blocks
    // (each B block then stays in L2 for all row blocks) and only two items per
    // thread, since every item streams all of A once; still more than one, so a
    // preempted thread's share can be taken over. Otherwise rows outermost.
    const double a_bytes = 4.0 * m * k;
    jb->k_outer = a_bytes > g_big_a && k > g_kc;
    const int kcap = jb->k_outer ? g_kc_outer : g_kc;
    const int kblocks = (k + kcap - 1) / kcap;
    jb->kc = (k + kblocks - 1) / kblocks;
    // Items: a multiple of the thread count (g_items per thread, so a late or
    // preempted thread costs little), and at most g_chunk columns each.
    int items = (jb->k_outer ? 2 : g_items) * threads;
    const int maxp = g_chunk / NR;
    const int byCap = (panels + maxp - 1) / maxp;
    if (!jb->k_outer && items < byCap) items = ((byCap + threads - 1) / threads) * threads;
    if (items > panels) items = panels;
    if (items < 1) items = 1;
    jb->panels = panels;
    jb->nchunks = items;
    jb->n_begin = n0;
    jb->n_end = n1;
}

void ck_gemm_packed_cols(int m, int n, int k, const float *a, long lda,
                         const float *bp, float *c, long ldc, int accumulate,
                         int n0, int n1) {
    if (m <= 0 || n1 <= n0) return;
    if (k <= 0) {
        if (!accumulate)
            for (int i = 0; i < m; ++i) memset(c + (size_t)i * ldc + n0, 0, sizeof(float) * (size_t)(n1 - n0));
        return;
    }
    job_t jb;
    setup_job(&jb, m, n, k, a, lda, bp, c, ldc, accumulate, n0, n1, 1);
    // Single thread: the same work items, in order.
    ck_parallel_for(jb.nchunks, 1, gemm_item, &jb);
}

// ---------------------------------------------------------------- threaded entry

void ck_gemm_packed(int m, int n, int k, const float *a, long lda,
                    const float *bp, float *c, long ldc, int accumulate, int threads) {
    if (m <= 0 || n <= 0) return;
    // Small products are not worth waking the worker (~2 * 10^5 FMAs).
    const double work = (double)m * n * k;
    if (threads < 2 || k <= 0 || work < 262144.0 || n <= NR) {
        ck_gemm_packed_cols(m, n, k, a, lda, bp, c, ldc, accumulate, 0, n);
        return;
    }
    job_t jb;
    setup_job(&jb, m, n, k, a, lda, bp, c, ldc, accumulate, 0, n, 2);
    ck_parallel_for(jb.nchunks, 2, gemm_item, &jb);
}
