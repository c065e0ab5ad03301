// Products with weights kept in ggml's quantized blocks (Q4_0, Q4_1, Q8_0), in int8.
// See include/CKernels.h for the API and the block layouts.
//
// Forward  C[m, n] (+)= A[m, k] · Wᵀ, W[n, k] in blocks of 32 along k:
//   1. each row of A is quantized on the fly to ck_q8_block (32 int8 values, one F32 scale
//      d = amax / 127, and s = d · Σq for the weight types with an offset);
//   2. per (activation block, weight block) the integer dot product Σ qa·qw is formed with
//      vpmaddubsw (u8 × s8 -> pairs of s16) and vpmaddwd (s16 pairs -> s32), converted to
//      F32 and scaled by d_a·d_w in an FMA; the offset of Q4_1 (m_w) and Q4_0 (-8·d_w)
//      enters as offset · s_a per block.
//   Tile: 4 activation rows x 2 weight rows (8 accumulators): each weight block is unpacked
//   once per 4 rows and each activation block loaded once per 2 weight rows.
//   vpmaddubsw needs one unsigned operand: the 4-bit nibbles are unsigned already; for
//   Q8_0 the weight's sign moves onto the activation (|w| · sign(w)·a).
//

#include "CKernels.h"
#include "quant_reference.h"
#include "quant_half.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define CQ_AVX2 1
#else
#define CQ_AVX2 0
#endif

#define QK 32

static inline float half_to_float(const uint8_t *p) {
#if CQ_AVX2
    return _cvtsh_ss((uint16_t)(p[0] | (p[1] << 8)));
#else
    return ck_half_to_float_portable(p);
#endif
}

int ck_quant_block_bytes(int type) {
    switch (type) {
    case CK_Q4_0: return 18;
    case CK_Q4_1: return 20;
    case CK_Q8_0: return 34;
    default: return 0;
    }
}

void ck_dequantize_row(int type, const void *src, int k, float *dst) {
    const uint8_t *b = (const uint8_t *)src;
    const int bb = ck_quant_block_bytes(type);
    for (int blk = 0; blk < k / QK; ++blk, b += bb, dst += QK) {
        const float d = half_to_float(b);
        switch (type) {
        case CK_Q4_0:
            for (int j = 0; j < 16; ++j) {
                dst[j] = (float)((b[2 + j] & 0x0F) - 8) * d;
                dst[j + 16] = (float)((b[2 + j] >> 4) - 8) * d;
            }
            break;
        case CK_Q4_1: {
            const float mn = half_to_float(b + 2);
            for (int j = 0; j < 16; ++j) {
                dst[j] = (float)(b[4 + j] & 0x0F) * d + mn;
                dst[j + 16] = (float)(b[4 + j] >> 4) * d + mn;
            }
            break;
        }
        case CK_Q8_0:
            for (int j = 0; j < QK; ++j) dst[j] = (float)(int8_t)b[2 + j] * d;
            break;
        }
    }
}

static inline uint16_t float_to_half(float f) {
#if CQ_AVX2
    return _cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
#else
    return ck_float_to_half_portable(f);  // the same bits as F16C
#endif
}

void ck_quantize_row_q8_0(const float *x, int k, void *dst) {
    uint8_t *b = (uint8_t *)dst;
    for (int blk = 0; blk < k / QK; ++blk, x += QK, b += 34) {
        float amax = 0;
        for (int j = 0; j < QK; ++j) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.0f;
        const uint16_t dh = float_to_half(d);
        b[0] = (uint8_t)(dh & 0xFF); b[1] = (uint8_t)(dh >> 8);
        const float id = d > 0 ? 1.0f / d : 0.0f;
        for (int j = 0; j < QK; ++j) {
            float q = nearbyintf(x[j] * id);
            q = fminf(127.0f, fmaxf(-127.0f, q));
            b[2 + j] = (uint8_t)(int8_t)q;
        }
    }
}

#if CQ_AVX2
// The same quantization in 512-bit registers, chosen with the int8 kernels' instruction set
// (AVX-512 BW/VL come with their VNNI levels). Up to 16 blocks of a row at a time: each
// block's |x| maximum and integer sum are 16-lane vectors, reduced together by a transposing
// tree (qz_tree: 15 combining steps of two shuffles and one max or add for 16 blocks, against
// 4 steps per block for a horizontal reduction each), so the scales d, 1/d, s and bias are
// formed for 16 blocks in a few vector instructions: 0.30 -> 0.22 ns per element over 512 rows
// of 576 or 1536 (one thread), 0.30 -> 0.28 at 192 (6 blocks, a third of a tree); it was ~4%
// of an int8 training step. Same values as the 256-bit path: the maximum and the integer sum
// do not depend on the order, d and 1/d are the same correctly rounded divisions, the rounding
// is the same round-to-nearest-even of the same products, and vpmovsdb saturates as the packs
// do.
#define QZ_ATTR __attribute__((target("avx512f,avx512bw,avx512vl")))

// v[0..15] -> one vector whose lane 4j + t holds the reduction of v[4t + j]'s 16 lanes: their
// float maximum (add = 0) or their int32 sum (add = 1).
static inline __attribute__((always_inline)) QZ_ATTR __m512i qz_tree(const __m512i *v, int add) {
#define QZ_OP(p, q) (add ? _mm512_add_epi32((p), (q)) \
                         : _mm512_castps_si512(_mm512_max_ps(_mm512_castsi512_ps(p), _mm512_castsi512_ps(q))))
    __m512i w[8], x[4], y[2];
    for (int i = 0; i < 8; ++i)  // [v2i | v2i+1], 8 lanes each
        w[i] = QZ_OP(_mm512_shuffle_i32x4(v[2 * i], v[2 * i + 1], 0x44), _mm512_shuffle_i32x4(v[2 * i], v[2 * i + 1], 0xEE));
    for (int i = 0; i < 4; ++i)  // quarters v4i .. v4i+3, 4 lanes each
        x[i] = QZ_OP(_mm512_shuffle_i32x4(w[2 * i], w[2 * i + 1], 0x88), _mm512_shuffle_i32x4(w[2 * i], w[2 * i + 1], 0xDD));
    for (int i = 0; i < 2; ++i)  // quarter j: v8i+j, v8i+4+j, 2 lanes each
        y[i] = QZ_OP(_mm512_unpacklo_epi64(x[2 * i], x[2 * i + 1]), _mm512_unpackhi_epi64(x[2 * i], x[2 * i + 1]));
    const __m512 y0 = _mm512_castsi512_ps(y[0]), y1 = _mm512_castsi512_ps(y[1]);
    return QZ_OP(_mm512_castps_si512(_mm512_shuffle_ps(y0, y1, 0x88)), _mm512_castps_si512(_mm512_shuffle_ps(y0, y1, 0xDD)));
#undef QZ_OP
}

static QZ_ATTR void q8_quantize_rows_z(const float *a, int m, int k, long lda, ck_q8_block *dst) {
    const int nb = k / QK;
    // The tree leaves block 4t + j in lane 4j + t; this permutation puts block b in lane b.
    const __m512i natural = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    float dv[16], idv[16], sv[16];
    int32_t bv[16];
    for (int i = 0; i < m; ++i) {
        const float *row = a + (long)i * lda;
        ck_q8_block *y = dst + (long)i * nb;
        for (int b0 = 0; b0 < nb; b0 += 16) {
            const int n = nb - b0 < 16 ? nb - b0 : 16;
            const float *x = row + (long)b0 * QK;
            __m512i mx[16];  // |x| maxima, as bits
            for (int b = 0; b < 16; ++b)
                mx[b] = b < n ? _mm512_castps_si512(_mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + QK * b)),
                                                                  _mm512_abs_ps(_mm512_loadu_ps(x + QK * b + 16))))
                              : _mm512_setzero_si512();
            const __m512 amax = _mm512_castsi512_ps(_mm512_permutexvar_epi32(natural, qz_tree(mx, 0)));
            const __m512 d = _mm512_div_ps(amax, _mm512_set1_ps(127.0f));
            const __m512 id = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_GT_OQ), _mm512_set1_ps(1.0f), d);
            _mm512_storeu_ps(dv, d);
            _mm512_storeu_ps(idv, id);
            __m512i sums[16];
            for (int b = 0; b < 16; ++b) {
                if (b >= n) { sums[b] = _mm512_setzero_si512(); continue; }
                const __m512 ib = _mm512_set1_ps(idv[b]);
                const __m512i i0 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + QK * b), ib),
                                                            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                const __m512i i1 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + QK * b + 16), ib),
                                                            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                _mm_storeu_si128((__m128i *)y[b0 + b].q, _mm512_cvtsepi32_epi8(i0));
                _mm_storeu_si128((__m128i *)(y[b0 + b].q + 16), _mm512_cvtsepi32_epi8(i1));
                sums[b] = _mm512_add_epi32(i0, i1);
            }
            const __m512i sum = _mm512_permutexvar_epi32(natural, qz_tree(sums, 1));
            _mm512_storeu_ps(sv, _mm512_mul_ps(d, _mm512_cvtepi32_ps(sum)));
            _mm512_storeu_si512(bv, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, 7)));
            for (int b = 0; b < n; ++b) {
                y[b0 + b].d = dv[b];
                y[b0 + b].s = sv[b];
                y[b0 + b].bias = bv[b];
            }
        }
    }
}
#undef QZ_ATTR
#endif

void ck_q8_quantize_rows(const float *a, int m, int k, long lda, ck_q8_block *dst) {
    const int nb = k / QK;
#if CQ_AVX2
    if (ck_qi_isa() >= 2) {
        q8_quantize_rows_z(a, m, k, lda, dst);
        return;
    }
#endif
    for (int i = 0; i < m; ++i) {
        const float *x = a + (long)i * lda;
        ck_q8_block *y = dst + (long)i * nb;
        for (int blk = 0; blk < nb; ++blk, x += QK) {
#if CQ_AVX2
            __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
            __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
            const __m256 signBit = _mm256_set1_ps(-0.0f);
            __m256 mx = _mm256_max_ps(_mm256_max_ps(_mm256_andnot_ps(signBit, v0), _mm256_andnot_ps(signBit, v1)),
                                      _mm256_max_ps(_mm256_andnot_ps(signBit, v2), _mm256_andnot_ps(signBit, v3)));
            __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(mx, 1), _mm256_castps256_ps128(mx));
            m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
            m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
            const float amax = _mm_cvtss_f32(m4);
            const float d = amax / 127.0f;
            const __m256 id = _mm256_set1_ps(d > 0 ? 1.0f / d : 0.0f);
#define RND (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
            v0 = _mm256_round_ps(_mm256_mul_ps(v0, id), RND);
            v1 = _mm256_round_ps(_mm256_mul_ps(v1, id), RND);
            v2 = _mm256_round_ps(_mm256_mul_ps(v2, id), RND);
            v3 = _mm256_round_ps(_mm256_mul_ps(v3, id), RND);
            __m256 sum = _mm256_add_ps(_mm256_add_ps(v0, v1), _mm256_add_ps(v2, v3));
            __m128 s4 = _mm_add_ps(_mm256_extractf128_ps(sum, 1), _mm256_castps256_ps128(sum));
            s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
            s4 = _mm_add_ss(s4, _mm_movehdup_ps(s4));
            __m256i i0 = _mm256_cvtps_epi32(v0), i1 = _mm256_cvtps_epi32(v1);
            __m256i i2 = _mm256_cvtps_epi32(v2), i3 = _mm256_cvtps_epi32(v3);
            // The packs interleave 128-bit lanes; the permutation restores element order.
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
            p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)y[blk].q, p);
            y[blk].d = d;
            y[blk].s = d * _mm_cvtss_f32(s4);
            y[blk].bias = -128 * (int)_mm_cvtss_f32(s4);  // an integer below 2^12 in magnitude: exact
#else
            float amax = 0;
            for (int j = 0; j < QK; ++j) amax = fmaxf(amax, fabsf(x[j]));
            const float d = amax / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
            int sum = 0;
            for (int j = 0; j < QK; ++j) {
                int q = (int)nearbyintf(x[j] * id);
                y[blk].q[j] = (int8_t)q;
                sum += q;
            }
            y[blk].d = d;
            y[blk].s = d * (float)sum;
            y[blk].bias = -128 * sum;
#endif
        }
    }
}

#if CQ_AVX2
static inline float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_extractf128_ps(v, 1), _mm256_castps256_ps128(v));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// 4-bit nibbles of a block's 16 bytes -> 32 unsigned bytes (low nibbles first).
static inline __m256i unpack_nibbles(const uint8_t *qs) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// R activation rows (R <= 4) against C weight rows (C <= 2): out[r * 2 + c] = dot(a_r, w_c).
static inline __attribute__((always_inline)) void dot_tile(int type, int R, int C, int nb, const ck_q8_block *a, long astride,
                                                           const uint8_t *w, long wstride, float *out) {
    __m256 acc[8];
    float off[8];
    for (int t = 0; t < 8; ++t) { acc[t] = _mm256_setzero_ps(); off[t] = 0; }
    const __m256i ones = _mm256_set1_epi16(1);
    const int bb = ck_quant_block_bytes(type);
    for (int blk = 0; blk < nb; ++blk) {
        __m256i qw[2];
        float dw[2], ow[2];
        for (int c = 0; c < C; ++c) {
            const uint8_t *wb = w + c * wstride + (long)blk * bb;
            dw[c] = half_to_float(wb);
            if (type == CK_Q8_0) {
                qw[c] = _mm256_loadu_si256((const __m256i *)(wb + 2));
                ow[c] = 0;
            } else {
                qw[c] = unpack_nibbles(wb + (type == CK_Q4_1 ? 4 : 2));
                ow[c] = type == CK_Q4_1 ? half_to_float(wb + 2) : -8.0f * dw[c];
            }
        }
        for (int r = 0; r < R; ++r) {
            const ck_q8_block *ab = a + r * astride + blk;
            const __m256i qa = _mm256_loadu_si256((const __m256i *)ab->q);
            for (int c = 0; c < C; ++c) {
                __m256i p16;
                if (type == CK_Q8_0) p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(qw[c], qw[c]), _mm256_sign_epi8(qa, qw[c]));
                else p16 = _mm256_maddubs_epi16(qw[c], qa);
                const __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
                acc[r * 2 + c] = _mm256_fmadd_ps(p, _mm256_set1_ps(dw[c] * ab->d), acc[r * 2 + c]);
                if (type != CK_Q8_0) off[r * 2 + c] += ow[c] * ab->s;
            }
        }
    }
    for (int r = 0; r < R; ++r)
        for (int c = 0; c < C; ++c) out[r * 2 + c] = hsum8(acc[r * 2 + c]) + off[r * 2 + c];
}
#else
static void dot_tile(int type, int R, int C, int nb, const ck_q8_block *a, long astride,
                     const uint8_t *w, long wstride, float *out) {
    const int bb = ck_quant_block_bytes(type);
    for (int r = 0; r < R; ++r) {
        for (int c = 0; c < C; ++c) {
            float total = 0;
            const uint8_t *wb = w + c * wstride;
            for (int blk = 0; blk < nb; ++blk, wb += bb) {
                const ck_q8_block *ab = a + r * astride + blk;
                const float dw = half_to_float(wb);
                int sum = 0;
                if (type == CK_Q8_0) {
                    for (int j = 0; j < QK; ++j) sum += (int8_t)wb[2 + j] * ab->q[j];
                    total += (float)sum * dw * ab->d;
                } else {
                    const uint8_t *qs = wb + (type == CK_Q4_1 ? 4 : 2);
                    for (int j = 0; j < 16; ++j) sum += (qs[j] & 0x0F) * ab->q[j] + (qs[j] >> 4) * ab->q[j + 16];
                    const float o = type == CK_Q4_1 ? half_to_float(wb + 2) : -8.0f * dw;
                    total += (float)sum * dw * ab->d + o * ab->s;
                }
            }
            out[r * 2 + c] = total;
        }
    }
}
#endif

// Rows per block of A kept hot in cache while every weight row of the range streams past.
#define Q_MC 64

// One weight-row pair (or single row) against rows [i0, i1) of the quantized activations.
static inline __attribute__((always_inline)) void cols_block(int type, int C, int nb, const ck_q8_block *aq, const uint8_t *wr, long rowBytes,
                       float *c, long ldc, int accumulate, int i0, int i1, int j) {
    float o[8];
    int i = i0;
    for (; i + 4 <= i1; i += 4) {
        if (C == 2) dot_tile(type, 4, 2, nb, aq + (long)i * nb, nb, wr, rowBytes, o);
        else dot_tile(type, 4, 1, nb, aq + (long)i * nb, nb, wr, rowBytes, o);
        for (int r = 0; r < 4; ++r)
            for (int cc = 0; cc < C; ++cc) {
                float *cp = c + (long)(i + r) * ldc + j + cc;
                *cp = accumulate ? *cp + o[r * 2 + cc] : o[r * 2 + cc];
            }
    }
    const int rest = i1 - i;
    if (rest == 0) return;
    if (C == 2) {
        if (rest == 3) dot_tile(type, 3, 2, nb, aq + (long)i * nb, nb, wr, rowBytes, o);
        else if (rest == 2) dot_tile(type, 2, 2, nb, aq + (long)i * nb, nb, wr, rowBytes, o);
        else dot_tile(type, 1, 2, nb, aq + (long)i * nb, nb, wr, rowBytes, o);
    } else {
        if (rest == 3) dot_tile(type, 3, 1, nb, aq + (long)i * nb, nb, wr, rowBytes, o);
        else if (rest == 2) dot_tile(type, 2, 1, nb, aq + (long)i * nb, nb, wr, rowBytes, o);
        else dot_tile(type, 1, 1, nb, aq + (long)i * nb, nb, wr, rowBytes, o);
    }
    for (int r = 0; r < rest; ++r)
        for (int cc = 0; cc < C; ++cc) {
            float *cp = c + (long)(i + r) * ldc + j + cc;
            *cp = accumulate ? *cp + o[r * 2 + cc] : o[r * 2 + cc];
        }
}

// Specialised per block type so the type tests fold away inside the tiles.
#define Q_COLS_FOR(T)                                                                                     \
    static void cols_##T(int nb, const ck_q8_block *aq, const uint8_t *w, long rowBytes, float *c,       \
                         long ldc, int accumulate, int m, int n0, int n1) {                               \
        for (int i0 = 0; i0 < m; i0 += Q_MC) {                                                            \
            const int i1 = i0 + Q_MC < m ? i0 + Q_MC : m;                                                 \
            int j = n0;                                                                                   \
            for (; j + 2 <= n1; j += 2)                                                                   \
                cols_block(T, 2, nb, aq, w + (long)j * rowBytes, rowBytes, c, ldc, accumulate, i0, i1, j); \
            if (j < n1) cols_block(T, 1, nb, aq, w + (long)j * rowBytes, rowBytes, c, ldc, accumulate, i0, i1, j); \
        }                                                                                                 \
    }
Q_COLS_FOR(CK_Q4_0)
Q_COLS_FOR(CK_Q4_1)
Q_COLS_FOR(CK_Q8_0)

void ck_qgemm_cols(int type, int m, int n, int k, const ck_q8_block *aq, const void *w,
                   float *c, long ldc, int accumulate, int n0, int n1) {
    (void)n;
    const int nb = k / QK;
    const long rowBytes = (long)nb * ck_quant_block_bytes(type);
    const uint8_t *wp = (const uint8_t *)w;
    switch (type) {
    case CK_Q4_0: cols_CK_Q4_0(nb, aq, wp, rowBytes, c, ldc, accumulate, m, n0, n1); break;
    case CK_Q4_1: cols_CK_Q4_1(nb, aq, wp, rowBytes, c, ldc, accumulate, m, n0, n1); break;
    case CK_Q8_0: cols_CK_Q8_0(nb, aq, wp, rowBytes, c, ldc, accumulate, m, n0, n1); break;
    }
}

void ck_ref_column(int m, int n, int k, const float *a, long lda, const ck_q8_block *aq, const float *wrow,
                   float *arow, int j, double *c) {
    const int nb = k / QK;
    for (int i = 0; i < m; ++i) {
        const float *x = a + (long)i * lda;
        if (aq) {
            for (int blk = 0; blk < nb; ++blk)
                for (int t = 0; t < QK; ++t) arow[blk * QK + t] = (float)aq[(long)i * nb + blk].q[t] * aq[(long)i * nb + blk].d;
            x = arow;
        }
        double s = 0;
        for (int t = 0; t < k; ++t) s += (double)x[t] * (double)wrow[t];
        c[(long)i * n + j] = s;
    }
}

void ck_qgemm_ref(int type, int m, int n, int k, const float *a, long lda, const ck_q8_block *aq,
                  const void *w, double *c) {
    const int nb = k / QK;
    const long rowBytes = (long)nb * ck_quant_block_bytes(type);
    float *wrow = (float *)ck_alloc(sizeof(float) * (size_t)(k > 0 ? k : 1));
    float *arow = (float *)ck_alloc(sizeof(float) * (size_t)(k > 0 ? k : 1));
    for (int j = 0; j < n; ++j) {
        ck_dequantize_row(type, (const uint8_t *)w + (long)j * rowBytes, k, wrow);
        ck_ref_column(m, n, k, a, lda, aq, wrow, arow, j, c);
    }
    ck_free(wrow);
    ck_free(arow);
}

// ---- Backward: dX[m, k] (+)= dY[m, n] · W ----
// For each weight row j its blocks are dequantized in registers (bytes -> F32, times the block
// scale, plus the offset) and added into 4 rows of dX at once: dX[r, :] += dY[r, j] · W[j, :].
// F32 FMA; no F32 copy of W exists. dX rows (4 · k floats) stay in L1/L2 across j.

#if CQ_AVX2
// The 32 weights of a block as 4 x 8 floats.
static inline void dequant_block(int type, const uint8_t *b, __m256 out[4]) {
    const __m256 d = _mm256_set1_ps(half_to_float(b));
    if (type == CK_Q8_0) {
        const __m128i lo = _mm_loadu_si128((const __m128i *)(b + 2)), hi = _mm_loadu_si128((const __m128i *)(b + 18));
        out[0] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo)), d);
        out[1] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8))), d);
        out[2] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi)), d);
        out[3] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8))), d);
        return;
    }
    const __m128i raw = _mm_loadu_si128((const __m128i *)(b + (type == CK_Q4_1 ? 4 : 2)));
    const __m128i mask = _mm_set1_epi8(0x0F);
    const __m128i lo = _mm_and_si128(raw, mask), hi = _mm_and_si128(_mm_srli_epi16(raw, 4), mask);
    const __m256 o = _mm256_set1_ps(type == CK_Q4_1 ? half_to_float(b + 2) : -8.0f * half_to_float(b));
    out[0] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(lo)), d, o);
    out[1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8))), d, o);
    out[2] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(hi)), d, o);
    out[3] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8))), d, o);
}
#endif

static inline __attribute__((always_inline)) void axpy_rows(int type, int R, int n, int k, const float *dy, long lddy,
                                                            const uint8_t *w, long rowBytes, float *dx, long lddx) {
    const int nb = k / QK, bb = ck_quant_block_bytes(type);
#if CQ_AVX2
    for (int j = 0; j < n; ++j) {
        __m256 coef[4];
        int any = 0;
        for (int r = 0; r < R; ++r) {
            const float v = dy[(long)r * lddy + j];
            any |= v != 0.0f;
            coef[r] = _mm256_set1_ps(v);
        }
        if (!any) continue;
        const uint8_t *wb = w + (long)j * rowBytes;
        for (int blk = 0; blk < nb; ++blk, wb += bb) {
            __m256 wv[4];
            dequant_block(type, wb, wv);
            for (int r = 0; r < R; ++r) {
                float *p = dx + (long)r * lddx + blk * QK;
                for (int q = 0; q < 4; ++q)
                    _mm256_storeu_ps(p + 8 * q, _mm256_fmadd_ps(coef[r], wv[q], _mm256_loadu_ps(p + 8 * q)));
            }
        }
    }
#else
    float tmp[QK];
    for (int j = 0; j < n; ++j) {
        const uint8_t *wb = w + (long)j * rowBytes;
        for (int blk = 0; blk < nb; ++blk, wb += bb) {
            ck_dequantize_row(type, wb, QK, tmp);
            for (int r = 0; r < R; ++r) {
                const float c = dy[(long)r * lddy + j];
                float *p = dx + (long)r * lddx + blk * QK;
                for (int t = 0; t < QK; ++t) p[t] += c * tmp[t];
            }
        }
    }
#endif
}

void ck_qgemm_backward_rows(int type, int m, int n, int k, const float *dy, long lddy, const void *w,
                            float *dx, long lddx, int accumulate, int i0, int i1) {
    (void)m;
    const long rowBytes = (long)(k / QK) * ck_quant_block_bytes(type);
    if (!accumulate)
        for (int i = i0; i < i1; ++i) memset(dx + (long)i * lddx, 0, sizeof(float) * (size_t)k);
    const uint8_t *wp = (const uint8_t *)w;
    int i = i0;
    for (; i + 4 <= i1; i += 4) axpy_rows(type, 4, n, k, dy + (long)i * lddy, lddy, wp, rowBytes, dx + (long)i * lddx, lddx);
    const int rest = i1 - i;
    if (rest == 3) axpy_rows(type, 3, n, k, dy + (long)i * lddy, lddy, wp, rowBytes, dx + (long)i * lddx, lddx);
    else if (rest == 2) axpy_rows(type, 2, n, k, dy + (long)i * lddy, lddy, wp, rowBytes, dx + (long)i * lddx, lddx);
    else if (rest == 1) axpy_rows(type, 1, n, k, dy + (long)i * lddy, lddy, wp, rowBytes, dx + (long)i * lddx, lddx);
}

void ck_qgemm_backward_ref(int type, int m, int n, int k, const float *dy, long lddy, const void *w, double *dx) {
    const long rowBytes = (long)(k / QK) * ck_quant_block_bytes(type);
    float *wrow = (float *)ck_alloc(sizeof(float) * (size_t)(k > 0 ? k : 1));
    for (long t = 0; t < (long)m * k; ++t) dx[t] = 0;
    for (int j = 0; j < n; ++j) {
        ck_dequantize_row(type, (const uint8_t *)w + (long)j * rowBytes, k, wrow);
        for (int i = 0; i < m; ++i) {
            const double c = dy[(long)i * lddy + j];
            for (int t = 0; t < k; ++t) dx[(long)i * k + t] += c * (double)wrow[t];
        }
    }
    ck_free(wrow);
}
