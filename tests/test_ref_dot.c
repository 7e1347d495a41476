/* test_ref_dot.c - every reference vec_dot equals the double-precision dot product of the
 * dequantized weights and the dequantized activations (its dot_type), for several lengths;
 * and the reference activation quantizers round-trip as plain amax/127 rounding. */
#include <stdlib.h>
#include <string.h>

#include "../kernels/ref/ref.h"
#include "../quant/blocks.h"
#include "../quant/types.h"
#include "quant_data.h"
#include "test.h"

/* The scalar ISA's table, filled by ref_install alone (no kernels_init). */
static isa_kernels ref;

static void check_dot(const quant_type *t, int64_t n, uint64_t seed) {
    const quant_type *at = qtype(t->dot_type);
    float *w = malloc(n * sizeof(float)), *a = malloc(n * sizeof(float));
    float *wd = malloc(n * sizeof(float)), *ad = malloc(n * sizeof(float));
    void *wq = malloc(qtype_row_bytes(t->id, n)), *aq = malloc(qtype_row_bytes(at->id, n));
    fill_data(DATA_GAUSS, w, n, seed);
    fill_data(DATA_GAUSS, a, n, seed + 1000);
    t->quantize(w, wq, n, NULL);
    if (at->id == QT_F32) /* Q4_1_F32: the activations as they are */
        memcpy(aq, a, n * sizeof(float));
    else
        ref.type[qtype_index(at->id)].from_float(a, aq, n);
    t->dequantize(wq, wd, n);
    at->dequantize(aq, ad, n);
    double want = 0, mag = 0;
    for (int64_t i = 0; i < n; i++)
        want += (double)wd[i] * ad[i], mag += fabs((double)wd[i] * ad[i]);
    float got = -1;
    ref.type[qtype_index(t->id)].vec_dot(n, &got, wq, aq);
    /* float accumulation over blocks: relative to the sum of |products| */
    CHECK_MSG(fabs(got - want) <= 1e-5 * mag + 1e-6, "%s n=%lld: %.9g vs %.9g", t->name,
              (long long)n, got, want);
    free(w), free(a), free(wd), free(ad), free(wq), free(aq);
}

TEST(ref_dot_matches_dequantized_dot) {
    ref_install(&ref);
    int checked = 0;
    for (int i = 0; qtype_at(i); i++) {
        const quant_type *t = qtype_at(i);
        if (t->block == 1 || t->id == QT_Q8_K) continue; /* float types; Q8_K is activation-only */
        REQUIRE(ref.type[i].vec_dot != NULL &&
                (t->dot_type == QT_F32 || ref.type[qtype_index(t->dot_type)].from_float != NULL));
        const int64_t lengths[] = {256, 512, 2304, 4096};
        for (int k = 0; k < 4; k++) check_dot(t, lengths[k], 7 * k + i);
        if (t->block == 32) check_dot(t, 288, 5 + i); /* rows a K-quant cannot take */
        checked++;
    }
    CHECK(checked >= 14); /* the block formats main had when this was written; more may come */
}

TEST(ref_q8_0_quantizer_rounds_to_amax_over_127) {
    enum { N = 512 };
    float x[N], y[N];
    static block_q8_0 b0[N / 32];
    fill_data(DATA_UNIFORM, x, N, 3);
    x[5] = 2.0f; /* block 0's amax: d = 2/127, that element codes to 127 */
    quantize_row_q8_0_ref(x, b0, N);
    CHECK_EQ_INT(b0[0].qs[5], 127);
    qtype(QT_Q8_0)->dequantize(b0, y, N);
    for (int i = 0; i < N; i++) {
        float amax = 0;
        for (int j = i / 32 * 32; j < i / 32 * 32 + 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        /* half a step, plus 127 codes times the fp16 rounding of d (2^-11 relative) */
        CHECK(fabsf(y[i] - x[i]) <= (0.5f + 127.0f / 2048) * amax / 127 + 1e-7f);
    }
}

/* Q8_K is ggml's quantize_row_q8_K_ref: iscale = -127 / max with max the signed value of
 * largest magnitude (the first on ties), q = min(127, round-half-even(iscale x)), d = 1 /
 * iscale; bsums sum each 16 codes. So a positive max codes to -127 with d < 0, a negative
 * one to -127 with d > 0, and an opposite value of equal magnitude to +127. */
TEST(ref_q8_k_quantizer_is_ggmls) {
    enum { N = 768 };
    float x[N], y[N];
    static block_q8_K bk[N / 256];
    fill_data(DATA_UNIFORM, x, N, 3);
    x[5] = 2.0f, x[9] = -2.0f; /* block 0: positive max first */
    x[256 + 7] = -3.0f;        /* block 1: negative max */
    /* block 2: max 127/128 makes iscale -128 exactly, so (k + 0.5) / 128 are exact ties */
    x[512 + 1] = 127.0f / 128;
    for (int j = 2; j < 256; j++) x[512 + j] = (j % 2 ? 1 : -1) * (0.5f + (float)(j % 5)) / 128;
    quantize_row_q8_k_ref(x, bk, N);
    CHECK_EQ_INT(bk[0].qs[5], -127);
    CHECK_EQ_INT(bk[0].qs[9], 127);
    CHECK(bk[0].d == 1 / (-127.0f / 2.0f) && bk[0].d < 0);
    CHECK_EQ_INT(bk[1].qs[7], -127);
    CHECK(bk[1].d == 1 / (-127.0f / -3.0f) && bk[1].d > 0);
    CHECK(bk[2].d == -1.0f / 128);
    for (int j = 2; j < 256; j++) { /* -(k + 0.5) rounds to the even neighbour */
        int k = j % 5, even = k % 2 ? k + 1 : k;
        CHECK_EQ_INT(bk[2].qs[j], (j % 2 ? -1 : 1) * even);
    }
    qtype(QT_Q8_K)->dequantize(bk, y, N);
    for (int k = 0; k < N / 256; k++) {
        float amax = 0;
        for (int j = 0; j < 256; j++) amax = fmaxf(amax, fabsf(x[256 * k + j]));
        for (int j = 0; j < 256; j++) /* half a step, and the sign kept */
            CHECK(fabsf(y[256 * k + j] - x[256 * k + j]) <= 0.5001f * amax / 127);
        for (int s = 0; s < 16; s++) {
            int sum = 0;
            for (int j = 0; j < 16; j++) sum += bk[k].qs[16 * s + j];
            CHECK_EQ_INT(bk[k].bsums[s], sum);
        }
    }
}
