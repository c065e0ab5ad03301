// IEEE half <-> float without F16C, shared by quant_gemm.c (its non-AVX2 build),
// quant_interleaved.c and bf16.c (internal, not API). half -> float is exact for every value,
// subnormals included; float -> half gives F16C's bits (IEEEHalfTests).
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

// float -> IEEE half, round to nearest with ties to even: overflow to infinity, subnormal
// halves rounded at their own precision, NaN kept quiet with its sign and top payload bits.
static inline uint16_t ck_float_to_half_portable(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    const uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    const uint32_t abs = x & 0x7FFFFFFFu;
    if (abs > 0x7F800000u) return (uint16_t)(sign | 0x7E00u | ((abs >> 13) & 0x3FFu));  // NaN
    if (abs >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u);  // rounds to >= 65520: infinity
    const int exp = (int)(abs >> 23) - 127;
    uint32_t mant = (abs & 0x7FFFFFu) | 0x800000u;  // 24 bits with the implicit one
    int shift;  // bits of mant dropped
    uint32_t base;
    if (exp >= -14) {  // normal half: keep 11 bits
        shift = 13;
        base = (uint32_t)(exp + 14) << 10;  // the exponent field minus one (the implicit bit adds it back)
    } else {  // subnormal half: units of 2^-24
        if (exp < -25) return sign;  // below half of the smallest subnormal (and zeros)
        shift = 13 + (-14 - exp);
        base = 0;
    }
    uint32_t h = mant >> shift;
    const uint32_t rest = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (h & 1))) h++;
    return (uint16_t)(sign | (base + h));  // a carry out of the mantissa steps the exponent
}

#endif
