// IEEE half -> float without F16C, shared by quant_gemm.c (its non-AVX2 build) and
// quant_interleaved.c (internal, not API). Exact for every value, subnormals included.
#ifndef CK_QUANT_HALF_H
#define CK_QUANT_HALF_H

#include <stdint.h>
#include <string.h>

static inline float ck_half_to_float_portable(const uint8_t *p) {
    const uint16_t h = (uint16_t)(p[0] | (p[1] << 8));
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else {  // subnormal: normalise
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) { man <<= 1; exp--; }
            man &= 0x3FF;
            bits = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 31) bits = sign | 0x7F800000u | (man << 13);
    else bits = sign | ((exp - 15 + 127) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

#endif
