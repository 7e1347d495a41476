/* avx512_f16_tile.c - f16 / bf16 / f32 weight rows x several f32 activation rows, 16 lanes a
 * register: the AVX-512 sibling of avx2_f16_tile.c (why, and the structure, are there).
 * Each weight row is converted to f32 once per MAX_ACT tokens, a chunk of KC into an L1
 * buffer; GROUP tokens at a time run over it with the row dot's 4 accumulators each
 * (6 x 4 = 24 of the 32 zmm registers, one for the weights).
 *
 * Bit for bit the row dot's result (avx512_float.c) for every (row, token): the same 4
 * accumulators over 64-element steps, the 16-element steps into accumulator 0, the masked
 * tail into accumulator 1 and the same reduction (tests/test_float_tile.c, under
 * `make test-emu512` on a machine without AVX-512: not timed). */
#include <immintrin.h>

#include "avx512.h"
#include "avx512_util.h"
#include "float_tile_walk.h"

/* Columns converted per chunk (a multiple of 64): 2 KiB of f32. */
#define KC 512
/* Tokens per register tile. */
#define GROUP 6
/* Tokens whose accumulators one pass over the row keeps (in memory between chunks). */
#define MAX_ACT 16

typedef struct {
    __m512 q[4];
} acc4;

#define DEFINE_GROUP(NT) FLOAT_TILE_GROUP(NT, __m512, 16, _mm512_loadu_ps, _mm512_fmadd_ps)
DEFINE_GROUP(1)
DEFINE_GROUP(2)
DEFINE_GROUP(3)
DEFINE_GROUP(4)
DEFINE_GROUP(5)
DEFINE_GROUP(6)

/* Tokens [0, nact) over one chunk, GROUP at a time, then the rest in one smaller group (each
 * group size its own function, so its accumulators unroll into registers). */
static void chunk_tokens(const float *wf, int64_t kc, const float *y, size_t ys, int nact,
                         acc4 *acc) {
    typedef void (*group_fn)(const float *, int64_t, const float *, size_t, acc4 *);
    static const group_fn groups[GROUP + 1] = {NULL,    group_1, group_2, group_3,
                                               group_4, group_5, group_6};
    int j = 0;
    for (; j + GROUP <= nact; j += GROUP) group_6(wf, kc, y + j * ys, ys, acc + j);
    if (j < nact) groups[nact - j](wf, kc, y + j * ys, ys, acc + j);
}

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

#define DEFINE_FLOAT_TILE(name, elem_t, load, load_mask, in_place)                                 \
    DEFINE_FINISH(name, elem_t, load, load_mask)                                                   \
    FLOAT_TILE_WALK(avx512, name, elem_t, load, in_place, 64, __m512, 16, _mm512_setzero_ps)

DEFINE_FLOAT_TILE(f32, float, load16_f32, load16_f32_mask, 1)
DEFINE_FLOAT_TILE(f16, uint16_t, load16_f16, load16_f16_mask, 0)
DEFINE_FLOAT_TILE(bf16, uint16_t, load16_bf16, load16_bf16_mask, 0)
