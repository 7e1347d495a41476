/* avx2_f16_tile.c - f16 / bf16 / f32 weight rows x several f32 activation rows (the
 * speculative verify batch of 2..9 tokens, prefill below the f32 GEMM's 16): each weight
 * row is read and converted to f32 once per 16 tokens, not once per token.
 *
 * Why: the row dot (avx2_float.c) converts every 8 weights with vcvtph2ps (2 uops) for one
 * FMA; run once per token it made a 5-token verify pass of SmolLM2-135M f16 cost 1.98
 * decode steps (2-core AMD EPYC, AVX2; issue 19). Here a chunk of KC weights is converted
 * into an L1 buffer once, then GROUP tokens at a time run over it: 4 accumulators per token
 * (the row dot's), GROUP x 4 = 12 of the 16 ymm registers, one for the weights; the
 * activations are FMA memory operands.
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

/* Columns converted per chunk (a multiple of 32): 2 KiB of f32 in L1 beside the tokens'
 * activation chunks. */
#define KC 512
/* Tokens per register tile (3 x 4 accumulators + 1 weight register <= 16 ymm). */
#define GROUP 3
/* Tokens whose accumulators one pass over the row keeps (in memory between chunks). */
#define MAX_ACT 16

typedef struct {
    __m256 q[4];
} acc4;

#define DEFINE_GROUP(NT) FLOAT_TILE_GROUP(NT, __m256, 8, _mm256_loadu_ps, _mm256_fmadd_ps)
DEFINE_GROUP(1)
DEFINE_GROUP(2)
DEFINE_GROUP(3)

/* Tokens [0, nact) (nact <= MAX_ACT) over one chunk of f32 weights, GROUP at a time. */
static void chunk_tokens(const float *wf, int64_t kc, const float *y, size_t ys, int nact,
                         acc4 *acc) {
    int j = 0;
    for (; j + GROUP <= nact; j += GROUP) group_3(wf, kc, y + j * ys, ys, acc + j);
    if (nact - j == 2) group_2(wf, kc, y + j * ys, ys, acc + j);
    if (nact - j == 1) group_1(wf, kc, y + j * ys, ys, acc + j);
}

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

#define DEFINE_FLOAT_TILE(name, elem_t, load, to_f32, in_place)                                    \
    DEFINE_FINISH(name, elem_t, load, to_f32)                                                      \
    FLOAT_TILE_WALK(avx2, name, elem_t, load, in_place, 32, __m256, 8, _mm256_setzero_ps)

DEFINE_FLOAT_TILE(f32, float, load8_f32, f32_identity, 1)
DEFINE_FLOAT_TILE(f16, uint16_t, load8_f16, fp16_to_f32, 0)
DEFINE_FLOAT_TILE(bf16, uint16_t, load8_bf16, bf16_to_f32, 0)
