/* avx512_fp8.c - FP8 weights (E4M3, E5M2; quant/fp8.c) against Q8_0 activations, one row
 * (vec_dot), 16 lanes a register.
 *
 * The decode of avx2_fp8.c (see there), exact: each byte b moved into the high half of a
 * 16-bit word is an IEEE half: E5M2 as it is (inf and NaN codes included); E4M3 after an
 * arithmetic shift right by 1 and clearing bit 14 is its value times 2^-8 (the 2^8 goes
 * into the block scale). E4M3's NaN code S.1111.111 would decode to a finite value, so a
 * byte compare flags it and the row's result is NaN, as the reference gives. One block of
 * 32 is two 512-bit registers of floats; the activation codes are converted in registers
 * (a vec_dot sees each activation block once). Per block: the float sum of the exact
 * products fp8(code) * a_code, then times d_w * d_a by one FMA into the accumulator: only
 * the float summation order differs from the reference. */
#include <immintrin.h>
#include <math.h>

#include "../../quant/blocks.h"
#include "avx512.h"
#include "avx512_util.h"

/* The 32 codes of a block as two registers of 16 halves, elements 0-15 and 16-31. */
static inline void fp8_halves(const uint8_t *qs, const int e4m3, __m256i *lo, __m256i *hi) {
    __m512i words = _mm512_slli_epi16(
        _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)qs)), 8);
    if (e4m3)
        words = _mm512_and_si512(_mm512_srai_epi16(words, 1), _mm512_set1_epi16((short)0xBFFF));
    *lo = _mm512_castsi512_si256(words);
    *hi = _mm512_extracti64x4_epi64(words, 1);
}

static inline __m512 act_floats(const int8_t *q) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)q)));
}

static inline __attribute__((always_inline)) float dot_fp8(int64_t n, const block_fp8 *x,
                                                           const block_q8_0 *y, const int e4m3) {
    const float unit = e4m3 ? 256.0f : 1.0f;
    const __m256i magnitude = _mm256_set1_epi8(0x7F);
    __m512 acc = _mm512_setzero_ps();
    __mmask32 nan_codes = 0;
    for (int64_t i = 0; i < n / QK32; i++) {
        __m256i lo, hi;
        fp8_halves(x[i].qs, e4m3, &lo, &hi);
        if (e4m3) {
            __m256i b = _mm256_loadu_si256((const __m256i *)x[i].qs);
            nan_codes |= _mm256_cmpeq_epi8_mask(_mm256_and_si256(b, magnitude), magnitude);
        }
        __m512 blk = _mm512_mul_ps(_mm512_cvtph_ps(lo), act_floats(y[i].qs));
        blk = _mm512_fmadd_ps(_mm512_cvtph_ps(hi), act_floats(y[i].qs + 16), blk);
        float d = half_f16c(x[i].d) * half_f16c(y[i].d) * unit;
        acc = _mm512_fmadd_ps(blk, _mm512_set1_ps(d), acc);
    }
    return nan_codes ? NAN : _mm512_reduce_add_ps(acc);
}

void vec_dot_fp8_e4m3_avx512(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_fp8(n, w, a, 1);
}

void vec_dot_fp8_e5m2_avx512(int64_t n, float *s, const void *w, const void *a) {
    *s = dot_fp8(n, w, a, 0);
}
