// The forward tile of the interleaved int8 products, included three times by quant_interleaved.c:
// for AVX512-VNNI in 512-bit registers (QI_ZMM 1: group pairs go to qz_tile of
// quant_interleaved_zmm.h, the rest to the 256-bit tile below), for AVX512-VNNI in 256-bit
// registers (QI_VNNI 1: vpdpbusd) and for AVX2 (QI_VNNI 0: vpmaddubsw + vpmaddwd + vpaddd).
// QI_FN(name) names the functions for the ISA, QI_ATTR is its target attribute. See
// quant_interleaved.c for the layout.

#if QI_VNNI
// Σ over 4 bytes per 32-bit lane: acc += w(u8) · a(s8).
#define QI_DOT_U4(acc, w, a) ((acc) = _mm256_dpbusd_epi32((acc), (w), (a)))
// Q5_0's fifth bits: the 32-bit mask as an AVX-512 mask register, 0x10 in the bytes it selects.
#define QI_FIFTH(p) _mm256_maskz_mov_epi8((__mmask32)qi_ld_u32(p), _mm256_set1_epi8(0x10))
#else
#define QI_FIFTH(p) qi_fifth_bits(p)
#define QI_DOT_U4(acc, w, a) ((acc) = _mm256_add_epi32((acc), _mm256_madd_epi16(_mm256_maddubs_epi16((w), (a)), ones16)))
#endif

// The Q6_K tile (same contract as the tile below). Per block of 32 and half h (elements 16h ..
// 16h + 15, one scale each), the 6-bit codes are formed from the nibbles and the high bit pairs
// and dotted with the activations into an accumulator that starts at -32 · Σ (the half's 16
// activation bytes (`sums`: for activation row r and block blk, the sums of the two halves at
// sums[(r · nb + blk) · 2 + h], from qi_k6_sums), so it holds Σ (q - 32) · a exactly; then
// d·sc · d_a is applied in F32.
static inline __attribute__((always_inline)) QI_ATTR void QI_FN(tile_k6)(int R, int G, int nb, const ck_q8_block *a, long astride,
                                                                   const int32_t *sums, const uint8_t *w, long gstride, float *out) {
    __m256 facc[4][2];
    for (int r = 0; r < 4; ++r) facc[r][0] = facc[r][1] = _mm256_setzero_ps();
    const __m256i m0f = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
#if !QI_VNNI
    const __m256i ones16 = _mm256_set1_epi16(1);
#endif
    for (int blk = 0; blk < nb; ++blk) {
        const uint8_t *rec[2];
        __m256 dsc[2][2];
        for (int g = 0; g < G; ++g) {
            rec[g] = qi_rec(CK_Q6_K, w + g * gstride, blk);
            const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + g * gstride + (long)(blk >> 3) * QI_K6_SUPER)));
            for (int h = 0; h < 2; ++h)
                dsc[g][h] = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(rec[g] + 8 * h)))));
        }
        __m256 part[4][2];  // Σ over the halves of d·sc · Σ (q - 32) · a, per row pair
        for (int h = 0; h < 2; ++h) {
            __m256i iacc[4][2];
            for (int r = 0; r < R; ++r) iacc[r][0] = iacc[r][1] = _mm256_set1_epi32(sums[((long)r * nb + blk) * 2 + h]);
            for (int p = 0; p < 4; ++p) {
                __m256i wv[2];
                for (int g = 0; g < G; ++g) {
                    const __m256i raw = _mm256_loadu_si256((const __m256i *)(rec[g] + 16 + 32 * p));
                    const __m256i hb = _mm256_loadu_si256((const __m256i *)(rec[g] + QI_K6_HIGH + 32 * (p & 1)));
                    // The pair of element (h, p) sits at bit 4·(p >> 1) + 2h; move it to bits 4-5.
                    const int at = 4 * (p >> 1) + 2 * h;
                    const __m256i top = at < 4 ? _mm256_slli_epi16(hb, 4 - at) : at > 4 ? _mm256_srli_epi16(hb, at - 4) : hb;
                    const __m256i nib = h ? _mm256_srli_epi16(raw, 4) : raw;
#if QI_VNNI
                    wv[g] = _mm256_ternarylogic_epi32(nib, _mm256_and_si256(top, m30), m0f, 0xEC);  // (nib & 0x0F) | top
#else
                    wv[g] = _mm256_or_si256(_mm256_and_si256(nib, m0f), _mm256_and_si256(top, m30));
#endif
                }
                for (int r = 0; r < R; ++r) {
                    const __m256i av = _mm256_set1_epi32(qi_ld32(a[r * astride + blk].q + 16 * h + 4 * p));
                    // Codes 0..63 (unsigned) x bytes: vpmaddubsw cannot saturate (2 · 63 · 128 < 2^15).
                    for (int g = 0; g < G; ++g) QI_DOT_U4(iacc[r][g], wv[g], av);
                }
            }
            for (int r = 0; r < R; ++r)
                for (int g = 0; g < G; ++g) {
                    const __m256 v = _mm256_cvtepi32_ps(iacc[r][g]);
                    part[r][g] = h ? _mm256_fmadd_ps(v, dsc[g][1], part[r][g]) : _mm256_mul_ps(v, dsc[g][0]);
                }
        }
        for (int r = 0; r < R; ++r) {
            const __m256 da = _mm256_set1_ps(a[r * astride + blk].d);
            for (int g = 0; g < G; ++g) facc[r][g] = _mm256_fmadd_ps(part[r][g], da, facc[r][g]);
        }
    }
    for (int r = 0; r < R; ++r)
        for (int g = 0; g < G; ++g) _mm256_storeu_ps(out + r * 16 + g * 8, facc[r][g]);
}

// R activation rows (1..4) against G groups of 8 weight rows (1..2). out[r * 16 + g * 8 + l]
// receives dot(a_r, W row 8g + l) over all nb blocks.
static inline __attribute__((always_inline)) QI_ATTR void QI_FN(tile)(int T, int R, int G, int nb, const ck_q8_block *a, long astride,
                                                                const int32_t *sums, const uint8_t *w, long gstride, float *out) {
    if (T == CK_Q6_K) {
        QI_FN(tile_k6)(R, G, nb, a, astride, sums, w, gstride, out);
        return;
    }
    __m256 facc[4][2];
    for (int r = 0; r < 4; ++r) facc[r][0] = facc[r][1] = _mm256_setzero_ps();
    const __m256i m0f = _mm256_set1_epi8(0x0F);
#if !QI_VNNI
    const __m256i ones16 = _mm256_set1_epi16(1);
#endif
    const int hdr = qi_header_bytes(T);
    for (int blk = 0; blk < nb; ++blk) {
        const uint8_t *rec[2];
        __m256 dw[2], ow[2];
        __m256i iacc[4][2];
        for (int g = 0; g < G; ++g) {
            rec[g] = qi_rec(T, w + g * gstride, blk);
            if (T == CK_Q4_K || T == CK_Q5_K) {
                // d·sc and (-dmin)·m for the 8 rows: f16 super-block scales times the bytes.
                const uint8_t *sb = w + g * gstride + (long)(blk >> 3) * (T == CK_Q4_K ? QI_K_SUPER : QI_K5_SUPER);
                const __m256 sc = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)rec[g])));
                const __m256 mn = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(rec[g] + 8))));
                dw[g] = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)sb)), sc);
                ow[g] = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(sb + 16))), mn);
            } else dw[g] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)rec[g]));
            if (T == CK_Q4_1) ow[g] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(rec[g] + 16)));
            else if (T == CK_Q4_0) ow[g] = _mm256_mul_ps(dw[g], _mm256_set1_ps(-8.0f));
            else if (T == CK_Q5_0) ow[g] = _mm256_mul_ps(dw[g], _mm256_set1_ps(-16.0f));
            for (int r = 0; r < R; ++r)  // Q8_0 with vpdpbusd: the sum against w + 128 starts from -128 · Σa
                iacc[r][g] = T == CK_Q8_0 && QI_VNNI ? _mm256_set1_epi32(a[r * astride + blk].bias) : _mm256_setzero_si256();
        }
        if (T == CK_Q8_0) {
            for (int p = 0; p < 8; ++p) {
                __m256i wv[2];
                for (int g = 0; g < G; ++g) wv[g] = _mm256_loadu_si256((const __m256i *)(rec[g] + hdr + 32 * p));  // w + 128
#if !QI_VNNI
                __m256i wa[2];
                for (int g = 0; g < G; ++g) {
                    wv[g] = _mm256_xor_si256(wv[g], _mm256_set1_epi8((char)0x80));  // the signed w
                    wa[g] = _mm256_abs_epi8(wv[g]);
                }
#endif
                for (int r = 0; r < R; ++r) {
                    const __m256i av = _mm256_set1_epi32(qi_ld32(a[r * astride + blk].q + 4 * p));
#if QI_VNNI
                    for (int g = 0; g < G; ++g) QI_DOT_U4(iacc[r][g], wv[g], av);
#else
                    // vpmaddubsw needs an unsigned operand: |w| and sign(w)·a (no saturation: 2·127·127 < 2^15).
                    for (int g = 0; g < G; ++g) QI_DOT_U4(iacc[r][g], wa[g], _mm256_sign_epi8(av, wv[g]));
#endif
                }
            }
        } else {
            for (int p = 0; p < 4; ++p) {
                __m256i lo[2], hi[2];
                for (int g = 0; g < G; ++g) {
                    const __m256i raw = _mm256_loadu_si256((const __m256i *)(rec[g] + hdr + 32 * p));
                    lo[g] = _mm256_and_si256(raw, m0f);
                    hi[g] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m0f);
                    if (T == CK_Q5_0 || T == CK_Q5_K) {  // codes 0..31: the fifth bits from the two masks of vector p
                        lo[g] = _mm256_or_si256(lo[g], QI_FIFTH(rec[g] + 16 + 8 * p));
                        hi[g] = _mm256_or_si256(hi[g], QI_FIFTH(rec[g] + 16 + 8 * p + 4));
                    }
                }
                for (int r = 0; r < R; ++r) {
                    const int8_t *q = a[r * astride + blk].q;
                    const __m256i al = _mm256_set1_epi32(qi_ld32(q + 4 * p));
                    const __m256i ah = _mm256_set1_epi32(qi_ld32(q + 16 + 4 * p));
                    for (int g = 0; g < G; ++g) {
                        QI_DOT_U4(iacc[r][g], lo[g], al);
                        QI_DOT_U4(iacc[r][g], hi[g], ah);
                    }
                }
            }
        }
        for (int r = 0; r < R; ++r) {
            const ck_q8_block *ab = a + r * astride + blk;
            const __m256 da = _mm256_set1_ps(ab->d);
            for (int g = 0; g < G; ++g) {
                facc[r][g] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(iacc[r][g]), _mm256_mul_ps(dw[g], da), facc[r][g]);
                if (T != CK_Q8_0) facc[r][g] = _mm256_fmadd_ps(ow[g], _mm256_set1_ps(ab->s), facc[r][g]);
            }
        }
    }
    for (int r = 0; r < R; ++r)
        for (int g = 0; g < G; ++g) _mm256_storeu_ps(out + r * 16 + g * 8, facc[r][g]);
}
#undef QI_DOT_U4
#undef QI_FIFTH

// Rows [0, m) against the weight groups [g0, g1) of one block type; columns >= n are dropped.
// Q6_K: `sums` is scratch for QI_MC rows of qi_k6_sums (filled per block of rows).
static inline __attribute__((always_inline)) QI_ATTR void QI_FN(cols_t)(int T, int m, int n, int nb, const ck_q8_block *aq,
                                                                  int32_t *sums, const uint8_t *w, float *c, long ldc,
                                                                  int accumulate, int g0, int g1) {
    const long gstride = qi_group_bytes(T, nb);
    float o[8 * 16];
    for (int i0 = 0; i0 < m; i0 += QI_MC) {
        const int i1 = i0 + QI_MC < m ? i0 + QI_MC : m;
        if (T == CK_Q6_K) qi_k6_sums(i1 - i0, nb, aq + (long)i0 * nb, sums);
        for (int g = g0; g < g1; g += 2) {
            const int G = g + 2 <= g1 ? 2 : 1;
            const uint8_t *wg = w + (long)g * gstride;
            const int j0 = g * 8, jn = (j0 + 8 * G < n ? j0 + 8 * G : n) - j0;
#if QI_ZMM
            const int step = G == 2 && T != CK_Q6_K ? QZ_ROWS : 4;
#else
            const int step = 4;
#endif
            for (int i = i0; i < i1; i += step) {
                const int R = i1 - i < step ? i1 - i : step;
                const ck_q8_block *ai = aq + (long)i * nb;
                const int32_t *si = sums ? sums + (long)(i - i0) * nb * 2 : NULL;
                // Literal R and G so each variant is specialised.
#if QI_ZMM
                if (G == 2 && T != CK_Q6_K) {  // the 512-bit tile stores its rows into c itself
                    float *ci = c + (long)i * ldc + j0;
                    switch (R) {
#if QZ_ROWS >= 8
                    case 8: qz_tile(T, 8, nb, ai, nb, wg, gstride, ci, ldc, jn, accumulate); break;
                    case 7: qz_tile(T, 7, nb, ai, nb, wg, gstride, ci, ldc, jn, accumulate); break;
#endif
#if QZ_ROWS >= 6
                    case 6: qz_tile(T, 6, nb, ai, nb, wg, gstride, ci, ldc, jn, accumulate); break;
                    case 5: qz_tile(T, 5, nb, ai, nb, wg, gstride, ci, ldc, jn, accumulate); break;
#endif
                    case 4: qz_tile(T, 4, nb, ai, nb, wg, gstride, ci, ldc, jn, accumulate); break;
                    case 3: qz_tile(T, 3, nb, ai, nb, wg, gstride, ci, ldc, jn, accumulate); break;
                    case 2: qz_tile(T, 2, nb, ai, nb, wg, gstride, ci, ldc, jn, accumulate); break;
                    default: qz_tile(T, 1, nb, ai, nb, wg, gstride, ci, ldc, jn, accumulate); break;
                    }
                    continue;
                }
#endif
                if (G == 2) {
                    switch (R) {
                    case 4: QI_FN(tile)(T, 4, 2, nb, ai, nb, si, wg, gstride, o); break;
                    case 3: QI_FN(tile)(T, 3, 2, nb, ai, nb, si, wg, gstride, o); break;
                    case 2: QI_FN(tile)(T, 2, 2, nb, ai, nb, si, wg, gstride, o); break;
                    default: QI_FN(tile)(T, 1, 2, nb, ai, nb, si, wg, gstride, o); break;
                    }
                } else {
                    switch (R) {
                    case 4: QI_FN(tile)(T, 4, 1, nb, ai, nb, si, wg, gstride, o); break;
                    case 3: QI_FN(tile)(T, 3, 1, nb, ai, nb, si, wg, gstride, o); break;
                    case 2: QI_FN(tile)(T, 2, 1, nb, ai, nb, si, wg, gstride, o); break;
                    default: QI_FN(tile)(T, 1, 1, nb, ai, nb, si, wg, gstride, o); break;
                    }
                }
                for (int r = 0; r < R; ++r) {
                    float *cp = c + (long)(i + r) * ldc + j0;
                    const float *op = o + r * 16;
                    if (accumulate) for (int t = 0; t < jn; ++t) cp[t] += op[t];
                    else for (int t = 0; t < jn; ++t) cp[t] = op[t];
                }
            }
        }
    }
}

static QI_ATTR void QI_FN(cols)(int T, int m, int n, int nb, const ck_q8_block *aq, int32_t *sums, const uint8_t *w,
                                float *c, long ldc, int accumulate, int g0, int g1) {
    switch (T) {
    case CK_Q4_0: QI_FN(cols_t)(CK_Q4_0, m, n, nb, aq, NULL, w, c, ldc, accumulate, g0, g1); break;
    case CK_Q4_1: QI_FN(cols_t)(CK_Q4_1, m, n, nb, aq, NULL, w, c, ldc, accumulate, g0, g1); break;
    case CK_Q8_0: QI_FN(cols_t)(CK_Q8_0, m, n, nb, aq, NULL, w, c, ldc, accumulate, g0, g1); break;
    case CK_Q4_K: QI_FN(cols_t)(CK_Q4_K, m, n, nb, aq, NULL, w, c, ldc, accumulate, g0, g1); break;
    case CK_Q5_0: QI_FN(cols_t)(CK_Q5_0, m, n, nb, aq, NULL, w, c, ldc, accumulate, g0, g1); break;
    case CK_Q5_K: QI_FN(cols_t)(CK_Q5_K, m, n, nb, aq, NULL, w, c, ldc, accumulate, g0, g1); break;
    case CK_Q6_K: QI_FN(cols_t)(CK_Q6_K, m, n, nb, aq, sums, w, c, ldc, accumulate, g0, g1); break;
    }
}
