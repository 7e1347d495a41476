/* test_quant.c - every format: round-trip error bounds, hand-built blocks against their
 * stated values (layouts), FP8 codes against the OCP definition, importance weighting, and
 * the search against naive amax scaling. */
#include <stdlib.h>
#include <string.h>

#include "../quant/blocks.h"
#include "../quant/formats.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "quant_data.h"
#include "test.h"

enum { N_ROUNDTRIP = 4096 };

/* Relative RMSE (rmse / rms of the data) each type must stay under, per data kind
 * (uniform, gauss, outliers). Measured values (2026, this quantizer) are in the comments;
 * the bounds leave ~25% margin. */
static const struct { uint32_t id; double bound[3]; } roundtrip_bounds[] = {
    {QT_Q8_0, {0.0045, 0.006, 0.015}},     /* measured 0.0035 0.0049 0.0121 */
    {QT_Q4_0, {0.075, 0.10, 0.062}},       /* 0.060 0.081 0.049 */
    {QT_Q4_1, {0.067, 0.087, 0.055}},      /* 0.054 0.070 0.044 */
    {QT_Q5_0, {0.035, 0.05, 0.053}},       /* 0.028 0.040 0.042 */
    {QT_Q5_1, {0.032, 0.042, 0.044}},      /* 0.026 0.033 0.035 */
    {QT_IQ4_NL, {0.078, 0.091, 0.078}},    /* 0.062 0.073 0.062 */
    {QT_Q2_K, {0.27, 0.325, 0.117}},       /* 0.217 0.259 0.093 */
    {QT_Q3_K, {0.15, 0.177, 0.082}},       /* 0.119 0.142 0.065 */
    {QT_Q4_K, {0.067, 0.088, 0.058}},      /* 0.054 0.070 0.046 */
    {QT_Q5_K, {0.033, 0.043, 0.048}},      /* 0.026 0.034 0.038 */
    {QT_Q6_K, {0.0157, 0.0206, 0.032}},    /* 0.0125 0.0165 0.0253 */
    {QT_Q8_K, {0.005, 0.0086, 0.035}},     /* 0.0040 0.0069 0.0283 (plain amax/127) */
    {QT_FP8_E4M3, {0.0245, 0.023, 0.0045}}, /* 0.0196 0.0184 0.0035 */
    {QT_FP8_E5M2, {0.049, 0.047, 0.012}},  /* 0.0395 0.0377 0.0096 */
    {QT_Q2_0_32, {0.29, 0.37, 0.10}},         /* 0.233 0.295 0.080 */
};

static double roundtrip_rel_rmse(const quant_type *t, const float *x, int64_t n, const float *imp) {
    void *q = calloc(1, qtype_row_bytes(t->id, n));
    float *y = malloc((size_t)n * sizeof(float));
    t->quantize(x, q, n, imp);
    t->dequantize(q, y, n);
    double r = rmse_of(x, y, n) / rms_of(x, n);
    free(q), free(y);
    return r;
}

TEST(quant_roundtrip_within_bounds) {
    float *x = malloc(N_ROUNDTRIP * sizeof(float));
    for (size_t k = 0; k < sizeof roundtrip_bounds / sizeof roundtrip_bounds[0]; k++) {
        const quant_type *t = qtype(roundtrip_bounds[k].id);
        REQUIRE(t && t->quantize && t->dequantize);
        for (int kind = 0; kind < 3; kind++) {
            fill_data(kind, x, N_ROUNDTRIP, 10 + kind);
            double r = roundtrip_rel_rmse(t, x, N_ROUNDTRIP, NULL);
            printf("    %-9s %-8s rel rmse %.5f (bound %.3f)\n", t->name, data_names[kind], r,
                   roundtrip_bounds[k].bound[kind]);
            CHECK_MSG(r < roundtrip_bounds[k].bound[kind], "%s on %s: rel rmse %g >= %g", t->name,
                      data_names[kind], r, roundtrip_bounds[k].bound[kind]);
        }
    }
    free(x);
}

TEST(quant_zero_blocks_give_exact_zeros) {
    enum { N = 512 };
    float x[N] = {0}, y[N];
    static uint8_t q[N * 4];
    for (int i = 0; qtype_at(i); i++) {
        const quant_type *t = qtype_at(i);
        if (!t->quantize) continue;
        memset(q, 0xAB, sizeof q);
        for (int j = 0; j < N; j++) y[j] = 1.0f;
        t->quantize(x, q, N, NULL);
        t->dequantize(q, y, N);
        for (int j = 0; j < N; j++)
            CHECK_MSG(y[j] == 0.0f, "%s: zero input gave %g at %d", t->name, y[j], j);
    }
}

/* Quantizing with importance must lower the importance-weighted error compared with
 * quantizing without it (same data). */
TEST(quant_importance_lowers_weighted_error) {
    enum { N = 2048 };
    static float x[N], imp[N], y0[N], y1[N];
    static uint8_t q[N * 4];
    fill_data(DATA_GAUSS, x, N, 77);
    test_rng r = {99};
    for (int i = 0; i < N; i++) imp[i] = rng_uniform(&r) < 0.1 ? 50.0f : 0.1f;
    const uint32_t ids[] = {QT_Q4_0,     QT_Q4_K,  QT_Q2_K,  QT_Q6_K,  QT_Q2_0_32, QT_IQ4_NL,
                            QT_FP8_E4M3, QT_MXFP4, QT_TQ2_0, QT_TQ1_0, QT_Q2_0};
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
        const quant_type *t = qtype(ids[k]);
        t->quantize(x, q, N, NULL);
        t->dequantize(q, y0, N);
        t->quantize(x, q, N, imp);
        t->dequantize(q, y1, N);
        double e0 = 0, e1 = 0;
        for (int i = 0; i < N; i++) {
            e0 += imp[i] * (x[i] - y0[i]) * (x[i] - y0[i]);
            e1 += imp[i] * (x[i] - y1[i]) * (x[i] - y1[i]);
        }
        CHECK_MSG(e1 < 0.97 * e0, "%s: weighted error %g with importance vs %g without", t->name,
                  e1, e0);
    }
}

TEST(quant_check_finite_finds_first) {
    float x[8] = {0, 1, -2, 3e38f, -3e38f, 5, 6, 7};
    CHECK_EQ_INT(quant_check_finite(x, 8), -1);
    CHECK_EQ_INT(quant_check_finite(x, 0), -1);
    x[5] = NAN;
    CHECK_EQ_INT(quant_check_finite(x, 8), 5);
    x[2] = -INFINITY;
    CHECK_EQ_INT(quant_check_finite(x, 8), 2);
    CHECK_EQ_INT(quant_check_finite(x, 2), -1);
}

/* finite extremes: near FLT_MAX, a negative subnormal, 0.5 */
static void finite_row(float *x, int n) {
    for (int i = 0; i < n; i++) x[i] = i % 3 == 0 ? 3.4e38f : i % 3 == 1 ? -1e-45f : 0.5f;
}

/* Long rows (the 64-lane pass and its tail): the first NaN or infinity wherever it falls,
 * at and across the 64-value steps, and none among finite extremes. */
TEST(quant_check_finite_long_rows) {
    enum { N = 300 };
    static float x[N];
    const float bad[3] = {NAN, INFINITY, -INFINITY};
    const int at[] = {0, 1, 62, 63, 64, 65, 127, 128, 255, 256, 257, 299};
    finite_row(x, N);
    for (int n = 0; n <= N; n++) CHECK_EQ_INT(quant_check_finite(x, n), -1);
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++)
        for (int b = 0; b < 3; b++) {
            const int later = N - 1 - at[k] % 7; /* a second one, after or at the first */
            finite_row(x, N);
            x[at[k]] = bad[b];
            CHECK_EQ_INT(quant_check_finite(x, N), at[k]);
            CHECK_EQ_INT(quant_check_finite(x, at[k]), -1);
            if (later > at[k]) {
                x[later] = bad[(b + 1) % 3];
                CHECK_EQ_INT(quant_check_finite(x, N), at[k]);
            }
        }
}

TEST(quant_table_rows_consistent) {
    for (int i = 0; qtype_at(i); i++) {
        const quant_type *t = qtype_at(i);
        CHECK(qtype(t->id) == t);
        CHECK(qtype_by_name(t->name) == t);
        CHECK(t->dequantize != NULL);
        CHECK(qtype(t->dot_type) != NULL);
        CHECK_EQ_INT(t->is_scarce, t->id >= 200);
    }
    CHECK_EQ_INT(qtype(QT_Q4_K)->block_bytes, 144);
    CHECK_NEAR(qtype_bpw(QT_Q6_K), 6.5625, 0);
    CHECK_NEAR(qtype_bpw(QT_Q2_0_32), 3.0, 0);
    CHECK_EQ_INT(qtype_row_bytes(QT_Q4_K, 288), 0);
    CHECK_EQ_INT(qtype_row_bytes(QT_Q2_0_32, 288), 9 * 12);
}

/* --- the search against naive amax scaling (as ggml's reference quantizers do) --- */

static float round_fp16(float v) { return fp16_to_f32(f32_to_fp16(v)); }
static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Naive symmetric: the signed extreme maps to qext (-8 for Q4_0 as ggml, 127 for Q8_0),
 * y = d * clamp(round(x / d), qmin, qmax). */
static void naive_sym(const float *x, float *y, int n, int qext, int qmin, int qmax) {
    float xmax = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > fabsf(xmax)) xmax = x[i];
    float d = round_fp16(xmax / qext), inv = d != 0 ? 1 / d : 0;
    for (int i = 0; i < n; i++) y[i] = d * clampf(rintf(x[i] * inv), qmin, qmax);
}

/* Naive affine: d = (max - min) / qmax, m = min (clamped to <= 0 for K-quants). */
static void naive_affine(const float *x, float *y, int n, int qmax, int min_nonpos, float *d_out,
                         float *m_out) {
    float lo = x[0], hi = x[0];
    for (int i = 1; i < n; i++) lo = fminf(lo, x[i]), hi = fmaxf(hi, x[i]);
    if (min_nonpos && lo > 0) lo = 0;
    float d = (hi - lo) / qmax, inv = d != 0 ? 1 / d : 0;
    if (!d_out) d = round_fp16(d), lo = round_fp16(lo);
    for (int i = 0; i < n; i++) y[i] = d * clampf(rintf((x[i] - lo) * inv), 0, qmax) + lo;
    if (d_out) *d_out = d, *m_out = lo;
}

/* Naive FP8: scale = amax / format max, no refinement. */
static void naive_fp8(const float *x, float *y, int n, int e4m3) {
    float amax = 0;
    for (int i = 0; i < n; i++) amax = fmaxf(amax, fabsf(x[i]));
    float d = round_fp16(amax / (e4m3 ? 448.0f : 57344.0f)), inv = d != 0 ? 1 / d : 0;
    for (int i = 0; i < n; i++)
        y[i] = d * (e4m3 ? fp8_e4m3_to_f32(f32_to_fp8_e4m3(x[i] * inv))
                         : fp8_e5m2_to_f32(f32_to_fp8_e5m2(x[i] * inv)));
}

/* Naive K-quant (affine): per sub-block (max - min) / qmax, scales and mins to smax levels by
 * amax / smax, codes re-rounded with the quantized scales. */
static void naive_k_affine(const float *x, float *y, int nsub, int qmax, int smax) {
    int sub = 256 / nsub;
    float sc[16], mn[16], tmp[256], smx = 0, mmx = 0;
    for (int j = 0; j < nsub; j++) {
        naive_affine(x + j * sub, tmp, sub, qmax, 1, &sc[j], &mn[j]);
        mn[j] = -mn[j];
        smx = fmaxf(smx, sc[j]), mmx = fmaxf(mmx, mn[j]);
    }
    float d = round_fp16(smx / smax), dmin = round_fp16(mmx / smax);
    for (int j = 0; j < nsub; j++) {
        float s = d * (d ? rintf(sc[j] / d) : 0), m = dmin * (dmin ? rintf(mn[j] / dmin) : 0);
        float inv = s != 0 ? 1 / s : 0;
        for (int i = j * sub; i < (j + 1) * sub; i++)
            y[i] = s * clampf(rintf((x[i] + m) * inv), 0, qmax) - m;
    }
}

/* Naive Q6_K: per sub-block extreme -> -32, scales extreme -> -128, codes re-rounded. */
static void naive_q6_k(const float *x, float *y) {
    float sc[16], smax = 0;
    for (int j = 0; j < 16; j++) {
        float xmax = 0;
        for (int i = 16 * j; i < 16 * j + 16; i++)
            if (fabsf(x[i]) > fabsf(xmax)) xmax = x[i];
        sc[j] = xmax / -32;
        if (fabsf(sc[j]) > fabsf(smax)) smax = sc[j];
    }
    float d = round_fp16(smax / -128);
    for (int j = 0; j < 16; j++) {
        float s = d * (d ? clampf(rintf(sc[j] / d), -128, 127) : 0), inv = s != 0 ? 1 / s : 0;
        for (int i = 16 * j; i < 16 * j + 16; i++) y[i] = s * clampf(rintf(x[i] * inv), -32, 31);
    }
}

static void naive_quantize(uint32_t id, const float *x, float *y, int64_t n) {
    for (int64_t b = 0; b < n; b += id == QT_Q2_K || id == QT_Q4_K || id == QT_Q6_K ? 256 : 32) {
        const float *xb = x + b;
        float *yb = y + b;
        switch (id) {
        case QT_Q8_0: naive_sym(xb, yb, 32, 127, -127, 127); break;
        case QT_Q4_0: naive_sym(xb, yb, 32, -8, -8, 7); break;
        case QT_Q5_0: naive_sym(xb, yb, 32, -16, -16, 15); break;
        case QT_Q4_1: naive_affine(xb, yb, 32, 15, 0, NULL, NULL); break;
        case QT_Q5_1: naive_affine(xb, yb, 32, 31, 0, NULL, NULL); break;
        case QT_Q2_0_32: naive_affine(xb, yb, 32, 3, 0, NULL, NULL); break;
        case QT_FP8_E4M3: naive_fp8(xb, yb, 32, 1); break;
        case QT_FP8_E5M2: naive_fp8(xb, yb, 32, 0); break;
        case QT_Q2_K: naive_k_affine(xb, yb, 16, 3, 15); break;
        case QT_Q4_K: naive_k_affine(xb, yb, 8, 15, 63); break;
        case QT_Q6_K: naive_q6_k(xb, yb); break;
        }
    }
}

/* On Gaussian data the search must beat naive amax scaling by at least 2% of RMSE. */
TEST(quant_search_beats_naive_amax) {
    enum { N = 8192 };
    static float x[N], y[N];
    fill_data(DATA_GAUSS, x, N, 1234);
    const uint32_t ids[] = {QT_Q8_0, QT_Q4_0, QT_Q4_1, QT_Q5_0, QT_Q5_1, QT_Q2_0_32,
                            QT_FP8_E4M3, QT_FP8_E5M2, QT_Q2_K, QT_Q4_K, QT_Q6_K};
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
        const quant_type *t = qtype(ids[k]);
        double ours = roundtrip_rel_rmse(t, x, N, NULL);
        naive_quantize(t->id, x, y, N);
        double naive = rmse_of(x, y, N) / rms_of(x, N);
        printf("    %-9s rmse ours %.5f  naive %.5f  (%.1f%% lower)\n", t->name, ours, naive,
               100 * (1 - ours / naive));
        CHECK_MSG(ours < 0.98 * naive, "%s: %g vs naive %g", t->name, ours, naive);
    }
}
