/* test_kernels.c - every SIMD kernel against its scalar reference, and matmul against
 * matvec, a double-precision product and itself on 1 vs 2 threads. The kernel checks run
 * for the AVX2 (or NEON) set as kernels_simd_* and for the AVX-512 set as kernels_avx512_*
 * (skipped, naming the missing features, on a CPU without it).
 *
 * Tolerances (|simd - ref| <= tol * sum_i |w_i * a_i|, w and a dequantized):
 *   f32, f16, bf16: (n + 16) * FLT_EPSILON  - both are float sums of the same products in
 *                   another order (recursive summation error bound).
 *   fp8_e4m3/e5m2:  (n + 16) * FLT_EPSILON  - per-element float products (exact), summed in
 *                   another order within and across blocks.
 *   other blocks:   (n / block + 16) * FLT_EPSILON  - the integer block sums are exact in
 *                   both; only the float sum of n / block scaled block sums is reordered
 *                   (q8_0 q4_0 q4_1 q5_0 q5_1 iq4_nl q2_0_32 q2_k q4_k q5_k q6_k).
 * Activation quantizers (from_float): each quantized value within one step of the reference
 * (ties may round the other way); Q8_K, which does ggml's float operations, byte for byte.
 *
 * SCARCE_KBENCH=1 adds kernels_bench: matvec GB/s per type, scalar vs ISA, 1 and 2
 * threads, and the machine's read bandwidth. */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../kernels/cpu.h"
#include "../kernels/matmul.h"
#include "../kernels/ref/ref.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "bench_util.h"
#include "isa_util.h"
#include "kernel_ctx_util.h"
#include "test.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float rand_uniform(void) { /* [-1, 1) */
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (2.0 / 16777216.0) - 1.0);
}
static void fill_random(float *x, int64_t n, float scale) {
    for (int64_t i = 0; i < n; i++) x[i] = rand_uniform() * scale;
}

/* The dot, tile and from_float entries of one ISA, per type (index = position in the table). */
typedef struct {
    vec_dot_fn dot[QT_COUNT];
    vec_dot_tile_fn tile[QT_COUNT];
    from_float_fn from_float[QT_COUNT];
} isa_table;

static void snapshot(isa_table *tab, isa_level isa) {
    for (int i = 0; i < QT_COUNT; i++) {
        const type_kernels *k = kernels_for(isa, qtype_at(i)->id);
        tab->dot[i] = k->vec_dot, tab->tile[i] = k->vec_dot_tile, tab->from_float[i] = k->from_float;
    }
}

/* Tables of the scalar reference and of the SIMD ISA `isa` (NULL: AVX2 on x86, whatever
 * the CPU's best; the AVX-512 variants of the tests pass "avx512"); 0 when this CPU has
 * no SIMD ISA. */
static int load_tables(isa_table *ref, isa_table *simd, const char *isa) {
    isa_level best = cpu_best_isa();
    if (kernels_init(kernels_isa_name(best), NULL) != 0) return -1;
    snapshot(ref, ISA_SCALAR);
    if (best == ISA_SCALAR) return 0;
    if (!isa) isa = kernels_isa_supported(ISA_AVX512) ? "avx2" : kernels_isa_name(best);
    if (kernels_init(isa, NULL) != 0) return -1;
    snapshot(simd, kernels_isa());
    return 1;
}

static int has_quantizer(const quant_type *t) { return t->quantize || t->id == QT_F32; }

/* Converts n floats to type t (its from_float if given, else its quantize). */
static void to_type(const quant_type *t, from_float_fn from_float, const float *x, void *dst,
                    int64_t n) {
    if (from_float)
        from_float(x, dst, n);
    else
        t->quantize(x, dst, n, NULL);
}

/* Types whose kernels sum floats per element (not exact integer block sums). */
static int per_element_sum(const quant_type *t) {
    return t->block == 1 || t->id == QT_FP8_E4M3 || t->id == QT_FP8_E5M2;
}

/* Weights w (type t) and activations a (t's dot_type) from random floats; returns the
 * tolerance tol * sum |w_i a_i| from the dequantized values. */
static double make_operands(const quant_type *t, const isa_table *ref, int ti, const float *wf,
                            const float *af, int64_t n, void *w, void *a) {
    const quant_type *dt = qtype(t->dot_type);
    t->quantize(wf, w, n, NULL);
    int di = 0;
    while (qtype_at(di) != dt) di++;
    to_type(dt, ref->from_float[di], af, a, n);
    float *wd = malloc(n * sizeof(float)), *ad = malloc(n * sizeof(float));
    t->dequantize(w, wd, n);
    dt->dequantize(a, ad, n);
    double mag = 0;
    for (int64_t i = 0; i < n; i++) mag += fabs((double)wd[i] * ad[i]);
    free(wd), free(ad);
    double blocks = per_element_sum(t) ? (double)n : (double)(n / t->block);
    return (blocks + 16) * FLT_EPSILON * mag;
}

/* One comparison of type index ti at length n, inputs scaled by w_scale / a_scale. */
static int compare_dot(const isa_table *ref, const isa_table *simd, int ti, int64_t n,
                       float w_scale, float a_scale) {
    const quant_type *t = qtype_at(ti);
    float *wf = malloc(n * sizeof(float)), *af = malloc(n * sizeof(float));
    void *w = malloc(qtype_row_bytes(t->id, n) + 64), *a = malloc(n * 4 + 1024);
    fill_random(wf, n, w_scale);
    fill_random(af, n, a_scale);
    double tol = make_operands(t, ref, ti, wf, af, n, w, a);
    float s_ref = NAN, s_simd = NAN;
    ref->dot[ti](n, &s_ref, w, a);
    simd->dot[ti](n, &s_simd, w, a);
    int ok = fabs((double)s_ref - s_simd) <= tol;
    if (!ok)
        test_fail_at(__FILE__, __LINE__, "%s n=%lld: simd %.9g ref %.9g tol %.3g", t->name,
                     (long long)n, s_simd, s_ref, tol);
    free(wf), free(af), free(w), free(a);
    return ok;
}

static void check_dot_equals_reference_all_types(const char *isa) {
    isa_table ref, simd;
    int have = load_tables(&ref, &simd, isa);
    REQUIRE(have >= 0);
    if (!have) SKIP("no SIMD ISA on this CPU");
    int n_compared = 0;
    for (int ti = 0; qtype_at(ti); ti++) {
        const quant_type *t = qtype_at(ti);
        if (simd.dot[ti] == ref.dot[ti] || !has_quantizer(t) || !t->quantize) continue;
        n_compared++;
        if (t->block == 1) {
            for (int64_t n = 1; n <= 67; n++) compare_dot(&ref, &simd, ti, n, 1.0f, 1.0f);
            int64_t big[] = {255, 256, 1000, 4096, 4099, 11008};
            for (int k = 0; k < 6; k++) compare_dot(&ref, &simd, ti, big[k], 2.0f, 3.0f);
        } else {
            for (int64_t nb = 1; nb <= 9; nb++) compare_dot(&ref, &simd, ti, nb * t->block, 1.0f, 1.0f);
            compare_dot(&ref, &simd, ti, 16 * t->block, 1.0f, 1.0f);
            compare_dot(&ref, &simd, ti, 4096, 0.05f, 20.0f);
        }
        /* extremes: large magnitudes (fp16 max for half weights) and tiny ones */
        int64_t n = t->block == 1 ? 67 : 4 * t->block;
        compare_dot(&ref, &simd, ti, n, t->id == QT_F16 ? 65504.0f : 1e4f, 1e3f);
        compare_dot(&ref, &simd, ti, n, 1e-3f, 1e-4f);
    }
    CHECK(n_compared >= 3);
}

TEST(kernels_simd_dot_equals_reference_all_types) { check_dot_equals_reference_all_types(NULL); }
TEST(kernels_avx512_dot_equals_reference_all_types) {
    SKIP_WITHOUT_AVX512();
    check_dot_equals_reference_all_types("avx512");
}

/* vec_dot_tile of type index ti: nrows x nact dot products of random rows (scaled by
 * w_scale / a_scale) each within the reference vec_dot's tolerance. */
static int compare_tile(const isa_table *ref, const isa_table *simd, int ti, int64_t n, int nrows, int nact,
                        float w_scale, float a_scale) {
    const quant_type *t = qtype_at(ti), *dt = qtype(t->dot_type);
    size_t w_stride = qtype_row_bytes(t->id, n), a_stride = qtype_row_bytes(dt->id, n);
    char *w = malloc(w_stride * nrows), *a = malloc(a_stride * nact);
    float *wf = malloc(n * sizeof(float)), *af = malloc(n * sizeof(float));
    /* one row/activation at a time: make_operands gives the tolerance of each pair */
    for (int r = 0; r < nrows; r++) {
        fill_random(wf, n, w_scale);
        t->quantize(wf, w + r * w_stride, n, NULL);
    }
    for (int j = 0; j < nact; j++) {
        fill_random(af, n, a_scale);
        to_type(dt, NULL, af, a + j * a_stride, n);
    }
    float *s = malloc(sizeof(float) * nrows * nact);
    for (int k = 0; k < nrows * nact; k++) s[k] = NAN;
    size_t s_stride = (size_t)nrows;
    simd->tile[ti](n, s, s_stride, w, w_stride, nrows, a, a_stride, nact);
    int ok = 1;
    float *wd = malloc(n * sizeof(float)), *ad = malloc(n * sizeof(float));
    for (int r = 0; r < nrows && ok; r++)
        for (int j = 0; j < nact && ok; j++) {
            float want = NAN;
            ref->dot[ti](n, &want, w + r * w_stride, a + j * a_stride);
            t->dequantize(w + r * w_stride, wd, n);
            dt->dequantize(a + j * a_stride, ad, n);
            double mag = 0;
            for (int64_t i = 0; i < n; i++) mag += fabs((double)wd[i] * ad[i]);
            double lim = ((double)(n / t->block) + 16) * FLT_EPSILON * mag;
            float got = s[j * s_stride + r];
            if (!(fabs((double)got - want) <= lim)) {
                ok = 0;
                test_fail_at(__FILE__, __LINE__, "%s tile n=%lld %dx%d at (%d,%d): %.9g ref %.9g",
                             t->name, (long long)n, nrows, nact, r, j, got, want);
            }
        }
    free(w), free(a), free(wf), free(af), free(s), free(wd), free(ad);
    return ok;
}

static void check_tile_equals_reference(const char *isa) {
    isa_table ref, simd;
    int have = load_tables(&ref, &simd, isa);
    REQUIRE(have >= 0);
    if (!have) SKIP("no SIMD ISA on this CPU");
    int n_tiled = 0;
    for (int ti = 0; qtype_at(ti); ti++) {
        const quant_type *t = qtype_at(ti);
        if (!simd.tile[ti] || !t->quantize) continue;
        n_tiled++;
        for (int nrows = 1; nrows <= 9; nrows++)
            for (int nact = 1; nact <= 5; nact++)
                CHECK(compare_tile(&ref, &simd, ti, 3 * t->block, nrows, nact, 1.0f, 1.0f));
        CHECK(compare_tile(&ref, &simd, ti, 4096, 5, 3, 0.05f, 20.0f));
        CHECK(compare_tile(&ref, &simd, ti, 256, 4, 2, 1e4f, 1e3f));
        CHECK(compare_tile(&ref, &simd, ti, 256, 4, 2, 1e-3f, 1e-4f));
        CHECK(compare_tile(&ref, &simd, ti, 256, 4, 2, 0.0f, 1.0f)); /* zero weights */
    }
    if (!n_tiled) SKIP("no vec_dot_tile kernels for this ISA");
}

TEST(kernels_simd_tile_equals_reference) { check_tile_equals_reference(NULL); }
TEST(kernels_avx512_tile_equals_reference) {
    SKIP_WITHOUT_AVX512();
    check_tile_equals_reference("avx512");
}

static void check_dot_of_zeros_is_zero(const char *isa) {
    isa_table ref, simd;
    int have = load_tables(&ref, &simd, isa);
    REQUIRE(have >= 0);
    if (!have) SKIP("no SIMD ISA on this CPU");
    enum { N = 1024 };
    static unsigned char zero_w[N * 4], zero_a[N * 4 + 1024];
    for (int ti = 0; qtype_at(ti); ti++) {
        const quant_type *t = qtype_at(ti);
        float s = 1.0f;
        if (!simd.dot[ti]) continue; /* activation-only types (q8_k) */
        simd.dot[ti](N - N % 256, &s, zero_w, zero_a);
        CHECK_MSG(s == 0.0f, "%s: dot of zeros = %g", t->name, s);
    }
}

TEST(kernels_simd_dot_of_zeros_is_zero) { check_dot_of_zeros_is_zero(NULL); }
TEST(kernels_avx512_dot_of_zeros_is_zero) {
    SKIP_WITHOUT_AVX512();
    check_dot_of_zeros_is_zero("avx512");
}

/* f32 weights: NaN anywhere gives NaN, +Inf x positive gives +Inf, at every position class. */
static void check_f32_propagates_nan_and_inf(const char *isa) {
    isa_table ref, simd;
    int have = load_tables(&ref, &simd, isa);
    REQUIRE(have >= 0);
    if (!have) SKIP("no SIMD ISA on this CPU");
    vec_dot_fn dot = simd.dot[0];
    REQUIRE(qtype_at(0)->id == QT_F32);
    float w[67], a[67];
    for (int n = 1; n <= 67; n += 3)
        for (int pos = 0; pos < n; pos += 5) {
            fill_random(w, n, 1.0f);
            for (int i = 0; i < n; i++) a[i] = 0.5f + 0.25f * rand_uniform();
            float s;
            w[pos] = NAN;
            dot(n, &s, w, a);
            CHECK_MSG(isnan(s), "n=%d pos=%d: %g", n, pos, s);
            w[pos] = INFINITY;
            dot(n, &s, w, a);
            CHECK_MSG(isinf(s) && s > 0, "n=%d pos=%d: %g", n, pos, s);
        }
}

TEST(kernels_simd_f32_propagates_nan_and_inf) { check_f32_propagates_nan_and_inf(NULL); }
TEST(kernels_avx512_f32_propagates_nan_and_inf) {
    SKIP_WITHOUT_AVX512();
    check_f32_propagates_nan_and_inf("avx512");
}

/* The activation quantizers (from_float of the dot types) against the reference ones. */
static void check_from_float_equals_reference(const char *isa) {
    isa_table ref, simd;
    int have = load_tables(&ref, &simd, isa);
    REQUIRE(have >= 0);
    if (!have) SKIP("no SIMD ISA on this CPU");
    int n_compared = 0;
    for (int ti = 0; qtype_at(ti); ti++) {
        const quant_type *t = qtype_at(ti);
        if (!simd.from_float[ti] || simd.from_float[ti] == ref.from_float[ti]) continue;
        n_compared++;
        int64_t n = 16 * 256;
        float *x = malloc(n * 4), *dr = malloc(n * 4), *ds = malloc(n * 4);
        void *qr = malloc(qtype_row_bytes(t->id, n)), *qs = malloc(qtype_row_bytes(t->id, n));
        for (int round = 0; round < 3; round++) {
            fill_random(x, n, round == 0 ? 1.0f : round == 1 ? 3e4f : 1e-3f);
            for (int64_t i = 0; i < 40; i++) x[i * 37 % n] = 0.0f; /* a few exact zeros */
            memset(x + t->block, 0, t->block * sizeof(float));       /* an all-zero block */
            x[2 * t->block + 5] = -1e6f, x[2 * t->block + 9] = 1e6f; /* opposite-sign tie */
            to_type(t, ref.from_float[ti], x, qr, n);
            simd.from_float[ti](x, qs, n);
            if (t->id == QT_Q8_K) /* ggml's float operations in both: the same bytes */
                CHECK_MSG(memcmp(qr, qs, qtype_row_bytes(t->id, n)) == 0,
                          "q8_k round %d: SIMD bytes differ from the reference", round);
            t->dequantize(qr, dr, n);
            t->dequantize(qs, ds, n);
            for (int64_t b = 0; b < n / t->block; b++) {
                float amax = 0;
                for (int j = 0; j < t->block; j++) amax = fmaxf(amax, fabsf(x[b * t->block + j]));
                double step = amax / 127.0 * 1.0001;
                for (int j = 0; j < t->block; j++) {
                    int64_t i = b * t->block + j;
                    CHECK_MSG(fabs((double)dr[i] - ds[i]) <= step, "%s round %d i=%lld: %g vs %g",
                              t->name, round, (long long)i, ds[i], dr[i]);
                }
            }
        }
        free(x), free(dr), free(ds), free(qr), free(qs);
    }
    if (cpu_best_isa() != ISA_SCALAR && !n_compared) SKIP("no SIMD from_float installed yet");
}

TEST(kernels_simd_from_float_equals_reference) { check_from_float_equals_reference(NULL); }
TEST(kernels_avx512_from_float_equals_reference) {
    SKIP_WITHOUT_AVX512();
    check_from_float_equals_reference("avx512");
}

/* A rows x cols matrix of type t: `period` distinct random rows repeated (quantizing is
 * slow for the searching quantizers; a prime period still makes every 16-row slice of a
 * thread different from its neighbours). */
static qmatrix random_matrix_period(const quant_type *t, int64_t rows, int64_t cols, int64_t period) {
    size_t row_bytes = qtype_row_bytes(t->id, cols);
    char *data = malloc(row_bytes * rows);
    float *row = malloc(cols * sizeof(float));
    for (int64_t r = 0; r < rows; r++) {
        if (r >= period) {
            memcpy(data + r * row_bytes, data + (r % period) * row_bytes, row_bytes);
            continue;
        }
        fill_random(row, cols, 1.0f);
        t->quantize(row, data + r * row_bytes, cols, NULL);
    }
    free(row);
    return (qmatrix){.data = data, .type = t->id, .rows = rows, .cols = cols, .row_bytes = row_bytes};
}

static qmatrix random_matrix(const quant_type *t, int64_t rows, int64_t cols) {
    return random_matrix_period(t, rows, cols, rows);
}

/* Y = W X in double from the dequantized weights and the activations as the kernel sees
 * them (converted to the dot type and back); tol[b * rows + r] as in the header. */
static void reference_matmul(const qmatrix *W, const float *X, int64_t B, double *Y, double *tol) {
    const quant_type *t = qtype(W->type), *dt = qtype(t->dot_type);
    int64_t cols = W->cols;
    float *wd = malloc(cols * 4), *ad = malloc(B * cols * 4);
    void *act = malloc(qtype_row_bytes(dt->id, cols) + 64);
    for (int64_t b = 0; b < B; b++) {
        to_type(dt, kernels_for(kernels_isa(), dt->id)->from_float, X + b * cols, act, cols);
        dt->dequantize(act, ad + b * cols, cols);
    }
    double blocks = per_element_sum(t) ? (double)cols : (double)(cols / t->block);
    for (int64_t r = 0; r < W->rows; r++) {
        qmatrix_row(W, r, wd);
        for (int64_t b = 0; b < B; b++) {
            double sum = 0, mag = 0;
            for (int64_t i = 0; i < cols; i++) {
                double p = (double)wd[i] * ad[b * cols + i];
                sum += p, mag += fabs(p);
            }
            Y[b * W->rows + r] = sum;
            tol[b * W->rows + r] = (blocks + 16) * FLT_EPSILON * mag;
        }
    }
    free(wd), free(ad), free(act);
}

TEST(kernels_matmul_equals_matvecs_double_reference_and_threads) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    int saved_threads = test_kernel_config().threads;
    for (int ti = 0; qtype_at(ti); ti++) {
        const quant_type *t = qtype_at(ti);
        if (!(t->kind & QT_KIND_W)) continue;
        int64_t cols = t->block == 1 ? 67 * 3 : 2 * (t->block > 32 ? t->block : 128);
        int64_t row_counts[] = {1, 37, 333};
        qmatrix W_all = random_matrix_period(t, 333, cols, 61);
        for (int k = 0; k < 3; k++) {
            int64_t rows = row_counts[k];
            qmatrix W = W_all; /* its first `rows` rows */
            W.rows = rows;
            float *X = malloc(9 * cols * 4), *Y = malloc(9 * rows * 4), *Y2 = malloc(9 * rows * 4);
            float *y = malloc(rows * 4);
            double *Yd = malloc(9 * rows * 8), *tol = malloc(9 * rows * 8);
            fill_random(X, 9 * cols, 1.0f);
            reference_matmul(&W, X, 9, Yd, tol);
            for (int64_t B = 1; B <= 9; B++) {
                test_kernel_threads(1);
                matmul(test_kernels(), &W, X, B, Y);
                test_kernel_threads(2);
                if (rows > 64) matmul(test_kernels(), &W, X, B, Y2); /* smaller ones run on one thread */
                else memcpy(Y2, Y, B * rows * 4);
                CHECK_MSG(memcmp(Y, Y2, B * rows * 4) == 0, "%s rows=%lld B=%lld: 1 vs 2 threads",
                          t->name, (long long)rows, (long long)B);
                for (int64_t b = 0; b < B; b++) {
                    matvec(test_kernels(), &W, X + b * cols, y);
                    CHECK_MSG(memcmp(y, Y + b * rows, rows * 4) == 0,
                              "%s rows=%lld B=%lld b=%lld: matmul != matvec", t->name,
                              (long long)rows, (long long)B, (long long)b);
                    for (int64_t r = 0; r < rows; r++)
                        CHECK_MSG(fabs(Y[b * rows + r] - Yd[b * rows + r]) <= tol[b * rows + r] + 1e-30,
                                  "%s rows=%lld B=%lld [%lld][%lld]: %.9g vs %.9g", t->name,
                                  (long long)rows, (long long)B, (long long)b, (long long)r,
                                  Y[b * rows + r], Yd[b * rows + r]);
                }
            }
            free(X), free(Y), free(Y2), free(y), free(Yd), free(tol);
        }
        free((void *)W_all.data);
    }
    test_kernel_threads(saved_threads);
}

/* ---- SCARCE_KBENCH=1: figures, not checks ---- */

/* Weight GB/s of matmul with B tokens, fastest call of 0.3 s. */
static double bench_matmul(const qmatrix *W, const float *X, int64_t B, float *Y) {
    return (double)W->rows * W->row_bytes / bench_best_matmul(W, X, B, Y, 0.3) / 1e9;
}

/* Streaming read of 2 GiB with all threads: the machine's read bandwidth. */
static double bench_read_bandwidth(int n_threads) {
    size_t n = (size_t)2 << 30 >> 3;
    uint64_t *buf = malloc(n * 8);
    if (!buf) return 0;
#pragma omp parallel for num_threads(n_threads)
    for (size_t i = 0; i < n; i++) buf[i] = i;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        uint64_t sum = 0;
        double t0 = bench_now();
#pragma omp parallel for num_threads(n_threads) reduction(+ : sum)
        for (size_t i = 0; i < n; i++) sum += buf[i];
        double gbs = n * 8.0 / (bench_now() - t0) / 1e9;
        if (gbs > best && sum) best = gbs;
    }
    free(buf);
    return best;
}

/* A rows x cols matrix made of one quantized 64-row tile repeated (fast to build). */
static qmatrix tiled_matrix(const quant_type *t, int64_t rows, int64_t cols) {
    qmatrix tile = random_matrix(t, 64, cols);
    size_t row_bytes = tile.row_bytes, tile_bytes = row_bytes * 64;
    char *data = malloc(row_bytes * rows);
    for (int64_t r = 0; r < rows; r += 64)
        memcpy(data + r * row_bytes, tile.data, (rows - r >= 64 ? 64 : rows - r) * row_bytes);
    (void)tile_bytes;
    free((void *)tile.data);
    return (qmatrix){.data = data, .type = t->id, .rows = rows, .cols = cols, .row_bytes = row_bytes};
}

TEST(kernels_bench) {
    const char *on = getenv("SCARCE_KBENCH");
    if (!on || strcmp(on, "1") != 0) SKIP("set SCARCE_KBENCH=1 for the kernel figures");
    REQUIRE(kernels_init(NULL, NULL) == 0);
    int64_t rows = 4096, cols = 4096;
    if (getenv("SCARCE_KBENCH_ROWS")) rows = atoll(getenv("SCARCE_KBENCH_ROWS"));
    if (getenv("SCARCE_KBENCH_COLS")) cols = atoll(getenv("SCARCE_KBENCH_COLS"));
    float *X = malloc(64 * cols * 4), *Y = malloc(64 * rows * 4);
    fill_random(X, 64 * cols, 1.0f);
    fprintf(stderr, "matvec %lldx%lld, weight GB/s (best ISA: %s)\n", (long long)rows,
            (long long)cols, kernels_isa_name(cpu_best_isa()));
    /* SCARCE_KBENCH_TYPES=q4_0,q8_0 limits the types; SCARCE_KBENCH_REF=1 adds scalar. */
    const char *only = getenv("SCARCE_KBENCH_TYPES");
    int with_ref = getenv("SCARCE_KBENCH_REF") && atoi(getenv("SCARCE_KBENCH_REF"));
    fprintf(stderr, "%-10s %8s %8s %8s %8s %9s %9s\n", "type", "ref 1t", "ref 2t", "simd 1t",
            "simd 2t", "B=64 1t", "B=64 2t");
    for (int ti = 0; qtype_at(ti); ti++) {
        const quant_type *t = qtype_at(ti);
        if (!(t->kind & QT_KIND_W) || cols % t->block) continue;
        if (only && !strstr(only, t->name)) continue;
        qmatrix W = tiled_matrix(t, rows, cols);
        double g[6] = {0};
        for (int k = with_ref ? 0 : 2; k < 6; k++) {
            kernels_init(k < 2 ? "scalar" : NULL, NULL);
            test_kernel_threads(k % 2 + 1);
            /* B=64: weight GB/s x 64 tokens (the matvec-equivalent rate) */
            g[k] = k < 4 ? bench_matmul(&W, X, 1, Y) : bench_matmul(&W, X, 64, Y) * 64;
        }
        fprintf(stderr, "%-10s %8.2f %8.2f %8.2f %8.2f %9.2f %9.2f\n", t->name, g[0], g[1],
                g[2], g[3], g[4], g[5]);
        free((void *)W.data);
    }
    fprintf(stderr, "read bandwidth (2 GiB): 1 thread %.2f GB/s, 2 threads %.2f GB/s\n",
            bench_read_bandwidth(1), bench_read_bandwidth(2));
    free(X), free(Y);
    CHECK(1);
}
