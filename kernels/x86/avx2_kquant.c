/* avx2_kquant.c - K-quant weights (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) against Q8_K activations, and the
 * Q8_K activation quantizer.
 *
 * A super-block of 256 has sub-blocks with integer scales. Per 32 codes: maddubs gives
 * 16 int16 sums of pairs (8 per sub-block of 16), madd with the sub-block scales gives
 * int32: the whole super-block's sum(scale * q * a_q) stays exact in int32. Offsets
 * (mins, Q6_K's -32) use the activation's bsums (sums of 16 codes). One float FMA per
 * super-block: only the order of the float sum over super-blocks differs from the
 * reference. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "avx2.h"
#include "avx2_util.h"
#include "kquant_unpack.h"

/* 8 int32 lanes of sum(scale * q * a) over 32 codes, q unsigned (< 64), a int8 */
static inline __m256i scaled_dot(__m256i q, const int8_t *a, __m256i scales) {
    __m256i pairs = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)a));
    return _mm256_madd_epi16(pairs, scales);
}

static inline float hsum_i32x8(__m256i v) { return hsum_f32x8(_mm256_cvtepi32_ps(v)); }

/* Q3_K: x = d * (sc - 32) * (q - 4), 16 sub-blocks of 16, q = 2 low bits (as Q2_K) | the
 * hmask bit 4h + j << 2. q (0..7) goes unsigned into maddubs; the -4 is taken out with the
 * bsums in one madd of the 16 scales (as Q6_K): sum s q a - 4 sum s bsums. The hmask bit b
 * is moved to bit 2 by one 16-bit shift by b - 2 (bits never cross a byte: b <= 7) and one
 * AND. Scale pairs by pshufb from the int16 scales. */
void vec_dot_q3_k_avx2(int64_t n, float *s, const void *w, const void *a) {
    const block_q3_K *x = w;
    const block_q8_K *y = a;
    const __m256i three = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m256i sc16 = q3k_scales(x[i].scales);
        __m256i offset = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        __m256i sc_lanes[2] = {_mm256_permute2x128_si256(sc16, sc16, 0x00),
                               _mm256_permute2x128_si256(sc16, sc16, 0x11)};
        __m256i H = _mm256_loadu_si256((const __m256i *)x[i].hmask);
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i Q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * h));
            for (int j = 0; j < 4; j++) {
                const int b = 4 * h + j; /* the hmask bit of this chunk */
                __m256i lo = _mm256_and_si256(_mm256_srli_epi16(Q, 2 * j), three);
                __m256i hs = b >= 2 ? _mm256_srli_epi16(H, b - 2) : _mm256_slli_epi16(H, 2 - b);
                __m256i q = _mm256_or_si256(lo, _mm256_and_si256(hs, four));
                sumi = _mm256_add_epi32(sumi, scaled_dot(q, y[i].qs + 128 * h + 32 * j,
                                                         word_pair(sc_lanes[h], 2 * j)));
            }
        }
        /* exact in int32: |sumi| <= 256 * 32 * 7 * 128, |4 offset| <= 4 * 256 * 32 * 128 */
        __m256i total = _mm256_sub_epi32(sumi, _mm256_slli_epi32(offset, 2));
        float d = half_f16c(x[i].d) * y[i].d;
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_set1_ps(d), acc);
    }
    *s = hsum_f32x8(acc);
}

/* x = d * sc * q - dmin * m, 8 sub-blocks of 32, q = 4 bits */
void vec_dot_q4_k_avx2(int64_t n, float *s, const void *w, const void *a) {
    const block_q4_K *x = w;
    const block_q8_K *y = a;
    const __m256i low4 = _mm256_set1_epi8(15);
    __m256 acc = _mm256_setzero_ps(), acc_min = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m256i min_sum, sc = k45_scales(x[i].scales, y[i].bsums, &min_sum);
        __m256i sumi = _mm256_setzero_si256();
        for (int p = 0; p < 4; p++) {
            __m256i Q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * p));
            __m256i lo = _mm256_and_si256(Q, low4), hi = _mm256_and_si256(_mm256_srli_epi16(Q, 4), low4);
            sumi = _mm256_add_epi32(sumi, scaled_dot(lo, y[i].qs + 64 * p, k45_scale(sc, 2 * p)));
            sumi = _mm256_add_epi32(sumi, scaled_dot(hi, y[i].qs + 64 * p + 32, k45_scale(sc, 2 * p + 1)));
        }
        float d = half_f16c(x[i].d) * y[i].d, dmin = half_f16c(x[i].dmin) * y[i].d;
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(d), acc);
        acc_min = _mm256_fmadd_ps(_mm256_cvtepi32_ps(min_sum), _mm256_set1_ps(dmin), acc_min);
    }
    *s = hsum_f32x8(_mm256_sub_ps(acc, acc_min));
}

/* Q5_K: Q4_K with a fifth bit per code from qh (bit 2p of qh[l] for code 64p + l, bit
 * 2p+1 for 64p + 32 + l); q < 32 keeps maddubs exact. */
void vec_dot_q5_k_avx2(int64_t n, float *s, const void *w, const void *a) {
    const block_q5_K *x = w;
    const block_q8_K *y = a;
    const __m256i low4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps(), acc_min = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m256i min_sum, sc = k45_scales(x[i].scales, y[i].bsums, &min_sum);
        __m256i H = _mm256_loadu_si256((const __m256i *)x[i].qh);
        __m256i sumi = _mm256_setzero_si256();
        for (int p = 0; p < 4; p++) {
            __m256i Q = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * p));
            __m256i h_lo = _mm256_and_si256(_mm256_srli_epi16(H, 2 * p), one);
            __m256i h_hi = _mm256_and_si256(_mm256_srli_epi16(H, 2 * p + 1), one);
            __m256i lo = _mm256_or_si256(_mm256_and_si256(Q, low4), _mm256_slli_epi16(h_lo, 4));
            __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(Q, 4), low4),
                                         _mm256_slli_epi16(h_hi, 4));
            sumi = _mm256_add_epi32(sumi, scaled_dot(lo, y[i].qs + 64 * p, k45_scale(sc, 2 * p)));
            sumi = _mm256_add_epi32(sumi, scaled_dot(hi, y[i].qs + 64 * p + 32, k45_scale(sc, 2 * p + 1)));
        }
        float d = half_f16c(x[i].d) * y[i].d, dmin = half_f16c(x[i].dmin) * y[i].d;
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(d), acc);
        acc_min = _mm256_fmadd_ps(_mm256_cvtepi32_ps(min_sum), _mm256_set1_ps(dmin), acc_min);
    }
    *s = hsum_f32x8(_mm256_sub_ps(acc, acc_min));
}

/* x = d * sc * (q - 32), 16 sub-blocks of 16, q = 6 bits (4 in ql, 2 in qh):
 * sum sc (q - 32) a = sum sc q a - 32 sum sc bsum. */
void vec_dot_q6_k_avx2(int64_t n, float *s, const void *w, const void *a) {
    const block_q6_K *x = w;
    const block_q8_K *y = a;
    const __m256i low4 = _mm256_set1_epi8(15), low2 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        /* the 16 int8 scales as int16: sum sc bsums in one madd, scale pairs by pshufb */
        __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        __m256i offset = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)y[i].bsums));
        __m256i sc_lanes[2] = {_mm256_permute2x128_si256(sc16, sc16, 0x00),
                               _mm256_permute2x128_si256(sc16, sc16, 0x11)};
        __m256i sumi = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            __m256i L0 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h));
            __m256i L1 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * h + 32));
            __m256i H = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * h));
            __m256i lows[4] = {_mm256_and_si256(L0, low4), _mm256_and_si256(L1, low4),
                               _mm256_and_si256(_mm256_srli_epi16(L0, 4), low4),
                               _mm256_and_si256(_mm256_srli_epi16(L1, 4), low4)};
            for (int g = 0; g < 4; g++) {
                __m256i high = _mm256_and_si256(_mm256_srli_epi16(H, 2 * g), low2);
                __m256i q = _mm256_or_si256(lows[g], _mm256_slli_epi16(high, 4));
                sumi = _mm256_add_epi32(sumi, scaled_dot(q, y[i].qs + 128 * h + 32 * g, word_pair(sc_lanes[h], 2 * g)));
            }
        }
        float d = half_f16c(x[i].d) * y[i].d;
        __m256i total = _mm256_sub_epi32(sumi, _mm256_slli_epi32(offset, 5)); /* - 32 sum sc bsums */
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_set1_ps(d), acc);
    }
    *s = hsum_f32x8(acc);
}

/* Q8_K activations: d = amax / 127 (a float), q = round-to-nearest-even(x / d) as lrintf,
 * bsums[k] = sum of codes 16k .. 16k+15. */
void quantize_row_q8_k_avx2(const float *src, void *dst, int64_t n) {
    block_q8_K *y = dst;
    const __m256 sign_mask = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        __m256 amax = _mm256_setzero_ps();
        for (int k = 0; k < QK_K; k += 8)
            amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_mask, _mm256_loadu_ps(x + k)));
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_movehdup_ps(m));
        float d = _mm_cvtss_f32(m) / 127, inv_d = d > 0 ? 1 / d : 0;
        y[i].d = d;
        __m256 scale = _mm256_set1_ps(inv_d);
        for (int k = 0; k < QK_K; k += 32) {
            __m256i q[4];
            for (int j = 0; j < 4; j++)
                q[j] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8 * j), scale));
            /* 16 sums of 16 codes: two per 32 */
            __m256i s01 = _mm256_add_epi32(q[0], q[1]), s23 = _mm256_add_epi32(q[2], q[3]);
            y[i].bsums[k / 16] = (int16_t)hsum_i32x8(s01);
            y[i].bsums[k / 16 + 1] = (int16_t)hsum_i32x8(s23);
            __m256i q8 = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
            q8 = _mm256_permutevar8x32_epi32(q8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(y[i].qs + k), q8);
        }
    }
}
