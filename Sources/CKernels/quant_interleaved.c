// Int8 products with the frozen weights repacked once, at load, into an interleaved layout of
// the same bit width ("8-row groups"). See include/CKernels.h for the API.
//
// Layout: weight rows in groups of 8 (the last group padded with zero rows); a group is nb =
// k/32 records, one per block of 32 columns, each holding that block of all 8 rows:
//   Q4_0 (144 bytes = 8 x 18): d[8] (f16) | 4 x 32 bytes of nibbles
//   Q4_1 (160 bytes = 8 x 20): d[8] | m[8] (f16) | 4 x 32 bytes of nibbles
//   Q8_0 (272 bytes = 8 x 34): d[8] | 8 x 32 bytes, each the signed code w stored as unsigned
//        w + 128 (vpdpbusd's unsigned operand, so the VNNI tiles need no XOR)
//   Q5_0 (176 bytes = 8 x 22): d[8] | 4 x (lo[4] | hi[4]) | 4 x 32 bytes of nibbles: the
//        nibbles as Q4_0's, and for nibble vector p two 32-bit masks holding the fifth bits of
//        its low and high nibbles (bit 4l + t of lo: element 4p + t of row l; of hi: element
//        16 + 4p + t); w = (q - 16) · d.
//   Q4_K (1184 bytes per 8 rows x 256 columns, k a multiple of 256): a super-block header
//        d[8] | -dmin[8] (f16, the file's values) followed by 8 records of 144 bytes, one per
//        sub-block of 32: sc[8] | m[8] (the 6-bit scale and minimum, one byte each) | 4 x 32
//        bytes of nibbles, re-nibbled to the Q4_0/Q4_1 order. The sub-block is then Q4_1-like,
//        w = q · (d·sc) + (-dmin)·m, with d·sc and dmin·m formed in F32 (exact: an f16 times
//        an integer below 64), so the values are exactly the file's (0.578 bytes per weight
//        against the file's 0.5625: the 6-bit pairs take a byte each instead of 12 bits).
//   Q5_K (1440 bytes per 8 rows x 256 columns, k a multiple of 256): Q4_K's super-block
//        with Q5_0's fifth bits: the header d[8] | -dmin[8] and 8 records of 176 bytes, sc[8] |
//        m[8] | 4 x (lo[4] | hi[4]) fifth-bit masks as Q5_0's | 4 x 32 bytes of nibbles;
//        w = q · (d·sc) + (-dmin)·m with q = 0..31 (0.703 bytes per weight against the file's
//        0.6875, the same 6-bit byte overhead as Q4_K).
//   Q6_K (1680 bytes per 8 rows x 256 columns = 8 x 210, the file's size; k a multiple of
//        256): a super-block header d[8] (f16) followed by 8 records of 208 bytes, one per
//        block of 32: sc[16] (the file's signed 8-bit scales: sc[l] of elements 0..15 of lane
//        l, sc[8 + l] of elements 16..31) | 4 x 32 bytes of nibbles (the low 4 bits of the
//        6-bit codes, in the Q4_0 order) | 2 x 32 bytes of high bit pairs: byte 4l + t of
//        vector h (0, 1) holds the top 2 bits of element 4h + t (bits 0-1), 16 + 4h + t (bits
//        2-3), 4(h + 2) + t (bits 4-5) and 16 + 4(h + 2) + t (bits 6-7) of lane l. w = (q - 32)
//        · (d·sc), d·sc formed in F32 (exact: an f16 times an 8-bit integer), so the values are
//        exactly the file's. A block of 32 needs two integer accumulators (elements 0..15 and
//        16..31 have different scales), each starting from -32 times the sum of its 16
//        activation bytes.
// In nibble vector p (0..3), the 4 bytes of lane l (bytes 4l..4l+3) are bytes 4p..4p+3 of
// row l's original block: low nibbles = elements 4p..4p+3, high nibbles = 16+4p..16+4p+3.
// In Q8_0 vector p (0..7), lane l holds row l's elements 4p..4p+3.
//
// So one 32-bit broadcast of 4 activation bytes against one weight vector forms, in each of
// the 8 lanes, a 4-term dot product for a different weight row: a block of 32 needs 8 such
// steps and ends with the 8 rows' integer dot products already in one register, with no
// horizontal sum. The block scales are then applied for 8 rows at once (f16 -> f32 with one
// vcvtph2ps, one convert, one multiply and one FMA per 8 rows; one more FMA for the offset
// of Q4_0/Q4_1: offset_w · s_a, s_a = d_a · Σq_a).
//
// The 4-term dot product: AVX512-VNNI vpdpbusd (u8 x s8 -> s32 accumulate, one instruction)
// when the CPU has it (checked at run time with CPUID), else AVX2 vpmaddubsw + vpmaddwd +
// vpaddd. vpdpbusd's unsigned operand is the weight's code: the nibble (Q4) or the stored w +
// 128 (Q8_0, whose accumulators start from the activation block's -128·Σq_a, ck_q8_block.bias,
// so the sum is exact in integers); vpmaddubsw's for Q8_0 is |w| with the sign moved onto the
// activation. The AVX-512 code has function-level target attributes, so the
// package builds for, and runs on, AVX2-only CPUs.
//
// Tile: 4 activation rows x 2 groups (16 weight rows); rows in blocks of QI_MC so the
// quantized activations stay in L2 while a group pair's records (<= 15 KB at k = 1536) stay
// in L1.
//
// Input gradient dX = dY · W: per chunk of 16 · QI_BW_PANELS columns of W, the blocks are
// dequantized into packed F32 panels (the packed_gemm.c layout of B = W) in a small scratch
// buffer, then the packed F32 micro-kernel runs over all rows of dY. Each weight is
// dequantized once per call; no F32 copy of the whole W exists. Or (ck_qt_*, below) through a
// transposed Q8_0 copy of W made once, with dY quantized and the int8 forward kernels: about
// twice as fast, for 1.0625 more bytes per weight and 8-bit rounding of dY and of Wᵀ.

#include "CKernels.h"
#include "quant_reference.h"
#include "quant_half.h"

#include <math.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define QI_X86 1
#else
#define QI_X86 0
#endif

#define QK 32
#define QK_K 256
#define QI_K_SUPER 1184  // Q4_K: 32-byte header + 8 records of 144 bytes
#define QI_K5_SUPER 1440 // Q5_K: 32-byte header + 8 records of 176 bytes
#define QI_K6_SUPER 1680 // Q6_K: 16-byte header + 8 records of 208 bytes
#define QI_K6_HIGH 144   // Q6_K: offset of the high bit pairs in a record
#ifndef QI_MC
#define QI_MC 64
#endif
#define QI_BW_PANELS_DEFAULT 4

static int g_bw_panels = QI_BW_PANELS_DEFAULT;

static inline int qi_record_bytes(int type) {
    switch (type) {
    case CK_Q4_0: return 144;
    case CK_Q4_1: return 160;
    case CK_Q8_0: return 272;
    case CK_Q4_K: return 144;
    case CK_Q5_K: return 176;
    case CK_Q5_0: return 176;
    case CK_Q6_K: return 208;
    default: return 0;
    }
}

static inline int qi_header_bytes(int type) {
    return type == CK_Q4_0 || type == CK_Q4_K || type == CK_Q6_K || type == CK_Q8_0 ? 16 : type == CK_Q5_0 || type == CK_Q5_K ? 48 : 32;
}

// Bytes of one GGUF block of `type` (ck_quant_block_bytes knows the 32-element types of quant_gemm.c).
static inline int qi_source_block_bytes(int type) {
    switch (type) {
    case CK_Q4_K: return 144;
    case CK_Q5_K: return 176;
    case CK_Q6_K: return 210;
    case CK_Q5_0: return 22;
    default: return ck_quant_block_bytes(type);
    }
}

// The unsigned code of element e (0..31) of lane l in a nibble record (Q4_0, Q4_1, Q4_K, Q5_0,
// Q6_K).
static inline int qi_code(int type, const uint8_t *rec, int l, int e) {
    const int hi = e >= 16, p = (e & 15) >> 2, bit = 4 * l + (e & 3);
    int q = (rec[qi_header_bytes(type) + 32 * p + bit] >> (4 * hi)) & 0x0F;
    if (type == CK_Q5_0 || type == CK_Q5_K) q |= ((rec[16 + 8 * p + 4 * hi + bit / 8] >> (bit % 8)) & 1) << 4;
    if (type == CK_Q6_K) q |= ((rec[QI_K6_HIGH + 32 * (p & 1) + bit] >> (4 * (p >> 1) + 2 * hi)) & 3) << 4;
    return q;
}

// Bytes of one group of 8 rows (nb blocks of 32 columns).
static inline long qi_group_bytes(int type, int nb) {
    if (type == CK_Q4_K) return (long)(nb / 8) * QI_K_SUPER;
    if (type == CK_Q5_K) return (long)(nb / 8) * QI_K5_SUPER;
    if (type == CK_Q6_K) return (long)(nb / 8) * QI_K6_SUPER;
    return (long)nb * qi_record_bytes(type);
}

// The record of block blk (32 columns) in group grp.
static inline const uint8_t *qi_rec(int type, const uint8_t *grp, int blk) {
    if (type == CK_Q4_K) return grp + (long)(blk >> 3) * QI_K_SUPER + 32 + (blk & 7) * 144;
    if (type == CK_Q5_K) return grp + (long)(blk >> 3) * QI_K5_SUPER + 32 + (blk & 7) * 176;
    if (type == CK_Q6_K) return grp + (long)(blk >> 3) * QI_K6_SUPER + 16 + (blk & 7) * 208;
    return grp + (long)blk * qi_record_bytes(type);
}

static inline int32_t qi_ld32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint32_t qi_ld_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline float qi_half(const uint8_t *p) { return ck_half_to_float_portable(p); }

// The signed Q8_0 code of a stored byte (w + 128).
static inline int qi_q8(uint8_t b) { return (int)b - 128; }

// Q6_K: the scale d·sc of elements 16h .. 16h + 15 of lane l in block blk of group grp (exact in F32).
static inline float qi_k6_scale(const uint8_t *grp, int blk, int l, int h) {
    return qi_half(grp + (long)(blk >> 3) * QI_K6_SUPER + 2 * l) * (float)(int8_t)qi_rec(CK_Q6_K, grp, blk)[8 * h + l];
}

// Scale d and offset o of lane l in block blk of group grp: w = q · d + o (q the stored code:
// a nibble, or the signed byte of Q8_0 with o = 0).
static inline void qi_lane_scale(int type, const uint8_t *grp, int blk, int l, float *d, float *o) {
    const uint8_t *rec = qi_rec(type, grp, blk);
    switch (type) {
    case CK_Q4_K:
    case CK_Q5_K: {
        const uint8_t *sb = grp + (long)(blk >> 3) * (type == CK_Q4_K ? QI_K_SUPER : QI_K5_SUPER);
        *d = qi_half(sb + 2 * l) * (float)rec[l];
        *o = qi_half(sb + 16 + 2 * l) * (float)rec[8 + l];
        return;
    }
    case CK_Q4_1: *d = qi_half(rec + 2 * l); *o = qi_half(rec + 16 + 2 * l); return;
    case CK_Q4_0: *d = qi_half(rec + 2 * l); *o = -8.0f * *d; return;
    case CK_Q5_0: *d = qi_half(rec + 2 * l); *o = -16.0f * *d; return;
    default: *d = qi_half(rec + 2 * l); *o = 0; return;
    }
}

static inline int qi_block_elements(int type) { return type == CK_Q4_K || type == CK_Q5_K || type == CK_Q6_K ? QK_K : QK; }

size_t ck_qi_bytes(int type, int rows, int k) {
    if (qi_record_bytes(type) == 0 || rows <= 0 || k <= 0 || k % qi_block_elements(type)) return 0;
    return (size_t)((rows + 7) / 8) * (size_t)qi_group_bytes(type, k / QK);
}

// One GGUF-layout block `s` of `type` into lane l of an interleaved record.
static void qi_place_block(int type, uint8_t *rec, int l, const uint8_t *s) {
    const int hdr = qi_header_bytes(type);
    memcpy(rec + 2 * l, s, 2);
    if (type == CK_Q4_1) memcpy(rec + 16 + 2 * l, s + 2, 2);
    if (type == CK_Q8_0) {
        for (int p = 0; p < 8; ++p)
            for (int t = 0; t < 4; ++t) rec[hdr + 32 * p + 4 * l + t] = (uint8_t)(s[2 + 4 * p + t] ^ 0x80);
    } else {
        const uint8_t *qs = s + (type == CK_Q4_1 ? 4 : type == CK_Q5_0 ? 6 : 2);
        for (int p = 0; p < 4; ++p) memcpy(rec + hdr + 32 * p + 4 * l, qs + 4 * p, 4);
        if (type == CK_Q5_0) {
            const uint32_t qh = (uint32_t)s[2] | (uint32_t)s[3] << 8 | (uint32_t)s[4] << 16 | (uint32_t)s[5] << 24;
            for (int p = 0; p < 4; ++p)
                for (int t = 0; t < 4; ++t) {
                    const int bit = 4 * l + t;
                    rec[16 + 8 * p + bit / 8] |= (uint8_t)(((qh >> (4 * p + t)) & 1) << (bit % 8));
                    rec[16 + 8 * p + 4 + bit / 8] |= (uint8_t)(((qh >> (16 + 4 * p + t)) & 1) << (bit % 8));
                }
        }
    }
}

// The 6-bit scale and minimum of sub-block j of a Q4_K super-block (ggml's get_scale_min_k4).
static void qi_k4_scale_min(int j, const uint8_t *q, uint8_t *sc, uint8_t *m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// One GGUF Q4_K super-block `s` (144 bytes: d, dmin, 12 bytes of 6-bit scales and minimums,
// 128 bytes of nibbles, sub-block 2p in the low and 2p + 1 in the high nibbles of bytes
// 32p..32p+31) into lane l of the interleaved super-block `sb`.
static void qi_place_k4(uint8_t *sb, int l, const uint8_t *s) {
    memcpy(sb + 2 * l, s, 2);
    sb[16 + 2 * l] = s[2];
    sb[16 + 2 * l + 1] = (uint8_t)(s[3] ^ 0x80);  // -dmin: the f16 sign bit
    const uint8_t *qs = s + 16;
    for (int j = 0; j < 8; ++j) {
        uint8_t *rec = sb + 32 + j * 144, e[QK], b[16];
        qi_k4_scale_min(j, s + 4, &rec[l], &rec[8 + l]);
        for (int t = 0; t < QK; ++t) e[t] = (j & 1) ? (uint8_t)(qs[32 * (j / 2) + t] >> 4) : (uint8_t)(qs[32 * (j / 2) + t] & 0x0F);
        for (int t = 0; t < 16; ++t) b[t] = (uint8_t)(e[t] | (e[t + 16] << 4));
        for (int p = 0; p < 4; ++p) memcpy(rec + 16 + 32 * p + 4 * l, b + 4 * p, 4);
    }
}

// One GGUF Q5_K super-block `s` (176 bytes: d, dmin, 12 bytes of 6-bit scales and minimums as
// Q4_K's, qh[32], 128 bytes of nibbles as Q4_K's; the fifth bit of element t of sub-block j is
// bit j of qh[t]) into lane l of the interleaved super-block `sb`.
static void qi_place_k5(uint8_t *sb, int l, const uint8_t *s) {
    memcpy(sb + 2 * l, s, 2);
    sb[16 + 2 * l] = s[2];
    sb[16 + 2 * l + 1] = (uint8_t)(s[3] ^ 0x80);  // -dmin: the f16 sign bit
    const uint8_t *qh = s + 16, *qs = s + 48;
    for (int j = 0; j < 8; ++j) {
        uint8_t *rec = sb + 32 + j * 176, e[QK], b[16];
        qi_k4_scale_min(j, s + 4, &rec[l], &rec[8 + l]);
        for (int t = 0; t < QK; ++t) e[t] = (j & 1) ? (uint8_t)(qs[32 * (j / 2) + t] >> 4) : (uint8_t)(qs[32 * (j / 2) + t] & 0x0F);
        for (int t = 0; t < 16; ++t) b[t] = (uint8_t)(e[t] | (e[t + 16] << 4));
        for (int p = 0; p < 4; ++p) {
            memcpy(rec + 48 + 32 * p + 4 * l, b + 4 * p, 4);
            for (int t = 0; t < 4; ++t) {
                const int bit = 4 * l + t;
                rec[16 + 8 * p + bit / 8] |= (uint8_t)(((qh[4 * p + t] >> j) & 1) << (bit % 8));
                rec[16 + 8 * p + 4 + bit / 8] |= (uint8_t)(((qh[16 + 4 * p + t] >> j) & 1) << (bit % 8));
            }
        }
    }
}

// One GGUF Q6_K super-block `s` (210 bytes: ql[128], qh[64], 16 signed 8-bit scales, f16 d;
// ggml's layout: in half n (128 elements), element 128n + 32c + t (c 0..3, t 0..31) has the low
// nibble (c < 2) or high nibble (c >= 2) of ql[64n + 32(c & 1) + t] and bits 2c, 2c + 1 of
// qh[32n + t]; element e has scale sc[e / 16]) into lane l of the interleaved super-block `sb`.
static void qi_place_k6(uint8_t *sb, int l, const uint8_t *s) {
    uint8_t q[QK_K];
    for (int n = 0; n < 2; ++n)
        for (int c = 0; c < 4; ++c)
            for (int t = 0; t < 32; ++t) {
                const uint8_t lo = s[64 * n + 32 * (c & 1) + t], hb = s[128 + 32 * n + t];
                q[128 * n + 32 * c + t] = (uint8_t)(((c < 2 ? lo : lo >> 4) & 0x0F) | ((hb >> (2 * c)) & 3) << 4);
            }
    memcpy(sb + 2 * l, s + 208, 2);
    for (int j = 0; j < 8; ++j) {
        uint8_t *rec = sb + 16 + j * 208;
        const uint8_t *e = q + 32 * j;
        rec[l] = s[192 + 2 * j];
        rec[8 + l] = s[192 + 2 * j + 1];
        for (int p = 0; p < 4; ++p)
            for (int t = 0; t < 4; ++t) {
                const uint8_t a = e[4 * p + t], b = e[16 + 4 * p + t];
                rec[16 + 32 * p + 4 * l + t] = (uint8_t)((a & 0x0F) | (b & 0x0F) << 4);
                rec[QI_K6_HIGH + 32 * (p & 1) + 4 * l + t] |= (uint8_t)(((a >> 4) | (b >> 4) << 2) << (4 * (p >> 1)));
            }
    }
}

int ck_qi_pack(int type, int rows, int k, const void *src, const int32_t *row_order, void *dst) {
    const int rb = qi_record_bytes(type), bb = qi_source_block_bytes(type);
    if (rb == 0 || bb == 0 || rows <= 0 || k <= 0 || k % qi_block_elements(type)) return -1;
    const int nb = k / qi_block_elements(type), groups = (rows + 7) / 8;
    const long srcRow = (long)nb * bb, gb = qi_group_bytes(type, k / QK);
    uint8_t *out = (uint8_t *)dst;
    memset(out, 0, ck_qi_bytes(type, rows, k));
    for (int g = 0; g < groups; ++g) {
        for (int l = 0; l < 8; ++l) {
            const int r = g * 8 + l;
            if (r >= rows) break;
            const int from = row_order ? row_order[r] : r;
            if (from < 0 || from >= rows) return -1;
            const uint8_t *s = (const uint8_t *)src + (long)from * srcRow;
            for (int blk = 0; blk < nb; ++blk, s += bb) {
                if (type == CK_Q4_K) qi_place_k4(out + g * gb + (long)blk * QI_K_SUPER, l, s);
                else if (type == CK_Q5_K) qi_place_k5(out + g * gb + (long)blk * QI_K5_SUPER, l, s);
                else if (type == CK_Q6_K) qi_place_k6(out + g * gb + (long)blk * QI_K6_SUPER, l, s);
                else qi_place_block(type, out + g * gb + (long)blk * rb, l, s);
            }
        }
    }
    return 0;
}

// The 32 weights of row lane l in block blk of group grp.
static void qi_dequant_block(int type, const uint8_t *grp, int blk, int l, float *dst) {
    const int hdr = qi_header_bytes(type);
    const uint8_t *rec = qi_rec(type, grp, blk);
    if (type == CK_Q6_K) {  // (q - 32) · (d·sc), as ggml writes it
        for (int e = 0; e < QK; ++e) dst[e] = (float)(qi_code(type, rec, l, e) - 32) * qi_k6_scale(grp, blk, l, e >> 4);
        return;
    }
    float d, o;
    qi_lane_scale(type, grp, blk, l, &d, &o);
    if (type == CK_Q8_0) {
        for (int p = 0; p < 8; ++p)
            for (int t = 0; t < 4; ++t) dst[4 * p + t] = (float)qi_q8(rec[hdr + 32 * p + 4 * l + t]) * d;
        return;
    }
    // Q4_0 and Q5_0 as ggml writes them, (q - 8) · d and (q - 16) · d (no + 0: it would turn
    // a -0 into +0); Q4_1 as q · d + m; Q4_K as (d·sc) · q - dmin·m.
    const int center = type == CK_Q4_0 ? 8 : type == CK_Q5_0 ? 16 : 0;
    for (int e = 0; e < QK; ++e) {
        const int q = qi_code(type, rec, l, e);
        dst[e] = center ? (float)(q - center) * d : (float)q * d + o;
    }
}

void ck_qi_dequantize_row(int type, const void *qi, int k, int row, float *dst) {
    const int nb = k / QK;
    const uint8_t *grp = (const uint8_t *)qi + (long)(row / 8) * qi_group_bytes(type, nb);
    for (int blk = 0; blk < nb; ++blk, dst += QK) qi_dequant_block(type, grp, blk, row % 8, dst);
}

// ---- run-time ISA choice ----

static int g_isa_cap = -1;   // -1: not yet detected
static int g_isa_limit = 3;  // override (tests, benchmarks)

int ck_qi_isa_available(void) {
    if (g_isa_cap < 0) {
#if QI_X86
        __builtin_cpu_init();
        int cap = 1;
        if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw")) cap = 3;
        // FEDPILOT_INT8_ISA=vnni256, avx2 or c lowers the choice (A/B runs on one machine).
        const char *env = getenv("FEDPILOT_INT8_ISA");
        if (env && strcmp(env, "vnni256") == 0 && cap > 2) cap = 2;
        if (env && strcmp(env, "avx2") == 0 && cap > 1) cap = 1;
        if (env && strcmp(env, "c") == 0) cap = 0;
        g_isa_cap = cap;
#else
        g_isa_cap = 0;
#endif
    }
    return g_isa_cap;
}

int ck_qi_set_isa(int limit) {
    g_isa_limit = limit < 0 ? 3 : limit;
    return ck_qi_isa();
}

int ck_qi_isa(void) {
    const int cap = ck_qi_isa_available();
    return g_isa_limit < cap ? g_isa_limit : cap;
}

void ck_qi_set_backward_panels(int panels) { if (panels > 0) g_bw_panels = panels; }

// ---- forward kernels ----

#if QI_X86
// A 32-bit mask to 32 bytes: byte b is 0x10 when bit b is set, else 0 (Q5_0's fifth bits, AVX2;
// the VNNI tiles use an AVX-512 mask register instead).
static inline __attribute__((always_inline)) __m256i qi_fifth_bits(const uint8_t *mask) {
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32((int)qi_ld_u32(mask)),
                                               _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                                                2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i sel = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, sel), sel), _mm256_set1_epi8(0x10));
}
#endif

// Q6_K: -32 times the sums of the two halves (16 bytes each) of every activation block of m
// rows, m · nb · 2 values (the accumulators of the Q6_K tiles start from them).
static void qi_k6_sums(int m, int nb, const ck_q8_block *aq, int32_t *sums) {
    for (long b = 0; b < (long)m * nb; ++b)
        for (int h = 0; h < 2; ++h) {
            int s = 0;
            for (int e = 16 * h; e < 16 * h + 16; ++e) s += aq[b].q[e];
            sums[2 * b + h] = -32 * s;
        }
}

#if QI_X86
#define QI_VNNI 1
#define QI_ZMM 1
#define QI_FN(name) qi_zmm_##name
#define QI_ATTR __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#include "quant_interleaved_zmm.h"
#include "quant_interleaved_kernel.h"
#undef QI_VNNI
#undef QI_ZMM
#undef QI_FN
#undef QI_ATTR

#define QI_ZMM 0
#define QI_VNNI 1
#define QI_FN(name) qi_vnni_##name
#define QI_ATTR __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#include "quant_interleaved_kernel.h"
#undef QI_VNNI
#undef QI_FN
#undef QI_ATTR

#define QI_VNNI 0
#define QI_FN(name) qi_avx2_##name
#define QI_ATTR
#include "quant_interleaved_kernel.h"
#undef QI_VNNI
#undef QI_ZMM
#undef QI_FN
#undef QI_ATTR
#endif

// Portable fallback (and the shape of the arithmetic the SIMD tiles perform).
static void qi_scalar_cols(int T, int m, int n, int nb, const ck_q8_block *aq, const uint8_t *w, float *c, long ldc,
                           int accumulate, int g0, int g1) {
    const int hdr = qi_header_bytes(T);
    for (int j = g0 * 8; j < g1 * 8 && j < n; ++j) {
        const uint8_t *grp = w + (long)(j / 8) * qi_group_bytes(T, nb);
        const int l = j % 8;
        for (int i = 0; i < m; ++i) {
            float total = 0;
            for (int blk = 0; blk < nb; ++blk) {
                const uint8_t *rec = qi_rec(T, grp, blk);
                const ck_q8_block *ab = aq + (long)i * nb + blk;
                if (T == CK_Q6_K) {  // two halves of 16 with their own scales
                    for (int h = 0; h < 2; ++h) {
                        int half = 0;
                        for (int e = 16 * h; e < 16 * h + 16; ++e) half += (qi_code(T, rec, l, e) - 32) * ab->q[e];
                        total += (float)half * qi_k6_scale(grp, blk, l, h) * ab->d;
                    }
                    continue;
                }
                float dw, o;
                qi_lane_scale(T, grp, blk, l, &dw, &o);
                int sum = 0;
                if (T == CK_Q8_0) {
                    for (int p = 0; p < 8; ++p)
                        for (int t = 0; t < 4; ++t) sum += qi_q8(rec[hdr + 32 * p + 4 * l + t]) * ab->q[4 * p + t];
                    total += (float)sum * dw * ab->d;
                } else {
                    for (int e = 0; e < QK; ++e) sum += qi_code(T, rec, l, e) * ab->q[e];
                    total += (float)sum * dw * ab->d + o * ab->s;
                }
            }
            float *cp = c + (long)i * ldc + j;
            *cp = accumulate ? *cp + total : total;
        }
    }
}

void ck_qi_gemm_cols(int type, int m, int n, int k, const ck_q8_block *aq, const void *qi, float *c, long ldc,
                     int accumulate, int n0, int n1) {
    if (m <= 0 || n1 <= n0 || qi_record_bytes(type) == 0) return;
    const int nb = k / QK, g0 = n0 / 8, g1 = (n1 + 7) / 8;
    const uint8_t *w = (const uint8_t *)qi;
    const int isa = ck_qi_isa();
#if QI_X86
    // Q6_K's half-block activation sums, QI_MC rows at a time: a small buffer (512 bytes per
    // block of 32 columns, 32 KB at k = 2048) that malloc serves from its heap. One for all m
    // rows (256 KB at m = 512) was mmapped, and freeing it raised glibc's mmap threshold, which
    // cost 7 MB of peak RSS in Gemma's forward. (int16 sums, scaled at the broadcast, ran the
    // VNNI tile 30% slower.)
    int32_t *sums = NULL;
    if (type == CK_Q6_K && isa > 0) {
        sums = (int32_t *)ck_alloc(sizeof(int32_t) * 2 * (size_t)(m < QI_MC ? m : QI_MC) * (size_t)nb);
        if (!sums) return;
    }
    if (isa == 3) qi_zmm_cols(type, m, n1, nb, aq, sums, w, c, ldc, accumulate, g0, g1);
    else if (isa == 2) qi_vnni_cols(type, m, n1, nb, aq, sums, w, c, ldc, accumulate, g0, g1);
    else if (isa == 1) qi_avx2_cols(type, m, n1, nb, aq, sums, w, c, ldc, accumulate, g0, g1);
    if (sums) ck_free(sums);
    if (isa > 0) return;
#endif
    qi_scalar_cols(type, m, n1, nb, aq, w, c, ldc, accumulate, g0, g1);
    (void)n;
}

// ---- input gradient ----

// Columns [c0, c0 + 16·np) of W (all n rows) as np packed F32 panels: panel p, row j holds
// W[j, c0 + 16p .. c0 + 16p + 15] (zero past k).
static void qi_dequant_panels(int type, int n, int k, const uint8_t *w, int c0, int np, float *panels) {
    const int nb = k / QK, hdr = qi_header_bytes(type);
    const long gb = qi_group_bytes(type, nb);
    for (int p = 0; p < np; ++p) {
        const int col = c0 + 16 * p;
        float *panel = panels + (long)p * n * 16;
        if (col >= k) { memset(panel, 0, sizeof(float) * (size_t)n * 16); continue; }
        const int blk = col / QK, half = (col % QK) / 16;
        for (int j = 0; j < n; ++j) {
            const uint8_t *grp = w + (long)(j / 8) * gb, *rec = qi_rec(type, grp, blk);
            const int l = j % 8;
            float *dst = panel + (long)j * 16;
            if (type == CK_Q6_K) {
                const float d = qi_k6_scale(grp, blk, l, half);
                for (int e = 0; e < 16; ++e) dst[e] = (float)(qi_code(type, rec, l, 16 * half + e) - 32) * d;
                continue;
            }
            float d, o;
            qi_lane_scale(type, grp, blk, l, &d, &o);
            if (type == CK_Q8_0) {
                for (int v = 0; v < 4; ++v)
                    for (int t = 0; t < 4; ++t) dst[4 * v + t] = (float)qi_q8(rec[hdr + 32 * (4 * half + v) + 4 * l + t]) * d;
            } else {
                for (int e = 0; e < 16; ++e) dst[e] = (float)qi_code(type, rec, l, 16 * half + e) * d + o;
            }
        }
    }
}

void ck_qi_backward_cols(int type, int m, int n, int k, const float *dy, long lddy, const void *qi, float *dx,
                         long lddx, int accumulate, int c0, int c1) {
    if (m <= 0 || c1 <= c0) return;
    // At most ~512 KB of scratch (one panel at least: 3 MB for a 49152-row LM head).
    int np = g_bw_panels;
    while (np > 1 && (long)np * n * 16 > 131072) --np;
    float *panels = (float *)ck_alloc(sizeof(float) * (size_t)n * 16 * (size_t)np);
    if (!panels) return;
    for (int c = c0; c < c1; c += 16 * np) {
        const int width = (c1 - c < 16 * np) ? c1 - c : 16 * np;
        qi_dequant_panels(type, n, k, (const uint8_t *)qi, c, (width + 15) / 16, panels);
        // B = W[:, c .. c + width) packed: depth n (rows of W), width columns.
        ck_gemm_packed_cols(m, width, n, dy, lddy, panels, dx + c, lddx, accumulate, 0, width);
    }
    ck_free(panels);
}

// ---- input gradient through a transposed Q8_0 copy ----
//
// Wᵀ[k, n32] (n32 = n rounded up to 32, zero columns past n) requantized to Q8_0 along n and
// stored in the interleaved Q8_0 layout, so dX = dY · W is the forward product dY · (Wᵀ)ᵀ: dY
// is quantized per row to 8-bit blocks along n and multiplied with the int8 forward kernels.
// Built once from the interleaved weight, 32 rows of W dequantized at a time (no F32 copy of
// the whole W); costs 34 bytes per 32 weights (Q4_1 itself: 20).

size_t ck_qt_bytes(int n, int k) {
    if (n <= 0 || k <= 0 || k % QK) return 0;
    return ck_qi_bytes(CK_Q8_0, k, (n + QK - 1) / QK * QK);
}

int ck_qt_build(int type, int n, int k, const void *qi, void *dst) {
    if (qi_record_bytes(type) == 0 || n <= 0 || k <= 0 || k % qi_block_elements(type)) return -1;
    const int nbt = (n + QK - 1) / QK, rb = qi_record_bytes(CK_Q8_0);
    uint8_t *out = (uint8_t *)dst;
    memset(out, 0, ck_qt_bytes(n, k));
    float *tile = (float *)ck_alloc(sizeof(float) * (size_t)QK * (size_t)k);  // rows 32·jb .. 32·jb + 31 of W
    if (!tile) return -1;
    float col[QK];
    uint8_t block[34];
    for (int jb = 0; jb < nbt; ++jb) {
        for (int r = 0; r < QK; ++r) {
            const int j = jb * QK + r;
            if (j < n) ck_qi_dequantize_row(type, qi, k, j, tile + (long)r * k);
            else memset(tile + (long)r * k, 0, sizeof(float) * (size_t)k);
        }
        for (int t = 0; t < k; ++t) {
            for (int r = 0; r < QK; ++r) col[r] = tile[(long)r * k + t];
            ck_quantize_row_q8_0(col, QK, block);
            qi_place_block(CK_Q8_0, out + ((long)(t / 8) * nbt + jb) * rb, t % 8, block);
        }
    }
    ck_free(tile);
    return 0;
}

void ck_q8_quantize_rows_padded(const float *a, int m, int n, long lda, ck_q8_block *dst) {
    const int full = n / QK, nbt = (n + QK - 1) / QK, tail = n % QK;
    float last[QK];
    for (int i = 0; i < m; ++i) {
        const float *x = a + (long)i * lda;
        ck_q8_block *y = dst + (long)i * nbt;
        if (full > 0) ck_q8_quantize_rows(x, 1, full * QK, lda, y);
        if (tail) {
            memset(last, 0, sizeof last);
            memcpy(last, x + full * QK, sizeof(float) * (size_t)tail);
            ck_q8_quantize_rows(last, 1, QK, QK, y + full);
        }
    }
}

void ck_qi_gemm_ref(int type, int m, int n, int k, const float *a, long lda, const ck_q8_block *aq, const void *qi,
                    double *c) {
    float *wrow = (float *)ck_alloc(sizeof(float) * (size_t)k);
    float *arow = (float *)ck_alloc(sizeof(float) * (size_t)k);
    for (int j = 0; j < n; ++j) {
        ck_qi_dequantize_row(type, qi, k, j, wrow);
        ck_ref_column(m, n, k, a, lda, aq, wrow, arow, j, c);
    }
    ck_free(wrow);
    ck_free(arow);
}

void ck_qi_backward_ref(int type, int m, int n, int k, const float *dy, long lddy, const void *qi, double *dx) {
    float *wrow = (float *)ck_alloc(sizeof(float) * (size_t)k);
    for (long t = 0; t < (long)m * k; ++t) dx[t] = 0;
    for (int j = 0; j < n; ++j) {
        ck_qi_dequantize_row(type, qi, k, j, wrow);
        for (int i = 0; i < m; ++i) {
            const double cf = dy[(long)i * lddy + j];
            for (int t = 0; t < k; ++t) dx[(long)i * k + t] += cf * (double)wrow[t];
        }
    }
    ck_free(wrow);
}
