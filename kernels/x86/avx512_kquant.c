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

/* The 16 sums of 16 codes of a block (bsums) from its 256 stored codes: vpdpbusd with ones
 * sums each 4, two swaps within each 128-bit lane (= 16 codes, one bsum) leave the bsum in
 * all its 4 int32, one vpermd a register and 3 blends gather the 16, a pack makes them int16.
 * Exact: |bsum| <= 16 x 127. Only intrinsics tests/avx512_emu.h models (test-emu512). With
 * a reduction per bsum (a 10-instruction tree each) the quantizer was 0.21 ms of a 1-thread
 * TinyLlama-shaped TQ1_0 token (perf), run by the caller alone at 2 threads; rows of 2048 +
 * 5632 floats in L1, best of 20 x 1000, thread CPU time, 2-core Sapphire-Rapids-class Xeon:
 * 2.66 -> 1.96 us. */
static inline void store_bsums(const int8_t *qs, int16_t *bsums) {
    const __m512i ones = _mm512_set1_epi8(1);
    const __m512i swap1 = _mm512_set_epi32(14, 15, 12, 13, 10, 11, 8, 9, 6, 7, 4, 5, 2, 3, 0, 1);
    const __m512i swap2 = _mm512_set_epi32(13, 12, 15, 14, 9, 8, 11, 10, 5, 4, 7, 6, 1, 0, 3, 2);
    /* lane k of register z's gather: its lane 4 (k % 4), the bsum 4 z + k % 4 */
    const __m512i gather = _mm512_set_epi32(12, 8, 4, 0, 12, 8, 4, 0, 12, 8, 4, 0, 12, 8, 4, 0);
    __m512i all = _mm512_setzero_si512();
    for (int z = 0; z < 4; z++) {
        __m512i v =
            _mm512_dpbusd_epi32(_mm512_setzero_si512(), ones, _mm512_loadu_si512(qs + 64 * z));
        v = _mm512_add_epi32(v, _mm512_permutexvar_epi32(swap1, v));
        v = _mm512_add_epi32(v, _mm512_permutexvar_epi32(swap2, v));
        all = _mm512_mask_blend_epi32((__mmask16)(0xF << (4 * z)), all,
                                      _mm512_permutexvar_epi32(gather, v));
    }
    const __m256i words = _mm256_packs_epi32(_mm512_castsi512_si256(all),
                                             _mm512_extracti64x4_epi64(all, 1));
    _mm256_storeu_si256((__m256i *)bsums, _mm256_permute4x64_epi64(words, 0xD8));
}

/* ggml's Q8_K quantizer, as quantize_row_q8_k_avx2 (the same float operations, bytes). */
void quantize_row_q8_k_avx512(const float *src, void *dst, int64_t n) {
    block_q8_K *y = dst;
    const __m512i max_code = _mm512_set1_epi32(127);
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K;
        const float max = signed_max_256(x);
        if (max == 0) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        const float iscale = -127.0f / max;
        y[i].d = 1 / iscale;
        const __m512 scale = _mm512_set1_ps(iscale);
        for (int k = 0; k < QK_K; k += 16) {
            __m512i q = _mm512_min_epi32(
                _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + k), scale)), max_code);
            _mm_storeu_si128((__m128i *)(y[i].qs + k), _mm512_cvtsepi32_epi8(q));
        }
        /* codes are within [-127, 127]: the sum of the bytes is that of the int32 codes */
        store_bsums(y[i].qs, y[i].bsums);
    }
}
