/* test_moe_kernels.c - the kernels the MoE, MLA and gpt-oss passes run on the pool:
 * matmul_each (products with their own inputs in one pool call) must give exactly what
 * separate matmul() calls give, and attention with sinks (attention_heads_sinks through
 * kernel_ctx_attention) must equal a double-precision two-pass softmax with the sink in
 * the denominator. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../kernels/matmul.h"
#include "../kernels/ref/ref.h"
#include "../kernels/repack.h"
#include "../quant/types.h"
#include "isa_util.h"
#include "kernel_ctx_util.h"
#include "test.h"

#define CANARY 12345.0f

static unsigned rng_state = 11;
static float rand_unit(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

static qmatrix random_matrix(uint32_t type, int64_t rows, int64_t cols, int pack) {
    const quant_type *t = qtype(type);
    const size_t row_bytes = qtype_row_bytes(type, cols);
    char *data = malloc(row_bytes * rows);
    float *row = malloc(sizeof(float) * cols);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < cols; i++) row[i] = rand_unit();
        t->quantize(row, data + r * row_bytes, cols, NULL);
    }
    free(row);
    qmatrix W = {.data = data, .type = type, .rows = rows, .cols = cols, .row_bytes = row_bytes};
    if (pack && repack_matrix(&W, kernels_isa()) != 0) W.packed = NULL;
    return W;
}

static void setup(int threads) {
    kernels_init(NULL, NULL);
    kernel_config cfg = kernel_config_default();
    cfg.adapt_threads = 0; /* so that 2 threads really split the rows */
    test_kernel_set(&cfg);
    test_kernel_threads(threads);
}

/* n products over the matrices W[i % n_w]: inputs shared by pairs (gate/up of one expert)
 * or not, B from batches[i % n_b]; matmul_each against one matmul() per product. */
static void check_each(const char *label, qmatrix *W, int n_w, int n, const int64_t *batches,
                       int n_b) {
    matmul_item *items = malloc(sizeof *items * n);
    float **X = malloc(sizeof *X * n), **sep = malloc(sizeof *sep * n);
    for (int i = 0; i < n; i++) {
        const qmatrix *w = &W[i % n_w];
        const int64_t B = batches[i % n_b];
        const size_t len = (size_t)w->rows * B;
        /* product i shares product i-1's input when both have its columns and batch */
        const int share = i % 2 && W[(i - 1) % n_w].cols == w->cols && batches[(i - 1) % n_b] == B;
        X[i] = share ? NULL : malloc(sizeof(float) * B * w->cols);
        for (int64_t j = 0; !share && j < B * w->cols; j++) X[i][j] = rand_unit();
        items[i] =
            (matmul_item){w, share ? items[i - 1].X : X[i], B, malloc(sizeof(float) * (len + 1))};
        for (size_t j = 0; j <= len; j++) items[i].Y[j] = CANARY;
        sep[i] = malloc(sizeof(float) * len);
        REQUIRE(matmul(test_kernels(), w, items[i].X, B, sep[i]) == 0);
    }
    CHECK_MSG(matmul_each(test_kernels(), items, n) == 0, "%s: matmul_each failed: %s", label,
              kernel_ctx_error(test_kernels()));
    for (int i = 0; i < n; i++) {
        const size_t len = (size_t)items[i].W->rows * items[i].B;
        CHECK_MSG(memcmp(sep[i], items[i].Y, len * sizeof(float)) == 0,
                  "%s: product %d (%s%s, %lld x %lld, B=%lld) != matmul", label, i,
                  qtype(items[i].W->type)->name, items[i].W->packed ? " packed" : "",
                  (long long)items[i].W->rows, (long long)items[i].W->cols, (long long)items[i].B);
        CHECK_MSG(items[i].Y[len] == CANARY, "%s: product %d wrote past Y", label, i);
        free(sep[i]), free(items[i].Y), free(X[i]);
    }
    free(items), free(X), free(sep);
}

static void free_matrices(qmatrix *W, int n) {
    for (int i = 0; i < n; i++) {
        if (W[i].packed) repack_release(&W[i]);
        free((void *)W[i].data);
    }
}

TEST(moe_matmul_each_equals_separate_matmuls) {
    for (int threads = 1; threads <= 2; threads++) {
        setup(threads);
        /* experts of a decode step: gate/up pairs sharing x, packed q4_0 and plain q8_0,
         * 512 and 520 rows (a partial 16-row slice), and f32/f16/q6_k (other dot types) */
        qmatrix W[6] = {random_matrix(QT_Q4_0, 512, 256, 1), random_matrix(QT_Q4_0, 520, 256, 1),
                        random_matrix(QT_Q8_0, 72, 256, 0),  random_matrix(QT_F32, 40, 256, 0),
                        random_matrix(QT_F16, 48, 512, 0),   random_matrix(QT_Q6_K, 24, 512, 0)};
        const int64_t decode[] = {1}, grouped[] = {1, 3, 1, 5, 2};
        check_each("decode, 16 products", W, 6, 16, decode, 1);
        check_each("grouped tokens, 20 products", W, 6, 20, grouped, 5);
        /* more products than one pool call takes (EACH_GROUP), and batches large enough
         * for the f32 GEMM paths between tiled ones */
        const int64_t mixed[] = {1, 64, 2};
        check_each("150 products, B up to 64", W, 6, 150, mixed, 3);
        free_matrices(W, 6);
    }
    test_kernel_threads(1);
}

/* Expert batches of 16+ tokens through matmul_each take the token-lane GEMM (GEMM_X16) as
 * matmul() does: packed Q4_0 / Q8_0 experts and Q4_K ones (file layout), gate/up pairs
 * sharing their gathered input, among batches of fewer tokens (the int8 tiles; packed
 * experts take x16 from 8 tokens: EACH_X16_PACKED_MIN in kernels/matmul.c). Every
 * product equals the row reference (vec_dot_*_ref on the Q8_0 / Q8_K rows of its input)
 * bit for bit on 1 and 2 threads (Q4_K's tiles below 16 tokens within 1e-5: they fold in
 * another order), and kernel_usage.x16_work counts exactly the x16 ones. */
TEST(moe_matmul_each_x16_equals_row_reference) {
    SKIP_WITHOUT_NATIVE_AVX512();
    REQUIRE(kernels_init("avx512", NULL) == 0);
    enum { NW = 3, N = 16 };
    const uint32_t types[NW] = {QT_Q4_0, QT_Q8_0, QT_Q4_K};
    const vec_dot_fn refs[NW] = {vec_dot_q4_0_ref, vec_dot_q8_0_ref, vec_dot_q4_k_ref};
    const int64_t cols = 512, batches[N / 2] = {16, 3, 40, 8, 1, 12, 7, 33};
    qmatrix W[NW];
    for (int w = 0; w < NW; w++) W[w] = random_matrix(types[w], 136, cols, 1);
    REQUIRE(W[0].packed && W[1].packed);
    float *X[N / 2], *Y[N];
    matmul_item items[N];
    double want_x16 = 0;
    for (int i = 0; i < N; i++) { /* items 2j and 2j+1: one expert's gate and up */
        const int64_t B = batches[i / 2];
        if (i % 2 == 0) {
            X[i / 2] = malloc(sizeof(float) * B * cols);
            for (int64_t j = 0; j < B * cols; j++) X[i / 2][j] = rand_unit();
        }
        const qmatrix *w = &W[(i / 2 + i % 2) % NW];
        Y[i] = malloc(sizeof(float) * B * w->rows);
        items[i] = (matmul_item){w, X[i / 2], B, Y[i]};
        /* packed experts with a token-lane kernel of their packed layout (Q4_0, Q8_0; not
         * Q4_K's q4_kx8, whose x16 reads the file rows) from 8 tokens */
        const int packed_x16 = w->packed && kernels_for(ISA_AVX512, w->type)->packed_gemm;
        if (B >= 16 || (B >= 8 && packed_x16))
            want_x16 += (double)w->rows * (double)w->row_bytes * (double)B;
    }
    char *act = malloc(qtype_row_bytes(QT_Q8_K, cols) + qtype_row_bytes(QT_Q8_0, cols));
    for (int threads = 1; threads <= 2; threads++) {
        setup(threads);
        const double x16_before = kernel_ctx_usage(test_kernels()).x16_work;
        CHECK_MSG(matmul_each(test_kernels(), items, N) == 0, "matmul_each: %s",
                  kernel_ctx_error(test_kernels()));
        CHECK_MSG(kernel_ctx_usage(test_kernels()).x16_work - x16_before == want_x16,
                  "%d threads: x16 work %.0f, the 16+ token products are %.0f", threads,
                  kernel_ctx_usage(test_kernels()).x16_work - x16_before, want_x16);
        for (int i = 0; i < N; i++) {
            const qmatrix *w = items[i].W;
            const int t = (int)(w - W);
            const uint32_t dot = qtype(w->type)->dot_type;
            int bad = 0;
            for (int64_t b = 0; b < items[i].B && !bad; b++) {
                kernels_for(ISA_AVX512, dot)->from_float
                    ? kernels_for(ISA_AVX512, dot)->from_float(items[i].X + b * cols, act, cols)
                    : qtype(dot)->quantize(items[i].X + b * cols, act, cols, NULL);
                for (int64_t r = 0; r < w->rows && !bad; r++) {
                    float s;
                    refs[t](cols, &s, (const char *)w->data + r * w->row_bytes, act);
                    const float got = items[i].Y[b * w->rows + r];
                    /* Q4_K's tiles of < 16 tokens fold in another order: near, not equal */
                    bad = w->type == QT_Q4_K && items[i].B < 16
                              ? !(fabsf(got - s) <= 1e-5f * (1.0f + fabsf(s)))
                              : memcmp(&s, &got, 4) != 0;
                    CHECK_MSG(!bad, "%d threads, product %d (%s, B=%lld) [%lld][%lld]: %.9g vs %.9g",
                              threads, i, qtype(w->type)->name, (long long)items[i].B,
                              (long long)b, (long long)r, items[i].Y[b * w->rows + r], s);
                }
            }
        }
    }
    for (int i = 0; i < N; i++) free(Y[i]);
    for (int i = 0; i < N / 2; i++) free(X[i]);
    free(act);
    free_matrices(W, NW);
    test_kernel_threads(1);
}

/* A context sized for 32 tokens of 512 columns holds four x16 inputs of 32 tokens: ten
 * distinct inputs of 32 tokens (and their shared pairs) split into several pool calls,
 * each product still equal to its own matmul() and all of them on the x16 kernel. */
TEST(moe_matmul_each_x16_splits_when_the_slots_fill) {
    SKIP_WITHOUT_NATIVE_AVX512();
    REQUIRE(kernels_init("avx512", NULL) == 0);
    kernel_config cfg = kernel_config_default();
    cfg.adapt_threads = 0, cfg.rescue = 0;
    const kernel_shape shape = {.max_cols = 512, .max_row_bytes = 512 * 4, .max_batch = 32};
    char msg[128];
    kernel_ctx *k = kernel_ctx_new(&cfg, &shape, msg);
    CHECK_MSG(k != NULL, "kernel_ctx_new: %s", msg);
    REQUIRE(k != NULL);
    enum { N = 20, B = 32 };
    qmatrix W = random_matrix(QT_Q4_0, 64, 512, 1);
    REQUIRE(W.packed != NULL);
    matmul_item items[N];
    float *X[N / 2], *sep[N];
    for (int i = 0; i < N; i++) {
        if (i % 2 == 0) {
            X[i / 2] = malloc(sizeof(float) * B * 512);
            for (int j = 0; j < B * 512; j++) X[i / 2][j] = rand_unit();
        }
        items[i] = (matmul_item){&W, X[i / 2], B, malloc(sizeof(float) * B * 64)};
        sep[i] = malloc(sizeof(float) * B * 64);
        REQUIRE(matmul(k, &W, X[i / 2], B, sep[i]) == 0);
    }
    const double before = kernel_ctx_usage(k).x16_work;
    const int rc = matmul_each(k, items, N);
    CHECK_MSG(rc == 0, "matmul_each: %s", kernel_ctx_error(k));
    CHECK(kernel_ctx_usage(k).x16_work - before == (double)N * 64 * W.row_bytes * B);
    for (int i = 0; i < N; i++) {
        CHECK_MSG(memcmp(sep[i], items[i].Y, sizeof(float) * B * 64) == 0,
                  "product %d != matmul", i);
        free(sep[i]), free(items[i].Y);
    }
    for (int i = 0; i < N / 2; i++) free(X[i]);
    free_matrices(&W, 1);
    kernel_ctx_free(k);
}

/* A decode step's expert products (8 experts' gate and up, 16 x 1024 rows: 1024 16-row
 * units, past ALWAYS_SHARED_UNITS in kernels/matmul.c) run shared on every call with the
 * pool's adaptive mode on, whatever its timing says (the second call of a kind would run
 * alone otherwise), and equal the products on one thread bit for bit. */
TEST(moe_large_decode_calls_are_always_shared) {
    kernels_init(NULL, NULL);
    kernel_config cfg = kernel_config_default();
    cfg.adapt_threads = 1, cfg.steal = 1, cfg.rescue = 1, cfg.threads = 2;
    const kernel_shape shape = {.max_cols = 256, .max_row_bytes = 256 * 4, .max_batch = 1,
                                .max_rows = 1024};
    char msg[128];
    kernel_ctx *two = kernel_ctx_new(&cfg, &shape, msg);
    cfg.threads = 1;
    kernel_ctx *one = kernel_ctx_new(&cfg, &shape, msg);
    REQUIRE(two != NULL && one != NULL);
    enum { EXPERTS = 8, N = 2 * EXPERTS, ROWS = 1024, CALLS = 40 };
    qmatrix W[N];
    for (int i = 0; i < N; i++) W[i] = random_matrix(QT_Q4_0, ROWS, 256, 1);
    float x[256];
    for (int j = 0; j < 256; j++) x[j] = rand_unit();
    matmul_item items[N], ref[N];
    for (int i = 0; i < N; i++) {
        items[i] = (matmul_item){&W[i], x, 1, malloc(sizeof(float) * ROWS)};
        ref[i] = (matmul_item){&W[i], x, 1, malloc(sizeof(float) * ROWS)};
    }
    REQUIRE(matmul_each(one, ref, N) == 0);
    const pool_stats before = kernel_ctx_pool_stats(two);
    for (int c = 0; c < CALLS; c++) {
        CHECK_MSG(matmul_each(two, items, N) == 0, "matmul_each: %s", kernel_ctx_error(two));
        for (int i = 0; i < N; i++)
            CHECK_MSG(memcmp(items[i].Y, ref[i].Y, sizeof(float) * ROWS) == 0,
                      "call %d: product %d on 2 threads != 1 thread", c, i);
    }
    const pool_stats after = kernel_ctx_pool_stats(two);
    CHECK_MSG(after.calls - before.calls == CALLS, "%llu pool calls for %d matmul_each",
              (unsigned long long)(after.calls - before.calls), CALLS);
    CHECK_MSG(after.solo == before.solo, "%llu of %d calls ran on the caller alone",
              (unsigned long long)(after.solo - before.solo), CALLS);
    for (int i = 0; i < N; i++) free(items[i].Y), free(ref[i].Y);
    free_matrices(W, N);
    kernel_ctx_free(two);
    kernel_ctx_free(one);
}

/* Double-precision causal attention with a sink per head over keys first..p. */
static void sinks_reference(double *out, const float *q, const float *k, const float *v, int p,
                            int first, int n_head, int n_head_kv, int head_dim, float scale,
                            const float *sinks) {
    const int group = n_head / n_head_kv, kv_dim = n_head_kv * head_dim;
    for (int h = 0; h < n_head; h++) {
        const float *qh = q + (size_t)h * head_dim;
        const size_t off = (size_t)(h / group) * head_dim;
        double s[64], mx = sinks[h], sum = 0;
        for (int t = first; t <= p; t++) {
            double dot = 0;
            for (int i = 0; i < head_dim; i++)
                dot += (double)qh[i] * k[(size_t)t * kv_dim + off + i];
            s[t - first] = dot * scale;
            if (s[t - first] > mx) mx = s[t - first];
        }
        for (int t = first; t <= p; t++) sum += s[t - first] = exp(s[t - first] - mx);
        sum += exp(sinks[h] - mx);
        for (int i = 0; i < head_dim; i++) {
            double o = 0;
            for (int t = first; t <= p; t++)
                o += s[t - first] / sum * v[(size_t)t * kv_dim + off + i];
            out[(size_t)h * head_dim + i] = o;
        }
    }
}

TEST(moe_attention_sinks_match_double_reference) {
    enum { B = 6, POS0 = 9, N_HEAD = 8, N_KV = 2, HD = 24, N_POS = POS0 + B };
    const int q_dim = N_HEAD * HD, kv_dim = N_KV * HD;
    float q[B * N_HEAD * HD], k[N_POS * N_KV * HD], v[N_POS * N_KV * HD], out[B * N_HEAD * HD];
    float sinks[N_HEAD];
    for (int i = 0; i < B * q_dim; i++) q[i] = 2.0f * rand_unit();
    for (int i = 0; i < N_POS * kv_dim; i++) k[i] = 2.0f * rand_unit(), v[i] = rand_unit();
    /* sinks below, near and far above the scores (a sink that takes most of the weight),
     * and one that takes none */
    const float sink_values[N_HEAD] = {-2.0f, 0.0f, 0.5f, 6.0f, -INFINITY, 1.0f, -0.5f, 3.0f};
    memcpy(sinks, sink_values, sizeof sinks);
    for (int threads = 1; threads <= 2; threads++) {
        setup(threads);
        for (int window = 0; window <= 4; window += 4) {
            const attention_args a = {.ops = kernel_ctx_ops(test_kernels()),
                                      .out = out,
                                      .q = q,
                                      .k = k,
                                      .v = v,
                                      .B = B,
                                      .pos0 = POS0,
                                      .n_head = N_HEAD,
                                      .n_head_kv = N_KV,
                                      .head_dim = HD,
                                      .kv_stride = kv_dim,
                                      .scale = 1.0f / sqrtf((float)HD),
                                      .window = window,
                                      .sinks = sinks};
            kernel_ctx_attention(test_kernels(), &a);
            double worst = 0;
            for (int b = 0; b < B; b++) {
                const int p = POS0 + b, first = window && p >= window ? p - window + 1 : 0;
                double ref[N_HEAD * HD];
                sinks_reference(ref, q + b * q_dim, k, v, p, first, N_HEAD, N_KV, HD, a.scale,
                                sinks);
                for (int i = 0; i < q_dim; i++) {
                    const double d = fabs(ref[i] - out[b * q_dim + i]);
                    if (!(d <= worst)) worst = d; /* NaN sticks */
                }
            }
            CHECK_MSG(worst < 1e-5, "threads %d window %d: max |sinks - reference| = %g", threads,
                      window, worst);
        }
    }
    test_kernel_threads(1);
}
