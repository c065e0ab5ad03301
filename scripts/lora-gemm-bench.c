// Standalone micro-benchmark of the six adapter products of one LoRA layer (small_gemm.c's
// ck_sgemm, as LoRALinear calls it) on SmolLM2-135M's shapes: M = 512 rows (batch 4 x 128),
// rank 8, one thread, best of 20 by thread CPU time. Built and run by scripts/lora-gemm-bench.sh.
//   u = x·Aᵀ, y += s·u·Bᵀ (forward); dB += s·dYᵀ·u, t = dY·B, dA += s·tᵀ·x, dX += s·t·A (backward)

#include "CKernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *filled(size_t n) {
    float *p = malloc(n * sizeof(float));
    unsigned x = 12345;
    for (size_t i = 0; i < n; ++i) { x = x * 1664525u + 1013904223u; p[i] = (float)(x >> 8) / 16777216.0f - 0.5f; }
    return p;
}

int main(void) {
    const int m = 512, r = 8;
    const int shapes[][2] = {{576, 576}, {576, 192}, {576, 1536}, {1536, 576}};  // [in, out]: q/o, k/v, gate/up, down
    const char *names[6] = {"x·Aᵀ", "y+=u·Bᵀ", "dB+=dYᵀ·u", "t=dY·B", "dA+=tᵀ·x", "dX+=t·A"};
    printf("F32 kernels: %s\n", ck_f32_isa() == 2 ? "AVX-512F" : ck_f32_isa() == 1 ? "AVX2" : "portable C");
    for (int s = 0; s < 4; ++s) {
        const int in = shapes[s][0], out = shapes[s][1];
        float *x = filled((size_t)m * in), *a = filled((size_t)r * in), *b = filled((size_t)out * r);
        float *u = filled((size_t)m * r), *y = filled((size_t)m * out), *dy = filled((size_t)m * out);
        float *db = filled((size_t)out * r), *t = filled((size_t)m * r), *da = filled((size_t)r * in), *dx = filled((size_t)m * in);
        double best[6] = {1e9, 1e9, 1e9, 1e9, 1e9, 1e9};
        for (int rep = 0; rep < 20; ++rep) {
            for (int op = 0; op < 6; ++op) {
                const double t0 = now();
                switch (op) {
                case 0: ck_sgemm(0, 1, m, r, in, 1, x, in, a, in, 0, u, r); break;
                case 1: ck_sgemm(0, 1, m, out, r, 2, u, r, b, r, 1, y, out); break;
                case 2: ck_sgemm(1, 0, out, r, m, 2, dy, out, u, r, 1, db, r); break;
                case 3: ck_sgemm(0, 0, m, r, out, 1, dy, out, b, r, 0, t, r); break;
                case 4: ck_sgemm(1, 0, r, in, m, 2, t, r, x, in, 1, da, in); break;
                default: ck_sgemm(0, 0, m, in, r, 2, t, r, a, in, 1, dx, in); break;
                }
                const double dt = now() - t0;
                if (dt < best[op]) best[op] = dt;
            }
        }
        double total = 0;
        printf("in %4d out %4d:", in, out);
        for (int op = 0; op < 6; ++op) {
            const double flops = 2.0 * m * r * (op == 0 || op >= 4 ? in : out);
            printf("  %s %.0f us (%.0f GFLOP/s)", names[op], best[op] * 1e6, flops / best[op] * 1e-9);
            total += best[op];
        }
        printf("  total %.0f us\n", total * 1e6);
        free(x); free(a); free(b); free(u); free(y); free(dy); free(db); free(t); free(da); free(dx);
    }
    return 0;
}
