// Standalone micro-benchmark of the frozen-weight products on SmolLM2-135M's shapes:
// packed F32 (packed_gemm.c) against int8 on the GGUF block layout (quant_gemm.c) and on the
// interleaved layout (quant_interleaved.c, AVX512-VNNI and AVX2), forward Y = X·Wᵀ and input
// gradient dX = dY·W, single-threaded. Built and run by scripts/qgemm-bench.sh.
// Prints GFLOP/s (2·M·N·K per product) and the max relative difference of each int8 result
// against the packed F32 product on the same dequantized weights.

#include "CKernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);  // CPU time of this thread: less hurt by a loaded machine
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static unsigned long long rng = 88172645463325252ull;
static unsigned long long next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }
static float unif(void) { return (float)((next() >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1; }

static void put_half(unsigned char *p, float v) {
    // Crude f32 -> f16 for normal values in range (test data only).
    unsigned x; memcpy(&x, &v, 4);
    unsigned sign = (x >> 16) & 0x8000u; int e = (int)((x >> 23) & 0xFF) - 127 + 15; unsigned man = (x & 0x7FFFFFu) >> 13;
    unsigned short h = e <= 0 ? (unsigned short)sign : (unsigned short)(sign | ((unsigned)e << 10) | man);
    p[0] = h & 0xFF; p[1] = h >> 8;
}

// GGUF bytes per block and weights per block (the K types and Q5_0 have no GGUF-layout kernel here).
static int block_bytes(int type) {
    return type == CK_Q4_K ? 144 : type == CK_Q5_K ? 176 : type == CK_Q6_K ? 210 : type == CK_Q5_0 ? 22 : ck_quant_block_bytes(type);
}
static int block_elements(int type) { return type == CK_Q4_K || type == CK_Q5_K || type == CK_Q6_K ? 256 : 32; }
static int has_gguf_kernel(int type) { return ck_quant_block_bytes(type) > 0; }

static void *random_weight(int type, int n, int k) {
    const int bb = block_bytes(type), blocks = n * k / block_elements(type);
    unsigned char *w = malloc((size_t)blocks * bb);
    for (int b = 0; b < blocks; ++b) {
        unsigned char *o = w + (size_t)b * bb;
        if (type == CK_Q4_K || type == CK_Q5_K) {  // d·sc up to ~0.02 (sc < 64), dmin·m up to ~0.06: random 6-bit scales
            put_half(o, 0.0002f + 0.0001f * unif());
            put_half(o + 2, 0.001f + 0.0003f * unif());
            for (int j = 4; j < bb; ++j) o[j] = (unsigned char)next();
        } else if (type == CK_Q6_K) {  // random 6-bit codes and signed scales, d·sc up to ~0.03
            for (int j = 0; j < 208; ++j) o[j] = (unsigned char)next();
            put_half(o + 208, 0.0002f + 0.00005f * unif());
        } else if (type == CK_Q8_0) {
            put_half(o, 0.0005f + 0.0002f * unif());
            for (int j = 0; j < 32; ++j) o[2 + j] = (unsigned char)(next() % 255) + 1;  // -127..127
        } else {
            put_half(o, 0.005f + 0.002f * unif());
            int q = 2;
            if (type == CK_Q4_1) { put_half(o + 2, -0.04f + 0.01f * unif()); q = 4; }
            for (int j = q; j < bb; ++j) o[j] = (unsigned char)next();
        }
    }
    return w;
}

typedef void (*op_fn)(void *);
static double time_op(op_fn f, void *ctx, double flops) {
    f(ctx);  // warm-up
    double best = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
        const double t0 = now();
        int iters = 0;
        do { f(ctx); ++iters; } while (now() - t0 < 0.15);
        const double t = (now() - t0) / iters;
        if (t < best) best = t;
    }
    return flops / best * 1e-9;
}

typedef struct {
    int type, m, n, k;
    float *x, *dy, *c, *dx;
    float *pnt, *pnn;   // packed F32 (forward Wᵀ, backward W)
    void *w, *qi, *qt;  // GGUF layout, interleaved, transposed copy (Q8_0, interleaved)
    ck_q8_block *aq, *aqt;
} ctx_t;

static void f32_fwd(void *p) { ctx_t *c = p; ck_gemm_packed_cols(c->m, c->n, c->k, c->x, c->k, c->pnt, c->c, c->n, 0, 0, c->n); }
static void f32_bwd(void *p) { ctx_t *c = p; ck_gemm_packed_cols(c->m, c->k, c->n, c->dy, c->n, c->pnn, c->dx, c->k, 0, 0, c->k); }
static void old_fwd(void *p) {
    ctx_t *c = p;
    if (!has_gguf_kernel(c->type)) return;
    ck_q8_quantize_rows(c->x, c->m, c->k, c->k, c->aq);
    ck_qgemm_cols(c->type, c->m, c->n, c->k, c->aq, c->w, c->c, c->n, 0, 0, c->n);
}
static void old_bwd(void *p) { ctx_t *c = p; if (has_gguf_kernel(c->type)) ck_qgemm_backward_rows(c->type, c->m, c->n, c->k, c->dy, c->n, c->w, c->dx, c->k, 0, 0, c->m); }
static void qi_fwd(void *p) {
    ctx_t *c = p;
    ck_q8_quantize_rows(c->x, c->m, c->k, c->k, c->aq);
    ck_qi_gemm_cols(c->type, c->m, c->n, c->k, c->aq, c->qi, c->c, c->n, 0, 0, c->n);
}
// Option B for the input gradient: dY quantized to 8-bit blocks along n, times a transposed
// Q8_0 copy of W made once (ck_qt_build: W^T[k, n]) with the forward int8 kernel.
static void qt_bwd(void *p) {
    ctx_t *c = p;
    ck_q8_quantize_rows_padded(c->dy, c->m, c->n, c->n, c->aqt);
    ck_qi_gemm_cols(CK_Q8_0, c->m, c->k, (c->n + 31) / 32 * 32, c->aqt, c->qt, c->dx, c->k, 0, 0, c->k);
}
static void qi_bwd(void *p) { ctx_t *c = p; ck_qi_backward_cols(c->type, c->m, c->n, c->k, c->dy, c->n, c->qi, c->dx, c->k, 0, 0, c->k); }

static double max_rel(const float *a, const float *b, long count) {
    double worst = 0, scale = 0;
    for (long i = 0; i < count; ++i) scale = fmax(scale, fabs(b[i]));
    for (long i = 0; i < count; ++i) worst = fmax(worst, fabs(a[i] - b[i]));
    return scale > 0 ? worst / scale : worst;
}

int main(int argc, char **argv) {
    const int type = argc > 1 ? atoi(argv[1]) : CK_Q4_1;
    const int m = argc > 2 ? atoi(argv[2]) : 512;
    if (argc > 3) ck_qi_set_backward_panels(atoi(argv[3]));
    // W[n = out, k = in]: SmolLM2-135M's shapes, or Gemma 3 270M's with `gemma` as 4th argument
    // (its Q4_K matrices are o and down, [640, 1024] and [640, 2048]; Q6_K down; Q5_0 q, k, gate and up).
    const int smol[][2] = {{576, 576}, {1536, 576}, {576, 1536}, {192, 576}};
    const int gemma[][2] = {{640, 1024}, {640, 2048}, {1024, 640}, {2048, 640}};
    const int gemmaShapes = argc > 4 && strcmp(argv[4], "gemma") == 0;
    const int (*shapes)[2] = gemmaShapes ? gemma : smol;
    printf("type %d, M = %d, single thread; GFLOP/s (2MNK / thread CPU time), best of 5; ISA available: %s\n", type, m,
           ck_qi_isa_available() >= 2 ? "AVX512-VNNI" : ck_qi_isa_available() == 1 ? "AVX2" : "none");
    printf("qi bwd: W dequantized into F32 panels + packed F32 kernel; WT bwd: dY quantized, times a transposed Q8_0 copy of W\n");
    printf("%-10s | %8s %8s %8s %8s %8s | %8s %8s %8s %8s | %s\n", "W[n,k]", "f32 fwd", "old fwd", "zmm fwd", "vnni fwd",
           "avx2 fwd", "f32 bwd", "old bwd", "qi bwd", "WT bwd", "max rel diff fwd (zmm, vnni, avx2), bwd (qi, WT)");
    double tot_f = 0, tot_q = 0, tot_fb = 0, tot_qb = 0, tot_t = 0;
    for (int s = 0; s < 4; ++s) {
        ctx_t c = {.type = type, .m = m, .n = shapes[s][0], .k = shapes[s][1]};
        const int n = c.n, k = c.k;
        c.x = ck_alloc(sizeof(float) * m * k); c.dx = ck_alloc(sizeof(float) * m * k);
        c.dy = ck_alloc(sizeof(float) * m * n); c.c = ck_alloc(sizeof(float) * m * n);
        for (long i = 0; i < (long)m * k; ++i) c.x[i] = unif();
        for (long i = 0; i < (long)m * n; ++i) c.dy[i] = unif() * 0.01f;
        if (k % block_elements(type)) { printf("%dx%d: k is not a multiple of %d\n", n, k, block_elements(type)); continue; }
        c.w = random_weight(type, n, k);
        c.qi = ck_alloc(ck_qi_bytes(type, n, k));
        ck_qi_pack(type, n, k, c.w, NULL, c.qi);
        float *wf = malloc(sizeof(float) * n * k);
        for (int j = 0; j < n; ++j) ck_qi_dequantize_row(type, c.qi, k, j, wf + (long)j * k);
        c.pnt = ck_alloc(sizeof(float) * ck_packed_count(k, n)); ck_pack_b_nt(wf, n, k, c.pnt);
        c.pnn = ck_alloc(sizeof(float) * ck_packed_count(n, k)); ck_pack_b_nn(wf, n, k, c.pnn);
        c.aq = ck_alloc(sizeof(ck_q8_block) * m * (k / 32));
        c.aqt = ck_alloc(sizeof(ck_q8_block) * m * ((n + 31) / 32));
        c.qt = ck_alloc(ck_qt_bytes(n, k));   // W^T requantized to Q8_0 along n, as the model builds it
        ck_qt_build(type, n, k, c.qi, c.qt);
        const double fl = 2.0 * m * n * k;
        float *ref = malloc(sizeof(float) * m * n), *refb = malloc(sizeof(float) * m * k);
        const double gf = time_op(f32_fwd, &c, fl); memcpy(ref, c.c, sizeof(float) * m * n);
        const double go = time_op(old_fwd, &c, fl);
        ck_qi_set_isa(3); const double gz = time_op(qi_fwd, &c, fl); const double ez = max_rel(c.c, ref, (long)m * n);
        ck_qi_set_isa(2); const double gv = time_op(qi_fwd, &c, fl); const double ev = max_rel(c.c, ref, (long)m * n);
        ck_qi_set_isa(1); const double ga = time_op(qi_fwd, &c, fl); const double ea = max_rel(c.c, ref, (long)m * n);
        ck_qi_set_isa(-1);
        const double gfb = time_op(f32_bwd, &c, fl); memcpy(refb, c.dx, sizeof(float) * m * k);
        const double gob = time_op(old_bwd, &c, fl);
        const double gqb = time_op(qi_bwd, &c, fl); const double eb = max_rel(c.dx, refb, (long)m * k);
        const double gtb = time_op(qt_bwd, &c, fl); const double et = max_rel(c.dx, refb, (long)m * k);
        char name[32]; snprintf(name, sizeof name, "%dx%d", n, k);
        char old_f[16] = "-", old_b[16] = "-";  // no GGUF-layout kernel for the K types, Q5_0
        if (has_gguf_kernel(type)) { snprintf(old_f, sizeof old_f, "%.1f", go); snprintf(old_b, sizeof old_b, "%.1f", gob); }
        printf("%-10s | %8.1f %8s %8.1f %8.1f %8.1f | %8.1f %8s %8.1f %8.1f | %.1e %.1e %.1e %.1e %.1e\n", name, gf, old_f, gz, gv, ga, gfb,
               old_b, gqb, gtb, ez, ev, ea, eb, et);
        tot_t += fl / gtb; tot_f += fl / gf; tot_q += fl / (ck_qi_isa_available() == 3 ? gz : ck_qi_isa_available() == 2 ? gv : ga); tot_fb += fl / gfb; tot_qb += fl / gqb;
        ck_free(c.x); ck_free(c.dx); ck_free(c.dy); ck_free(c.c); ck_free(c.qi); ck_free(c.pnt); ck_free(c.pnn); ck_free(c.aq); ck_free(c.aqt); ck_free(c.qt);
        free(c.w); free(wf); free(ref); free(refb);
    }
    // One layer of SmolLM2-135M has q, o (576x576), k, v (192x576), gate, up (1536x576), down (576x1536):
    // weight the four shapes by their count.
    printf("time ratio int8/f32 over the 4 shapes (equal weight): forward %.2f, input gradient %.2f (panels), %.2f (transposed Q8_0 copy)\n",
           tot_q / tot_f, tot_qb / tot_fb, tot_t / tot_fb);
    return 0;
}
