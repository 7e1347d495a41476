/* test_kquant_tile.c - the SIMD K-quant dot products and tiles against the scalar reference
 * on raw blocks: every byte random (all scale, min and code values occur, not only what the
 * quantizer makes) and the extremes of the int16 bounds the kernels rely on (all codes and
 * scales at their maximum against activations of +127 / -128 everywhere).
 *
 * The integer block sums are exact in both, so the results differ only by the float order:
 * |simd - ref| <= (n / 256 + 16) * FLT_EPSILON * M, where M = sum |d sc q a| + |dmin m a|
 * (each term's magnitude: the two terms of a block may cancel, their rounding does not).
 * Types: Q2_K, Q4_K, Q5_K, Q6_K (with their tiles), Q3_K. */
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../quant/blocks.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "isa_util.h"
#include "test.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rand_u32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

/* What a raw-block test needs to know of a type: where its fp16 scales are, and its
 * magnitude M per element (see the top). */
typedef struct {
    uint32_t id;
    size_t half_at[2]; /* offsets of the fp16 d (and dmin); SIZE_MAX: none */
} kq_layout;

static const kq_layout layouts[] = {
    {QT_Q2_K, {offsetof(block_q2_K, d), offsetof(block_q2_K, dmin)}},
    {QT_Q3_K, {offsetof(block_q3_K, d), SIZE_MAX}},
    {QT_Q4_K, {offsetof(block_q4_K, d), offsetof(block_q4_K, dmin)}},
    {QT_Q5_K, {offsetof(block_q5_K, d), offsetof(block_q5_K, dmin)}},
    {QT_Q6_K, {offsetof(block_q6_K, d), SIZE_MAX}},
};

static void put_half(uint8_t *p, float x) {
    uint16_t h = f32_to_fp16(x);
    memcpy(p, &h, 2);
}

/* nb weight blocks: random bytes (fill < 0) or all bytes = fill; positive d and dmin. */
static void make_weights(const kq_layout *l, const quant_type *t, uint8_t *w, int64_t nb, int fill) {
    for (int64_t b = 0; b < nb; b++) {
        uint8_t *blk = w + b * t->block_bytes;
        for (size_t k = 0; k < t->block_bytes; k++) blk[k] = fill < 0 ? (uint8_t)rand_u32() : (uint8_t)fill;
        for (int k = 0; k < 2; k++)
            if (l->half_at[k] != SIZE_MAX) put_half(blk + l->half_at[k], 1e-3f * (1 + rand_u32() % 1000));
    }
}

/* nb Q8_K blocks: codes in [-127, 127] (fill < 0 random, else all = fill - 128), bsums
 * consistent with them. */
static void make_activations(block_q8_K *a, int64_t nb, int fill) {
    for (int64_t b = 0; b < nb; b++) {
        a[b].d = 1e-2f * (1 + rand_u32() % 100);
        for (int k = 0; k < 16; k++) {
            int sum = 0;
            for (int j = 16 * k; j < 16 * k + 16; j++) {
                a[b].qs[j] = (int8_t)(fill < 0 ? (int)(rand_u32() % 255) - 127 : fill - 128);
                sum += a[b].qs[j];
            }
            a[b].bsums[k] = (int16_t)sum;
        }
    }
}

/* M of one row against one activation row: dequantized with the dmin sign flipped the
 * min term adds instead of subtracts, which is sum |d sc q| + |dmin m| per element. */
static double magnitude(const kq_layout *l, const quant_type *t, const uint8_t *w,
                        const block_q8_K *a, int64_t n) {
    int64_t nb = n / QK_K;
    uint8_t *flip = malloc(nb * t->block_bytes);
    float *wf = malloc(n * sizeof(float));
    memcpy(flip, w, nb * t->block_bytes);
    for (int64_t b = 0; b < nb && l->half_at[1] != SIZE_MAX; b++)
        flip[b * t->block_bytes + l->half_at[1] + 1] ^= 0x80;
    t->dequantize(flip, wf, n);
    double m = 0;
    for (int64_t i = 0; i < n; i++) m += fabs((double)wf[i] * a[i / QK_K].d * a[i / QK_K].qs[i % QK_K]);
    free(flip), free(wf);
    return m;
}

/* nrows x nact of one fill pattern: vec_dot and vec_dot_tile of the SIMD ISA against the
 * reference vec_dot. Returns 1 when all agree. */
static int compare_raw(const kq_layout *l, vec_dot_fn ref, int64_t n, int nrows, int nact,
                       int w_fill, int a_fill) {
    const quant_type *t = qtype(l->id);
    const type_kernels *k = kernels_for(kernels_isa(), l->id);
    const int64_t nb = n / QK_K;
    const size_t w_stride = nb * t->block_bytes, a_stride = nb * sizeof(block_q8_K);
    uint8_t *w = malloc(w_stride * nrows);
    block_q8_K *a = malloc(a_stride * nact);
    float *s = malloc(sizeof(float) * nrows * nact);
    make_weights(l, t, w, nb * nrows, w_fill);
    make_activations(a, nb * nact, a_fill);
    for (int k = 0; k < nrows * nact; k++) s[k] = NAN;
    if (k->vec_dot_tile) k->vec_dot_tile(n, s, nrows, w, w_stride, nrows, a, a_stride, nact);
    int ok = 1;
    for (int r = 0; r < nrows; r++)
        for (int j = 0; j < nact; j++) {
            const uint8_t *wr = w + r * w_stride;
            const block_q8_K *aj = a + j * nb;
            float want = NAN, dot = NAN;
            ref(n, &want, wr, aj);
            k->vec_dot(n, &dot, wr, aj);
            double lim = (double)(nb + 16) * FLT_EPSILON * magnitude(l, t, wr, aj, n);
            float tile = k->vec_dot_tile ? s[j * nrows + r] : dot;
            if (!(fabs((double)dot - want) <= lim) || !(fabs((double)tile - want) <= lim)) {
                test_fail_at(__FILE__, __LINE__, "%s n=%lld fill %d/%d (%d,%d): dot %.9g tile %.9g ref %.9g",
                             t->name, (long long)n, w_fill, a_fill, r, j, dot, tile, want);
                ok = 0;
            }
        }
    free(w), free(a), free(s);
    return ok;
}

/* isa: NULL = AVX2 on x86, whatever the CPU's best; the AVX-512 variant passes "avx512". */
static void check_raw_blocks(const char *isa) {
    if (!isa && kernels_isa_supported(ISA_AVX512)) isa = "avx2";
    for (size_t k = 0; k < sizeof layouts / sizeof layouts[0]; k++) {
        const kq_layout *l = &layouts[k];
        REQUIRE(kernels_init(isa, NULL) == 0);
        vec_dot_fn ref = kernels_for(ISA_SCALAR, l->id)->vec_dot;
        for (int nrows = 1; nrows <= 6; nrows++)
            for (int nact = 1; nact <= 9; nact++) CHECK(compare_raw(l, ref, 2 * QK_K, nrows, nact, -1, -1));
        CHECK(compare_raw(l, ref, 22 * QK_K, 3, 5, -1, -1));
        /* the bounds: every code, scale and min at its maximum, activations +127 / -128 */
        CHECK(compare_raw(l, ref, 4 * QK_K, 2, 5, 0xFF, 255));
        CHECK(compare_raw(l, ref, 4 * QK_K, 2, 5, 0xFF, 0));
        CHECK(compare_raw(l, ref, 4 * QK_K, 2, 5, 0x00, 255)); /* all-zero codes and scales */
    }
}

TEST(kquant_simd_raw_blocks_equal_reference) {
    if (cpu_best_isa() == ISA_SCALAR) SKIP("no SIMD ISA on this CPU");
    check_raw_blocks(NULL);
}

TEST(kquant_avx512_raw_blocks_equal_reference) {
    SKIP_WITHOUT_AVX512();
    check_raw_blocks("avx512");
}
