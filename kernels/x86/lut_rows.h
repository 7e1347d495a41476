/* lut_rows.h - the activation preparation and the row loops of the LUT kernels
 * (kernels/lut.h), shared by avx2_lut.c and avx512_lut.c: once per activation row, the
 * tables of every column (lut_build.h) with each activation block's sum and scale; then per
 * LUT_CHUNK_COLS columns, each 8-row group streams its packed blocks through the including
 * file's lookups:
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

/* A prepared activation row (kernels/lut.h, lut_prepare_*): tables of every column, then
 * per activation block (32 columns of Q8_0, 256 of Q8_K) its code sum and its scale. */
typedef struct {
    const uint8_t *tab; /* 8 bytes a column, lut_build's layout */
    const int *asum;
    const float *da;
} lut_act;

static size_t prepared_bytes(int64_t cols, int block) {
    return ((size_t)cols * 8 + (size_t)(cols / block) * 8 + 63) / 64 * 64;
}

static lut_act prepared(const void *row, int64_t cols, int block) {
    const uint8_t *p = row;
    const int *asum = (const int *)(p + cols * 8);
    return (lut_act){p, asum, (const float *)(asum + cols / block)};
}

size_t LUT_NAME(lut_prepare_q8_0)(const void *act, int64_t cols, void *dst) {
    const size_t bytes = prepared_bytes(cols, QK32);
    if (!dst) return bytes;
    const block_q8_0 *a = act;
    uint8_t *tab = dst;
    int *asum = (int *)(tab + cols * 8);
    float *da = (float *)(asum + cols / QK32);
    for (int64_t k = 0; k < cols / QK32; k++) {
        lut_build(a[k].qs, QK32, tab + k * QK32 * 8, LUT_WIDE);
        asum[k] = lut_sum32(a[k].qs);
        da[k] = _cvtsh_ss(a[k].d);
    }
    return bytes;
}

size_t LUT_NAME(lut_prepare_q8_k)(const void *act, int64_t cols, void *dst) {
    const size_t bytes = prepared_bytes(cols, QK_K);
    if (!dst) return bytes;
    const block_q8_K *a = act;
    uint8_t *tab = dst;
    int *asum = (int *)(tab + cols * 8);
    float *da = (float *)(asum + cols / QK_K);
    for (int64_t i = 0; i < cols / QK_K; i++) {
        lut_build(a[i].qs, QK_K, tab + i * QK_K * 8, LUT_WIDE);
        int A = 0;
        for (int k = 0; k < QK_K / 16; k++) A += a[i].bsums[k];
        asum[i] = A, da[i] = a[i].d;
    }
    return bytes;
}

/* The 8 rows' running float sums: 0 for the first chunk, else what the last one stored. */
static inline __m256 running_sum(const float *s, int64_t c0) {
    return c0 ? _mm256_loadu_ps(s) : _mm256_setzero_ps();
}

/* Q1_0 / Q2_0 rows of one chunk (columns [c0, c1)): blocks of `block` columns, each of
 * block / 32 activation blocks of 32 columns. */
static void rows_q8_0(int planes, int block, int64_t n, int64_t c0, int64_t c1, float *s,
                      const uint8_t *w, size_t w_stride, int nrows, const lut_act *c) {
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
                const int64_t ka = i * (block / QK32) + k; /* activation block */
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

/* Every 8-row group over LUT_CHUNK_COLS columns at a time: that chunk's tables (32 KB)
 * stay in L1 while the groups stream by. */
static void tile_q8_0(int planes, int block, int64_t n, float *s, size_t s_stride, const void *w,
                      size_t w_stride, int nrows, const void *a, size_t a_stride, int nact) {
    for (int b = 0; b < nact; b++) {
        const lut_act c = prepared((const char *)a + b * a_stride, n, QK32);
        for (int64_t c0 = 0; c0 < n; c0 += LUT_CHUNK_COLS) {
            const int64_t c1 = c0 + LUT_CHUNK_COLS < n ? c0 + LUT_CHUNK_COLS : n;
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

/* TQ2_0 against Q8_K: one activation block per super-block. */
static void rows_tq2_0(int64_t n, int64_t c0, int64_t c1, float *s, const uint8_t *w,
                       size_t w_stride, int nrows, const lut_act *c) {
    const int64_t nb = n / QK_K;
    for (int g = 0; g < nrows / 8; g++) {
        __m256 sum = running_sum(s + 8 * g, c0);
        for (int64_t i = c0 / QK_K; i < c1 / QK_K; i++) {
            const uint8_t *x8 = w + ((size_t)g * nb + i) * 8 * sizeof(block_tq2_0);
            __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
            lookup2(x8 + 16, c->tab + i * QK_K * 8, QK_K / 16, &acc0, &acc1);
            __m256i sumi = _mm256_add_epi32(lut_widen(acc0), _mm256_slli_epi32(lut_widen(acc1), 1));
            sumi = _mm256_sub_epi32(sumi, _mm256_set1_epi32(c->asum[i]));
            __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)x8));
            __m256 scale = _mm256_mul_ps(d, _mm256_set1_ps(c->da[i]));
            sum = _mm256_add_ps(sum, _mm256_mul_ps(_mm256_cvtepi32_ps(sumi), scale));
        }
        _mm256_storeu_ps(s + 8 * g, sum);
    }
}

void LUT_NAME(tile_lut_tq2_0)(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact) {
    for (int b = 0; b < nact; b++) {
        const lut_act c = prepared((const char *)a + b * a_stride, n, QK_K);
        for (int64_t c0 = 0; c0 < n; c0 += LUT_CHUNK_COLS) {
            const int64_t c1 = c0 + LUT_CHUNK_COLS < n ? c0 + LUT_CHUNK_COLS : n;
            rows_tq2_0(n, c0, c1, s + b * s_stride, w, w_stride, nrows, &c);
        }
    }
}

#endif
