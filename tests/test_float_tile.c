/* test_float_tile.c - the f32 / f16 / bf16 batch tiles (kernels/x86/avx2_f16_tile.c,
 * avx512_f16_tile.c): rows x 1..16 tokens (a speculative verify batch) and more.
 *
 * Two properties. (1) Every (row, token) equals the same ISA's row dot bit for bit: a token
 * verified in a batch must get the logits of decoding it alone, or greedy speculative text
 * could differ from plain greedy text. (2) Every (row, token) is within float rounding of
 * the scalar reference tile (kernels/ref/dot_float.c). On random rows of every tail length
 * class, zeros, extremes, and NaN / infinity at every position class. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../kernels/ref/ref.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "isa_util.h"
#include "quant_data.h"
#include "test.h"

static const uint32_t float_types[3] = {QT_F32, QT_F16, QT_BF16};
static const vec_dot_tile_fn ref_tiles[3] = {vec_dot_tile_f32_ref, vec_dot_tile_f16_ref,
                                             vec_dot_tile_bf16_ref};

/* Column counts: below, at and above every step of the kernels (8, 32 lanes x 4 on AVX2, 16
 * and 64 on AVX-512, the 512-column chunk), and the SmolLM2 / TinyLlama widths. */
static const int64_t widths[] = {1,   7,   8,   9,   31,  32,  33,  63,   64,   65,           100,
                                 127, 128, 129, 511, 512, 513, 576, 1030, 1536, 2048 + 24 + 7};

typedef struct {
    int64_t n;
    int nrows, nact;
    size_t w_stride, a_stride, s_stride; /* bytes, bytes, floats: padded past the data */
    char *w;
    float *a, *s, *ref;
} tile_case;

/* Room for nrows x nact of width n with padded strides (so a kernel that reads a row's
 * stride wrong reads the wrong numbers); weights from `wf` rows converted to `type`. */
static void case_init(tile_case *c, uint32_t type, int64_t n, int nrows, int nact) {
    c->n = n, c->nrows = nrows, c->nact = nact;
    c->w_stride = qtype_row_bytes(type, n + 5), c->a_stride = (size_t)(n + 3) * sizeof(float);
    c->s_stride = (size_t)nrows + 2;
    c->w = calloc((size_t)nrows, c->w_stride);
    c->a = calloc((size_t)nact, c->a_stride);
    c->s = calloc((size_t)nact * c->s_stride, sizeof(float));
    c->ref = calloc((size_t)nact * c->s_stride, sizeof(float));
}

static void case_free(tile_case *c) {
    free(c->w), free(c->a), free(c->s), free(c->ref);
}

/* Row r of the case from floats (rounded to the type by its quantizer). */
static void set_row(tile_case *c, uint32_t type, int r, const float *x) {
    qtype(type)->quantize(x, c->w + (size_t)r * c->w_stride, c->n, NULL);
}

static float *act_row(tile_case *c, int j) {
    return (float *)((char *)c->a + (size_t)j * c->a_stride);
}

/* 1 when two results are the same float, NaN counting as equal to NaN. */
static int same_float(float x, float y) {
    return (isnan(x) && isnan(y)) || x == y;
}

/* Sum of |w_i a_i| of row r and token j: any summation order's rounding is within
 * (n + 16) eps of it. */
static double magnitude(const tile_case *c, uint32_t type, int r, int j, float *wd) {
    qtype(type)->dequantize(c->w + (size_t)r * c->w_stride, wd, c->n);
    const float *a = (const float *)((const char *)c->a + (size_t)j * c->a_stride);
    double mag = 0;
    for (int64_t i = 0; i < c->n; i++) mag += fabs((double)wd[i] * a[i]);
    return mag;
}

/* Runs the ISA's tile and the reference tile on the case and checks both properties. */
static int check_case(const type_kernels *k, int ti, tile_case *c, const char *what) {
    const uint32_t type = float_types[ti];
    for (size_t i = 0; i < (size_t)c->nact * c->s_stride; i++) c->s[i] = -7.0f;
    k->vec_dot_tile(c->n, c->s, c->s_stride, c->w, c->w_stride, c->nrows, c->a, c->a_stride,
                    c->nact);
    ref_tiles[ti](c->n, c->ref, c->s_stride, c->w, c->w_stride, c->nrows, c->a, c->a_stride,
                  c->nact);
    float *wd = malloc((size_t)c->n * sizeof(float));
    int ok = 1;
    for (int j = 0; j < c->nact && ok; j++)
        for (int r = 0; r < c->nrows && ok; r++) {
            const float got = c->s[j * c->s_stride + r], want = c->ref[j * c->s_stride + r];
            float row = NAN;
            k->vec_dot(c->n, &row, c->w + (size_t)r * c->w_stride, act_row(c, j));
            if (memcmp(&row, &got, sizeof row) != 0 && !(isnan(row) && isnan(got))) {
                test_fail_at(__FILE__, __LINE__, "%s %s n=%lld %dx%d (%d,%d): tile %.9g row %.9g",
                             qtype(type)->name, what, (long long)c->n, c->nrows, c->nact, r, j, got,
                             row);
                ok = 0;
            }
            const double lim = ((double)c->n + 16) * FLT_EPSILON * magnitude(c, type, r, j, wd);
            if (ok && !same_float(got, want) && !(fabs((double)got - want) <= lim)) {
                test_fail_at(__FILE__, __LINE__, "%s %s n=%lld %dx%d (%d,%d): tile %.9g ref %.9g",
                             qtype(type)->name, what, (long long)c->n, c->nrows, c->nact, r, j, got,
                             want);
                ok = 0;
            }
        }
    /* the padding between rows of s is never written */
    for (int j = 0; j < c->nact && ok; j++)
        for (size_t r = (size_t)c->nrows; r < c->s_stride; r++)
            if (c->s[j * c->s_stride + r] != -7.0f) {
                test_fail_at(__FILE__, __LINE__, "%s %s: wrote s past row %d", qtype(type)->name,
                             what, c->nrows);
                ok = 0;
            }
    free(wd);
    return ok;
}

/* The float types' tiles of the current ISA table: random rows of every width, every
 * token count 1..16 and 21 (two blocks of the kernels' 16), 1..5 rows. */
static void check_random(void) {
    int n_tiled = 0;
    for (int ti = 0; ti < 3; ti++) {
        const type_kernels *k = kernels_for(kernels_isa(), float_types[ti]);
        if (!k->vec_dot_tile) continue;
        n_tiled++;
        for (size_t wi = 0; wi < sizeof widths / sizeof widths[0]; wi++)
            for (int nact = 1; nact <= 21; nact += nact < 16 ? 1 : 5) {
                const int64_t n = widths[wi];
                const int nrows = 1 + (int)((wi + nact) % 5);
                tile_case c;
                case_init(&c, float_types[ti], n, nrows, nact);
                float *x = malloc((size_t)n * sizeof(float));
                for (int r = 0; r < nrows; r++) {
                    fill_data(r % 3 == 2 ? DATA_OUTLIERS : DATA_GAUSS, x, n, 100 * wi + r);
                    set_row(&c, float_types[ti], r, x);
                }
                for (int j = 0; j < nact; j++) fill_data(DATA_UNIFORM, act_row(&c, j), n, 7 + j);
                free(x);
                int ok = check_case(k, ti, &c, "random");
                case_free(&c);
                if (!ok) return;
            }
    }
    if (!n_tiled) SKIP("no float tile kernels on %s", kernels_isa_name(kernels_isa()));
}

/* Zeros, the largest f16 / bf16 magnitudes against large activations (sums overflow to
 * infinity: the tile must overflow exactly where the row dot does), and one NaN or one
 * infinity in a weight row at every position class (vector body, 8-lane step, scalar or
 * masked tail). */
static void check_edges(void) {
    const int64_t n = 64 + 32 + 8 + 5; /* a 32-step body, one 8-step, a scalar tail */
    for (int ti = 0; ti < 3; ti++) {
        const uint32_t type = float_types[ti];
        const type_kernels *k = kernels_for(kernels_isa(), type);
        if (!k->vec_dot_tile) continue;
        const float big = type == QT_F16 ? 65504.0f : 3.0e38f;
        static const int nacts[] = {1, 2, 9}; /* one token (decode), a group, two groups */
        for (size_t ni = 0; ni < sizeof nacts / sizeof nacts[0]; ni++) {
            const int nact = nacts[ni], probe = nact > 1; /* the token with activations 1e4 */
            tile_case c;
            float x[109];
            case_init(&c, type, n, 4, nact);
            for (int64_t i = 0; i < n; i++) x[i] = 0;
            set_row(&c, type, 0, x); /* zeros */
            for (int64_t i = 0; i < n; i++) x[i] = i % 2 ? big : -big;
            set_row(&c, type, 1, x); /* extremes of both signs */
            for (int64_t i = 0; i < n; i++) x[i] = big;
            set_row(&c, type, 2, x); /* overflows */
            for (int64_t i = 0; i < n; i++) x[i] = 1.0f / (float)(i + 1);
            set_row(&c, type, 3, x);
            for (int j = 0; j < nact; j++)
                for (int64_t i = 0; i < n; i++)
                    act_row(&c, j)[i] = j == 0 && nact > 1 ? 0.0f : 1.0e4f;
            CHECK(check_case(k, ti, &c, "extremes"));
            for (int j = 0; j < nact; j++) CHECK(c.s[j * c.s_stride + 0] == 0.0f);
            /* f32 / bf16: 3e38 x 1e4 overflows; f16's 65504 x 1e4 x 109 does not */
            const float sum = c.s[probe * c.s_stride + 2];
            CHECK(type == QT_F16 ? sum == sum && sum > 7e10f : isinf(sum) && sum > 0);
            /* one NaN, or one +inf, in row 3 at positions in every class */
            const int64_t at[] = {0, 31, 40, 96, 103, 104, 108};
            for (size_t p = 0; p < sizeof at / sizeof at[0]; p++)
                for (int special = 0; special < 2; special++) {
                    for (int64_t i = 0; i < n; i++) x[i] = 1.0f / (float)(i + 1);
                    x[at[p]] = special ? INFINITY : NAN;
                    set_row(&c, type, 3, x);
                    CHECK(check_case(k, ti, &c, special ? "inf" : "nan"));
                    float got = c.s[probe * c.s_stride + 3];
                    CHECK_MSG(special ? isinf(got) && got > 0 : isnan(got),
                              "%s: %s at %lld gives %g", qtype(type)->name, special ? "inf" : "nan",
                              (long long)at[p], got);
                }
            case_free(&c);
        }
    }
}

TEST(float_tile_equals_row_dot_and_reference) {
    REQUIRE(kernels_init(kernels_isa_supported(ISA_AVX512) ? "avx2" : NULL, NULL) == 0);
    if (kernels_isa() == ISA_SCALAR) SKIP("no SIMD ISA on this CPU");
    check_random();
    kernels_init(NULL, NULL);
}

TEST(float_tile_edges) {
    REQUIRE(kernels_init(kernels_isa_supported(ISA_AVX512) ? "avx2" : NULL, NULL) == 0);
    if (kernels_isa() == ISA_SCALAR) SKIP("no SIMD ISA on this CPU");
    check_edges();
    kernels_init(NULL, NULL);
}

TEST(float_tile_avx512_equals_row_dot_and_reference) {
    SKIP_WITHOUT_AVX512();
    REQUIRE(kernels_init("avx512", NULL) == 0);
    check_random();
    check_edges();
    kernels_init(NULL, NULL);
}
