/* test_attention.c - batched attention, its kernels and the vectorised exp against the
 * spec: attention() (two-pass softmax, libm expf) and exp in double.
 *
 * Tolerances:
 *   exp_f32_avx2: relative 2e-7 (measured 1.19e-7 over 2^24 points) on [-87.3, 88.7], where e^x is
 *     a normal float; absolute 1.5e-45 (one denormal step; measured 1.07e-45) below; 0 from -104, +inf from 88.73.
 *   attention: |out - spec| <= 4 FLT_EPSILON (1 + S) max|v|, S = max over heads of
 *     scale sum_i |q_i| max|k| (a bound on |score| and on its rounding error / eps). Scores
 *     are summed in another order, so each softmax weight is off by about eps S relative;
 *     out is a convex combination of v rows. Measured: 1.8e-6 at S ~ 48 (tolerance 2.3e-5);
 *     a wrong mask, rescale or head is off by > 1e-2.
 *   swiglu: relative 1e-6 of |gate * up| (exp 3 ulp, then one add and a divide). */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../kernels/ops.h"
#include "bench_util.h"
#include "test.h"
#if defined(__x86_64__)
#include "../kernels/x86/avx2.h"
#endif

static uint64_t rng = 0x2545f4914f6cdd1dull;
static float uniform(void) { /* [-1, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) * (2.0 / 16777216.0) - 1.0);
}
static float *random_floats(size_t n, float scale) {
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = uniform() * scale;
    return x;
}

static int have_avx2(void) {
#if defined(__x86_64__)
    return kernels_isa_supported(ISA_AVX2); /* avx512 and amx build on it */
#else
    return 0;
#endif
}

#if defined(__x86_64__)
TEST(attention_exp_avx2_matches_exp) {
    if (!have_avx2()) SKIP("this CPU has no AVX2");
    enum { N = 1 << 18 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    /* normal results: [-87.3, 88.7] on a grid plus random points, and n = 5 (a tail) */
    for (int i = 0; i < N; i++)
        x[i] = i % 2 ? -87.3f + 176.0f * (float)i / N : 87.3f * uniform();
    exp_f32_avx2(y, x, N);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double e = exp((double)x[i]);
        worst = fmax(worst, fabs(y[i] - e) / e);
    }
    CHECK_MSG(worst <= 2e-7, "exp: max relative error %.3g > 2e-7", worst);
    /* denormal results, then 0 */
    double worst_abs = 0;
    for (int i = 0; i < 1000; i++) x[i] = -87.4f - 16.6f * (float)i / 1000;
    exp_f32_avx2(y, x, 1000);
    for (int i = 0; i < 1000; i++) worst_abs = fmax(worst_abs, fabs(y[i] - exp((double)x[i])));
    CHECK_MSG(worst_abs <= 1.5e-45, "exp: denormal range abs error %.3g", worst_abs);
    float special[7] = {-104.0f, -1000.0f, -INFINITY, 0.0f, 88.73f, 1000.0f, INFINITY}, out[7];
    exp_f32_avx2(out, special, 7);
    CHECK(out[0] == 0.0f && out[1] == 0.0f && out[2] == 0.0f);
    CHECK(out[3] == 1.0f);
    CHECK(isinf(out[4]) && isinf(out[5]) && isinf(out[6]) && out[6] > 0);
    float nan_in = NAN, nan_out = 0;
    exp_f32_avx2(&nan_out, &nan_in, 1);
    CHECK(isnan(nan_out));
    float x5[5] = {-1, 0.5f, 2, 3, -3}, y5[5];
    exp_f32_avx2(y5, x5, 5);
    for (int i = 0; i < 5; i++) CHECK_NEAR(y5[i], expf(x5[i]), 2e-7 * expf(x5[i]));
    free(x), free(y);
}

TEST(attention_swiglu_avx2_matches_ref) {
    if (!have_avx2()) SKIP("this CPU has no AVX2");
    enum { N = 1003 };
    float *gate = random_floats(N, 20.0f), *up = random_floats(N, 3.0f);
    gate[0] = 100.0f, gate[1] = -100.0f, gate[2] = 0.0f, gate[3] = -88.0f, gate[4] = 89.0f;
    float *ref = malloc(N * sizeof(float)), *simd = malloc(N * sizeof(float));
    memcpy(ref, gate, N * sizeof(float)), memcpy(simd, gate, N * sizeof(float));
    swiglu_ref(ref, up, N);
    swiglu_avx2(simd, up, N);
    for (int i = 0; i < N; i++)
        CHECK_MSG(fabsf(simd[i] - ref[i]) <= 1e-6f * fabsf(gate[i] * up[i]),
                  "swiglu[%d] gate %g up %g: %.9g vs %.9g", i, gate[i], up[i], simd[i], ref[i]);
    free(gate), free(up), free(ref), free(simd);
}

/* geglu: against the formula in double, relative 1e-6 of |gate * up| (exp 3 ulp, then a
 * few roundings), the reference (tanhf) held to the same bound; tails of 1..7. */
TEST(attention_geglu_avx2_matches_ref) {
    if (!have_avx2()) SKIP("this CPU has no AVX2");
    enum { N = 1003 };
    float *gate = random_floats(N, 8.0f), *up = random_floats(N, 3.0f);
    gate[0] = 100.0f, gate[1] = -100.0f, gate[2] = 0.0f, gate[3] = -12.0f, gate[4] = 30.0f;
    float *ref = malloc(N * sizeof(float)), *simd = malloc(N * sizeof(float));
    for (int n = N - 7; n <= N; n++) {
        memcpy(ref, gate, N * sizeof(float)), memcpy(simd, gate, N * sizeof(float));
        geglu_tanh(ref, up, n);
        geglu_avx2(simd, up, n);
        for (int i = 0; i < n; i++) {
            const double x = gate[i], u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
            const double exact = 0.5 * x * (1 + tanh(u)) * up[i];
            const double tol = 1e-6 * fabs(x * up[i]) + 1e-30;
            CHECK_MSG(fabs(simd[i] - exact) <= tol && fabs(ref[i] - exact) <= tol,
                      "geglu[%d] gate %g up %g: simd %.9g ref %.9g exact %.9g", i, gate[i], up[i],
                      simd[i], ref[i], exact);
        }
        CHECK(memcmp(simd + n, gate + n, (N - n) * sizeof(float)) == 0);
    }
    free(gate), free(up), free(ref), free(simd);
}
#endif

typedef struct {
    int head_dim, n_head, n_head_kv;
} att_shape;

static const att_shape shapes[] = {
    {8, 8, 8},  /* stories260K */
    {64, 12, 12}, /* 110M */
    {64, 8, 1},   /* GQA, TinyLlama's 8 heads per kv head */
    {16, 6, 3},   /* GQA group 2 */
    {12, 4, 2},   /* head_dim not a multiple of 8: reference fallback */
    {4, 2, 1},
};

/* The documented tolerance for queries q (|k|, |v| <= 1). */
static double attention_tol(const float *q, int n_head, int head_dim) {
    double s_max = 0;
    for (int h = 0; h < n_head; h++) {
        double s = 0;
        for (int i = 0; i < head_dim; i++) s += fabsf(q[h * head_dim + i]);
        s_max = fmax(s_max, s / sqrt(head_dim));
    }
    return 4 * FLT_EPSILON * (1 + s_max);
}

/* max |out - spec| - tolerance (> 0: failed) of one kernel over the n_pos cached positions */
static double kernel_error(attention_heads_fn kernel, const att_shape *sh, int n_pos,
                           float q_scale) {
    const int q_dim = sh->n_head * sh->head_dim, kv_dim = sh->n_head_kv * sh->head_dim;
    const int kv_stride = kv_dim + 3, group = sh->n_head / sh->n_head_kv; /* padded rows */
    float *q = random_floats(q_dim, q_scale), *k = random_floats((size_t)n_pos * kv_stride, 1.0f);
    float *v = random_floats((size_t)n_pos * kv_stride, 1.0f);
    float *spec = malloc(q_dim * sizeof(float)), *out = malloc(q_dim * sizeof(float));
    float *att = malloc((size_t)sh->n_head * n_pos * sizeof(float));
    attention(spec, q, k, v, n_pos, sh->n_head, sh->n_head_kv, sh->head_dim, kv_stride, att);
    for (int g = 0; g < sh->n_head_kv; g++) {
        const size_t qo = (size_t)g * group * sh->head_dim, kvo = (size_t)g * sh->head_dim;
        kernel(out + qo, q + qo, k + kvo, v + kvo, n_pos, group, sh->head_dim, kv_stride,
               1.0f / sqrtf((float)sh->head_dim));
    }
    double worst = 0, tol = attention_tol(q, sh->n_head, sh->head_dim);
    for (int i = 0; i < q_dim; i++) worst = isnan(out[i]) ? INFINITY : fmax(worst, fabs(out[i] - spec[i]));
    free(q), free(k), free(v), free(spec), free(out), free(att);
    return worst - tol;
}

static void check_kernel(attention_heads_fn kernel, const char *name) {
    const int n_pos[] = {1, 2, 7, 8, 9, 127, 128, 129, 300};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (size_t p = 0; p < sizeof n_pos / sizeof *n_pos; p++) {
            /* q_scale 3 * sqrt(head_dim) makes scores of up to ~|10|: peaked softmax */
            float q_scale = 3.0f * sqrtf((float)shapes[s].head_dim) / 2.0f;
            double e = kernel_error(kernel, &shapes[s], n_pos[p], q_scale);
            CHECK_MSG(e <= 0, "%s head_dim %d n_head %d n_head_kv %d n_pos %d: error %.3g over",
                      name, shapes[s].head_dim, shapes[s].n_head, shapes[s].n_head_kv, n_pos[p], e);
        }
}

TEST(attention_heads_ref_matches_spec) { check_kernel(attention_heads_ref, "ref"); }

#if defined(__x86_64__)
TEST(attention_heads_avx2_matches_spec) {
    if (!have_avx2()) SKIP("this CPU has no AVX2");
    check_kernel(attention_heads_avx2, "avx2");
}
#endif

/* attention_batch over B queries at pos0.. against attention() per query; returns the
 * worst error minus the tolerance and leaves the batch output in out (B * q_dim). */
static double batch_error(const att_shape *sh, int B, int pos0, float *out) {
    const int q_dim = sh->n_head * sh->head_dim, kv_dim = sh->n_head_kv * sh->head_dim;
    const int n_ctx = pos0 + B;
    float *q = random_floats((size_t)B * q_dim, 2.0f), *k = random_floats((size_t)n_ctx * kv_dim, 1.0f);
    float *v = random_floats((size_t)n_ctx * kv_dim, 1.0f), *spec = malloc(q_dim * sizeof(float));
    float *att = malloc((size_t)sh->n_head * n_ctx * sizeof(float));
    attention_batch(out, q, k, v, B, pos0, sh->n_head, sh->n_head_kv, sh->head_dim, kv_dim);
    double worst = -INFINITY;
    for (int b = 0; b < B; b++) {
        const float *qb = q + (size_t)b * q_dim;
        attention(spec, qb, k, v, pos0 + b + 1, sh->n_head, sh->n_head_kv, sh->head_dim, kv_dim,
                  att);
        const double tol = attention_tol(qb, sh->n_head, sh->head_dim);
        for (int i = 0; i < q_dim; i++) {
            double d = fabs(out[(size_t)b * q_dim + i] - spec[i]) - tol;
            worst = isnan(d) ? INFINITY : fmax(worst, d);
        }
    }
    free(q), free(k), free(v), free(spec), free(att);
    return worst;
}

/* Causal masking, item split and dispatch, for each ISA; 2 threads give the bits of 1. */
TEST(attention_batch_matches_per_query_spec) {
    const int cases[][2] = {{1, 0}, {1, 37}, {5, 0}, {64, 0}, {64, 100}, {3, 200}};
    for (int isa = 0; isa < 1 + have_avx2(); isa++) {
        REQUIRE(kernels_init(isa ? "avx2" : "scalar", NULL) == 0);
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
            for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
                const int B = cases[c][0], pos0 = cases[c][1];
                const size_t q_dim = (size_t)shapes[s].n_head * shapes[s].head_dim;
                float *one = malloc(B * q_dim * sizeof(float)), *two = malloc(B * q_dim * sizeof(float));
                uint64_t seed = rng;
                omp_set_num_threads(1);
                double e = batch_error(&shapes[s], B, pos0, one);
                rng = seed;
                omp_set_num_threads(2);
                batch_error(&shapes[s], B, pos0, two);
                CHECK_MSG(e <= 0, "%s head_dim %d n_head %d/%d B %d pos0 %d: error %.3g over",
                          isa ? "avx2" : "scalar", shapes[s].head_dim, shapes[s].n_head,
                          shapes[s].n_head_kv, B, pos0, e);
                CHECK_MSG(memcmp(one, two, B * q_dim * sizeof(float)) == 0,
                          "B %d pos0 %d: 2 threads differ from 1", B, pos0);
                free(one), free(two);
            }
    }
    omp_set_num_threads(1);
    kernels_init(NULL, NULL);
}

/* ---- SCARCE_KBENCH=1: figures, not checks ---- */

static double best_batch_seconds(const att_shape *sh, int B, int pos0, int reps) {
    const int q_dim = sh->n_head * sh->head_dim, kv_dim = sh->n_head_kv * sh->head_dim;
    float *q = random_floats((size_t)B * q_dim, 1.0f), *k = random_floats((size_t)(pos0 + B) * kv_dim, 1.0f);
    float *v = random_floats((size_t)(pos0 + B) * kv_dim, 1.0f), *out = malloc((size_t)B * q_dim * sizeof(float));
    double best = INFINITY;
    for (int r = 0; r < reps; r++) {
        double t0 = bench_now();
        attention_batch(out, q, k, v, B, pos0, sh->n_head, sh->n_head_kv, sh->head_dim, kv_dim);
        best = fmin(best, bench_now() - t0);
    }
    free(q), free(k), free(v), free(out);
    return best;
}

TEST(attention_bench) {
    if (!getenv("SCARCE_KBENCH")) SKIP("set SCARCE_KBENCH=1 for the attention figures");
    const char *names[] = {"stories260K hd8 8/8", "110M hd64 12/12", "TinyLlama hd64 32/4"};
    const att_shape sh[] = {{8, 8, 8}, {64, 12, 12}, {64, 32, 4}};
    for (int s = 0; s < 3; s++)
        for (int isa = 0; isa < 1 + have_avx2(); isa++)
            for (int t = 1; t <= 2; t++) {
                kernels_init(isa ? "avx2" : "scalar", NULL);
                omp_set_num_threads(t);
                /* prefill of 128 tokens in two batches of 64, like forward.c */
                double sec = best_batch_seconds(&sh[s], 64, 0, 50) + best_batch_seconds(&sh[s], 64, 64, 50);
                printf("  %-22s %-6s t=%d  pp128 attention of one layer: %8.1f us\n", names[s],
                       isa ? "avx2" : "scalar", t, sec * 1e6);
            }
    omp_set_num_threads(1);
    kernels_init(NULL, NULL);
}
