/* avx512_q4_1_f32.c - Q4_1_F32 rows x f32 activations (the speculative draft's format,
 * engine/draft_quant.h), 16 lanes a register.
 *
 * Per block of 32: the 16 values d * j + m (j = 0..15) as one register (one FMA of two
 * broadcast loads: the scales are f32 in this format, so no conversion), the 16 code bytes
 * widened to dword lanes, each half picked from that table by vpermps (its index is a
 * lane's low 4 bits: the low nibble as is, the high one after a shift), two FMAs with the
 * activations. Two accumulator pairs on alternate blocks, so the FMA latency does not bind.
 * With Q4_1's fp16 scales (20-byte blocks) the conversions cost more shuffle-port uops than
 * the block's own work: 11.3 cycles a block hot, 3.4 GB/s streamed (one thread, Xeon,
 * Sapphire Rapids class, loaded; /work/cache/spec3/qb.c), hence the format.
 * Not the reference's summation order (tolerance in tests/test_kernels.c).
 *
 * Batches (the draft's 2-token catch-up each pass, prefill) share each block's table and
 * picks among up to GROUP tokens: hot, 576 columns, one thread, ns a row: 1 token 35.8
 * (row dot 46.8), 2 tokens 61.8 (2 row dots 92.2), 4 tokens 85.5 (164.8)
 * (/work/cache/spec3/tile/tt.c, loaded machine). */
#include <immintrin.h>

#include "../../quant/blocks.h"
#include "avx512.h"

#define GROUP 4 /* tokens a weight register serves (4 x 4 accumulators) */

#ifndef Q41F_PREFETCH
#define Q41F_PREFETCH 2048 /* bytes ahead of the blocks read (the rows of a share are adjacent) */
#endif

/* Block b's weights (the row dot's table and picks) into NT tokens' accumulators q, q + 1. */
static inline __attribute__((always_inline)) void block_tokens(const block_q4_1_f32 *b,
                                                               const float *y, size_t ys,
                                                               __m512 iota, __m512 (*acc)[4],
                                                               int q, int NT) {
    const __m512 lut = _mm512_fmadd_ps(iota, _mm512_set1_ps(b->d), _mm512_set1_ps(b->m));
    const __m512i v = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)b->qs));
    const __m512 lo = _mm512_permutexvar_ps(v, lut);
    const __m512 hi = _mm512_permutexvar_ps(_mm512_srli_epi32(v, 4), lut);
    for (int t = 0; t < NT; t++) {
        acc[t][q] = _mm512_fmadd_ps(lo, _mm512_loadu_ps(y + t * ys), acc[t][q]);
        acc[t][q + 1] = _mm512_fmadd_ps(hi, _mm512_loadu_ps(y + t * ys + 16), acc[t][q + 1]);
    }
}

/* One row against NT tokens (NT a constant where it is inlined): each block's table and
 * picked weights made once for all of them, then each token's FMAs (pairs of blocks into
 * accumulators 0, 1 and 2, 3, an odd last block into 0, 1); the row dot is NT = 1, so a
 * batched token gets the row dot's bits (tests/test_gemm.c). */
static inline __attribute__((always_inline)) void row_tokens(int64_t nb, const block_q4_1_f32 *x,
                                                             const float *y, size_t ys,
                                                             float *s, size_t s_stride, int NT) {
    const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    __m512 acc[GROUP][4];
    for (int t = 0; t < NT; t++)
        for (int q = 0; q < 4; q++) acc[t][q] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        _mm_prefetch((const char *)&x[i] + Q41F_PREFETCH, _MM_HINT_T0);
        block_tokens(&x[i], y + i * QK32, ys, iota, acc, 0, NT);
        block_tokens(&x[i + 1], y + (i + 1) * QK32, ys, iota, acc, 2, NT);
    }
    if (i < nb) block_tokens(&x[i], y + i * QK32, ys, iota, acc, 0, NT);
    for (int t = 0; t < NT; t++)
        s[t * s_stride] = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[t][0], acc[t][1]),
                                                             _mm512_add_ps(acc[t][2], acc[t][3])));
}

/* The row dot is the one-token case of row_tokens (so a batched token has its bits). */
void vec_dot_q4_1_f32_avx512(int64_t n, float *s, const void *w, const void *a) {
    row_tokens(n / QK32, w, a, 0, s, 0, 1);
}

/* Batches (a draft's catch-up, prefill): GROUP tokens at a time share each row's tables. */
void vec_dot_tile_q4_1_f32_avx512(int64_t n, float *s, size_t s_stride, const void *w,
                                  size_t w_stride, int nrows, const void *a, size_t a_stride,
                                  int nact) {
    const size_t ys = a_stride / sizeof(float);
    for (int j = 0; j < nact; j += GROUP) {
        const int nt = nact - j < GROUP ? nact - j : GROUP;
        const float *y = (const float *)a + j * ys;
        for (int r = 0; r < nrows; r++) {
            const block_q4_1_f32 *x = (const void *)((const char *)w + r * w_stride);
            float *out = s + j * s_stride + r;
            switch (nt) {
            case 1: row_tokens(n / QK32, x, y, ys, out, s_stride, 1); break;
            case 2: row_tokens(n / QK32, x, y, ys, out, s_stride, 2); break;
            case 3: row_tokens(n / QK32, x, y, ys, out, s_stride, 3); break;
            default: row_tokens(n / QK32, x, y, ys, out, s_stride, 4); break;
            }
        }
    }
}
