/* avx2_f16_tile.c - f16 / bf16 / f32 weight rows x several f32 activation rows (the
 * speculative verify batch of 2..9 tokens, prefill below the f32 GEMM's 16).
 *
 * The row dot (avx2_float.c) run once per token loads and converts every weight register for
 * one FMA: 8 loads per 4 FMAs, and on this core it is bound by loads, not FMAs. Here GROUP = 3
 * tokens share each weight register: 4 weight loads (converted once) and 12 activation loads
 * (FMA memory operands) for 12 FMAs, 3 x the row dot's 4 accumulators = 12 of the 16 ymm
 * registers. The group's activation rows stay in L1 while the rows pass. Measured (2-core AMD
 * EPYC, Zen 3, AVX2, one thread, 160 f16 rows in L2, minimum of 300 runs): ns per (row,
 * token) at 576 columns, row dots 24.1 against this 20.3 / 19.1 / 21.1 / 19.0 for 2 / 3 / 4 /
 * 9 tokens; at 1536 columns 63.7 against 49.1 / 45.0 / 50.9 / 45.1. (Converting a row into an
 * f32 buffer once per batch first was slower for 2..5 tokens: the conversion and its stores
 * cost as much as a row dot.) Rows cannot share activation loads too: the row dot's order
 * needs 4 accumulators per (row, token), and 2 x 2 of them would need all 16 registers.
 *
 * Bit for bit the row dot's result for every (row, token): the same 4 accumulators over
 * 32-element steps, the same 8-element tail into accumulator 0, the same horizontal sum and
 * scalar tail. So a token verified in a batch gets exactly the logits of decoding it alone,
 * and greedy speculative text equals plain greedy text (tests/test_float_tile.c). */
#include <immintrin.h>

#include "../../quant/fp16.h"
#include "avx2.h"
#include "avx2_util.h"
#include "float_tile_walk.h"

/* Tokens per register group (3 x 4 accumulators + 1 weight register <= 16 ymm). */
#define GROUP 3

typedef struct {
    __m256 q[4];
} acc4;

/* The row dot's last steps for one (row, token) from its 4 accumulators after the 32-element
 * steps [0, i): 8-element steps into accumulator 0, the horizontal sum, the scalar tail. */
#define DEFINE_FINISH(name, elem_t, load, to_f32)                                                  \
    static inline float finish_##name(const elem_t *x, const float *y, int64_t i, int64_t n,       \
                                      acc4 a) {                                                    \
        for (; i + 8 <= n; i += 8)                                                                 \
            a.q[0] = _mm256_fmadd_ps(load(x + i), _mm256_loadu_ps(y + i), a.q[0]);                 \
        float sum = hsum_f32x8(                                                                    \
            _mm256_add_ps(_mm256_add_ps(a.q[0], a.q[1]), _mm256_add_ps(a.q[2], a.q[3])));          \
        for (; i < n; i++) sum += to_f32(x[i]) * y[i];                                             \
        return sum;                                                                                \
    }

#define DEFINE_FLOAT_TILE(name, elem_t, load, to_f32)                                              \
    DEFINE_FINISH(name, elem_t, load, to_f32)                                                      \
    DEFINE_ROWS(1, name, elem_t, load)                                                             \
    DEFINE_ROWS(2, name, elem_t, load)                                                             \
    DEFINE_ROWS(3, name, elem_t, load)                                                             \
    static void (*const rows_##name[GROUP + 1])(int64_t, float *, size_t, const void *, size_t,    \
                                                int, const float *, size_t) = {                    \
        NULL, rows_##name##_1, rows_##name##_2, rows_##name##_3};                                  \
    FLOAT_TILE_WALK(avx2, name, rows_##name)

#define DEFINE_ROWS(NT, name, elem_t, load)                                                        \
    FLOAT_TILE_ROWS(NT, name, elem_t, load, __m256, 8, _mm256_setzero_ps, _mm256_loadu_ps,         \
                    _mm256_fmadd_ps)

DEFINE_FLOAT_TILE(f32, float, load8_f32, f32_identity)
DEFINE_FLOAT_TILE(f16, uint16_t, load8_f16, fp16_to_f32)
DEFINE_FLOAT_TILE(bf16, uint16_t, load8_bf16, bf16_to_f32)
