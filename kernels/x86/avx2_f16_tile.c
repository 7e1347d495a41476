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

/* acc[t] += the 32-element steps of wf[0, kc) x token t's activations y + t * ys, t < NT:
 * one weight load for NT FMAs. */
#define DEFINE_GROUP(NT)                                                                           \
    static inline void group_##NT(const float *wf, int64_t kc, const float *y, size_t ys,          \
                                  acc4 *acc) {                                                     \
        __m256 c[NT][4];                                                                           \
        for (int t = 0; t < NT; t++)                                                               \
            for (int q = 0; q < 4; q++) c[t][q] = acc[t].q[q];                                     \
        for (int64_t i = 0; i < kc; i += 32)                                                       \
            for (int q = 0; q < 4; q++) {                                                          \
                const __m256 w = _mm256_loadu_ps(wf + i + 8 * q);                                  \
                for (int t = 0; t < NT; t++)                                                       \
                    c[t][q] =                                                                      \
                        _mm256_fmadd_ps(w, _mm256_loadu_ps(y + t * ys + i + 8 * q), c[t][q]);      \
            }                                                                                      \
        for (int t = 0; t < NT; t++)                                                               \
            for (int q = 0; q < 4; q++) acc[t].q[q] = c[t][q];                                     \
    }

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

/* Loads 8 weights of each kind as 8 floats (as avx2_float.c does). */
static inline __m256 load_f32(const void *p) {
    return _mm256_loadu_ps(p);
}
static inline __m256 load_f16(const void *p) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}
static inline __m256 load_bf16(const void *p) {
    __m256i u = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(u, 16));
}
static inline float f32_identity(float f) {
    return f;
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

/* Rows x tokens: per row and block of MAX_ACT tokens, chunk by chunk: convert KC weights
 * (f32 rows are read in place), run every token over them; then each pair's finish. One
 * token keeps the row dot itself (nothing to share the conversion with). */
#define DEFINE_FLOAT_TILE(name, elem_t, load, to_f32, in_place)                                    \
    DEFINE_FINISH(name, elem_t, load, to_f32)                                                      \
    void vec_dot_tile_##name##_avx2(int64_t n, float *s, size_t s_stride, const void *w,           \
                                    size_t w_stride, int nrows, const void *a, size_t a_stride,    \
                                    int nact) {                                                    \
        const size_t ys = a_stride / sizeof(float);                                                \
        const int64_t n32 = n / 32 * 32;                                                           \
        _Alignas(32) float buf[KC];                                                                \
        acc4 acc[MAX_ACT];                                                                         \
        for (int r = 0; r < nrows; r++) {                                                          \
            const elem_t *x = (const elem_t *)((const char *)w + r * w_stride);                    \
            if (nact == 1) {                                                                       \
                vec_dot_##name##_avx2(n, &s[r], x, a);                                             \
                continue;                                                                          \
            }                                                                                      \
            for (int j0 = 0; j0 < nact; j0 += MAX_ACT) {                                           \
                const int nb = nact - j0 < MAX_ACT ? nact - j0 : MAX_ACT;                          \
                const float *y = (const float *)a + j0 * ys;                                       \
                for (int j = 0; j < nb; j++)                                                       \
                    for (int q = 0; q < 4; q++) acc[j].q[q] = _mm256_setzero_ps();                 \
                for (int64_t k0 = 0; k0 < n32; k0 += KC) {                                         \
                    const int64_t kc = n32 - k0 < KC ? n32 - k0 : KC;                              \
                    const float *wf = in_place ? (const float *)(const void *)(x + k0) : buf;      \
                    for (int64_t i = 0; !in_place && i < kc; i += 8)                               \
                        _mm256_store_ps(buf + i, load(x + k0 + i));                                \
                    chunk_tokens(wf, kc, y + k0, ys, nb, acc);                                     \
                }                                                                                  \
                for (int j = 0; j < nb; j++)                                                       \
                    s[(j0 + j) * s_stride + r] = finish_##name(x, y + j * ys, n32, n, acc[j]);     \
            }                                                                                      \
        }                                                                                          \
    }

DEFINE_FLOAT_TILE(f32, float, load_f32, f32_identity, 1)
DEFINE_FLOAT_TILE(f16, uint16_t, load_f16, fp16_to_f32, 0)
DEFINE_FLOAT_TILE(bf16, uint16_t, load_bf16, bf16_to_f32, 0)
