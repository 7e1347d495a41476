/* repack_q2k_walk.h - the walk over the 8-row interleaved Q2_K layout (q2_kx8) of the AVX2
 * packed Q2_K kernel (avx2_repack_q2k.c explains it): q2k_gemv. (AVX-512 packs Q2_K in
 * sub-block dwords instead: avx512_repack_q2k.c.) The including file defines, before
 * including this,
 *   __m256i q2k_scaled_add(__m256i isum, __m256i s16, __m256i scales, int quad_codes)
 * = isum + the int32 pairs s16 . scales (madd), divided by 4 first when quad_codes (the
 * codes were masked in place as 4 q): the one step where the ISAs differ. */
#ifndef SCARCE_REPACK_Q2K_WALK_H
#define SCARCE_REPACK_Q2K_WALK_H

#include <immintrin.h>
#include <string.h>

#include "../../quant/blocks.h"
#include "../repack.h"
#include "avx2_util.h"

#define MAX_NG 2
#define MAX_NA 4
/* Activation blocks reordered at once (8192 columns): 4 x 32 x 256 bytes on the stack. */
#define SPAN_BLOCKS 32

enum { X8_BYTES = REPACK_ROWS * sizeof(block_q2_K), SCALES_AT = 32, QS_AT = 160 };
/* Decode (group pairs) prefetches each group's lines this many bytes ahead (8 blocks, as the
 * AVX-512 Q2_K tile). Measured on the 2-core Sapphire-Rapids-class Xeon (SCARCE_ISA=avx2),
 * 600 MB matvec of 2048 columns in 64-row pieces, 1 thread, thread CPU time, median of 3
 * rounds of 5, load 5-8, none / 4 / 8 / 12 blocks: 7.30 / 8.92 / 9.01 / 9.00 GB/s (5.62 ->
 * 5.83 instructions per 32 weights). */
#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD (8 * X8_BYTES)
#endif

/* Activation blocks [i0, i1) in quad order: the 32 bytes of (h, j) at 32 (4h + j), quad p
 * = bytes {2p, 2p+1, 16+2p, 17+2p} of a[128h + 32j ..]: words of the low and high 16 bytes
 * interleaved. */
static void reorder_span(const block_q8_K *a, int64_t i0, int64_t i1, int8_t *out) {
    for (int64_t i = i0; i < i1; i++)
        for (int m = 0; m < 8; m++) {
            __m128i lo = _mm_loadu_si128((const __m128i *)(a[i].qs + 32 * m));
            __m128i hi = _mm_loadu_si128((const __m128i *)(a[i].qs + 32 * m + 16));
            int8_t *o = out + (i - i0) * QK_K + 32 * m;
            _mm_storeu_si128((__m128i *)o, _mm_unpacklo_epi16(lo, hi));
            _mm_storeu_si128((__m128i *)(o + 16), _mm_unpackhi_epi16(lo, hi));
        }
}

/* What a tile of NG groups x NA activations works on. */
typedef struct {
    const uint8_t *w;   /* first group's packed data */
    size_t group_bytes; /* nb packed blocks */
    const char *act;    /* activation rows (block_q8_K), act_stride bytes apart */
    size_t act_stride;
    const int8_t (*quads)[SPAN_BLOCKS * QK_K]; /* reorder_span of each activation */
    float *y;                                  /* y[j * y_stride + 8 g + lane] */
    size_t y_stride;
} tile_args;

static inline const block_q8_K *act_row(const tile_args *t, int j) {
    return (const block_q8_K *)(t->act + j * t->act_stride);
}

/* The sc-weighted row sums of sub-block pair m (int32 per row), added to isum, for NG
 * groups x NA activations of block i. */
static inline __attribute__((always_inline)) void pair_sums(const tile_args *t, int64_t i,
                                                            int64_t i0, int m,
                                                            __m256i isum[MAX_NG][MAX_NA],
                                                            const int NG, const int NA) {
    const int h = m / 4, j = m % 4;
    const __m256i mask = _mm256_set1_epi8(j % 2 ? 12 : 3), low4 = _mm256_set1_epi16(0x0F);
    /* A compiler barrier per m: without it gcc 12 keeps the chunks loaded for m across the
     * other m of the unrolled block and hoists every broadcast, and spills most of them
     * (tile_1x1: 146 of 442 ymm instructions touched the stack). */
    __asm__ volatile("" ::: "memory");
    __m256i s16[MAX_NG][MAX_NA];
    for (int g = 0; g < NG; g++)
        for (int a = 0; a < NA; a++) s16[g][a] = _mm256_setzero_si256();
#pragma GCC unroll 8
    for (int p = 0; p < 8; p++)
        for (int g = 0; g < NG; g++) {
            const uint8_t *blk = t->w + g * t->group_bytes + i * X8_BYTES;
            __m256i raw = _mm256_loadu_si256((const __m256i *)(blk + QS_AT + 32 * (8 * h + p)));
            __m256i q = _mm256_and_si256(j >= 2 ? _mm256_srli_epi16(raw, 4) : raw, mask);
            for (int a = 0; a < NA; a++) {
                __m256i y = bcast4(t->quads[a] + (i - i0) * QK_K + 32 * m + 4 * p);
                s16[g][a] = _mm256_add_epi16(s16[g][a], _mm256_maddubs_epi16(q, y));
            }
        }
    for (int g = 0; g < NG; g++) {
        const uint8_t *blk = t->w + g * t->group_bytes + i * X8_BYTES;
        __m256i scales = _mm256_and_si256(
            _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(blk + SCALES_AT + 16 * m))),
            low4);
        for (int a = 0; a < NA; a++) {
            isum[g][a] = q2k_scaled_add(isum[g][a], s16[g][a], scales, j % 2);
        }
    }
}

/* summ of block i (int32 per row) for activation a: the mins pairs (m_2m, m_2m+1) of
 * each row times the broadcast (bsums_2m, bsums_2m+1). Done after the codes, so that
 * only one sum per activation is live at a time. */
static inline __m256i min_sums(const uint8_t *blk, const block_q8_K *y) {
    __m256i msum = _mm256_setzero_si256();
    for (int m = 0; m < 8; m++) {
        __m256i mins = _mm256_srli_epi16(
            _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(blk + SCALES_AT + 16 * m))), 4);
        __m256i bsums = bcast4((const int8_t *)(y->bsums + 2 * m));
        msum = _mm256_add_epi32(msum, _mm256_madd_epi16(mins, bsums));
    }
    return msum;
}

/* NG groups x NA activations over blocks [from, to) of the span that starts at block i0;
 * y += (accumulate) or y = sums. A pair (NG = 2, decode) prefetches the first group's lines
 * ahead0 bytes ahead, the second's PREFETCH_AHEAD (q2k_tile). */
static inline __attribute__((always_inline)) void q2k_blocks(const tile_args *t, int64_t i0,
                                                             int64_t from, int64_t to,
                                                             size_t ahead0, int accumulate,
                                                             const int NG, const int NA) {
    __m256 acc[MAX_NG][MAX_NA];
    for (int g = 0; g < NG; g++)
        for (int a = 0; a < NA; a++)
            acc[g][a] =
                accumulate ? _mm256_loadu_ps(t->y + a * t->y_stride + 8 * g) : _mm256_setzero_ps();
    for (int64_t i = from; i < to; i++) {
        if (NG == 2) {
            const char *p0 = (const char *)t->w + i * X8_BYTES + ahead0,
                       *p1 = (const char *)t->w + t->group_bytes + i * X8_BYTES + PREFETCH_AHEAD;
#pragma GCC unroll 11
            for (int l = 0; l < (X8_BYTES + 63) / 64; l++) {
                _mm_prefetch(p0 + 64 * l, _MM_HINT_T0);
                _mm_prefetch(p1 + 64 * l, _MM_HINT_T0);
            }
        }
        /* pairs m unrolled: h, j and the chunk offsets become constants, no branch on j */
        __m256i isum[MAX_NG][MAX_NA];
        for (int g = 0; g < NG; g++)
            for (int a = 0; a < NA; a++) isum[g][a] = _mm256_setzero_si256();
#pragma GCC unroll 8
        for (int m = 0; m < 8; m++) pair_sums(t, i, i0, m, isum, NG, NA);
        for (int g = 0; g < NG; g++) {
            const uint8_t *blk = t->w + g * t->group_bytes + i * X8_BYTES;
            __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)blk));
            __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16)));
            for (int a = 0; a < NA; a++) {
                /* the reference's da * (d * sumi - dmin * summ), then += */
                __m256 di = _mm256_mul_ps(d, _mm256_cvtepi32_ps(isum[g][a]));
                __m256i msum = min_sums(blk, act_row(t, a) + i);
                __m256 dm = _mm256_mul_ps(dmin, _mm256_cvtepi32_ps(msum));
                __m256 da = _mm256_set1_ps(act_row(t, a)[i].d);
                acc[g][a] = _mm256_add_ps(acc[g][a], _mm256_mul_ps(da, _mm256_sub_ps(di, dm)));
            }
        }
    }
    for (int g = 0; g < NG; g++)
        for (int a = 0; a < NA; a++) _mm256_storeu_ps(t->y + a * t->y_stride + 8 * g, acc[g][a]);
}

/* NG groups x NA activations over blocks [i0, i1) of the span; y += (accumulate) or
 * y = sums. A pair's first group looks ahead PREFETCH_AHEAD bytes until that lands in the
 * second group (being read now), then 2 groups further, in the next pair's second group
 * (the second group's lands in the next pair's first by itself), as the AVX-512 pair tiles
 * do: two runs, no per-block cost. */
static inline __attribute__((always_inline)) void
q2k_tile(const tile_args *t, int64_t i0, int64_t i1, int accumulate, const int NG, const int NA) {
    if (NG == 1) {
        q2k_blocks(t, i0, i0, i1, 0, accumulate, NG, NA);
        return;
    }
    const size_t gb = t->group_bytes;
    const int64_t i_jump =
        gb > PREFETCH_AHEAD ? (int64_t)((gb - PREFETCH_AHEAD + X8_BYTES - 1) / X8_BYTES) : 0;
    const int64_t mid = i_jump < i0 ? i0 : i_jump > i1 ? i1 : i_jump;
    if (mid > i0) q2k_blocks(t, i0, i0, mid, PREFETCH_AHEAD, accumulate, NG, NA);
    if (i1 > mid) q2k_blocks(t, i0, mid, i1, PREFETCH_AHEAD + 2 * gb, accumulate || mid > i0, NG, NA);
}

/* The tile shapes, each its own function (register allocation per shape). */
#define TILE_SHAPE(NG, NA)                                                                         \
    static __attribute__((noinline)) void tile_##NG##x##NA(const tile_args *t, int64_t i0,         \
                                                           int64_t i1, int accumulate) {           \
        q2k_tile(t, i0, i1, accumulate, NG, NA);                                                   \
    }
TILE_SHAPE(2, 1)
TILE_SHAPE(1, 1)
TILE_SHAPE(1, 2)
TILE_SHAPE(1, 3)
TILE_SHAPE(1, 4)

/* All groups of one span against na (1..4) activations: pairs of groups for one. */
static void q2k_span(const tile_args *t, int64_t n_groups, int64_t i0, int64_t i1, int na) {
    tile_args u = *t;
    int acc = i0 > 0;
    int64_t g = 0;
    if (na == 1)
        for (; g + 2 <= n_groups; g += 2) {
            u.w = t->w + g * t->group_bytes, u.y = t->y + g * REPACK_ROWS;
            tile_2x1(&u, i0, i1, acc);
        }
    for (; g < n_groups; g++) {
        u.w = t->w + g * t->group_bytes, u.y = t->y + g * REPACK_ROWS;
        switch (na) {
        case 1:
            tile_1x1(&u, i0, i1, acc);
            break;
        case 2:
            tile_1x2(&u, i0, i1, acc);
            break;
        case 3:
            tile_1x3(&u, i0, i1, acc);
            break;
        default:
            tile_1x4(&u, i0, i1, acc);
            break;
        }
    }
}

static void q2k_gemv(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                     int nrows, const void *a, size_t a_stride, int nact) {
    const int64_t nb = n / QK_K;
    _Alignas(32) int8_t quads[MAX_NA][SPAN_BLOCKS * QK_K];
    for (int j0 = 0; j0 < nact; j0 += MAX_NA) {
        int na = nact - j0 < MAX_NA ? nact - j0 : MAX_NA;
        tile_args t = {.w = w,
                       .group_bytes = REPACK_ROWS * w_stride,
                       .act = (const char *)a + j0 * a_stride,
                       .act_stride = a_stride,
                       .quads = (const int8_t(*)[SPAN_BLOCKS * QK_K]) quads,
                       .y = s + j0 * s_stride,
                       .y_stride = s_stride};
        for (int64_t i0 = 0; i0 < nb; i0 += SPAN_BLOCKS) {
            int64_t i1 = i0 + SPAN_BLOCKS < nb ? i0 + SPAN_BLOCKS : nb;
            for (int j = 0; j < na; j++) reorder_span(act_row(&t, j), i0, i1, quads[j]);
            q2k_span(&t, nrows / REPACK_ROWS, i0, i1, na);
        }
    }
}

#endif
