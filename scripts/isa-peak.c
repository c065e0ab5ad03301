// The machine's ceiling for the kernels of scripts/qgemm-bench.c: throughput of independent
// vpdpbusd (zmm, ymm) and vfmadd231ps (zmm, ymm) on one thread, 12 accumulators, thread CPU time.
// Run by scripts/qgemm-bench.sh before the kernels (skipped where the CPU lacks AVX512-VNNI).
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
#define N 12
__attribute__((target("avx512f,avx512vnni,avx512vl"))) static double vnni_z(long iters) {
    __m512i acc[N]; for (int i = 0; i < N; ++i) acc[i] = _mm512_set1_epi32(i);
    const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(5);
    double t = now();
    for (long it = 0; it < iters; ++it) {
        for (int i = 0; i < N; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]), "+v"(acc[4]), "+v"(acc[5]), "+v"(acc[6]), "+v"(acc[7]), "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]), "+v"(acc[11]));
    }
    t = now() - t;
    int s = 0; for (int i = 0; i < N; ++i) s += _mm512_reduce_add_epi32(acc[i]);
    if (s == 42) printf("!");
    return (double)iters * N * 64 / t / 1e9;  // int8 MACs per second (G)
}
__attribute__((target("avx512f,avx512vnni,avx512vl"))) static double vnni_y(long iters) {
    __m256i acc[N]; for (int i = 0; i < N; ++i) acc[i] = _mm256_set1_epi32(i);
    const __m256i a = _mm256_set1_epi8(3), b = _mm256_set1_epi8(5);
    double t = now();
    for (long it = 0; it < iters; ++it) {
        for (int i = 0; i < N; ++i) acc[i] = _mm256_dpbusd_epi32(acc[i], a, b);
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]), "+v"(acc[4]), "+v"(acc[5]), "+v"(acc[6]), "+v"(acc[7]), "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]), "+v"(acc[11]));
    }
    t = now() - t;
    int s = 0; for (int i = 0; i < N; ++i) { int v[8]; _mm256_storeu_si256((__m256i *)v, acc[i]); s += v[0]; }
    if (s == 42) printf("!");
    return (double)iters * N * 32 / t / 1e9;
}
__attribute__((target("avx512f"))) static double fma_z(long iters) {
    __m512 acc[N]; for (int i = 0; i < N; ++i) acc[i] = _mm512_set1_ps(i);
    const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
    double t = now();
    for (long it = 0; it < iters; ++it) {
        for (int i = 0; i < N; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]), "+v"(acc[4]), "+v"(acc[5]), "+v"(acc[6]), "+v"(acc[7]), "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]), "+v"(acc[11]));
    }
    t = now() - t;
    float s = 0; for (int i = 0; i < N; ++i) s += _mm512_reduce_add_ps(acc[i]);
    if (s == 42) printf("!");
    return (double)iters * N * 32 / t / 1e9;  // GFLOP/s
}
static double fma_y(long iters) {
    __m256 acc[N]; for (int i = 0; i < N; ++i) acc[i] = _mm256_set1_ps(i);
    const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
    double t = now();
    for (long it = 0; it < iters; ++it) {
        for (int i = 0; i < N; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
        __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[1]), "+x"(acc[2]), "+x"(acc[3]), "+x"(acc[4]), "+x"(acc[5]), "+x"(acc[6]), "+x"(acc[7]), "+x"(acc[8]), "+x"(acc[9]), "+x"(acc[10]), "+x"(acc[11]));
    }
    t = now() - t;
    float s = 0; for (int i = 0; i < N; ++i) { float v[8]; _mm256_storeu_ps(v, acc[i]); s += v[0]; }
    if (s == 42) printf("!");
    return (double)iters * N * 16 / t / 1e9;
}
int main(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512vnni") || !__builtin_cpu_supports("avx512vl")) {
        printf("isa-peak: no AVX512-VNNI on this CPU, skipped\n");
        return 0;
    }
    const long it = 200000000;
    for (int r = 0; r < 3; ++r)
        printf("vpdpbusd zmm %.1f GMAC/s, ymm %.1f GMAC/s; vfmadd231ps zmm %.1f GFLOP/s, ymm %.1f GFLOP/s\n",
               vnni_z(it), vnni_y(it), fma_z(it), fma_y(it));
}
