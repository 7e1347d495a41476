/* lut_rows.h - the row loops of the LUT kernels (kernels/lut.h), shared by avx2_lut.c and
 * avx512_lut.c: per token, tables of up to LUT_CHUNK_COLS columns (lut_build.h), then each
 * 8-row group streams its packed blocks through the including file's lookups:
 *   lookup1(units, tab, n_units)               one plane: int16 sums, rows 0..7 in each lane
 *   lookup2(units, tab, n_units, &acc0, &acc1)  two planes, added to acc0 / acc1
 * (n_units even), with its table layout LUT_WIDE (lut_build) and names LUT_NAME(f).
 * Entries add in int16 within an activation block (<= 32 per row and lane, |T| <= 512:
 * below 2^15), then widen to int32; the float steps are the reference's (mul then add, no
 * FMA), so the results equal vec_dot_*_ref bit for bit. */
#ifndef SCARCE_LUT_ROWS_H
#define SCARCE_LUT_ROWS_H

#include <immintrin.h>

#include "../../quant/blocks.h"
#include "../lut.h"
#include "lut_build.h"

/* Per-token state of one chunk of columns: tables, activation sums and scales per
 * activation block. */
typedef struct {
    _Alignas(32) uint8_t tab[LUT_CHUNK_COLS * 8];
    int asum[LUT_CHUNK_COLS / QK32];
    float da[LUT_CHUNK_COLS / QK32];
} lut_chunk;

/* Tables, sums and scales of Q8_0 blocks [k0, k1) of one token. */
static void chunk_q8_0(lut_chunk *c, const block_q8_0 *a, int64_t k0, int64_t k1) {
    for (int64_t k = k0; k < k1; k++) {
        lut_build(a[k].qs, QK32, c->tab + (k - k0) * QK32 * 8, LUT_WIDE);
        c->asum[k - k0] = lut_sum32(a[k].qs);
        c->da[k - k0] = _cvtsh_ss(a[k].d);
    }
}

/* The 8 rows' running float sums: 0 for the first chunk, else what the last one stored. */
static inline __m256 running_sum(const float *s, int64_t c0) {
    return c0 ? _mm256_loadu_ps(s) : _mm256_setzero_ps();
}

/* Q1_0 / Q2_0 rows of one chunk (columns [c0, c1)): blocks of `block` columns, each of
 * block / 32 activation blocks of 32 columns. */
static void rows_q8_0(int planes, int block, int64_t n, int64_t c0, int64_t c1, float *s,
                      const uint8_t *w, size_t w_stride, int nrows, const lut_chunk *c) {
    const int64_t nb = n / block;
    const size_t bb = w_stride / (size_t)nb;
    const int unit_bytes = 16 * planes;
    for (int g = 0; g < nrows / 8; g++) {
        __m256 sum = running_sum(s + 8 * g, c0);
        for (int64_t i = c0 / block; i < c1 / block; i++) {
            const uint8_t *x8 = w + ((size_t)g * nb + i) * 8 * bb;
            __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x8)),
                   part = _mm256_setzero_ps();
            for (int k = 0; k < block / QK32; k++) {
                const int64_t ka = (i * block - c0) / QK32 + k; /* activation block in chunk */
                const uint8_t *units = x8 + 16 + 2 * k * unit_bytes, *tab = c->tab + ka * 256;
                __m256i sumi;
                if (planes == 1) {
                    sumi = _mm256_slli_epi32(lut_widen(lookup1(units, tab, 2)), 1);
                } else {
                    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
                    lookup2(units, tab, 2, &acc0, &acc1);
                    sumi = _mm256_add_epi32(lut_widen(acc0), _mm256_slli_epi32(lut_widen(acc1), 1));
                }
                sumi = _mm256_sub_epi32(sumi, _mm256_set1_epi32(c->asum[ka]));
                part = _mm256_add_ps(
                    part, _mm256_mul_ps(_mm256_cvtepi32_ps(sumi), _mm256_set1_ps(c->da[ka])));
            }
            sum = _mm256_add_ps(sum, _mm256_mul_ps(part, d));
        }
        _mm256_storeu_ps(s + 8 * g, sum);
    }
}

static void tile_q8_0(int planes, int block, int64_t n, float *s, size_t s_stride, const void *w,
                      size_t w_stride, int nrows, const void *a, size_t a_stride, int nact) {
    lut_chunk c;
    for (int b = 0; b < nact; b++) {
        const block_q8_0 *y = (const block_q8_0 *)((const char *)a + b * a_stride);
        for (int64_t c0 = 0; c0 < n; c0 += LUT_CHUNK_COLS) {
            const int64_t c1 = c0 + LUT_CHUNK_COLS < n ? c0 + LUT_CHUNK_COLS : n;
            chunk_q8_0(&c, y, c0 / QK32, c1 / QK32);
            rows_q8_0(planes, block, n, c0, c1, s + b * s_stride, w, w_stride, nrows, &c);
        }
    }
}

void LUT_NAME(tile_lut_q1_0)(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                             int nrows, const void *a, size_t a_stride, int nact) {
    tile_q8_0(1, 128, n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}

void LUT_NAME(tile_lut_q2_0)(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                             int nrows, const void *a, size_t a_stride, int nact) {
    tile_q8_0(2, 64, n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
}

/* TQ2_0 against Q8_K: one activation block per super-block, A from its bsums. */
static void rows_tq2_0(int64_t n, int64_t c0, int64_t c1, float *s, const uint8_t *w,
                       size_t w_stride, int nrows, const lut_chunk *c, const block_q8_K *y) {
    const int64_t nb = n / QK_K;
    for (int g = 0; g < nrows / 8; g++) {
        __m256 sum = running_sum(s + 8 * g, c0);
        for (int64_t i = c0 / QK_K; i < c1 / QK_K; i++) {
            const uint8_t *x8 = w + ((size_t)g * nb + i) * 8 * sizeof(block_tq2_0);
            __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
            lookup2(x8 + 16, c->tab + (i * QK_K - c0) * 8, QK_K / 16, &acc0, &acc1);
            __m256i sumi = _mm256_add_epi32(lut_widen(acc0), _mm256_slli_epi32(lut_widen(acc1), 1));
            sumi = _mm256_sub_epi32(sumi, _mm256_set1_epi32(c->asum[i - c0 / QK_K]));
            __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x8));
            __m256 scale = _mm256_mul_ps(d, _mm256_set1_ps(y[i].d));
            sum = _mm256_add_ps(sum, _mm256_mul_ps(_mm256_cvtepi32_ps(sumi), scale));
        }
        _mm256_storeu_ps(s + 8 * g, sum);
    }
}

void LUT_NAME(tile_lut_tq2_0)(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact) {
    lut_chunk c;
    for (int b = 0; b < nact; b++) {
        const block_q8_K *y = (const block_q8_K *)((const char *)a + b * a_stride);
        for (int64_t c0 = 0; c0 < n; c0 += LUT_CHUNK_COLS) {
            const int64_t c1 = c0 + LUT_CHUNK_COLS < n ? c0 + LUT_CHUNK_COLS : n;
            for (int64_t i = c0 / QK_K; i < c1 / QK_K; i++) {
                lut_build(y[i].qs, QK_K, c.tab + (i * QK_K - c0) * 8, LUT_WIDE);
                int A = 0;
                for (int k = 0; k < QK_K / 16; k++) A += y[i].bsums[k];
                c.asum[i - c0 / QK_K] = A;
            }
            rows_tq2_0(n, c0, c1, s + b * s_stride, w, w_stride, nrows, &c, y);
        }
    }
}

#endif
