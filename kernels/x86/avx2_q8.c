/* avx2_q8.c - block-32 weight types (Q8_0, Q4_0, Q4_1, Q2_0_32) against Q8_0 activations, and
 * the Q8_0 activation quantizer (FP8 weights: avx2_fp8.c; Q5_0, Q5_1, IQ4_NL: the 1 x 1 tile
 * of avx2_tile.c).
 *
 * Each block: 32 weight codes expanded to 32 bytes, multiplied with the 32 activation
 * codes in integers (maddubs + madd: exact), the 8 int32 partial sums turned into floats
 * and accumulated with the block's scale d_w * d_a by FMA. Types with an offset m
 * (x = d q + m) add m * d_a * sum(a_q). Only the float accumulation order differs from
 * the reference. */
#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "avx2.h"
#include "avx2_util.h"

static inline float half(uint16_t h) {
    return half_f16c(h);
}

static inline __m256 i32_to_f32(__m256i v) {
    return _mm256_cvtepi32_ps(v);
}

/* sum over 32 activation codes as 8 int32 lanes */
static inline __m256i sum_s8(__m256i y) {
    return dot_u8s8_i32(_mm256_set1_epi8(1), y);
}

void vec_dot_q8_0_avx2(int64_t n, float *s, const void *w, const void *a) {
    const block_q8_0 *x = w, *y = a;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK32; i++) {
        __m256i qx = _mm256_loadu_si256((const __m256i *)x[i].qs);
        __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        __m256 d = _mm256_set1_ps(half(x[i].d) * half(y[i].d));
        acc = _mm256_fmadd_ps(i32_to_f32(dot_s8s8_i32(qx, qy)), d, acc);
    }
    *s = hsum_f32x8(acc);
}

void vec_dot_q4_0_avx2(int64_t n, float *s, const void *w, const void *a) {
    const block_q4_0 *x = w;
    const block_q8_0 *y = a;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK32; i++) {
        __m256i qx = _mm256_sub_epi8(unpack_nibbles(x[i].qs), _mm256_set1_epi8(8));
        __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        __m256 d = _mm256_set1_ps(half(x[i].d) * half(y[i].d));
        acc = _mm256_fmadd_ps(i32_to_f32(dot_s8s8_i32(qx, qy)), d, acc);
    }
    *s = hsum_f32x8(acc);
}

/* x = d q + m:  dot = d d_a sum(q a_q) + m d_a sum(a_q). The two terms are large and of
 * opposite sign (m is about -8 d), so they meet in one accumulator block by block, as in
 * the reference: summed apart over a whole row, their cancellation at the end lost up to
 * 4e-3 in the logits of a synthetic model (tests/test_repack.c). */
void vec_dot_q4_1_avx2(int64_t n, float *s, const void *w, const void *a) {
    const block_q4_1 *x = w;
    const block_q8_0 *y = a;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK32; i++) {
        __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        float dy = half(y[i].d);
        __m256i qxy = dot_u8s8_i32(unpack_nibbles(x[i].qs), qy);
        __m256 m = _mm256_mul_ps(i32_to_f32(sum_s8(qy)), _mm256_set1_ps(half(x[i].m) * dy));
        acc = _mm256_add_ps(acc,
                            _mm256_fmadd_ps(i32_to_f32(qxy), _mm256_set1_ps(half(x[i].d) * dy), m));
    }
    *s = hsum_f32x8(acc);
}

/* Q2_0_32: code j = (qs[j % 8] >> 2 (j / 8)) & 3: the four 8-lane groups are the 8 bytes
 * shifted by 0, 2, 4, 6. x = d q + m. */
void vec_dot_q2_0_32_avx2(int64_t n, float *s, const void *w, const void *a) {
    const block_q2_0_32 *x = w;
    const block_q8_0 *y = a;
    const uint64_t low2 = 0x0303030303030303ull;
    __m256 acc = _mm256_setzero_ps(), acc_m = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK32; i++) {
        uint64_t v;
        memcpy(&v, x[i].qs, 8);
        __m256i q = _mm256_set_epi64x((long long)((v >> 6) & low2), (long long)((v >> 4) & low2),
                                      (long long)((v >> 2) & low2), (long long)(v & low2));
        __m256i qy = _mm256_loadu_si256((const __m256i *)y[i].qs);
        float dy = half(y[i].d);
        acc = _mm256_fmadd_ps(i32_to_f32(dot_u8s8_i32(q, qy)), _mm256_set1_ps(half(x[i].d) * dy),
                              acc);
        acc_m = _mm256_fmadd_ps(i32_to_f32(sum_s8(qy)), _mm256_set1_ps(half(x[i].m) * dy), acc_m);
    }
    *s = hsum_f32x8(_mm256_add_ps(acc, acc_m));
}

/* Q8_0 activations: d = amax / 127, q = round-to-nearest-even(x / d) (the rounding mode
 * of cvtps; a tie may round the other way than the reference: within one step).
 * Codes are in [-127, 127], never -128: the sign trick of the signed-code kernels
 * (dot_s8s8_i32, the Q8_0 / IQ4_NL tiles, the Q8_0 x8 tile) cannot negate -128. Finite
 * blocks give |x / d| <= 127 anyway; the clamp covers what cvtps makes of inf and NaN
 * (INT_MIN, packed to -128), as in a block so small that 1 / d overflows (its fp16 d is 0
 * then: the codes do not count). tests/test_gemm.c checks it. */
void quantize_row_q8_0_avx2(const float *src, void *dst, int64_t n) {
    block_q8_0 *y = dst;
    const __m256 sign_mask = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / QK32; i++) {
        const float *x = src + i * QK32;
        __m256 v[4], amax = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_mask, v[k]));
        }
        __m128 m = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        m = _mm_max_ps(m, _mm_movehl_ps(m, m));
        m = _mm_max_ss(m, _mm_movehdup_ps(m));
        float d = _mm_cvtss_f32(m) / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
        y[i].d = f32_to_fp16(d);
        __m256 scale = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) q[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], scale));
        /* packs interleave 128-bit lanes: 0 1 2 3 | 4 5 6 7 -> fix with a dword permute */
        __m256i q16a = _mm256_packs_epi32(q[0], q[1]), q16b = _mm256_packs_epi32(q[2], q[3]);
        __m256i q8 = _mm256_packs_epi16(q16a, q16b);
        q8 = _mm256_permutevar8x32_epi32(q8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        q8 = _mm256_max_epi8(q8, _mm256_set1_epi8(-127));
        _mm256_storeu_si256((__m256i *)y[i].qs, q8);
    }
}
