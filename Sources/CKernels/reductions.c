// Row reductions the Swift side calls per row of a large tensor (softmax and
// cross-entropy maxima over a 49k-262k vocabulary). Swift's generic
// `pointwiseMax` on SIMD8<Float> was left as a call per 8 floats (2.4% of an int8
// training step's samples); here it is one vmaxps per 8. (vmaxps returns its
// second operand when either is NaN, so the running maximum goes second and a NaN
// entry is skipped, as in the scalar tail.)

#include "CKernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

float ck_max_f32(const float *a, long n) {
    float m = -INFINITY;
    long i = 0;
#if defined(__AVX2__)
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0;
    for (; i + 16 <= n; i += 16) {
        m0 = _mm256_max_ps(_mm256_loadu_ps(a + i), m0);
        m1 = _mm256_max_ps(_mm256_loadu_ps(a + i + 8), m1);
    }
    if (i + 8 <= n) {
        m0 = _mm256_max_ps(_mm256_loadu_ps(a + i), m0);
        i += 8;
    }
    m0 = _mm256_max_ps(m0, m1);
    float lanes[8];
    _mm256_storeu_ps(lanes, m0);
    for (int l = 0; l < 8; ++l) m = lanes[l] > m ? lanes[l] : m;
#endif
    for (; i < n; ++i) m = a[i] > m ? a[i] : m;
    return m;
}

// e^(src[i] - shift) with the project's Cephes-style exp (Swift's BackwardMath.exp): the same
// clamps, the same separately rounded multiplies and adds in the same order (no FMA: this
// file's plain C is compiled with contraction off below, the intrinsics are never fused), so
// every element equals the Swift function bit for bit. In C so that debug builds of the Swift
// code, where SIMD8 arithmetic is not optimised, do not pay for it in every softmax.
#pragma clang fp contract(off)
static inline float exp_scalar(float x) {
    x = x < -87.33654f ? -87.33654f : x;
    x = x > 88.37626f ? 88.37626f : x;
    const float t = x * 1.44269504f + 12582912.0f;
    const float n = t - 12582912.0f;
    const float r = x - n * 0.693359375f + n * 2.1219444e-4f;
    float p = 1.98756915e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    uint32_t bits;
    memcpy(&bits, &t, 4);
    bits = (bits - 0x4B400000u + 127u) << 23;
    float two;
    memcpy(&two, &bits, 4);
    return p * two;
}

void ck_exp_shifted(const float *src, float shift, float *dst, long n) {
    long i = 0;
#if defined(__AVX2__)
    const __m256 s = _mm256_set1_ps(shift);
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_sub_ps(_mm256_loadu_ps(src + i), s);
        // max/min return their second operand when either is NaN: NaN passes through, as in
        // the scalar clamps (comparisons with NaN are false).
        x = _mm256_max_ps(_mm256_set1_ps(-87.33654f), x);
        x = _mm256_min_ps(_mm256_set1_ps(88.37626f), x);
        const __m256 t = _mm256_add_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _mm256_set1_ps(12582912.0f));
        const __m256 nn = _mm256_sub_ps(t, _mm256_set1_ps(12582912.0f));
        const __m256 r = _mm256_add_ps(_mm256_sub_ps(x, _mm256_mul_ps(nn, _mm256_set1_ps(0.693359375f))),
                                       _mm256_mul_ps(nn, _mm256_set1_ps(2.1219444e-4f)));
        __m256 p = _mm256_set1_ps(1.98756915e-4f);
        p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.3981999507e-3f));
        p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(8.3334519073e-3f));
        p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(4.1665795894e-2f));
        p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(1.6666665459e-1f));
        p = _mm256_add_ps(_mm256_mul_ps(p, r), _mm256_set1_ps(5.0000001201e-1f));
        p = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(p, _mm256_mul_ps(r, r)), r), _mm256_set1_ps(1.0f));
        const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(_mm256_castps_si256(t), _mm256_set1_epi32(0x4B400000)),
                                                             _mm256_set1_epi32(127)), 23);
        _mm256_storeu_ps(dst + i, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
    }
#endif
    for (; i < n; ++i) dst[i] = exp_scalar(src[i] - shift);
}
