/* avx512_kquant.c - K-quant weights (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K) against Q8_K
 * activations, and the Q8_K activation quantizer, with AVX-512 VNNI.
 *
 * Q3_K .. Q6_K are the AVX2 kernels' code (kquant_rows.h, explained in avx2_kquant.c)
 * with one step changed, scaled_dot: per 32 codes maddubs gives 16 int16 sums of pairs
 * (exact: codes < 64), and vpdpwssd multiplies them with the sub-block scales and adds into
 * int32 in one instruction (AVX2: madd, then add). Q2_K folds the scale into the codes
 * (q sc <= 45, as avx2_kquant_q2k.c) and vpdpbusd sums a whole chunk into int32 directly
 * (AVX2: maddubs, an int16 add, madd). The super-block sums are the reference's exact
 * integers; one float FMA per super-block, so only the order of the float sum over
 * super-blocks differs from the reference. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../../quant/types.h"
#include "avx512.h"
#include "avx512_util.h"
#include "kquant_unpack.h"

/* sum + scale-weighted sum of 32 codes q (unsigned, < 64) times 32 activation codes a:
 * int32 lanes of scales[2i] (pair 2i) + scales[2i+1] (pair 2i+1). */
static inline __m256i scaled_dot(__m256i sum, __m256i q, const int8_t *a, __m256i scales) {
    __m256i pairs = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)a));
    return dpwssd(sum, pairs, scales);
}

#include "kquant_rows.h"

void vec_dot_q3_k_avx512(int64_t n, float *s, const void *w, const void *a) {
    dot_q3_k(n, s, w, a);
}
void vec_dot_q4_k_avx512(int64_t n, float *s, const void *w, const void *a) {
    dot_q4_k(n, s, w, a);
}
void vec_dot_q5_k_avx512(int64_t n, float *s, const void *w, const void *a) {
    dot_q5_k(n, s, w, a);
}
void vec_dot_q6_k_avx512(int64_t n, float *s, const void *w, const void *a) {
    dot_q6_k(n, s, w, a);
}

/* Batches: each block unpacked once for up to KQ_NA tokens (kquant_rows.h) */
void vec_dot_tile_q4_k_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact) {
    tile_kq(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KQ_Q4_K);
}
void vec_dot_tile_q5_k_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact) {
    tile_kq(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KQ_Q5_K);
}
void vec_dot_tile_q6_k_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact) {
    tile_kq(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KQ_Q6_K);
}

/* Q2_K: the chunks of scaled codes sc q (q2k_unpack, sc q <= 45) go into vpdpbusd
 * against the activation: the block's sum sc q a in 8 int32 lanes, no int16 step. */
static inline __m256i q2k_sum(const __m256i c[8], const int8_t *a) {
    __m256i sum = _mm256_setzero_si256();
    for (int k = 0; k < 8; k++)
        sum = dpbusd(sum, c[k], _mm256_loadu_si256((const __m256i *)(a + 32 * k)));
    return sum;
}

#include "q2k_rows.h"

void vec_dot_q2_k_avx512(int64_t n, float *s, const void *w, const void *a) {
    row_q2_k(n / QK_K, s, 0, w, a, 0, 1);
}

void vec_dot_tile_q2_k_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact) {
    tile_q2_k(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}

/* Q8_K activations: d = amax / 127 (a float), q = round-to-nearest-even(x / d), bsums[k] =
 * sum of codes 16k .. 16k+15: the operations of quantize_row_q8_k_avx2 (the same bytes),
 * one 512-bit register per 16 codes (one bsum). vpmovsdb saturates as the AVX2 packs do. */
/* q8_k_signed_max (quant/q8_k.c) of 256 floats: the value of largest magnitude, the first
 * on ties, NaN never (vmaxps returns its second operand when either is NaN, so a NaN never
 * replaces the running maximum, as the scalar strict > never takes one). The scalar loop
 * branches per element: 7% of 110m-q2_k pp128 (perf, 1 thread, Sapphire-Rapids-class Xeon). */
static float signed_max_256(const float *x) {
    const __m512 sign = _mm512_set1_ps(-0.0f);
    __m512 amax = _mm512_setzero_ps();
    for (int k = 0; k < QK_K; k += 16)
        amax = _mm512_max_ps(_mm512_andnot_ps(sign, _mm512_loadu_ps(x + k)), amax);
    const float top = _mm512_reduce_max_ps(amax);
    if (top == 0) return 0;
    const __m512 want = _mm512_set1_ps(top);
    for (int k = 0; k < QK_K; k += 16) {
        const __mmask16 at =
            _mm512_cmp_ps_mask(_mm512_andnot_ps(sign, _mm512_loadu_ps(x + k)), want, _CMP_EQ_OQ);
        if (at) return x[k + __builtin_ctz(at)];
    }
    return 0; /* not reached: top is one of the magnitudes */
}

/* ggml's Q8_K quantizer, as quantize_row_q8_k_avx2 (the same float operations, bytes). */
void quantize_row_q8_k_avx512(const float *src, void *dst, int64_t n) {
    block_q8_K *y = dst;
    const __m512i max_code = _mm512_set1_epi32(127);
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        const float max = signed_max_256(x);
        memset(&y[i], 0, sizeof y[i]);
        if (max == 0) continue;
        const float iscale = -127.0f / max;
        y[i].d = 1 / iscale;
        const __m512 scale = _mm512_set1_ps(iscale);
        for (int k = 0; k < QK_K; k += 16) {
            __m512i q = _mm512_min_epi32(
                _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + k), scale)), max_code);
            /* codes are within [-127, 127]: the sum of the int32 codes is that of the bytes */
            y[i].bsums[k / 16] = (int16_t)_mm512_reduce_add_epi32(q);
            _mm_storeu_si128((__m128i *)(y[i].qs + k), _mm512_cvtsepi32_epi8(q));
        }
    }
}
