// The forward tile of the interleaved int8 products in 512-bit registers (AVX-512 VNNI, zmm),
// included once by quant_interleaved.c inside the third instance of the kernel header (QI_ZMM).
//
// The layout stays the 8-row groups of quant_interleaved.c: one zmm holds the same 32-byte
// vector of two neighbouring groups (low half: group g, high half: group g + 1), so a tile
// covers the 16 weight rows of a group pair with one register per activation row, where the
// 256-bit tile needs two; a tile takes up to 8 activation rows (QZ_ROWS), which spreads the
// weight side's work (nibble unpacking, the 128-bit inserts, the scales' conversion) over more
// vpdpbusd. The block scales of the 16 rows come from the two records' f16 halves joined into
// one vcvtph2ps. Q8_0 is stored as unsigned w + 128 against the signed activations, so its
// integer sum carries 128 · Σa; the accumulators start from the activation block's -128 · Σa
// (ck_q8_block.bias, a broadcast load), which removes it exactly, in integers. Against the
// earlier XOR of every weight vector and an offset FMA per row in F32, that ran the Q8_0 tile
// 7-10% faster (qgemm-bench). Q6_K, and a last group without a partner, stay on the 256-bit tile.
//
// Measured (scripts/qgemm-bench.sh, one thread, M = 512, on a Xeon with AVX512-VNNI): 8 rows
// beat 4 and 6, and 12 spill; one accumulator per row (a chain of 8 vpdpbusd per block) beat
// two (low/high nibbles apart) by 3-5%: out-of-order execution overlaps neighbouring blocks.
//
// R activation rows (1..QZ_ROWS) against the 16 weight rows of the groups at w and w + gstride,
// written straight to the output: c[r * ldc + l] (+)= dot(a_r, W row l) for l < jn (a masked
// store; through a buffer and a copy loop, as the 256-bit tile does, the tile ran 3-5% slower).

// Two 32-byte vectors (group g at p, group g + 1 at p + gstride) as one zmm.
#ifndef QZ_ROWS
#define QZ_ROWS 8  // at most 8: the tile switch and the output buffer of cols_t
#endif

static inline __attribute__((always_inline)) QI_ATTR __m512i qz_pair(const uint8_t *p, long gstride) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p)),
                              _mm256_loadu_si256((const __m256i *)(p + gstride)), 1);
}

// Eight f16 of group g at p and eight of group g + 1 at p + gstride, as 16 floats.
static inline __attribute__((always_inline)) QI_ATTR __m512 qz_halves(const uint8_t *p, long gstride) {
    const __m256i h = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p)),
                                              _mm_loadu_si128((const __m128i *)(p + gstride)), 1);
    return _mm512_cvtph_ps(h);
}

// Eight bytes of group g at p and eight of group g + 1 at p + gstride, as 16 floats.
static inline __attribute__((always_inline)) QI_ATTR __m512 qz_bytes(const uint8_t *p, long gstride) {
    const __m128i b = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)p), _mm_loadl_epi64((const __m128i *)(p + gstride)));
    return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b));
}

// Q5_0/Q5_K: the fifth bits of both groups' vector (32-bit masks at p and p + gstride) as 0x10 bytes.
static inline __attribute__((always_inline)) QI_ATTR __m512i qz_fifth(const uint8_t *p, long gstride) {
    const __mmask64 m = (__mmask64)qi_ld_u32(p) | ((__mmask64)qi_ld_u32(p + gstride) << 32);
    return _mm512_maskz_mov_epi8(m, _mm512_set1_epi8(0x10));
}

static inline __attribute__((always_inline)) QI_ATTR void qz_tile(int T, int R, int nb, const ck_q8_block *a, long astride,
                                                             const uint8_t *w, long gstride, float *c, long ldc, int jn,
                                                             int accumulate) {
    __m512 facc[QZ_ROWS];
    for (int r = 0; r < QZ_ROWS; ++r) facc[r] = _mm512_setzero_ps();
    const __m512i m0f = _mm512_set1_epi8(0x0F);
    const int hdr = qi_header_bytes(T);
    for (int blk = 0; blk < nb; ++blk) {
        const uint8_t *rec = qi_rec(T, w, blk);  // group g's record; group g + 1's is at rec + gstride
        __m512 dw, ow = _mm512_setzero_ps();
        if (T == CK_Q4_K || T == CK_Q5_K) {
            const uint8_t *sb = w + (long)(blk >> 3) * (T == CK_Q4_K ? QI_K_SUPER : QI_K5_SUPER);
            dw = _mm512_mul_ps(qz_halves(sb, gstride), qz_bytes(rec, gstride));
            ow = _mm512_mul_ps(qz_halves(sb + 16, gstride), qz_bytes(rec + 8, gstride));
        } else dw = qz_halves(rec, gstride);
        if (T == CK_Q4_1) ow = qz_halves(rec + 16, gstride);
        else if (T == CK_Q4_0) ow = _mm512_mul_ps(dw, _mm512_set1_ps(-8.0f));
        else if (T == CK_Q5_0) ow = _mm512_mul_ps(dw, _mm512_set1_ps(-16.0f));
        __m512i acc[QZ_ROWS];
        for (int r = 0; r < R; ++r)  // Q8_0: the sum against w + 128 starts from -128 · Σa (a broadcast load)
            acc[r] = T == CK_Q8_0 ? _mm512_set1_epi32(a[r * astride + blk].bias) : _mm512_setzero_si512();
        if (T == CK_Q8_0) {
            for (int p = 0; p < 8; ++p) {
                const __m512i wu = qz_pair(rec + hdr + 32 * p, gstride);  // w + 128, as stored
                for (int r = 0; r < R; ++r) {
                    const __m512i av = _mm512_set1_epi32(qi_ld32(a[r * astride + blk].q + 4 * p));
                    acc[r] = _mm512_dpbusd_epi32(acc[r], wu, av);
                }
            }
        } else {
            for (int p = 0; p < 4; ++p) {
                const __m512i raw = qz_pair(rec + hdr + 32 * p, gstride);
                __m512i lo = _mm512_and_si512(raw, m0f);
                __m512i hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m0f);
                if (T == CK_Q5_0 || T == CK_Q5_K) {  // codes 0..31: the fifth bits from the two masks of vector p
                    lo = _mm512_or_si512(lo, qz_fifth(rec + 16 + 8 * p, gstride));
                    hi = _mm512_or_si512(hi, qz_fifth(rec + 16 + 8 * p + 4, gstride));
                }
                for (int r = 0; r < R; ++r) {
                    const int8_t *q = a[r * astride + blk].q;
                    acc[r] = _mm512_dpbusd_epi32(acc[r], lo, _mm512_set1_epi32(qi_ld32(q + 4 * p)));
                    acc[r] = _mm512_dpbusd_epi32(acc[r], hi, _mm512_set1_epi32(qi_ld32(q + 16 + 4 * p)));
                }
            }
        }
        for (int r = 0; r < R; ++r) {
            const ck_q8_block *ab = a + r * astride + blk;
            const __m512 sum = _mm512_cvtepi32_ps(acc[r]);
            facc[r] = _mm512_fmadd_ps(sum, _mm512_mul_ps(dw, _mm512_set1_ps(ab->d)), facc[r]);
            if (T != CK_Q8_0) facc[r] = _mm512_fmadd_ps(ow, _mm512_set1_ps(ab->s), facc[r]);
        }
    }
    const __mmask16 keep = (__mmask16)((1u << jn) - 1);
    for (int r = 0; r < R; ++r) {
        float *cr = c + r * ldc;
        _mm512_mask_storeu_ps(cr, keep, accumulate ? _mm512_add_ps(_mm512_maskz_loadu_ps(keep, cr), facc[r]) : facc[r]);
    }
}
