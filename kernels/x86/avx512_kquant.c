/* avx512_kquant.c - K-quant weights (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) against Q8_K
 * activations, and the Q8_K activation quantizer, with AVX-512 VNNI.
 *
 * The structure of avx2_kquant.c / avx2_kquant_q2k.c, whose comments give the bit layouts
 * (the unpacking is shared: kquant_unpack.h).
 * Per 32 codes: maddubs gives 16 int16 sums of pairs (exact: codes < 64), and vpdpwssd
 * multiplies them with the sub-block scales and adds into int32 in one instruction (AVX2:
 * madd, then add). Q2_K folds the scale into the codes (q sc <= 45, avx2_kquant_q2k.c) and
 * vpdpbusd sums a whole chunk into int32 directly (AVX2: maddubs, int16 add, madd). The
 * super-block sums are the reference's exact integers; one float FMA per super-block, so
 * only the order of the float sum over super-blocks differs from the reference. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "avx512.h"
#include "avx512_util.h"
#include "kquant_unpack.h"

/* sum + scale-weighted sum of 32 codes q (unsigned, < 64) times 32 activation codes a:
 * int32 lanes of scales[2i] (pair 2i) + scales[2i+1] (pair 2i+1). */
static inline __m256i scaled_dot(__m256i sum, __m256i q, const int8_t *a, __m256i scales) {
    __m256i pairs = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)a));
    return dpwssd(sum, pairs, scales);
}

/* Q3_K: x = d (sc - 32) (q - 4), q = 2 low bits | the hmask bit 4h + j << 2 (0..7):
 *   sum s q a - 4 sum s bsums. */
void vec_dot_q3_k_avx512(int64_t n, float *s, const void *w, const void *a) {
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
                sumi =
                    scaled_dot(sumi, q, y[i].qs + 128 * h + 32 * j, word_pair(sc_lanes[h], 2 * j));
            }
        }
        __m256i total = _mm256_sub_epi32(sumi, _mm256_slli_epi32(offset, 2));
        float d = half_f16c(x[i].d) * y[i].d;
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_set1_ps(d), acc);
    }
    *s = hsum_f32x8(acc);
}

/* Q4_K (qh NULL) and Q5_K (fifth bit of code 64p + l: bit 2p of qh[l], of 64p + 32 + l:
 * bit 2p + 1): x = d sc q - dmin m, 8 sub-blocks of 32. */
static inline __attribute__((always_inline)) void k45_block(const uint8_t *scales,
                                                            const uint8_t *qs, const uint8_t *qh,
                                                            const block_q8_K *y, __m256i *sumi,
                                                            __m256i *min_sum) {
    const __m256i low4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
    __m256i sc = k45_scales(scales, y->bsums, min_sum);
    __m256i H = qh ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();
    *sumi = _mm256_setzero_si256();
    for (int p = 0; p < 4; p++) {
        __m256i Q = _mm256_loadu_si256((const __m256i *)(qs + 32 * p));
        __m256i lo = _mm256_and_si256(Q, low4),
                hi = _mm256_and_si256(_mm256_srli_epi16(Q, 4), low4);
        if (qh) {
            __m256i h_lo = _mm256_and_si256(_mm256_srli_epi16(H, 2 * p), one);
            __m256i h_hi = _mm256_and_si256(_mm256_srli_epi16(H, 2 * p + 1), one);
            lo = _mm256_or_si256(lo, _mm256_slli_epi16(h_lo, 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi16(h_hi, 4));
        }
        *sumi = scaled_dot(*sumi, lo, y->qs + 64 * p, k45_scale(sc, 2 * p));
        *sumi = scaled_dot(*sumi, hi, y->qs + 64 * p + 32, k45_scale(sc, 2 * p + 1));
    }
}

static inline __m256 k45_fold(__m256 acc, __m256i sumi, __m256i min_sum, uint16_t d, uint16_t dmin,
                              float da) {
    __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(min_sum), _mm256_set1_ps(half_f16c(dmin) * da));
    return _mm256_add_ps(
        acc, _mm256_fmsub_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(half_f16c(d) * da), t));
}

void vec_dot_q4_k_avx512(int64_t n, float *s, const void *w, const void *a) {
    const block_q4_K *x = w;
    const block_q8_K *y = a;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m256i sumi, min_sum;
        k45_block(x[i].scales, x[i].qs, NULL, &y[i], &sumi, &min_sum);
        acc = k45_fold(acc, sumi, min_sum, x[i].d, x[i].dmin, y[i].d);
    }
    *s = hsum_f32x8(acc);
}

void vec_dot_q5_k_avx512(int64_t n, float *s, const void *w, const void *a) {
    const block_q5_K *x = w;
    const block_q8_K *y = a;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m256i sumi, min_sum;
        k45_block(x[i].scales, x[i].qs, x[i].qh, &y[i], &sumi, &min_sum);
        acc = k45_fold(acc, sumi, min_sum, x[i].d, x[i].dmin, y[i].d);
    }
    *s = hsum_f32x8(acc);
}

/* x = d sc (q - 32), 16 sub-blocks of 16, q = 6 bits (4 in ql, 2 in qh):
 * sum sc (q - 32) a = sum sc q a - 32 sum sc bsums. */
void vec_dot_q6_k_avx512(int64_t n, float *s, const void *w, const void *a) {
    const block_q6_K *x = w;
    const block_q8_K *y = a;
    const __m256i low4 = _mm256_set1_epi8(15), low2 = _mm256_set1_epi8(3);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
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
                sumi =
                    scaled_dot(sumi, q, y[i].qs + 128 * h + 32 * g, word_pair(sc_lanes[h], 2 * g));
            }
        }
        float d = half_f16c(x[i].d) * y[i].d;
        __m256i total = _mm256_sub_epi32(sumi, _mm256_slli_epi32(offset, 5));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(total), _mm256_set1_ps(d), acc);
    }
    *s = hsum_f32x8(acc);
}

/* Q2_K: x = d sc q - dmin m, 16 sub-blocks of 16. The chunks of scaled codes sc q
 * (q2k_unpack) go into vpdpbusd against the activation: the block's sum sc q a in 8 int32
 * lanes; the mins take one madd with the bsums. The float fold is vec_dot_q2_k_avx2's. */
void vec_dot_q2_k_avx512(int64_t n, float *s, const void *w, const void *a) {
    const block_q2_K *x = w;
    const block_q8_K *y = a;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m256i c[8], sum = _mm256_setzero_si256();
        q2k_unpack(&x[i], c);
        for (int k = 0; k < 8; k++)
            sum = dpbusd(sum, c[k], _mm256_loadu_si256((const __m256i *)(y[i].qs + 32 * k)));
        __m256i msum = _mm256_madd_epi16(q2k_mins(x[i].scales),
                                         _mm256_loadu_si256((const __m256i *)y[i].bsums));
        __m256 t = _mm256_fmsub_ps(
            _mm256_cvtepi32_ps(sum), _mm256_set1_ps(half_f16c(x[i].d)),
            _mm256_mul_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(half_f16c(x[i].dmin))));
        acc = _mm256_fmadd_ps(t, _mm256_set1_ps(y[i].d), acc);
    }
    *s = hsum_f32x8(acc);
}

/* Q8_K activations: d = amax / 127 (a float), q = round-to-nearest-even(x / d), bsums[k] =
 * sum of codes 16k .. 16k+15: the operations of quantize_row_q8_k_avx2 (the same bytes),
 * one 512-bit register per 16 codes (one bsum). vpmovsdb saturates as the AVX2 packs do. */
void quantize_row_q8_k_avx512(const float *src, void *dst, int64_t n) {
    block_q8_K *y = dst;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        __m512 amax = _mm512_setzero_ps();
        for (int k = 0; k < QK_K; k += 16)
            amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_loadu_ps(x + k)));
        float d = _mm512_reduce_max_ps(amax) / 127, inv_d = d > 0 ? 1 / d : 0;
        y[i].d = d;
        __m512 scale = _mm512_set1_ps(inv_d);
        for (int k = 0; k < QK_K; k += 16) {
            __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + k), scale));
            /* codes are within [-128, 127] (|x| / d <= 127 plus rounding): the sum of the
             * int32 codes is the sum of the stored bytes */
            y[i].bsums[k / 16] = (int16_t)_mm512_reduce_add_epi32(q);
            _mm_storeu_si128((__m128i *)(y[i].qs + k), _mm512_cvtsepi32_epi8(q));
        }
    }
}
