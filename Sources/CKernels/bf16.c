// 16-bit storage for training activations.
// bfloat16: float -> bf16 rounds to nearest, ties to even (NaN stays a quiet NaN); bf16 ->
// float is exact. Plain loops that -O3 -mavx2 vectorizes.
// IEEE half (for values known to lie in [0, 1], the attention probabilities): float -> half
// rounds to nearest, ties to even, subnormals included (F16C's vcvtps2ph, 8 at a time, or the
// portable conversion of quant_half.h, which gives the same bits); half -> float is exact.
#include "CKernels.h"
#include "quant_half.h"
#include <string.h>

#if defined(__F16C__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define CK_F16C 1
#else
#define CK_F16C 0
#endif

void ck_f32_to_bf16(const float *src, void *dst, size_t count) {
    uint16_t *out = (uint16_t *)dst;
    for (size_t i = 0; i < count; i++) {
        uint32_t bits;
        memcpy(&bits, src + i, 4);
        const uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
        const int nan = (bits & 0x7FFFFFFFu) > 0x7F800000u;
        out[i] = (uint16_t)(nan ? ((bits >> 16) | 0x40u) : rounded);
    }
}

void ck_bf16_to_f32(const void *src, float *dst, size_t count) {
    const uint16_t *in = (const uint16_t *)src;
    for (size_t i = 0; i < count; i++) {
        const uint32_t bits = (uint32_t)in[i] << 16;
        memcpy(dst + i, &bits, 4);
    }
}

void ck_f32_to_f16(const float *src, void *dst, size_t count) {
    uint8_t *out = (uint8_t *)dst;
    size_t i = 0;
#if CK_F16C
    for (; i + 8 <= count; i += 8)
        _mm_storeu_si128((__m128i *)(out + 2 * i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
#endif
    ck_f32_to_f16_reference(src + i, out + 2 * i, count - i);
}

void ck_f32_to_f16_reference(const float *src, void *dst, size_t count) {
    for (size_t i = 0; i < count; i++) {
        const uint16_t h = ck_float_to_half_portable(src[i]);
        memcpy((uint8_t *)dst + 2 * i, &h, 2);
    }
}

void ck_f16_to_f32(const void *src, float *dst, size_t count) {
    const uint8_t *in = (const uint8_t *)src;
    size_t i = 0;
#if CK_F16C
    for (; i + 8 <= count; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(in + 2 * i))));
#endif
    for (; i < count; i++) dst[i] = ck_half_to_float_portable(in + 2 * i);
}

void ck_f32_to_f16_rows(const float *src, long ld, int rows, int cols, void *dst) {
    for (int r = 0; r < rows; ++r) ck_f32_to_f16(src + (long)r * ld, (uint8_t *)dst + 2 * (long)r * cols, (size_t)cols);
}

void ck_f16_to_f32_rows(const void *src, int rows, int cols, float *dst, long ld) {
    for (int r = 0; r < rows; ++r) ck_f16_to_f32((const uint8_t *)src + 2 * (long)r * cols, dst + (long)r * ld, (size_t)cols);
}
