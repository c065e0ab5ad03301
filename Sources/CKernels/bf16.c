// bfloat16 storage for training activations: float -> bf16 rounds to nearest, ties to even
// (NaN stays a quiet NaN); bf16 -> float is exact. Plain loops that -O3 -mavx2 vectorizes.
#include "CKernels.h"
#include <string.h>

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
