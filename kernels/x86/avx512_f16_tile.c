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

/* acc[t] += the 64-element steps of wf[0, kc) x token t's activations y + t * ys, t < nt. */
static inline __attribute__((always_inline)) void
group_tokens(const float *wf, int64_t kc, const float *y, size_t ys, int nt, acc4 *acc) {
    __m512 c[GROUP][4];
    for (int t = 0; t < nt; t++)
        for (int q = 0; q < 4; q++) c[t][q] = acc[t].q[q];
    for (int64_t i = 0; i < kc; i += 64)
        for (int q = 0; q < 4; q++) {
            const __m512 w = _mm512_loadu_ps(wf + i + 16 * q);
            for (int t = 0; t < nt; t++)
                c[t][q] = _mm512_fmadd_ps(w, _mm512_loadu_ps(y + t * ys + i + 16 * q), c[t][q]);
        }
    for (int t = 0; t < nt; t++)
        for (int q = 0; q < 4; q++) acc[t].q[q] = c[t][q];
}

/* Tokens [0, nact) over one chunk, GROUP at a time; the group sizes are constants so each
 * call unrolls into registers. */
static void chunk_tokens(const float *wf, int64_t kc, const float *y, size_t ys, int nact,
                         acc4 *acc) {
    int j = 0;
    for (; j + GROUP <= nact; j += GROUP) group_tokens(wf, kc, y + j * ys, ys, GROUP, acc + j);
    switch (nact - j) {
    case 5:
        group_tokens(wf, kc, y + j * ys, ys, 5, acc + j);
        break;
    case 4:
        group_tokens(wf, kc, y + j * ys, ys, 4, acc + j);
        break;
    case 3:
        group_tokens(wf, kc, y + j * ys, ys, 3, acc + j);
        break;
    case 2:
        group_tokens(wf, kc, y + j * ys, ys, 2, acc + j);
        break;
    case 1:
        group_tokens(wf, kc, y + j * ys, ys, 1, acc + j);
        break;
    }
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
