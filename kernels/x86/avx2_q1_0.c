/* avx2_q1_0.c - Q1_0 weights against Q8_0 activations.
 *
 * Per Q8_0 block the 32 sign bits (4 bytes) are spread to one byte each (byte j takes bit
 * j % 8 of byte j / 8: a byte shuffle, then a compare with the bit's mask); where the bit
 * is clear the activation is negated ((a ^ m) - m with m = -1), and the 32 signed bytes
 * are summed exactly into int32 lanes (|a| <= 127: Q8_0 codes never reach -128). Each
 * block's sum is scaled by d_a, and d per Q1_0 block, in float lanes: only the summation
 * order differs from the reference. */
#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../../quant/fp16.h"
#include "avx2.h"
#include "avx2_util.h"

void vec_dot_q1_0_avx2(int64_t n, float *s, const void *w, const void *act) {
    const block_q1_0 *x = w;
    const block_q8_0 *a = act;
    const __m256i ones = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / 128; i++) {
        __m256 block = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            const block_q8_0 *y = &a[4 * i + k];
            uint32_t bits;
            memcpy(&bits, x[i].qs + 4 * k, 4);
            __m256i v =
                negate_where(_mm256_loadu_si256((const __m256i *)y->qs), bits_to_bytes(~bits));
            __m256i sums = dot_u8s8_i32(ones, v);
            block =
                _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(half_f16c(y->d)), block);
        }
        acc = _mm256_fmadd_ps(block, _mm256_set1_ps(half_f16c(x[i].d)), acc);
    }
    *s = hsum_f32x8(acc);
}
