/* repack_kx8_walk.h - the walk over the 8-row interleaved K-quant layouts of the packed
 * tiles, Q4_K ("q4_kx8", avx512_repack_q4k.c and avx2_repack_q4k.c) and Q2_K in sub-block
 * dwords ("q2_kx8d", avx512_repack_q2k.c), against Q8_K activations: kx8_gemv. Activations go 4 at a time;
 * per span of SPAN_BLOCKS blocks each activation's blocks are prepared once for all rows
 * (PREP_BYTES a block: Q4_K its bsum pairs, Q2_K its bsums' base-16 digits), then every
 * group of 8 rows walks the span against them, one function per activation count.
 *
 * The including file defines, before including:
 *   X8_BYTES    bytes of a packed block (8 rows' blocks)
 *   PREP_BYTES  bytes of one activation block's prepared data (a multiple of 4)
 * and afterwards (declared below) prep_blocks, which fills a span's prepared data, and
 * kx8_group, one group x NA activations over a span. */
#ifndef SCARCE_REPACK_KX8_WALK_H
#define SCARCE_REPACK_KX8_WALK_H

#include <immintrin.h>
#include <stdalign.h>
#include <stdint.h>

#include "../../quant/blocks.h"
#include "../repack.h"

#define MAX_NA 4
/* Activation blocks whose prepared data are kept at once (16384 columns: one span for most
 * models): at most 4 x 64 x 32 bytes on the stack. */
#define SPAN_BLOCKS 64

/* Each block's lines are prefetched this far ahead (8 blocks of 8 rows): the hardware
 * prefetchers alone left the kernel short of the memory rate. Measured on the 2-core
 * Sapphire-Rapids-class Xeon, one thread, thread CPU time of one 600 MB matvec (4096
 * columns), median of 9, machine loaded (load average 6-8), distance in blocks none / 6 /
 * 8 / 12 / 16, two rounds: Q4_K 8.43 / 10.95 / 10.07 / 9.34 / 9.99 and 8.55 / 9.43 / 9.66 /
 * 8.11 / 8.36 GB/s; Q2_K 7.35 / 8.86 / 9.84 / 10.51 / 10.10 and 7.42 / 9.12 / 9.26 / 9.00 /
 * 8.90 GB/s (q8_0's packed kernel, no prefetch, 10.5-11.7 in the same runs). */
#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD (8 * X8_BYTES)
#endif

/* What a group x NA activations works on. */
typedef struct {
    const char *act; /* activation rows (block_q8_K), act_stride bytes apart */
    size_t act_stride;
    const int32_t *prep; /* activation j's block i0 + k at prep + (j SPAN_BLOCKS + k) PREP_BYTES */
    float *y;            /* y[j * y_stride + lane] */
    size_t y_stride;
} tile_args;

static inline const block_q8_K *act_row(const tile_args *t, int j) {
    return (const block_q8_K *)(t->act + j * t->act_stride);
}

/* Activation j's prepared data of block i0 + k. */
static inline const void *act_prep(const tile_args *t, int j, int64_t k) {
    return (const char *)t->prep + ((size_t)j * SPAN_BLOCKS + (size_t)k) * PREP_BYTES;
}

/* always_inline: as a plain static inline gcc 12 -O3 finds it free of side effects (a
 * prefetch writes nothing) and deletes its calls, every prefetch with them. */
static inline __attribute__((always_inline)) void prefetch_block(const uint8_t *blk) {
#pragma GCC unroll 18
    for (int l = 0; l < (X8_BYTES + 63) / 64; l++)
        _mm_prefetch((const char *)blk + PREFETCH_AHEAD + 64 * l, _MM_HINT_T0);
}

/* out = the prepared data of activation blocks [i0, i1), PREP_BYTES each. */
static void prep_blocks(const block_q8_K *a, int64_t i0, int64_t i1, int32_t *out);
/* One group (blocks w, 8 rows) x NA activations over blocks [i0, i1); y += (accumulate)
 * or y = sums. */
static inline __attribute__((always_inline)) void kx8_group(const tile_args *t, const uint8_t *w,
                                                            int64_t i0, int64_t i1, int accumulate,
                                                            const int NA);

/* The shapes, each its own function (register allocation per shape). */
#define GROUP_SHAPE(NA)                                                                            \
    static __attribute__((noinline)) void group_##NA(const tile_args *t, const uint8_t *w,         \
                                                     int64_t i0, int64_t i1, int accumulate) {     \
        kx8_group(t, w, i0, i1, accumulate, NA);                                                   \
    }
GROUP_SHAPE(1)
GROUP_SHAPE(2)
GROUP_SHAPE(3)
GROUP_SHAPE(4)
#undef GROUP_SHAPE

#ifdef KX8_PAIRS
/* An including file that defines KX8_PAIRS also has kx8_pair: two groups (blocks w and
 * w + gb, 16 rows, y[j * y_stride + 0..15]) x NA activations over blocks [from, to) of the
 * span that starts at block i0 (act_prep's index base), prefetching the first group ahead0
 * bytes ahead; the same sums as kx8_group on each. The walk takes groups two at a time, the odd last one through kx8_group. */
static inline __attribute__((always_inline)) void kx8_pair(const tile_args *t, const uint8_t *w,
                                                           size_t gb, size_t ahead0, int64_t i0,
                                                           int64_t from, int64_t to, int accumulate,
                                                           const int NA);

/* prefetch_block for both groups of a pair, block b0 of the first, b1 of the second: the
 * first group's lines ahead0 bytes ahead, the second's PREFETCH_AHEAD (pair_blocks). */
static inline __attribute__((always_inline)) void prefetch_pair(const uint8_t *b0,
                                                                const uint8_t *b1, size_t ahead0) {
    const char *p0 = (const char *)b0 + ahead0, *p1 = (const char *)b1 + PREFETCH_AHEAD;
#pragma GCC unroll 18
    for (int l = 0; l < (X8_BYTES + 63) / 64; l++) {
        _mm_prefetch(p0 + 64 * l, _MM_HINT_T0);
        _mm_prefetch(p1 + 64 * l, _MM_HINT_T0);
    }
}

/* The pair's blocks [i0, i1) in two runs of kx8_pair, each with its own look-ahead of the
 * first group: past its group's end that look-ahead would land in the second group, which
 * is being read now, so from there on it goes 2 groups further, to the next pair's second
 * group (the second group's lands in the next pair's first by itself), as the Q4_0 pair
 * tile does (avx512_repack.c). Two runs: the jump costs nothing per block. */
#define PAIR_BLOCKS(NA)                                                                            \
    do {                                                                                           \
        const int64_t i_jump =                                                                     \
            gb > PREFETCH_AHEAD ? (int64_t)((gb - PREFETCH_AHEAD + X8_BYTES - 1) / X8_BYTES) : 0;  \
        const int64_t mid = i_jump < i0 ? i0 : i_jump > i1 ? i1 : i_jump;                          \
        if (mid > i0) kx8_pair(t, w, gb, PREFETCH_AHEAD, i0, i0, mid, accumulate, NA);             \
        if (i1 > mid)                                                                              \
            kx8_pair(t, w, gb, PREFETCH_AHEAD + 2 * gb, i0, mid, i1, accumulate || mid > i0, NA);  \
    } while (0)

#define PAIR_SHAPE(NA)                                                                             \
    static __attribute__((noinline)) void pair_##NA(const tile_args *t, const uint8_t *w,          \
                                                    size_t gb, int64_t i0, int64_t i1,             \
                                                    int accumulate) {                              \
        PAIR_BLOCKS(NA);                                                                           \
    }
PAIR_SHAPE(1)
PAIR_SHAPE(2)
PAIR_SHAPE(3)
PAIR_SHAPE(4)
#undef PAIR_SHAPE
#undef PAIR_BLOCKS

/* Groups [g, g + 2) x na activations over a span. */
static void pair_span(const tile_args *t, const uint8_t *wg, size_t gb, int64_t i0, int64_t i1,
                      int na) {
    switch (na) {
    case 1:
        pair_1(t, wg, gb, i0, i1, i0 > 0);
        break;
    case 2:
        pair_2(t, wg, gb, i0, i1, i0 > 0);
        break;
    case 3:
        pair_3(t, wg, gb, i0, i1, i0 > 0);
        break;
    default:
        pair_4(t, wg, gb, i0, i1, i0 > 0);
        break;
    }
}
#endif

/* The packed kernels' signature (repack.h): nrows (% 8 == 0) rows from a group start. */
static void kx8_gemv(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                     int nrows, const void *a, size_t a_stride, int nact) {
    const int64_t nb = n / QK_K;
    const size_t group_bytes = REPACK_ROWS * w_stride;
    alignas(64) int32_t prep[MAX_NA * SPAN_BLOCKS * PREP_BYTES / 4];
    for (int j0 = 0; j0 < nact; j0 += MAX_NA) {
        const int na = nact - j0 < MAX_NA ? nact - j0 : MAX_NA;
        tile_args t = {.act = (const char *)a + j0 * a_stride,
                       .act_stride = a_stride,
                       .prep = prep,
                       .y_stride = s_stride};
        for (int64_t i0 = 0; i0 < nb; i0 += SPAN_BLOCKS) {
            const int64_t i1 = i0 + SPAN_BLOCKS < nb ? i0 + SPAN_BLOCKS : nb;
            for (int j = 0; j < na; j++)
                prep_blocks(act_row(&t, j), i0, i1, prep + (size_t)j * SPAN_BLOCKS * PREP_BYTES / 4);
            int g = 0;
#ifdef KX8_PAIRS
            for (; g + 2 <= nrows / REPACK_ROWS; g += 2) {
                t.y = s + j0 * s_stride + g * REPACK_ROWS;
                pair_span(&t, (const uint8_t *)w + g * group_bytes, group_bytes, i0, i1, na);
            }
#endif
            for (; g < nrows / REPACK_ROWS; g++) {
                const uint8_t *wg = (const uint8_t *)w + g * group_bytes;
                t.y = s + j0 * s_stride + g * REPACK_ROWS;
                switch (na) {
                case 1:
                    group_1(&t, wg, i0, i1, i0 > 0);
                    break;
                case 2:
                    group_2(&t, wg, i0, i1, i0 > 0);
                    break;
                case 3:
                    group_3(&t, wg, i0, i1, i0 > 0);
                    break;
                default:
                    group_4(&t, wg, i0, i1, i0 > 0);
                    break;
                }
            }
        }
    }
}

#endif
