/* test_fp8_kernels.c - the SIMD FP8 (E4M3, E5M2) dot products and tiles against the scalar
 * reference on raw blocks: random bytes, each of the 256 codes, zeros, NaN / infinity codes,
 * and row lengths of 1 block up to several chunks of the kernel's activation buffer.
 *
 * Finite rows: every product fp8 * a_code is exact in float in both, so the results differ
 * only by the float order: |simd - ref| <= (n + 16) * FLT_EPSILON * M, M = sum |w a|.
 * NaN codes (E4M3 S.1111.111, E5M2 exponent 31 with a mantissa): the reference decodes them
 * to NaN and NaN * a is NaN (also for a = 0), so a row holding one dots to NaN; the kernels
 * must give NaN for that row only. E5M2 infinities give +-inf (or NaN for inf * 0 and
 * inf - inf), as the reference. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../quant/blocks.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "isa_util.h"
#include "test.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rand_u32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 32);
}

/* code of weight j of a row: random (pattern < 0), j % 256 shifted by the row (every
 * code in every lane position), or the constant pattern byte */
static uint8_t code_for(int pattern, int row, int64_t j) {
    if (pattern == -1) return (uint8_t)rand_u32();
    if (pattern == -2) return (uint8_t)(j + 37 * row);
    return (uint8_t)pattern;
}

/* codes that decode to NaN (or inf, for E5M2): replaced in finite rows */
static int special(uint32_t id, uint8_t c) {
    return id == QT_FP8_E4M3 ? (c & 0x7F) == 0x7F : (c & 0x7C) == 0x7C;
}

typedef struct {
    uint32_t id;
    int64_t n;
    int nrows, nact, pattern;
    int keep_special; /* 0: NaN/inf codes replaced by 0 */
} case_t;

static double magnitude(const quant_type *t, const uint8_t *w, const block_q8_0 *a, int64_t n) {
    float *wf = malloc(n * sizeof(float));
    t->dequantize(w, wf, n);
    double m = 0;
    for (int64_t i = 0; i < n; i++) m += fabs((double)wf[i] * fp16_to_f32(a[i / 32].d) * a[i / 32].qs[i % 32]);
    free(wf);
    return m;
}

/* The kernels of type id on the ISA kernels_init chose. */
static const type_kernels *simd(uint32_t id) { return kernels_for(kernels_isa(), id); }

/* Builds the case, runs reference vec_dot, SIMD vec_dot and SIMD tile; 1 when all agree. */
static int run_case(const case_t *c, vec_dot_fn ref) {
    const quant_type *t = qtype(c->id);
    const type_kernels *k = simd(c->id);
    const int64_t nb = c->n / QK32;
    const size_t w_stride = nb * sizeof(block_fp8), a_stride = nb * sizeof(block_q8_0);
    block_fp8 *w = malloc(w_stride * c->nrows);
    block_q8_0 *a = malloc(a_stride * c->nact);
    float *s = malloc(sizeof(float) * c->nrows * c->nact);
    for (int r = 0; r < c->nrows; r++)
        for (int64_t i = 0; i < nb; i++) {
            block_fp8 *b = &w[r * nb + i];
            b->d = f32_to_fp16(1e-3f * (1 + rand_u32() % 1000));
            for (int j = 0; j < QK32; j++) {
                uint8_t q = code_for(c->pattern, r, i * QK32 + j);
                b->qs[j] = !c->keep_special && special(c->id, q) ? 0 : q;
            }
        }
    for (int64_t i = 0; i < nb * c->nact; i++) {
        a[i].d = f32_to_fp16(1e-2f * (1 + rand_u32() % 100));
        for (int j = 0; j < QK32; j++) a[i].qs[j] = (int8_t)((int)(rand_u32() % 255) - 127);
    }
    for (int k = 0; k < c->nrows * c->nact; k++) s[k] = -12345.0f;
    k->vec_dot_tile(c->n, s, c->nrows, w, w_stride, c->nrows, a, a_stride, c->nact);
    int ok = 1;
    for (int r = 0; r < c->nrows; r++)
        for (int j = 0; j < c->nact; j++) {
            const block_fp8 *wr = w + r * nb;
            const block_q8_0 *aj = a + j * nb;
            float want = 0, dot = 0, tile = s[j * c->nrows + r];
            ref(c->n, &want, wr, aj);
            k->vec_dot(c->n, &dot, wr, aj);
            int good;
            if (isnan(want)) good = isnan(dot) && isnan(tile);
            else if (isinf(want)) good = dot == want && tile == want;
            else {
                double lim = (double)(c->n + 16) * FLT_EPSILON * magnitude(t, (const uint8_t *)wr, aj, c->n);
                good = fabs((double)dot - want) <= lim && fabs((double)tile - want) <= lim;
            }
            if (!good) {
                test_fail_at(__FILE__, __LINE__, "%s n=%lld pattern %d (%d,%d): dot %.9g tile %.9g ref %.9g",
                             t->name, (long long)c->n, c->pattern, r, j, dot, tile, want);
                ok = 0;
            }
        }
    free(w), free(a), free(s);
    return ok;
}

/* The reference vec_dot of the type, after kernels_init of the ISA `isa` (NULL: AVX2 on
 * x86, whatever the CPU's best; the AVX-512 variants pass "avx512"). */
static vec_dot_fn setup(uint32_t id, const char *isa) {
    if (!isa && kernels_isa_supported(ISA_AVX512)) isa = "avx2";
    if (kernels_init(isa, NULL) != 0) return NULL;
    return kernels_for(ISA_SCALAR, id)->vec_dot;
}

static const uint32_t fp8_ids[2] = {QT_FP8_E4M3, QT_FP8_E5M2};

static void check_random_and_every_code(const char *isa) {
    for (int k = 0; k < 2; k++) {
        vec_dot_fn ref = setup(fp8_ids[k], isa);
        REQUIRE(ref && simd(fp8_ids[k])->vec_dot_tile);
        for (int nrows = 1; nrows <= 6; nrows++)
            for (int nact = 1; nact <= 5; nact++)
                CHECK(run_case(&(case_t){fp8_ids[k], 3 * QK32, nrows, nact, -1, 0}, ref));
        /* one block, odd block counts, more than one chunk of the 8192-float buffer */
        const int64_t lens[] = {QK32, 7 * QK32, 257 * QK32, 8192 + 5 * QK32, 2 * 8192 + QK32};
        for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
            CHECK(run_case(&(case_t){fp8_ids[k], lens[l], 5, 1, -1, 0}, ref));
            CHECK(run_case(&(case_t){fp8_ids[k], lens[l], 5, 3, -2, 0}, ref));
        }
        /* every finite code in every lane */
        CHECK(run_case(&(case_t){fp8_ids[k], 256 * QK32, 4, 2, -2, 0}, ref));
        /* zeros: +0 and -0 codes */
        CHECK(run_case(&(case_t){fp8_ids[k], 4 * QK32, 5, 2, 0x00, 0}, ref));
        CHECK(run_case(&(case_t){fp8_ids[k], 4 * QK32, 5, 2, 0x80, 0}, ref));
        /* the largest finite code of each sign everywhere */
        uint8_t top = fp8_ids[k] == QT_FP8_E4M3 ? 0x7E : 0x7B;
        CHECK(run_case(&(case_t){fp8_ids[k], 4 * QK32, 5, 2, top, 0}, ref));
        CHECK(run_case(&(case_t){fp8_ids[k], 4 * QK32, 5, 2, top | 0x80, 0}, ref));
    }
}

TEST(fp8_simd_random_and_every_code_equal_reference) {
    if (cpu_best_isa() == ISA_SCALAR) SKIP("no SIMD ISA on this CPU");
    check_random_and_every_code(NULL);
}

TEST(fp8_avx512_random_and_every_code_equal_reference) {
    SKIP_WITHOUT_AVX512();
    check_random_and_every_code("avx512");
}

/* Each special code alone in an otherwise random finite row, at several positions, and
 * every code 0..255 (specials included) in each lane: NaN rows NaN, the others finite. */
static void check_nan_and_inf_codes(const char *isa) {
    for (int k = 0; k < 2; k++) {
        uint32_t id = fp8_ids[k];
        vec_dot_fn ref = setup(id, isa);
        REQUIRE(ref);
        const quant_type *t = qtype(id);
        for (int c = 0; c < 256; c++) {
            if (!special(id, (uint8_t)c)) continue;
            /* 6 rows, 2 activations: row 2 holds the code at a position that moves with c */
            const int64_t n = 9 * QK32, nb = n / QK32;
            block_fp8 w[6 * 9];
            block_q8_0 a[2 * 9];
            for (int i = 0; i < 6 * 9; i++) {
                w[i].d = f32_to_fp16(0.01f);
                for (int j = 0; j < QK32; j++) {
                    uint8_t q = (uint8_t)rand_u32();
                    w[i].qs[j] = special(id, q) ? 1 : q;
                }
            }
            for (int i = 0; i < 2 * 9; i++) {
                a[i].d = f32_to_fp16(0.02f);
                for (int j = 0; j < QK32; j++) a[i].qs[j] = (int8_t)((int)(rand_u32() % 255) - 127);
            }
            int64_t pos = (c * 7) % n;
            w[2 * nb + pos / QK32].qs[pos % QK32] = (uint8_t)c;
            a[pos / QK32].qs[pos % QK32] = 0; /* NaN * 0 stays NaN, inf * 0 is NaN */
            float s[12];
            simd(id)->vec_dot_tile(n, s, 6, w, nb * sizeof(block_fp8), 6, a, nb * sizeof(block_q8_0), 2);
            for (int r = 0; r < 6; r++)
                for (int j = 0; j < 2; j++) {
                    float want, dot;
                    ref(n, &want, w + r * nb, a + j * nb);
                    simd(id)->vec_dot(n, &dot, w + r * nb, a + j * nb);
                    float tile = s[j * 6 + r];
                    int same = isnan(want) ? isnan(dot) && isnan(tile)
                                           : (isinf(want) ? dot == want && tile == want
                                                          : isfinite(dot) && isfinite(tile));
                    CHECK_MSG(same, "%s code 0x%02x row %d act %d: dot %g tile %g ref %g", t->name, c,
                              r, j, dot, tile, want);
                    CHECK_MSG(r == 2 || isfinite(want), "%s code 0x%02x leaked into row %d", t->name, c, r);
                }
            /* the NaN codes give NaN for the row (the property the kernel handles specially) */
            CHECK_MSG(id != QT_FP8_E4M3 || isnan(s[2]), "e4m3 code 0x%02x: row not NaN", c);
        }
        /* all 256 codes in each lane position, NaN/inf included: rows NaN as the reference */
        CHECK(run_case(&(case_t){id, 256 * QK32, 3, 2, -2, 1}, ref));
    }
}

TEST(fp8_simd_nan_and_inf_codes_match_reference) {
    if (cpu_best_isa() == ISA_SCALAR) SKIP("no SIMD ISA on this CPU");
    check_nan_and_inf_codes(NULL);
}

TEST(fp8_avx512_nan_and_inf_codes_match_reference) {
    SKIP_WITHOUT_AVX512();
    check_nan_and_inf_codes("avx512");
}
