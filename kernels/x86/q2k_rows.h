/* q2k_rows.h - the Q2_K row dot product and its NR x NA tile shared by the AVX2 and AVX-512
 * kernels (avx2_kquant_q2k.c explains them): row_q2_k, tile_q2_k. The including file
 * defines (declared below) q2k_sum, the integer products: the one step where the ISAs
 * differ. */
#ifndef SCARCE_Q2K_ROWS_H
#define SCARCE_Q2K_ROWS_H

#include <immintrin.h>
#include <stdint.h>

#include "../../quant/blocks.h"
#include "avx2_util.h"
#include "kquant_unpack.h"

#ifndef MAX_NA
#define MAX_NA 4 /* activations per weight unpack (measured: 4 > 2 > 1) */
#endif

/* 8 int32 lanes of sum sc * q * a over the block (c from q2k_unpack, a the 256 activation
 * codes): exact. */
static inline __m256i q2k_sum(const __m256i c[8], const int8_t *a);

/* One row against NA activations over nb blocks; s[j * s_stride]. NA is a constant at
 * each call site. The row's blocks are unpacked once for the NA activations. (Several rows
 * per activation load do not pay here: the kernel is bound by the vector uops of the
 * unpack, not by loads, and 2 or 4 rows measured slower from register spills.) */
static inline __attribute__((always_inline)) void row_q2_k(int64_t nb, float *s, size_t s_stride,
                                                           const block_q2_K *x, const char *a,
                                                           size_t a_stride, const int NA) {
    __m256 acc[MAX_NA];
    for (int j = 0; j < NA; j++) acc[j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < nb; i++) {
        __m256i c[8];
        q2k_unpack(&x[i], c);
        __m256i mins = q2k_mins(x[i].scales);
        __m256 d = _mm256_set1_ps(half_f16c(x[i].d)), dmin = _mm256_set1_ps(half_f16c(x[i].dmin));
        for (int j = 0; j < NA; j++) {
            const block_q8_K *y = (const block_q8_K *)(a + j * a_stride) + i;
            __m256i sum = q2k_sum(c, y->qs);
            __m256i msum = _mm256_madd_epi16(mins, _mm256_loadu_si256((const __m256i *)y->bsums));
            __m256 t = _mm256_fmsub_ps(_mm256_cvtepi32_ps(sum), d,
                                       _mm256_mul_ps(_mm256_cvtepi32_ps(msum), dmin));
            acc[j] = _mm256_fmadd_ps(t, _mm256_set1_ps(y->d), acc[j]);
        }
    }
    for (int j = 0; j < NA; j++) s[j * s_stride] = hsum_f32x8(acc[j]);
}

/* Activations in groups of MAX_NA (then single), each group against every row. */
static void tile_q2_k(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact) {
    const int64_t nb = n / QK_K;
    const char *wb = w, *ab = a;
    int j = 0;
    for (; j + MAX_NA <= nact; j += MAX_NA)
        for (int r = 0; r < nrows; r++)
            row_q2_k(nb, s + j * s_stride + r, s_stride, (const block_q2_K *)(wb + r * w_stride),
                     ab + j * a_stride, a_stride, MAX_NA);
    for (; j < nact; j++)
        for (int r = 0; r < nrows; r++)
            row_q2_k(nb, s + j * s_stride + r, s_stride, (const block_q2_K *)(wb + r * w_stride),
                     ab + j * a_stride, a_stride, 1);
}

#endif
