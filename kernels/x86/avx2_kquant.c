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
#include "../../quant/types.h"
#include "avx2.h"
#include "avx2_util.h"
#include "kquant_unpack.h"

/* sum + 8 int32 lanes of sum(scale * q * a) over 32 codes, q unsigned (< 64), a int8:
 * maddubs to int16 pairs (exact), madd with the scales, add */
static inline __m256i scaled_dot(__m256i sum, __m256i q, const int8_t *a, __m256i scales) {
    __m256i pairs = _mm256_maddubs_epi16(q, _mm256_loadu_si256((const __m256i *)a));
    return _mm256_add_epi32(sum, _mm256_madd_epi16(pairs, scales));
}

static inline float hsum_i32x8(__m256i v) {
    return hsum_f32x8(_mm256_cvtepi32_ps(v));
}

#include "kquant_rows.h"

void vec_dot_q3_k_avx2(int64_t n, float *s, const void *w, const void *a) {
    dot_q3_k(n, s, w, a);
}
void vec_dot_q4_k_avx2(int64_t n, float *s, const void *w, const void *a) {
    dot_q4_k(n, s, w, a);
}
void vec_dot_q5_k_avx2(int64_t n, float *s, const void *w, const void *a) {
    dot_q5_k(n, s, w, a);
}
void vec_dot_q6_k_avx2(int64_t n, float *s, const void *w, const void *a) {
    dot_q6_k(n, s, w, a);
}

/* Batches: each block unpacked once for up to KQ_NA tokens (kquant_rows.h) */
void vec_dot_tile_q4_k_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                            int nrows, const void *a, size_t a_stride, int nact) {
    tile_kq(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KQ_Q4_K);
}
void vec_dot_tile_q5_k_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                            int nrows, const void *a, size_t a_stride, int nact) {
    tile_kq(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KQ_Q5_K);
}
void vec_dot_tile_q6_k_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                            int nrows, const void *a, size_t a_stride, int nact) {
    tile_kq(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KQ_Q6_K);
}

/* q8_k_signed_max (quant/q8_k.c) of 256 floats as avx512_kquant.c's signed_max_256: the
 * value of largest magnitude, the first on ties, NaN never (vmaxps returns its second operand
 * when either is NaN, so a NaN never replaces the running maximum, as the scalar strict >
 * never takes one). The scalar loop branches per element: 2.9% of TinyLlama-shaped IQ2_XXS
 * pp64 at 1 thread (perf, SCARCE_ISA=avx2, 2-core Sapphire-Rapids-class Xeon VM). */
static float signed_max_256(const float *x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 amax = _mm256_setzero_ps();
    for (int k = 0; k < QK_K; k += 8)
        amax = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)), amax);
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float top = _mm_cvtss_f32(m);
    if (top == 0) return 0;
    const __m256 want = _mm256_set1_ps(top);
    for (int k = 0; k < QK_K; k += 8) {
        const int at = _mm256_movemask_ps(
            _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + k)), want, _CMP_EQ_OQ));
        if (at) return x[k + __builtin_ctz((unsigned)at)];
    }
    return 0; /* not reached: top is one of the magnitudes */
}

/* ggml's Q8_K quantizer (quant/q8_k.c has the formula and why): the signed value of largest
 * magnitude, first on ties, iscale = -127 / max, codes round half to even (the default MXCSR
 * mode of cvtps, as lrintf), at most 127, d = 1 / iscale: the reference's bytes exactly. */
void quantize_row_q8_k_avx2(const float *src, void *dst, int64_t n) {
    block_q8_K *y = dst;
    const __m256i max_code = _mm256_set1_epi32(127);
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        const float max = signed_max_256(x);
        memset(&y[i], 0, sizeof y[i]);
        if (max == 0) continue;
        const float iscale = -127.0f / max;
        y[i].d = 1 / iscale;
        const __m256 scale = _mm256_set1_ps(iscale);
        for (int k = 0; k < QK_K; k += 32) {
            __m256i q[4];
            for (int j = 0; j < 4; j++)
                q[j] = _mm256_min_epi32(
                    _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8 * j), scale)),
                    max_code);
            /* 16 sums of 16 codes: two per 32 */
            __m256i s01 = _mm256_add_epi32(q[0], q[1]), s23 = _mm256_add_epi32(q[2], q[3]);
            y[i].bsums[k / 16] = (int16_t)hsum_i32x8(s01);
            y[i].bsums[k / 16 + 1] = (int16_t)hsum_i32x8(s23);
            __m256i q8 =
                _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
            q8 = _mm256_permutevar8x32_epi32(q8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(y[i].qs + k), q8);
        }
    }
}
