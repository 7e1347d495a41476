/* test_gemm.c - the f32 batch path (kernels/gemm.c) against dequantize + double dot.
 *
 * Every method (ours, OpenBLAS when linked) on several weight types, odd batch sizes and
 * row counts (panel and tile remainders), columns that are not a multiple of the chunk,
 * 1 and 2 threads calling at once. Tolerance: the f32 GEMM sums cols products in float,
 * in an order that is neither the reference's nor fixed (OpenBLAS blocks differently per
 * shape), so |y - ref| <= (cols + 16) * FLT_EPSILON * sum |w_k x_k| (the worst-case
 * bound of a float sum; the reference itself is exact in double).
 *
 * SCARCE_KBENCH=1 adds gemm_bench: GFLOP/s of matmul per type, method and B (the figures
 * behind gemm_choose()). */
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../kernels/cpu.h"
#include "../kernels/gemm.h"
#include "../kernels/matmul.h"
#include "../quant/blocks.h"
#include "../quant/types.h"
#include "bench_util.h"
#include "isa_util.h"
#include "kernel_ctx_util.h"
#include "test.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static float uniform(void) { /* [-1, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 40) * (2.0 / 16777216.0) - 1.0);
}

/* A rows x cols matrix of type t from random floats (f32: the floats themselves). */
static void *make_weights(const quant_type *t, int64_t rows, int64_t cols, size_t *row_bytes) {
    *row_bytes = qtype_row_bytes(t->id, cols);
    char *w = malloc(*row_bytes * rows);
    float *row = malloc(cols * sizeof(float));
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t k = 0; k < cols; k++) row[k] = uniform();
        if (t->id == QT_F32)
            memcpy(w + r * *row_bytes, row, cols * sizeof(float));
        else
            t->quantize(row, w + r * *row_bytes, cols, NULL);
    }
    free(row);
    return w;
}

/* Checks Y[B][rows] against the dequantized weights times X in double; returns failures. */
static int check_against_reference(const quant_type *t, const char *w, size_t row_bytes,
                                   int64_t rows, int64_t cols, const float *X, int64_t B,
                                   const float *Y, const char *what) {
    float *wd = malloc(cols * sizeof(float));
    int bad = 0;
    for (int64_t r = 0; r < rows; r++) {
        t->dequantize(w + r * row_bytes, wd, cols);
        for (int64_t b = 0; b < B; b++) {
            double sum = 0, mag = 0;
            for (int64_t k = 0; k < cols; k++) {
                sum += (double)wd[k] * X[b * cols + k];
                mag += fabs((double)wd[k] * X[b * cols + k]);
            }
            double tol = (cols + 16) * FLT_EPSILON * mag;
            if (!(fabs(Y[b * rows + r] - sum) <= tol) && bad++ < 3)
                test_fail_at(
                    __FILE__, __LINE__,
                    "%s %s rows=%lld cols=%lld B=%lld: y[%lld][%lld] %.9g ref %.9g tol %.3g", what,
                    t->name, (long long)rows, (long long)cols, (long long)B, (long long)b,
                    (long long)r, Y[b * rows + r], sum, tol);
        }
    }
    free(wd);
    return bad;
}

static void *alloc64(size_t bytes) {
    return aligned_alloc(64, (bytes + 63) / 64 * 64);
}

/* gemm_rows over all rows with nth threads, each on its own contiguous slice with its own
 * scratch (sized by gemm_scratch_size, as a kernel context does). */
static void run_gemm(gemm_method m, const quant_type *t, const char *w, size_t row_bytes,
                     int64_t rows, int64_t cols, const float *X, int64_t B, float *Y, int nth) {
    const size_t xt_bytes = gemm_pack_x_bytes(B, cols);
    float *xt = alloc64(xt_bytes);
    const float *gx = gemm_prepare(m, X, B, cols, xt, xt_bytes);
    size_t panel, acc;
    gemm_scratch_size(cols, row_bytes, B, &panel, &acc);
    int failed = gx == NULL;
#pragma omp parallel num_threads(nth) reduction(+ : failed)
    {
        int ith = omp_get_thread_num(), n = omp_get_num_threads();
        int64_t r0 = rows * ith / n, r1 = rows * (ith + 1) / n;
        gemm_scratch sc = {.panel = alloc64(panel), .panel_bytes = panel, .acc = alloc64(acc),
                           .acc_bytes = acc};
        failed += gemm_rows(m, t, w, row_bytes, r0, r1, rows, cols, gx, B, Y, (size_t)rows,
                            kernels_of(kernels_isa()), &sc) != 0;
        free(sc.panel), free(sc.acc);
    }
    CHECK(failed == 0);
    free(xt);
}

/* The test context's batch path: -1 the measured choice, else forced (what SCARCE_GEMM
 * sets through kernel_config_from_env). */
static void force_gemm(int method) {
    kernel_config cfg = test_kernel_config();
    cfg.gemm = method;
    CHECK(test_kernel_set(&cfg) == 0);
}

static void check_type(gemm_method m, uint32_t id) {
    const quant_type *t = qtype(id);
    int64_t cols_list[] = {256, 288, 768}; /* 288: a 32-column tail after the 256 chunk */
    int64_t rows_list[] = {1, 7, 101};     /* below, off and across tiles and panels */
    int64_t B_list[] = {2, 5, 16, 17, 33};
    for (int ci = 0; ci < 3; ci++) {
        int64_t cols = cols_list[ci];
        if (cols % t->block) continue;
        for (int ri = 0; ri < 3; ri++) {
            int64_t rows = rows_list[ri];
            size_t row_bytes;
            char *w = make_weights(t, rows, cols, &row_bytes);
            for (int bi = 0; bi < 5; bi++) {
                int64_t B = B_list[bi];
                float *X = malloc(B * cols * sizeof(float)), *Y = malloc(B * rows * sizeof(float));
                for (int64_t i = 0; i < B * cols; i++) X[i] = uniform() * 2.0f;
                for (int nth = 1; nth <= 2; nth++) {
                    for (int64_t i = 0; i < B * rows; i++) Y[i] = NAN; /* every y written */
                    run_gemm(m, t, w, row_bytes, rows, cols, X, B, Y, nth);
                    check_against_reference(t, w, row_bytes, rows, cols, X, B, Y,
                                            gemm_method_name(m));
                }
                free(X), free(Y);
            }
            free(w);
        }
    }
}

static const uint32_t tested_types[] = {QT_F32,  QT_F16,  QT_BF16, QT_Q8_0,
                                        QT_Q4_0, QT_Q4_K, QT_Q6_K};

TEST(gemm_own_equals_reference) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    for (size_t i = 0; i < sizeof tested_types / sizeof *tested_types; i++)
        check_type(GEMM_OWN, tested_types[i]);
}

TEST(gemm_own_scalar_kernel_equals_reference) {
    REQUIRE(kernels_init("scalar", NULL) == 0);
    check_type(GEMM_OWN, QT_Q8_0);
    check_type(GEMM_OWN, QT_F16);
}

TEST(gemm_blas_equals_reference) {
    if (!gemm_have_blas()) SKIP("built without BLAS (BLAS=0)");
    REQUIRE(kernels_init(NULL, NULL) == 0);
    for (size_t i = 0; i < sizeof tested_types / sizeof *tested_types; i++)
        check_type(GEMM_BLAS, tested_types[i]);
}

/* OpenBLAS called from two of our threads at once, many times: same result every time
 * (each call is single-threaded and deterministic for its shape) and right. */
TEST(gemm_blas_concurrent_calls_are_safe) {
    if (!gemm_have_blas()) SKIP("built without BLAS (BLAS=0)");
    REQUIRE(kernels_init(NULL, NULL) == 0);
    const quant_type *t = qtype(QT_Q8_0);
    int64_t rows = 200, cols = 512, B = 24;
    size_t row_bytes;
    char *w = make_weights(t, rows, cols, &row_bytes);
    float *X = malloc(B * cols * sizeof(float)), *Y0 = malloc(B * rows * sizeof(float)),
          *Y = malloc(B * rows * sizeof(float));
    for (int64_t i = 0; i < B * cols; i++) X[i] = uniform();
    run_gemm(GEMM_BLAS, t, w, row_bytes, rows, cols, X, B, Y0, 2);
    check_against_reference(t, w, row_bytes, rows, cols, X, B, Y0, "blas 2 threads");
    int differ = 0;
    for (int rep = 0; rep < 50; rep++) {
        run_gemm(GEMM_BLAS, t, w, row_bytes, rows, cols, X, B, Y, 2);
        differ += memcmp(Y, Y0, B * rows * sizeof(float)) != 0;
    }
    CHECK_EQ_INT(differ, 0);
    free(w), free(X), free(Y0), free(Y);
}

/* matmul() takes the f32 path for large batches of float weights, and of block-32 types
 * with neither a tile nor a packed kernel (mxfp4): same figures as the reference (f32
 * activations, not rounded to Q8_0), on 1 and 2 threads. */
TEST(gemm_matmul_large_batch_equals_reference) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    int64_t rows = 300, cols = 512, B = 64;
    const uint32_t ids[] = {QT_F16, QT_F32, QT_MXFP4, QT_IQ4_XS};
    for (int i = 0; i < 4; i++) {
        uint32_t id = ids[i];
        /* AVX-512's IQ4_XS batches take the x16 kernel on Q8_K activations, the reference's
         * bits (tests/test_x16_gemm.c), not an f32 path */
        if (kernels_for(kernels_isa(), id)->row_gemm) continue;
        const quant_type *t = qtype(id);
        size_t row_bytes;
        char *w = make_weights(t, rows, cols, &row_bytes);
        qmatrix W = {.data = w, .type = id, .rows = rows, .cols = cols, .row_bytes = row_bytes};
        float *X = malloc(B * cols * sizeof(float)), *Y = malloc(B * rows * sizeof(float));
        for (int64_t i = 0; i < B * cols; i++) X[i] = uniform();
        CHECK(gemm_choose(kernels_of(kernels_isa()), id, cols, B, -1) != GEMM_TILES);
        for (int nth = 1; nth <= 2; nth++) {
            test_kernel_threads(nth);
            matmul(test_kernels(), &W, X, B, Y);
            check_against_reference(t, w, row_bytes, rows, cols, X, B, Y, "matmul");
        }
        test_kernel_threads(1);
        free(w), free(X), free(Y);
    }
}

/* ---- SCARCE_KBENCH=1: figures, not checks ---- */

/* GFLOP/s of matmul (fastest call in 0.5 s) on the batch path `method`. */
static double bench_one(const qmatrix *W, const float *X, int64_t B, float *Y, int method) {
    force_gemm(method);
    double best = bench_best_matmul(W, X, B, Y, 0.5);
    force_gemm(-1);
    return 2.0 * W->rows * W->cols * B / best / 1e9;
}

TEST(gemm_bench) {
    if (!getenv("SCARCE_KBENCH")) SKIP("set SCARCE_KBENCH=1 for the GEMM figures");
    REQUIRE(kernels_init(NULL, NULL) == 0);
    const char *tl = getenv("GEMM_BENCH_THREADS");
    test_kernel_threads(tl ? atoi(tl) : 1);
    uint32_t ids[] = {QT_F32, QT_Q8_0, QT_Q4_0, QT_F16, QT_BF16, QT_Q4_K, QT_Q6_K};
    const char *only = getenv("GEMM_BENCH_TYPE");
    int64_t Bs[] = {2, 4, 8, 16, 32, 64};
    const char *bl = getenv("GEMM_BENCH_B");
    int64_t rows = 2048, cols = 2048; /* TinyLlama's attn_q; GEMM_BENCH_SHAPE=ROWSxCOLS */
    const char *shape = getenv("GEMM_BENCH_SHAPE");
    if (shape) sscanf(shape, "%ldx%ld", &rows, &cols);
    const char *mt[] = {"tiles", "own", "blas", "i8x8"};
    printf("\nGFLOP/s, %lld x %lld, %d thread(s): tiles (int8/vec_dot) | own | blas\n",
           (long long)rows, (long long)cols, test_kernel_config().threads);
    float *X = malloc(64 * cols * sizeof(float)), *Y = malloc(64 * rows * sizeof(float));
    for (int64_t i = 0; i < 64 * cols; i++) X[i] = uniform();
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        const quant_type *t = qtype(ids[i]);
        if (only && !strstr(only, t->name)) continue;
        size_t row_bytes;
        char *w = make_weights(t, rows, cols, &row_bytes);
        qmatrix W = {.data = w, .type = ids[i], .rows = rows, .cols = cols, .row_bytes = row_bytes};
        for (size_t b = 0; b < sizeof Bs / sizeof *Bs; b++) {
            if (bl && atoll(bl) != Bs[b]) continue;
            printf("%-5s B=%-3lld", t->name, (long long)Bs[b]);
            for (int m = 0; m < 4; m++)
                if ((m < 2 || (m == 2 && gemm_have_blas()) ||
                     (m == 3 && (ids[i] == QT_Q4_0 || ids[i] == QT_Q8_0))))
                    printf(" %s %6.1f", mt[m], bench_one(&W, X, Bs[b], Y, m));
            printf("\n");
        }
        free(w);
    }
    free(X), free(Y);
    test_kernel_threads(1);
}

/* The panel dequantizers give the reference's values exactly. */
TEST(gemm_dequantizer_equals_reference) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    for (size_t i = 0; i < sizeof tested_types / sizeof *tested_types; i++) {
        const quant_type *t = qtype(tested_types[i]);
        int64_t cols = t->block == 1 ? 1003 : 8 * t->block;
        size_t row_bytes;
        char *w = make_weights(t, 1, cols, &row_bytes);
        float *a = malloc(cols * sizeof(float)), *b = malloc(cols * sizeof(float));
        t->dequantize(w, a, cols);
        kernels_for(kernels_isa(), t->id)->dequantize(w, b, cols);
        CHECK_MSG(memcmp(a, b, cols * sizeof(float)) == 0, "%s", t->name);
        free(w), free(a), free(b);
    }
}

/* GEMM_I8X8 through matmul: q4_0 / q8_0 / q5_0 / iq4_nl weights x the q8_0 activations matmul makes,
 * against the dequantized weights x dequantized q8_0 activations in double. The block
 * sums are exact integers in both, so only the float accumulation over blocks differs:
 * tol = (cols + 16) * FLT_EPSILON * sum |w_k a_k| (check_against_reference). */
static void check_i8x8(uint32_t id) {
    const quant_type *t = qtype(id), *q8 = qtype(QT_Q8_0);
    int64_t cols_list[] = {256, 288}, rows_list[] = {7, 13, 101}, B_list[] = {2, 3, 5, 17, 64};
    for (int ci = 0; ci < 2; ci++)
        for (int ri = 0; ri < 3; ri++) {
            int64_t cols = cols_list[ci], rows = rows_list[ri];
            size_t row_bytes, arow = qtype_row_bytes(QT_Q8_0, cols);
            char *w = make_weights(t, rows, cols, &row_bytes);
            qmatrix W = {.data = w, .type = id, .rows = rows, .cols = cols, .row_bytes = row_bytes};
            for (int bi = 0; bi < 5; bi++) {
                int64_t B = B_list[bi];
                /* B = 64 without forcing: the path matmul takes for prefill */
                force_gemm(B == 64 ? -1 : GEMM_I8X8);
                CHECK(gemm_choose(kernels_of(kernels_isa()), id, cols, B,
                                  test_kernel_config().gemm) == GEMM_I8X8);
                float *X = malloc(B * cols * sizeof(float)), *Y = malloc(B * rows * sizeof(float));
                float *Xq = malloc(B * cols * sizeof(float));
                char *a = malloc(arow);
                for (int64_t i = 0; i < B * cols; i++) X[i] = uniform() * 3.0f;
                for (int64_t b = 0; b < B; b++) { /* what matmul's activations stand for */
                    kernels_for(kernels_isa(), QT_Q8_0)->from_float(X + b * cols, a, cols);
                    q8->dequantize(a, Xq + b * cols, cols);
                }
                for (int nth = 1; nth <= 2; nth++) {
                    test_kernel_threads(nth);
                    for (int64_t i = 0; i < B * rows; i++) Y[i] = NAN;
                    matmul(test_kernels(), &W, X, B, Y);
                    check_against_reference(t, w, row_bytes, rows, cols, Xq, B, Y, "i8x8");
                }
                free(X), free(Y), free(Xq), free(a);
            }
            free(w);
        }
    test_kernel_threads(1);
    force_gemm(-1);
}

TEST(gemm_i8x8_equals_reference) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    int have = gemm_choose(kernels_of(kernels_isa()), QT_Q4_0, 256, 16, GEMM_I8X8) == GEMM_I8X8;
    if (!have) SKIP("no AVX2: GEMM_I8X8 not available");
    check_i8x8(QT_Q4_0);
    check_i8x8(QT_Q8_0);
    check_i8x8(QT_Q5_0);   /* rewritten as Q8_0 per panel (to_q8_0) */
    check_i8x8(QT_IQ4_NL);
}

/* A SIMD micro-kernel against gemm_tile_f32_ref, every row count (tails of the 8-row
 * tile), one and two groups of tokens, k lengths below, at and off the 256 chunk,
 * overwrite and accumulate, weights in a panel (ldw = kc) and in place (ldw > kc, f32
 * rows), groups apart by more than their length. Both sum in float, one with fma, one
 * with mul + add, maybe in another order: |diff| <= 2 (kc + 1) FLT_EPSILON sum |terms|. */
static void check_gemm_tile(isa_level isa) {
    enum { C = GEMM_NG * GEMM_NR * GEMM_NT };
    const gemm_tile_fn simd = kernels_of(isa)->gemm_tile;
    const int64_t kcs[] = {1, 7, 256, 300};
    for (int ki = 0; ki < 4; ki++)
        for (int pad = 0; pad <= 5; pad += 5)
            for (int ng = 1; ng <= GEMM_NG; ng++)
                for (int nr = 1; nr <= GEMM_NR; nr++)
                    for (int accumulate = 0; accumulate <= 1; accumulate++) {
                        int64_t kc = kcs[ki];
                        size_t ldw = (size_t)kc + pad, ldx = (kc + pad) * GEMM_NT;
                        const size_t ldc = GEMM_NR * GEMM_NT;
                        float *w = malloc(GEMM_NR * ldw * sizeof(float));
                        float *xt = malloc(GEMM_NG * ldx * sizeof(float));
                        float c0[C], c_ref[C], c[C];
                        for (size_t i = 0; i < GEMM_NR * ldw; i++) w[i] = uniform();
                        for (size_t i = 0; i < GEMM_NG * ldx; i++) xt[i] = uniform();
                        for (int i = 0; i < C; i++) c0[i] = uniform();
                        memcpy(c_ref, c0, sizeof c0), memcpy(c, c0, sizeof c0);
                        gemm_tile_f32_ref(kc, xt, ldx, w, ldw, c_ref, ldc, nr, ng, accumulate);
                        simd(kc, xt, ldx, w, ldw, c, ldc, nr, ng, accumulate);
                        int bad = 0;
                        for (int g = 0; g < GEMM_NG; g++)
                            for (int r = 0; r < GEMM_NR; r++)
                                for (int t = 0; t < GEMM_NT; t++) {
                                    int i = g * ldc + r * GEMM_NT + t;
                                    if (r >= nr || g >= ng) { /* not touched */
                                        bad += c[i] != c0[i];
                                        continue;
                                    }
                                    double mag = accumulate ? fabs(c0[i]) : 0;
                                    for (int64_t k = 0; k < kc; k++)
                                        mag += fabs((double)w[r * ldw + k] *
                                                    xt[g * ldx + k * GEMM_NT + t]);
                                    bad += !(fabs(c[i] - c_ref[i]) <=
                                             2 * (kc + 1) * FLT_EPSILON * mag);
                                }
                        CHECK_MSG(bad == 0, "kc=%lld ldw=%zu nr=%d ng=%d accumulate=%d: %d wrong",
                                  (long long)kc, ldw, nr, ng, accumulate, bad);
                        free(w), free(xt);
                    }
}

TEST(gemm_tile_avx2_equals_reference) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    if (!kernels_isa_supported(ISA_AVX2)) SKIP("no AVX2");
    check_gemm_tile(ISA_AVX2);
}

/* The AVX-512 micro-kernel sums even and odd k apart (12 FMA chains) and adds them at the
 * end: another float order, within the same bound. */
TEST(gemm_tile_avx512_equals_reference) {
    SKIP_WITHOUT_NATIVE_AVX512();
    REQUIRE(kernels_init(NULL, NULL) == 0);
    CHECK(kernels_of(ISA_AVX512)->gemm_tile != kernels_of(ISA_AVX2)->gemm_tile);
    check_gemm_tile(ISA_AVX512);
}

/* A NaN or an Inf weight reaches every token's output of its row (the panel converters
 * and the kernel neither drop nor saturate them); the other rows stay finite. Tails
 * everywhere: 13 rows, B = 17, 288 columns. */
static void check_nan_inf(uint32_t id) {
    const quant_type *t = qtype(id);
    int64_t rows = 13, cols = 288, B = 17, nan_row = 4, inf_row = 11;
    size_t row_bytes;
    char *w = make_weights(t, rows, cols, &row_bytes);
    float *row = malloc(cols * sizeof(float));
    for (int64_t k = 0; k < cols; k++) row[k] = uniform();
    row[cols - 3] = NAN;
    t->quantize(row, w + nan_row * row_bytes, cols, NULL);
    row[cols - 3] = 0.5f, row[7] = INFINITY;
    t->quantize(row, w + inf_row * row_bytes, cols, NULL);
    float *X = malloc(B * cols * sizeof(float)), *Y = malloc(B * rows * sizeof(float));
    for (int64_t i = 0; i < B * cols; i++) X[i] = 0.25f + fabsf(uniform()); /* no 0 * Inf */
    for (int nth = 1; nth <= 2; nth++) {
        run_gemm(GEMM_OWN, t, w, row_bytes, rows, cols, X, B, Y, nth);
        int bad = 0;
        for (int64_t b = 0; b < B; b++)
            for (int64_t r = 0; r < rows; r++) {
                float y = Y[b * rows + r];
                bad += r == nan_row   ? !isnan(y)
                       : r == inf_row ? !(isinf(y) && y > 0)
                                      : !isfinite(y);
            }
        CHECK_MSG(bad == 0, "%s, %d thread(s): %d outputs without the NaN / Inf", t->name, nth,
                  bad);
    }
    free(w), free(row), free(X), free(Y);
}

TEST(gemm_own_propagates_nan_inf) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    check_nan_inf(QT_F32);
    check_nan_inf(QT_F16);
    check_nan_inf(QT_BF16);
    REQUIRE(kernels_init("scalar", NULL) == 0);
    check_nan_inf(QT_F16);
    REQUIRE(kernels_init(NULL, NULL) == 0);
}

/* ---- the batch tiles (vec_dot_tile) against the row kernels, bit for bit ---- */

/* Every type with a tile on `isa`: nrows x nact dot products equal vec_dot of the same ISA
 * exactly (same integer sums, same float operations in the same order), so a token
 * verified in a batch gets the logits decoding it alone gives. Weights from random floats
 * (the type's quantizer) and, for block-32 types, blocks of random bytes with a sane d
 * (every code, every fifth-bit pattern); activations from the ISA's own quantizer. */
static int tile_matches_rows(const type_kernels *k, const quant_type *t, int64_t n, int nrows,
                             int nact, int raw) {
    const quant_type *dt = qtype(t->dot_type);
    from_float_fn from_float = kernels_for(kernels_isa(), dt->id)->from_float;
    size_t w_stride = qtype_row_bytes(t->id, n), a_stride = qtype_row_bytes(dt->id, n);
    char *w = malloc(w_stride * nrows), *a = malloc(a_stride * nact);
    float *x = malloc(n * sizeof(float)), *s = malloc(sizeof(float) * nrows * nact);
    for (int r = 0; r < nrows; r++) {
        for (int64_t i = 0; i < n; i++) x[i] = uniform();
        t->quantize(x, w + r * w_stride, n, NULL);
        for (size_t b = 0; raw && b < w_stride; b++)
            if (b % t->block_bytes >= 4) w[r * w_stride + b] = (char)(uniform() * 256); /* keeps d (and m) */
    }
    for (int j = 0; j < nact; j++) {
        for (int64_t i = 0; i < n; i++) x[i] = uniform() * 4;
        if (from_float)
            from_float(x, a + j * a_stride, n);
        else /* f32 activations (float weights) are used as they are */
            memcpy(a + j * a_stride, x, n * sizeof(float));
    }
    k->vec_dot_tile(n, s, (size_t)nrows, w, w_stride, nrows, a, a_stride, nact);
    int same = 1;
    for (int r = 0; r < nrows; r++)
        for (int j = 0; j < nact; j++) {
            float row = NAN;
            k->vec_dot(n, &row, w + r * w_stride, a + j * a_stride);
            if (memcmp(&row, &s[j * nrows + r], sizeof row) != 0) {
                if (same)
                    test_fail_at(__FILE__, __LINE__, "%s n=%lld %dx%d (%d,%d): tile %.9g row %.9g",
                                 t->name, (long long)n, nrows, nact, r, j, s[j * nrows + r], row);
                same = 0;
            }
        }
    free(w), free(a), free(x), free(s);
    return same;
}

static void check_tiles_match_rows(const char *isa) {
    REQUIRE(kernels_init(isa, NULL) == 0);
    int n_tiled = 0;
    for (int i = 0; qtype_at(i); i++) {
        const quant_type *t = qtype_at(i);
        const type_kernels *k = kernels_for(kernels_isa(), t->id);
        if (!k->vec_dot_tile || !t->quantize) continue;
        n_tiled++;
        /* raw bytes: block-32 types whose bytes after the scales are codes only */
        int raw = t->block == 32 && t->id != QT_FP8_E4M3 && t->id != QT_FP8_E5M2;
        for (int nrows = 1; nrows <= 9; nrows++)
            for (int nact = 1; nact <= 9; nact++)
                CHECK(tile_matches_rows(k, t, 2 * (t->block > 32 ? t->block : 64), nrows, nact, 0));
        CHECK(tile_matches_rows(k, t, 4096, 5, 3, 0));
        if (raw) CHECK(tile_matches_rows(k, t, 1024, 6, 4, 1));
    }
    CHECK(n_tiled >= 5);
}

TEST(gemm_tiles_equal_row_kernels_bitwise) {
    if (cpu_best_isa() == ISA_SCALAR) SKIP("no SIMD ISA on this CPU");
    check_tiles_match_rows(kernels_isa_supported(ISA_AVX512) ? "avx2" : NULL);
    kernels_init(NULL, NULL);
}

TEST(gemm_avx512_tiles_equal_row_kernels_bitwise) {
    SKIP_WITHOUT_AVX512();
    check_tiles_match_rows("avx512");
    kernels_init(NULL, NULL);
}

/* The sign trick of the AVX2 signed-code kernels (|w| x sign(a, w): Q8_0, IQ4_NL, and the
 * Q8_0 x8 tile) is wrong for an activation code of -128: -(-128) does not fit in int8. The
 * Q8_0 activation quantizers give codes in [-127, 127] only: d = amax / 127 bounds finite
 * codes, and the SIMD ones clamp what inf, NaN or a block so small that 1 / d overflows
 * would make. Checked on every ISA's from_float, on such blocks as well. */
static int min_code(from_float_fn from_float, const float *x, int64_t n) {
    block_q8_0 q[8];
    from_float(x, q, n);
    int lo = 0;
    for (int64_t i = 0; i < n; i++)
        if (q[i / 32].qs[i % 32] < lo) lo = q[i / 32].qs[i % 32];
    return lo;
}

TEST(gemm_every_isa_q8_0_activations_never_minus_128) {
    for (int isa = ISA_SCALAR; isa < ISA_COUNT; isa++) {
        if (!kernels_isa_supported((isa_level)isa)) continue;
        REQUIRE(kernels_init(kernels_isa_name((isa_level)isa), NULL) == 0);
        from_float_fn from_float = kernels_for(kernels_isa(), QT_Q8_0)->from_float;
        float x[256];
        for (int trial = 0; trial < 200; trial++) { /* random, one element at -amax */
            for (int i = 0; i < 256; i++) x[i] = uniform() * (trial % 7 + 1);
            x[trial % 256] = -(float)(trial % 7 + 1);
            CHECK_MSG(min_code(from_float, x, 256) >= -127, "%s: code -128",
                      kernels_isa_name((isa_level)isa));
        }
        for (int i = 0; i < 256; i++) x[i] = -1.0f + 0x1p-24f * (float)i; /* near -amax */
        CHECK(min_code(from_float, x, 256) >= -127);
        if (isa == ISA_SCALAR) continue; /* below: inputs the reference leaves unspecified */
        const float odd[] = {-INFINITY, NAN, -1e-38f, -3e-39f, -1e-45f};
        for (int k = 0; k < 5; k++) {
            for (int i = 0; i < 256; i++) x[i] = i % 3 ? odd[k] : 0.0f;
            CHECK_MSG(min_code(from_float, x, 256) >= -127, "%s: code -128 for %g",
                      kernels_isa_name((isa_level)isa), odd[k]);
        }
    }
    kernels_init(NULL, NULL);
}
