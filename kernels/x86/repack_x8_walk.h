/* repack_x8_walk.h - the walk over the 8-row interleaved Q4_0 / Q4_1 / Q8_0 layout shared by
 * the AVX2 and AVX-512 packed kernels (avx2_repack.c explains it): x8_gemv. Groups of 8
 * rows (lane = row) walk two at a time per activation in decode, one against up to 4
 * activations in batches; the activation blocks' code sums are computed once per span of
 * blocks for all rows. The including file defines (declared below) the parts where the ISAs
 * differ: x8_tile (the integer products of NG groups x NA activations and the fold),
 * code_sums (lane sums of activation codes) and ysum_mult (the multiple of sum y that the
 * fold takes off: the code offset; 0 = none, and no sums are formed). */
#ifndef SCARCE_REPACK_X8_WALK_H
#define SCARCE_REPACK_X8_WALK_H

#include <immintrin.h>
#include <stdint.h>

#include "../../quant/blocks.h"
#include "../repack.h"
#include "avx2_util.h"

#define MAX_NG 2
#define MAX_NA 4
/* Activation blocks whose sums are kept at once (16384 columns: one span for most models) */
#define SPAN_BLOCKS 512

enum { KIND_Q4_0, KIND_Q4_1, KIND_Q8_0 };

/* What a tile of NG groups x NA activations works on. */
typedef struct {
    const uint8_t *w;   /* first group's packed data */
    size_t group_bytes; /* nb packed blocks */
    const char *act;    /* activation rows (block_q8_0), act_stride bytes apart */
    size_t act_stride;
    float *y; /* y[j * y_stride + 8 g + lane] */
    size_t y_stride;
} tile_args;

static inline const block_q8_0 *act_row(const tile_args *t, int j) {
    return (const block_q8_0 *)(t->act + j * t->act_stride);
}

static inline __m256 load_scales(const uint8_t *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/* Bytes of a packed block (8 rows) and of its fp16 head (d[8], Q4_1 also m[8]). */
static inline size_t x8_bytes(const int KIND) {
    return REPACK_ROWS * (KIND == KIND_Q8_0   ? sizeof(block_q8_0)
                          : KIND == KIND_Q4_1 ? sizeof(block_q4_1)
                                              : sizeof(block_q4_0));
}
static inline size_t head_bytes(const int KIND) {
    return (KIND == KIND_Q4_1 ? 4 : 2) * REPACK_ROWS;
}

static inline int32_t ysum_mult(const int KIND);

/* acc + the block's contribution, as the reference rounds it: Q4_1 (isum = sum q y,
 * ysum = sum y) acc + (isum d dy + ysum m dy); the others (isum - ysum) d dy. dx: the 8 rows'
 * d (load_scales(blk)), loaded once for the NA activations. */
static inline __m256 fold(__m256 acc, __m256i isum, __m256 dx, const uint8_t *blk, uint16_t dy,
                          int32_t ysum, const int KIND) {
    __m256 fdy = _mm256_set1_ps(half_f16c(dy));
    if (KIND == KIND_Q4_1) {
        __m256 mx = load_scales(blk + 2 * REPACK_ROWS);
        __m256 qy = _mm256_mul_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dx, fdy));
        __m256 my = _mm256_mul_ps(_mm256_set1_ps((float)ysum), _mm256_mul_ps(mx, fdy));
        return _mm256_add_ps(acc, _mm256_add_ps(qy, my));
    }
    if (ysum_mult(KIND)) isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(ysum));
    return _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(dx, fdy)));
}

/* NG groups x NA activations over blocks [i0, i1); y += (accumulate) or y = sums.
 * ysum[j][i - i0]: activation j's block i code sum times ysum_mult(KIND). */
static inline __attribute__((always_inline)) void x8_tile(const tile_args *t, int64_t i0,
                                                          int64_t i1, int32_t (*ysum)[SPAN_BLOCKS],
                                                          int accumulate, const int NG,
                                                          const int NA, const int KIND);
/* 8 int32 lanes of partial sums of the 32 activation codes q (4 codes a lane). */
static inline __m256i code_sums(__m256i q);

/* out[i - i0] = mult x the sum of the codes of activation block i, i in [i0, i1). */
static void block_sums(const block_q8_0 *a, int64_t i0, int64_t i1, int32_t mult, int32_t *out) {
    for (int64_t i = i0; i < i1; i++) {
        __m256i s = code_sums(_mm256_loadu_si256((const __m256i *)a[i].qs));
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
        out[i - i0] = mult * _mm_cvtsi128_si32(h);
    }
}

/* Groups of one span against na (1..4) activations: pairs of groups for one. */
static inline __attribute__((always_inline)) void x8_span(const tile_args *t, int64_t n_groups,
                                                          int64_t i0, int64_t i1,
                                                          int32_t (*ysum)[SPAN_BLOCKS], int na,
                                                          const int KIND) {
    tile_args u = *t;
    int acc = i0 > 0;
    int64_t g = 0;
    if (na == 1)
        for (; g + 2 <= n_groups; g += 2) {
            u.w = t->w + g * t->group_bytes, u.y = t->y + g * REPACK_ROWS;
            x8_tile(&u, i0, i1, ysum, acc, 2, 1, KIND);
        }
    for (; g < n_groups; g++) {
        u.w = t->w + g * t->group_bytes, u.y = t->y + g * REPACK_ROWS;
        if (na == 1)
            x8_tile(&u, i0, i1, ysum, acc, 1, 1, KIND);
        else if (na == 2)
            x8_tile(&u, i0, i1, ysum, acc, 1, 2, KIND);
        else if (na == 3)
            x8_tile(&u, i0, i1, ysum, acc, 1, 3, KIND);
        else
            x8_tile(&u, i0, i1, ysum, acc, 1, 4, KIND);
    }
}

static inline __attribute__((always_inline)) void x8_gemv(int64_t n, float *s, size_t s_stride,
                                                          const void *w, size_t w_stride, int nrows,
                                                          const void *a, size_t a_stride, int nact,
                                                          const int KIND) {
    const int64_t nb = n / QK32;
    const int32_t mult = ysum_mult(KIND);
    int32_t ysum[MAX_NA][SPAN_BLOCKS];
    for (int j0 = 0; j0 < nact; j0 += MAX_NA) {
        int na = nact - j0 < MAX_NA ? nact - j0 : MAX_NA;
        tile_args t = {.w = w,
                       .group_bytes = REPACK_ROWS * w_stride,
                       .act = (const char *)a + j0 * a_stride,
                       .act_stride = a_stride,
                       .y = s + j0 * s_stride,
                       .y_stride = s_stride};
        for (int64_t i0 = 0; i0 < nb; i0 += SPAN_BLOCKS) {
            int64_t i1 = i0 + SPAN_BLOCKS < nb ? i0 + SPAN_BLOCKS : nb;
            for (int j = 0; j < na && mult; j++) block_sums(act_row(&t, j), i0, i1, mult, ysum[j]);
            x8_span(&t, nrows / REPACK_ROWS, i0, i1, ysum, na, KIND);
        }
    }
}

#endif
