// Row reductions the Swift side calls per row of a large tensor (softmax and
// cross-entropy maxima over a 49k-262k vocabulary). Swift's generic
// `pointwiseMax` on SIMD8<Float> was left as a call per 8 floats (2.4% of an int8
// training step's samples); here it is one vmaxps per 8. (vmaxps returns its
// second operand when either is NaN, so the running maximum goes second and a NaN
// entry is skipped, as in the scalar tail.)

#include "CKernels.h"

#include <math.h>

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
