/* avx512_f16_tile.c - f16 / bf16 / f32 weight rows x several f32 activation rows, 16 lanes a
 * register: the AVX-512 sibling of avx2_f16_tile.c (why, and the measurement, are there).
 * GROUP = 7 tokens share each weight register, with the row dot's 4 accumulators each (28 of
 * the 32 zmm registers, one for the weights; GCC 12 spills none). 7 rather than 6: a verify
 * pass of 7 tokens (k = 6) converts each weight once instead of twice; one thread, 576-column
 * f16 rows streamed from DRAM, thread CPU time (Xeon, Sapphire Rapids class, loaded):
 * 7 tokens 6.4-6.6 -> 7.5-7.7 GB/s, 5, 6, 8, 9 tokens unchanged.
 *
 * Bit for bit the row dot's result (avx512_float.c) for every (row, token): the same 4
 * accumulators over 64-element steps, the 16-element steps into accumulator 0, the masked
 * tail into accumulator 1 and the same reduction (tests/test_float_tile.c, under
 * `make test-emu512` on a machine without AVX-512: not timed). */
#include <immintrin.h>

#include "avx512.h"
#include "avx512_util.h"
#include "float_tile_walk.h"

/* Tokens per register group (7 x 4 accumulators + 1 weight register of 32 zmm). */
#define GROUP 7

typedef struct {
    __m512 q[4];
} acc4;

/* The row dot's last steps for one (row, token) after the 64-element steps [0, i). */
#define DEFINE_FINISH(name, elem_t, load, load_mask)                                               \
    static inline float finish_##name(const elem_t *x, const float *y, int64_t i, int64_t n,       \
                                      acc4 a) {                                                    \
        for (; i + 16 <= n; i += 16)                                                               \
            a.q[0] = _mm512_fmadd_ps(load(x + i), _mm512_loadu_ps(y + i), a.q[0]);                 \
        if (i < n) {                                                                               \
            __mmask16 tail = (__mmask16)((1u << (n - i)) - 1);                                     \
            a.q[1] = _mm512_fmadd_ps(load_mask(x + i, tail), _mm512_maskz_loadu_ps(tail, y + i),   \
                                     a.q[1]);                                                      \
        }                                                                                          \
        return _mm512_reduce_add_ps(                                                               \
            _mm512_add_ps(_mm512_add_ps(a.q[0], a.q[1]), _mm512_add_ps(a.q[2], a.q[3])));          \
    }

#define DEFINE_FLOAT_TILE(name, elem_t, load, load_mask)                                           \
    DEFINE_FINISH(name, elem_t, load, load_mask)                                                   \
    DEFINE_ROWS(1, name, elem_t, load)                                                             \
    DEFINE_ROWS(2, name, elem_t, load)                                                             \
    DEFINE_ROWS(3, name, elem_t, load)                                                             \
    DEFINE_ROWS(4, name, elem_t, load)                                                             \
    DEFINE_ROWS(5, name, elem_t, load)                                                             \
    DEFINE_ROWS(6, name, elem_t, load)                                                             \
    DEFINE_ROWS(7, name, elem_t, load)                                                             \
    static void (*const rows_##name[GROUP + 1])(int64_t, float *, size_t, const void *, size_t,    \
                                                int, const float *, size_t) = {NULL,               \
                                                                               rows_##name##_1,    \
                                                                               rows_##name##_2,    \
                                                                               rows_##name##_3,    \
                                                                               rows_##name##_4,    \
                                                                               rows_##name##_5,    \
                                                                               rows_##name##_6,    \
                                                                               rows_##name##_7};   \
    FLOAT_TILE_WALK(avx512, name, rows_##name)

#define DEFINE_ROWS(NT, name, elem_t, load)                                                        \
    FLOAT_TILE_ROWS(NT, name, elem_t, load, __m512, 16, _mm512_setzero_ps, _mm512_loadu_ps,        \
                    _mm512_fmadd_ps)

DEFINE_FLOAT_TILE(f32, float, load16_f32, load16_f32_mask)
DEFINE_FLOAT_TILE(f16, uint16_t, load16_f16, load16_f16_mask)
DEFINE_FLOAT_TILE(bf16, uint16_t, load16_bf16, load16_bf16_mask)
