/* test_matmul_multi.c - matmul_multi (one fused call over matrices sharing their input)
 * must give exactly what separate matmul() calls give: the same kernels on the same
 * converted activations, only the thread split and the number of parallel regions differ.
 *
 * Groups follow TinyLlama's q/k/v shape scaled down (n_embd : kv_dim = 8 : 1) and gate/up
 * (two equal matrices), with row counts that do and do not end on a 16-row slice, weights
 * packed at load (repack.h) or not, and one group mixing three dot types (q8_0, q8_k, f16
 * activations). B = 1, 5 and 64 tokens, 1 and 2 threads, adaptive thread choice off so 2
 * threads really split the rows. */
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../kernels/matmul.h"
#include "../kernels/repack.h"
#include "../quant/types.h"
#include "kernel_ctx_util.h"
#include "test.h"

#define COLS 512
#define MAX_B 64
#define CANARY 12345.0f

static unsigned rng_state = 7;
static float rand_unit(void) {
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

static qmatrix random_matrix(uint32_t type, int64_t rows, int pack) {
    const quant_type *t = qtype(type);
    size_t row_bytes = qtype_row_bytes(type, COLS);
    char *data = malloc(row_bytes * rows);
    float row[COLS];
    for (int64_t r = 0; r < rows; r++) {
        for (int i = 0; i < COLS; i++) row[i] = rand_unit();
        t->quantize(row, data + r * row_bytes, COLS, NULL);
    }
    qmatrix W = {.data = data, .type = type, .rows = rows, .cols = COLS, .row_bytes = row_bytes};
    if (pack && repack_matrix(&W, kernels_isa()) != 0) W.packed = NULL;
    return W;
}

static void free_matrix(qmatrix *W) {
    if (W->packed) repack_release(W);
    free((void *)W->data);
}

/* Fused vs separate on n matrices for every B and thread count; 1 when all identical. */
static int check_group(const char *label, qmatrix *W, int n) {
    float *X = malloc(sizeof(float) * MAX_B * COLS);
    for (int i = 0; i < MAX_B * COLS; i++) X[i] = rand_unit();
    float *sep[MATMUL_MULTI_MAX], *fused[MATMUL_MULTI_MAX];
    const qmatrix *Wp[MATMUL_MULTI_MAX];
    int ok = 1;
    const int64_t batches[] = {1, 5, MAX_B};
    for (int i = 0; i < n; i++) {
        size_t len = (size_t)W[i].rows * MAX_B + 1; /* + 1: a canary after the last row */
        sep[i] = malloc(len * sizeof(float)), fused[i] = malloc(len * sizeof(float));
        Wp[i] = &W[i];
    }
    for (int nth = 1; nth <= 2; nth++) {
        test_kernel_threads(nth);
        for (int k = 0; k < 3; k++) {
            const int64_t B = batches[k];
            for (int i = 0; i < n; i++) {
                size_t len = (size_t)W[i].rows * B;
                for (size_t j = 0; j <= len; j++) fused[i][j] = CANARY;
                matmul(test_kernels(), &W[i], X, B, sep[i]);
            }
            matmul_multi(test_kernels(), Wp, n, X, B, fused);
            for (int i = 0; i < n; i++) {
                size_t len = (size_t)W[i].rows * B;
                int same = memcmp(sep[i], fused[i], len * sizeof(float)) == 0;
                CHECK_MSG(same, "%s: matrix %d (%s%s, %lld rows) B=%lld threads=%d: fused != separate",
                          label, i, qtype(W[i].type)->name, W[i].packed ? " packed" : "",
                          (long long)W[i].rows, (long long)B, nth);
                CHECK_MSG(fused[i][len] == CANARY, "%s: matrix %d B=%lld threads=%d: wrote past Y",
                          label, i, (long long)B, nth);
                ok &= same && fused[i][len] == CANARY;
            }
        }
    }
    for (int i = 0; i < n; i++) free(sep[i]), free(fused[i]);
    free(X);
    return ok;
}

static void setup(void) {
    kernels_init(NULL, NULL);
    kernel_config cfg = kernel_config_default();
    cfg.adapt_threads = 0; /* so that 2 threads really split the rows */
    test_kernel_set(&cfg);
}

TEST(matmul_multi_qkv_pattern_equals_separate_calls) {
    setup();
    const struct {
        uint32_t type;
        int pack;
    } cases[] = {{QT_Q4_0, 1}, {QT_Q4_0, 0}, {QT_Q8_0, 1}, {QT_Q2_K, 0}, {QT_F16, 0}};
    /* 512/64/64 ends on 16-row slices; 520/72/40 does not (still % 8 for packing). */
    const int64_t shapes[2][3] = {{512, 64, 64}, {520, 72, 40}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int s = 0; s < 2; s++) {
            qmatrix W[3];
            for (int i = 0; i < 3; i++) W[i] = random_matrix(cases[c].type, shapes[s][i], cases[c].pack);
            if (cases[c].pack && cpu_best_isa() != ISA_SCALAR)
                CHECK_MSG(W[0].packed != NULL, "%s: expected a packed copy", qtype(cases[c].type)->name);
            char label[64];
            snprintf(label, sizeof label, "qkv %s %s", qtype(cases[c].type)->name,
                     s ? "520/72/40" : "512/64/64");
            check_group(label, W, 3);
            for (int i = 0; i < 3; i++) free_matrix(&W[i]);
        }
    test_kernel_threads(1);
}

TEST(matmul_multi_gate_up_and_mixed_types_equal_separate_calls) {
    setup();
    qmatrix gate_up[2] = {random_matrix(QT_Q4_0, 704, 1), random_matrix(QT_Q4_0, 704, 1)};
    check_group("gate/up q4_0 packed 704/704", gate_up, 2);
    free_matrix(&gate_up[0]), free_matrix(&gate_up[1]);
    /* Three dot types (q8_0, q8_k, f16) and a matrix with fewer rows than a slice. */
    qmatrix mixed[4] = {random_matrix(QT_Q4_0, 512, 1), random_matrix(QT_Q6_K, 72, 0),
                        random_matrix(QT_F16, 40, 0), random_matrix(QT_Q8_0, 8, 1)};
    check_group("mixed q4_0/q6_k/f16/q8_0", mixed, 4);
    for (int i = 0; i < 4; i++) free_matrix(&mixed[i]);
    /* One matrix: the same as matmul. */
    qmatrix one = random_matrix(QT_Q8_0, 264, 0);
    check_group("single q8_0", &one, 1);
    free_matrix(&one);
    test_kernel_threads(1);
}
