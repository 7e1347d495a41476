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
#include <string.h>

#include "avx512.h"

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

/* 16 weights of each kind as 16 floats; the masked forms load lanes of `mask` only. */
static inline __m512 load_f32(const void *p) {
    return _mm512_loadu_ps(p);
}
static inline __m512 load_f16(const void *p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}
static inline __m512 load_bf16(const void *p) {
    __m512i u = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
}
static inline __m512 load_f32_mask(const void *p, __mmask16 mask) {
    return _mm512_maskz_loadu_ps(mask, p);
}
static inline __m512 load_f16_mask(const void *p, __mmask16 mask) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p));
}
static inline __m512 load_bf16_mask(const void *p, __mmask16 mask) {
    __m512i u = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(u, 16));
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
    void vec_dot_tile_##name##_avx512(int64_t n, float *s, size_t s_stride, const void *w,         \
                                      size_t w_stride, int nrows, const void *a, size_t a_stride,  \
                                      int nact) {                                                  \
        const size_t ys = a_stride / sizeof(float);                                                \
        const int64_t n64 = n / 64 * 64;                                                           \
        _Alignas(64) float buf[KC];                                                                \
        acc4 acc[MAX_ACT];                                                                         \
        for (int r = 0; r < nrows; r++) {                                                          \
            const elem_t *x = (const elem_t *)((const char *)w + r * w_stride);                    \
            if (nact == 1) {                                                                       \
                vec_dot_##name##_avx512(n, &s[r], x, a);                                           \
                continue;                                                                          \
            }                                                                                      \
            for (int j0 = 0; j0 < nact; j0 += MAX_ACT) {                                           \
                const int nb = nact - j0 < MAX_ACT ? nact - j0 : MAX_ACT;                          \
                const float *y = (const float *)a + j0 * ys;                                       \
                for (int j = 0; j < nb; j++)                                                       \
                    for (int q = 0; q < 4; q++) acc[j].q[q] = _mm512_setzero_ps();                 \
                for (int64_t k0 = 0; k0 < n64; k0 += KC) {                                         \
                    const int64_t kc = n64 - k0 < KC ? n64 - k0 : KC;                              \
                    const float *wf = in_place ? (const float *)(const void *)(x + k0) : buf;      \
                    for (int64_t i = 0; !in_place && i < kc; i += 16) {                            \
                        const __m512 v = load(x + k0 + i); /* memcpy: a plain vmovups */           \
                        memcpy(buf + i, &v, sizeof v);                                             \
                    }                                                                              \
                    chunk_tokens(wf, kc, y + k0, ys, nb, acc);                                     \
                }                                                                                  \
                for (int j = 0; j < nb; j++)                                                       \
                    s[(j0 + j) * s_stride + r] = finish_##name(x, y + j * ys, n64, n, acc[j]);     \
            }                                                                                      \
        }                                                                                          \
    }

DEFINE_FLOAT_TILE(f32, float, load_f32, load_f32_mask, 1)
DEFINE_FLOAT_TILE(f16, uint16_t, load_f16, load_f16_mask, 0)
DEFINE_FLOAT_TILE(bf16, uint16_t, load_bf16, load_bf16_mask, 0)
