/* repack_kx8_walk.h - the walk over the 8-row interleaved K-quant layouts of the AVX-512
 * tiles, Q4_K ("q4_kx8", avx512_repack_q4k.c) and Q2_K in sub-block dwords ("q2_kx8d",
 * avx512_repack_q2k.c), against Q8_K activations: kx8_gemv. Activations go 4 at a time;
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
#define PREFETCH_AHEAD (8 * X8_BYTES)

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
            for (int g = 0; g < nrows / REPACK_ROWS; g++) {
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
