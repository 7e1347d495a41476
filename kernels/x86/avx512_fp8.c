/* avx512_fp8.c - FP8 weights (E4M3, E5M2; quant/fp8.c) against Q8_0 activations: vec_dot
 * and NR x NA tiles (vec_dot_tile: what decode runs for these types), 16 lanes a register.
 *
 * The walk of avx2_fp8.c (fp8_walk.h: activations converted to floats once per chunk, rows 4
 * and activations 2 at a time) and its exact decode: each byte b moved into the high half of
 * a 16-bit word is an IEEE half: E5M2 as it is (inf and NaN codes included); E4M3 after an
 * arithmetic shift right by 1 and clearing bit 14 is its value times 2^-8 (the 2^8 is in the
 * activation scale). E4M3's NaN code S.1111.111 would decode to a finite value, so a byte
 * compare into a mask register flags it and the row's result is NaN, as the reference
 * gives. One block of 32 is two 512-bit registers of floats: per block and row, the float
 * sum of the exact products fp8(code) * a_code, then times d_w * d_a by one FMA into the
 * row's accumulator. Only the float summation order differs from the reference. */
#include <immintrin.h>
#include <math.h>

#include "../../quant/blocks.h"
#include "avx512.h"
#include "avx512_util.h"
#include "fp8_walk.h"

/* The 32 codes of a block as two registers of 16 halves, elements 0-15 and 16-31. */
static inline void fp8_halves(const uint8_t *qs, const int e4m3, __m256i *lo, __m256i *hi) {
    __m512i words =
        _mm512_slli_epi16(_mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)qs)), 8);
    if (e4m3)
        words = _mm512_and_si512(_mm512_srai_epi16(words, 1), _mm512_set1_epi16((short)0xBFFF));
    *lo = _mm512_castsi512_si256(words);
    *hi = _mm512_extracti64x4_epi64(words, 1);
}

static inline __attribute__((always_inline)) void
tile_fp8(int64_t nb, float *s, size_t s_stride, const char *w, size_t w_stride,
         const act_floats *act, int add, const int NR, const int NA, const int e4m3) {
    const __m256i magnitude = _mm256_set1_epi8(0x7F);
    __m512 acc[MAX_NR][MAX_NA];
    __mmask32 nan_codes[MAX_NR];
    for (int r = 0; r < NR; r++) {
        nan_codes[r] = 0;
        for (int j = 0; j < NA; j++) acc[r][j] = _mm512_setzero_ps();
    }
    for (int64_t i = 0; i < nb; i++)
        for (int r = 0; r < NR; r++) {
            const block_fp8 *x = (const block_fp8 *)(w + r * w_stride) + i;
            __m256i lo, hi;
            fp8_halves(x->qs, e4m3, &lo, &hi);
            if (e4m3) {
                __m256i b = _mm256_loadu_si256((const __m256i *)x->qs);
                nan_codes[r] |= _mm256_cmpeq_epi8_mask(_mm256_and_si256(b, magnitude), magnitude);
            }
            __m512 f0 = _mm512_cvtph_ps(lo), f1 = _mm512_cvtph_ps(hi);
            const float dw = half_f16c(x->d);
            for (int j = 0; j < NA; j++) {
                const float *q = act->q + (j * nb + i) * QK32;
                __m512 blk = _mm512_mul_ps(f0, _mm512_loadu_ps(q));
                blk = _mm512_fmadd_ps(f1, _mm512_loadu_ps(q + 16), blk);
                __m512 d = _mm512_set1_ps(dw * act->d[j * nb + i]);
                acc[r][j] = _mm512_fmadd_ps(blk, d, acc[r][j]);
            }
        }
    for (int r = 0; r < NR; r++)
        for (int j = 0; j < NA; j++) {
            float v = nan_codes[r] ? NAN : _mm512_reduce_add_ps(acc[r][j]);
            s[j * s_stride + r] = add ? s[j * s_stride + r] + v : v;
        }
}

void vec_dot_tile_fp8_e4m3_avx512(int64_t n, float *s, size_t s_stride, const void *w,
                                  size_t w_stride, int nrows, const void *a, size_t a_stride,
                                  int nact) {
    tile_fp8_all(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, 1);
}
void vec_dot_tile_fp8_e5m2_avx512(int64_t n, float *s, size_t s_stride, const void *w,
                                  size_t w_stride, int nrows, const void *a, size_t a_stride,
                                  int nact) {
    tile_fp8_all(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, 0);
}

void vec_dot_fp8_e4m3_avx512(int64_t n, float *s, const void *w, const void *a) {
    tile_fp8_all(n, s, 0, w, 0, 1, a, 0, 1, 1);
}
void vec_dot_fp8_e5m2_avx512(int64_t n, float *s, const void *w, const void *a) {
    tile_fp8_all(n, s, 0, w, 0, 1, a, 0, 1, 0);
}
