/* avx2_fp4.c - MXFP4 weights against Q8_0 activations, and the MXFP4 batch dequantizer.
 *
 * The 16 E2M1 values, doubled, are the int8 grid kvalues_mxfp4 (blocks.h): one byte
 * shuffle turns 32 nibbles into 32 signed grid values, maddubs multiplies them with the
 * 32 activation codes in integers (exact, as the reference), and the block's scale
 * 2^(e - 128) * d_a is applied to the 8 int32 partial sums by FMA. Only the float
 * accumulation order differs from the reference. */
#include <immintrin.h>

#include "../../quant/blocks.h"
#include "avx2.h"
#include "avx2_util.h"

static inline __m256i grid_mxfp4(void) {
    return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)kvalues_mxfp4));
}

void vec_dot_mxfp4_avx2(int64_t n, float *s, const void *w, const void *a) {
    const block_mxfp4 *x = w;
    const block_q8_0 *y = a;
    const __m256i grid = grid_mxfp4();
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK32; i++) {
        __m256 d = _mm256_set1_ps(e8m0_half(x[i].e) * half_f16c(y[i].d));
        acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot_grid_q8(grid, x[i].qs, y[i].qs)), d, acc);
    }
    *s = hsum_f32x8(acc);
}

/* grid value * scale: the same single float product as the reference, so equal values. */
void dequantize_mxfp4_avx2(const void *src, float *dst, int64_t n) {
    const block_mxfp4 *x = src;
    const __m256i grid = grid_mxfp4();
    for (int64_t i = 0; i < n / QK32; i++) {
        __m256i q = _mm256_shuffle_epi8(grid, unpack_nibbles(x[i].qs));
        __m256 d = _mm256_set1_ps(e8m0_half(x[i].e));
        __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
        __m128i part[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
        for (int k = 0; k < 4; k++) {
            __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(part[k]));
            _mm256_storeu_ps(dst + i * QK32 + 8 * k, _mm256_mul_ps(v, d));
        }
    }
}
