/* test_avx2_x16_iq.c - the AVX2 batch kernel of the codebook formats and IQ4_XS, 16 tokens in
 * the lanes (kernels/x86/avx2_x16_iq.c, row_gemm of the avx2 set): every row and token has the
 * bits of vec_dot_<fmt>_ref, on the quantizer's rows, on any bytes (every grid index, sign and
 * scale) with a finite d, on the extreme codes and scales against activation codes -128 / 127,
 * for row counts with 1-3 rows left over and token counts past a group of 16; and matmul
 * takes it for 16+ tokens with the same bits on 1 and 2 threads. Runs on any AVX2 CPU. */
#include <stdlib.h>
#include <string.h>

#include "../kernels/act_x16.h"
#include "../kernels/cpu.h"
#include "../kernels/matmul.h"
#include "../kernels/ref/ref.h"
#include "../quant/blocks.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "kernel_ctx_util.h"
#include "test.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t next_u32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static const uint32_t ids[] = {QT_IQ2_XXS, QT_IQ2_XS, QT_IQ2_S, QT_IQ3_XXS,
                               QT_IQ3_S,   QT_IQ1_S,  QT_IQ1_M, QT_IQ4_XS};
static const vec_dot_fn refs[] = {vec_dot_iq2_xxs_ref, vec_dot_iq2_xs_ref, vec_dot_iq2_s_ref,
                                  vec_dot_iq3_xxs_ref, vec_dot_iq3_s_ref,  vec_dot_iq1_s_ref,
                                  vec_dot_iq1_m_ref,   vec_dot_iq4_xs_ref};
enum { NI = sizeof ids / sizeof ids[0] };

/* How the weight bytes are made: the quantizer's rows, random bytes with a random finite d,
 * or every byte `fill` with d = 65504 (IQ1_M keeps its d in its scales' high nibbles, so
 * it takes the quantizer's rows only). */
enum { ROWS_QUANT, ROWS_RANDOM, ROWS_FILL };

static void set_d(uint8_t *w, size_t bytes, size_t bb, float d) {
    for (size_t b = 0; b < bytes / bb; b++) {
        const uint16_t h = f32_to_fp16(d == 0 ? (float)(next_u32() % 2000) * 1e-4f - 0.1f : d);
        memcpy(w + b * bb, &h, 2); /* these formats but IQ1_M start with their fp16 d */
    }
}

/* B Q8_K rows of cols: codes -128..127 at random, or all `code` (1..127 / -128) with d 1. */
static block_q8_K *make_act(int64_t B, int64_t cols, int code) {
    block_q8_K *a = malloc((size_t)(B * cols / QK_K) * sizeof *a);
    for (int64_t i = 0; i < B * cols / QK_K; i++) {
        a[i].d = code ? 1.0f : (float)(next_u32() % 1000 + 1) * 1e-5f;
        for (int k = 0; k < QK_K; k++)
            a[i].qs[k] = (int8_t)(code ? code : (int)(next_u32() % 256) - 128);
        for (int k = 0; k < QK_K / 16; k++) {
            int s = 0;
            for (int e = 16 * k; e < 16 * k + 16; e++) s += a[i].qs[e];
            a[i].bsums[k] = (int16_t)s;
        }
    }
    return a;
}

/* row_gemm of format t on rows x cols against B tokens equals the row reference; 1 if so. */
static int rows_same(int t, int64_t rows, int64_t cols, int64_t B, int how, int fill, int code) {
    const quant_type *q = qtype(ids[t]);
    qmatrix W = test_random_matrix(ids[t], rows, cols);
    uint8_t *w = (uint8_t *)W.data;
    const size_t bytes = W.row_bytes * rows;
    if (how == ROWS_RANDOM)
        for (size_t i = 0; i < bytes; i++) w[i] = (uint8_t)next_u32();
    if (how == ROWS_FILL) memset(w, fill, bytes);
    if (how != ROWS_QUANT) set_d(w, bytes, q->block_bytes, how == ROWS_FILL ? 65504.0f : 0);
    const size_t a_row = qtype_row_bytes(QT_Q8_K, cols);
    block_q8_K *a = make_act(B, cols, code);
    uint8_t *x = aligned_alloc(64, act_x16k_bytes(B, cols));
    act_x16k_pack(a, a_row, B, cols, x);
    float *Y = malloc((size_t)(rows * B) * 4);
    memset(Y, 0xA5, (size_t)(rows * B) * 4);
    kernels_for(ISA_AVX2, ids[t])->row_gemm(cols, Y, rows, w, W.row_bytes, (int)rows, x, B);
    int same = 1;
    for (int64_t b = 0; b < B && same; b++)
        for (int64_t r = 0; r < rows && same; r++) {
            float s;
            refs[t](cols, &s, w + r * W.row_bytes, (const char *)a + b * a_row);
            if (memcmp(&s, &Y[b * rows + r], 4))
                same = 0, test_fail_at(__FILE__, __LINE__,
                                       "%s rows=%lld cols=%lld B=%lld how %d fill %#x code %d "
                                       "[%lld][%lld]: %.9g vs ref %.9g",
                                       q->name, (long long)rows, (long long)cols, (long long)B,
                                       how, fill, code, (long long)b, (long long)r,
                                       Y[b * rows + r], s);
        }
    free(a), free(x), free(Y), free(w);
    return same;
}

TEST(avx2_x16_iq_rows_equal_row_reference) {
    if (!kernels_isa_supported(ISA_AVX2)) SKIP("no AVX2 on this CPU");
    REQUIRE(kernels_init("avx2", NULL) == 0);
    for (int t = 0; t < NI; t++) {
        REQUIRE(kernels_for(ISA_AVX2, ids[t])->row_gemm != NULL);
        CHECK(rows_same(t, 8, 256, 16, ROWS_QUANT, 0, 0));
        CHECK(rows_same(t, 7, 768, 17, ROWS_QUANT, 0, 0)); /* 4 + 3 rows, 1 token past 16 */
        CHECK(rows_same(t, 13, 2048, 64, ROWS_QUANT, 0, 0)); /* 9 super-blocks: 2 spans */
        CHECK(rows_same(t, 2, 256, 33, ROWS_QUANT, 0, 0));
        CHECK(rows_same(t, 5, 512, 144, ROWS_QUANT, 0, 0)); /* 9 groups: 2 passes of 8 */
        if (ids[t] == QT_IQ1_M) continue;
        CHECK(rows_same(t, 6, 512, 33, ROWS_RANDOM, 0, 0));
        CHECK(rows_same(t, 1, 256, 31, ROWS_RANDOM, 0, 0));
    }
}

/* The largest magnitudes (all index, sign and scale bits set: 0xFF) and zeros, d = 65504,
 * against codes 127 and -128: the int16 pair sums at their bound, the float products at the
 * edge of overflow (inf alike in both). */
TEST(avx2_x16_iq_extremes) {
    if (!kernels_isa_supported(ISA_AVX2)) SKIP("no AVX2 on this CPU");
    REQUIRE(kernels_init("avx2", NULL) == 0);
    const int fills[] = {0xFF, 0x00, 0x80, 0x7F}, codes[] = {127, -128, 1};
    for (int t = 0; t < NI; t++) {
        if (ids[t] == QT_IQ1_M) continue;
        for (int f = 0; f < 4; f++)
            for (int c = 0; c < 3; c++) CHECK(rows_same(t, 5, 512, 18, ROWS_FILL, fills[f], codes[c]));
    }
}

/* matmul of 16+ tokens on the avx2 set takes row_gemm: the row reference's bits. */
TEST(avx2_x16_iq_matmul_equals_row_reference) {
    if (!kernels_isa_supported(ISA_AVX2)) SKIP("no AVX2 on this CPU");
    REQUIRE(kernels_init("avx2", NULL) == 0);
    kernel_config cfg = kernel_config_default();
    cfg.adapt_threads = 0;
    REQUIRE(test_kernel_set(&cfg) == 0);
    const int64_t rows = 70, cols = 512, B = 20;
    for (int t = 0; t < NI; t++) {
        qmatrix W = test_random_matrix(ids[t], rows, cols);
        float *x = malloc(B * cols * 4), *Y = malloc(B * rows * 4);
        for (int64_t i = 0; i < B * cols; i++) x[i] = test_uniform();
        block_q8_K *a = malloc(qtype_row_bytes(QT_Q8_K, cols));
        for (int th = 1; th <= 2; th++) {
            test_kernel_threads(th);
            REQUIRE(matmul(test_kernels(), &W, x, B, Y) == 0);
            int bad = 0;
            for (int64_t b = 0; b < B && !bad; b++) {
                kernels_for(ISA_AVX2, QT_Q8_K)->from_float(x + b * cols, a, cols);
                for (int64_t r = 0; r < rows && !bad; r++) {
                    float s;
                    refs[t](cols, &s, (const char *)W.data + r * W.row_bytes, a);
                    bad = memcmp(&s, &Y[b * rows + r], 4) != 0;
                    CHECK_MSG(!bad, "%s %d thr [%lld][%lld]: %.9g vs %.9g", qtype(ids[t])->name,
                              th, (long long)b, (long long)r, Y[b * rows + r], s);
                }
            }
        }
        free(x), free(Y), free(a), free((void *)W.data);
    }
    test_kernel_threads(1);
}

/* SCARCE_KBENCH=1: TSC ticks per row super-block and group of 16 tokens of each format's
 * row_gemm on the avx2 set, the least of 40 calls over 64 rows x 2048 (the quantizer's rows)
 * at B = 16, 64 and 128 (the unpack of a span is shared by up to 8 groups: t(B) = core +
 * unpack / groups). Figures, not checks; run under the bench lock (BRIEF). */
static uint64_t tsc_now(void) {
#if defined(__x86_64__)
    return __builtin_ia32_rdtsc();
#else
    return 0; /* kernels_isa_supported(ISA_AVX2) is 0 there: the test skips */
#endif
}

TEST(avx2_x16_iq_kbench) {
    const char *on = getenv("SCARCE_KBENCH");
    if (!on || strcmp(on, "1") != 0) SKIP("set SCARCE_KBENCH=1 for the kernel figures");
    if (!kernels_isa_supported(ISA_AVX2)) SKIP("no AVX2 on this CPU");
    REQUIRE(kernels_init("avx2", NULL) == 0);
    enum { ROWS = 64, COLS = 2048, BMAX = 128 };
    const int Bs[] = {16, 64, 128};
    block_q8_K *a = make_act(BMAX, COLS, 0);
    uint8_t *x = aligned_alloc(64, act_x16k_bytes(BMAX, COLS));
    float *Y = malloc((size_t)ROWS * BMAX * 4);
    fprintf(stderr, "%-8s %8s %8s %8s  (ticks / row super-block / 16 tokens)\n", "type", "B=16",
            "B=64", "B=128");
    for (int t = 0; t < NI; t++) {
        qmatrix W = test_random_matrix(ids[t], ROWS, COLS);
        const x16_gemm_fn f = kernels_for(ISA_AVX2, ids[t])->row_gemm;
        fprintf(stderr, "%-8s", qtype(ids[t])->name);
        for (int i = 0; i < 3; i++) {
            act_x16k_pack(a, qtype_row_bytes(QT_Q8_K, COLS), Bs[i], COLS, x);
            uint64_t best = UINT64_MAX;
            for (int rep = 0; rep < 40; rep++) {
                const uint64_t t0 = tsc_now();
                f(COLS, Y, ROWS, W.data, W.row_bytes, ROWS, x, Bs[i]);
                const uint64_t dt = tsc_now() - t0;
                if (dt < best) best = dt;
            }
            fprintf(stderr, " %8.1f", (double)best / (ROWS * (COLS / QK_K) * (Bs[i] / 16)));
        }
        fprintf(stderr, "\n");
        free((void *)W.data);
    }
    free(a), free(x), free(Y);
    CHECK(1);
}
