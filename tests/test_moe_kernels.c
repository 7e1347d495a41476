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
#include "../kernels/repack.h"
#include "../quant/types.h"
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
