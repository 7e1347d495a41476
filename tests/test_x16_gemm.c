/* test_x16_gemm.c - the token-lane GEMM of large batches on the packed Q4_0 / Q4_1 / Q8_0
 * layouts (kernels/act_x16.h, kernels/x86/avx512_x16_gemm.c, amx_gemm.c): the x16 activation
 * layout itself, the AVX-512 and AMX kernels bit for bit against the packed references on random,
 * edge-value and tail shapes, and matmul / matmul_multi taking them for 16+ tokens with
 * the same bits as the row references on 1 and 2 threads. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/act_x16.h"
#include "../kernels/cpu.h"
#include "../kernels/gemm.h"
#include "../kernels/kconfig.h"
#include "../kernels/matmul.h"
#include "../kernels/ref/ref.h"
#include "../kernels/repack.h"
#include "../quant/blocks.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "isa_util.h"
#include "kernel_ctx_util.h"
#include "test.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_u32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static const uint32_t types[] = {QT_Q4_0, QT_Q8_0, QT_Q4_1};
static const x8_layout *const layouts[] = {&x8_q4_0, &x8_q8_0, &x8_q4_1};
enum { NT = 3 };

/* B random Q8_0 activation rows of cols (codes -128..127: the kernels are exact for all). */
static block_q8_0 *random_act(int64_t B, int64_t cols, int fill, float d) {
    block_q8_0 *a = malloc((size_t)(B * cols / QK32) * sizeof *a);
    for (int64_t i = 0; i < B * cols / QK32; i++) {
        a[i].d = f32_to_fp16(fill ? d : (float)(next_u32() % 1000 + 1) * 1e-4f);
        for (int k = 0; k < QK32; k++)
            a[i].qs[k] = (int8_t)(fill ? fill : (int)(next_u32() % 256) - 128);
    }
    return a;
}

TEST(x16_layout_holds_codes_scales_sums) {
    const int64_t B = 19, cols = 64, nb = cols / QK32;
    block_q8_0 *a = random_act(B, cols, 0, 0);
    uint8_t *x = aligned_alloc(64, act_x16_bytes(B, cols));
    REQUIRE(x != NULL);
    CHECK(act_x16_bytes(B, cols) == 2 * 2 * X16_BLOCK_BYTES);
    act_x16_pack(a, nb * sizeof(block_q8_0), B, cols, x);
    for (int64_t b = 0; b < 32; b++)
        for (int64_t i = 0; i < nb; i++) {
            const uint8_t *blk = x + ((b / 16) * nb + i) * X16_BLOCK_BYTES;
            const int t = (int)(b % 16);
            float d;
            int32_t sum, want = 0;
            memcpy(&d, blk + X16_D_AT + 4 * t, 4), memcpy(&sum, blk + X16_SUM_AT + 4 * t, 4);
            if (b >= B) { /* the padding tokens are zero */
                CHECK(d == 0 && sum == 0);
                for (int c = 0; c < 8; c++) CHECK(memcmp(blk + 64 * c + 4 * t, "\0\0\0\0", 4) == 0);
                continue;
            }
            const block_q8_0 *ab = &a[b * nb + i];
            for (int k = 0; k < QK32; k++) want += ab->qs[k];
            CHECK(sum == want && d == fp16_to_f32(ab->d));
            for (int c = 0; c < 8; c++) CHECK(memcmp(blk + 64 * c + 4 * t, ab->qs + 4 * c, 4) == 0);
        }
    free(a), free(x);
}

/* The x16 kernel of isa (avx512, or amx: its tile products) vs the layout's packed reference
 * on B tokens; 1 = same bits. */
static int same_as_ref(isa_level isa, int t, const uint8_t *packed, int64_t rows, int64_t cols,
                       const block_q8_0 *a, int64_t B) {
    const size_t row_bytes = qtype_row_bytes(types[t], cols),
                 a_row = qtype_row_bytes(QT_Q8_0, cols);
    const size_t n = (size_t)(rows * B);
    float *y0 = malloc(n * 4), *y1 = malloc(n * 4);
    uint8_t *x = aligned_alloc(64, act_x16_bytes(B, cols));
    act_x16_pack(a, a_row, B, cols, x);
    layouts[t]->ref_tile(cols, y0, rows, packed, row_bytes, (int)rows, a, a_row, (int)B);
    memset(y1, 0xA5, n * 4);
    kernels_for(isa, types[t])->packed_gemm(cols, y1, rows, packed, row_bytes, (int)rows, x, B);
    int same = 1;
    for (size_t i = 0; i < n && same; i++)
        if (memcmp(&y0[i], &y1[i], 4)) {
            test_fail_at(__FILE__, __LINE__,
                         "%s %s rows=%lld cols=%lld B=%lld [%zu][%zu]: %.9g vs ref %.9g",
                         kernels_isa_name(isa), qtype(types[t])->name, (long long)rows, (long long)cols, (long long)B,
                         i / rows, i % rows, y1[i], y0[i]);
            same = 0;
        }
    free(y0), free(y1), free(x);
    return same;
}

/* 1, 3, 5, 6 groups of rows (AMX: 16 a tile, a last 8 on AVX-512); 1 block, odd block
 * counts, a wide row; tails of 16 tokens, and more token groups than a pass holds */
static void x16_equals_packed_reference(isa_level isa) {
    const int64_t shapes[][2] = {{8, 32}, {24, 96}, {40, 2048}, {48, 544}, {16, 16448}};
    const int64_t batches[] = {16, 17, 31, 33, 64, 145};
    for (int t = 0; t < NT; t++)
        for (int s = 0; s < 5; s++) {
            const int64_t rows = shapes[s][0], cols = shapes[s][1];
            const size_t bytes = qtype_row_bytes(types[t], cols) * rows;
            qmatrix W = test_random_matrix(types[t], rows, cols);
            uint8_t *packed = malloc(bytes);
            repack_rows(layouts[t], rows, cols, W.data, packed);
            block_q8_0 *a = random_act(145, cols, 0, 0);
            for (int k = 0; k < 6; k++)
                if (s < 4 || k == 4) CHECK(same_as_ref(isa, t, packed, rows, cols, a, batches[k]));
            /* every byte pattern of the codes */
            for (size_t i = 0; i < bytes; i++) ((uint8_t *)W.data)[i] ^= (uint8_t)next_u32();
            const size_t bb = qtype(types[t])->block_bytes;
            for (size_t b = 0; b < bytes / bb; b++) /* finite scales */
                for (int f = 0; f < (types[t] == QT_Q4_1 ? 2 : 1); f++) {
                    uint16_t h = f32_to_fp16((float)(next_u32() % 2000) * 1e-3f - 1);
                    memcpy((uint8_t *)W.data + b * bb + 2 * f, &h, 2);
                }
            repack_rows(layouts[t], rows, cols, W.data, packed);
            CHECK(same_as_ref(isa, t, packed, rows, cols, a, 17));
            free(a), free(packed), free((void *)W.data);
        }
}

TEST(x16_avx512_equals_packed_reference) {
    SKIP_WITHOUT_NATIVE_AVX512();
    REQUIRE(kernels_init("avx512", NULL) == 0);
    for (int t = 0; t < NT; t++) /* AVX-512's only: AVX2 has no VNNI to spare a shuffle with */
        CHECK(kernels_for(ISA_AVX512, types[t])->packed_gemm &&
              !kernels_for(ISA_AVX2, types[t])->packed_gemm);
    x16_equals_packed_reference(ISA_AVX512);
}

TEST(x16_amx_equals_packed_reference) {
    SKIP_WITHOUT_AMX();
    REQUIRE(kernels_init("amx", NULL) == 0);
    for (int t = 0; t < NT; t++) { /* AMX's own kernels, not AVX-512's, and said so */
        CHECK(kernels_for(ISA_AMX, types[t])->packed_gemm !=
              kernels_for(ISA_AVX512, types[t])->packed_gemm);
        CHECK_EQ_INT(kernels_batch_origin(ISA_AMX, types[t], 1), ISA_AMX);
        CHECK_EQ_INT(kernels_origin(ISA_AMX, types[t], 1), ISA_AVX512); /* decode: AVX-512's */
        CHECK_EQ_INT(kernels_batch_origin(ISA_AVX512, types[t], 1), ISA_AVX512);
    }
    /* Q5_0's batches run as Q8_0 panels: on AMX's Q8_0 kernel */
    CHECK_EQ_INT(kernels_batch_origin(ISA_AMX, QT_Q5_0, 0), ISA_AMX);
    x16_equals_packed_reference(ISA_AMX);
}

/* Zeros, the largest codes with the largest scales (products overflow to inf alike),
 * activation codes 127, -127, -128, 1. */
static void x16_edge_values(isa_level isa) {
    const int64_t rows = 24, cols = 64, B = 18;
    const int fills[] = {0x00, 0xFF, 0x80, 0x77}, acts[] = {127, -127, -128, 1};
    const float scales[] = {0.0f, 65504.0f, 1.0f, -65504.0f};
    for (int t = 0; t < NT; t++) {
        const size_t bytes = qtype_row_bytes(types[t], cols) * rows,
                     bb = qtype(types[t])->block_bytes;
        uint8_t *w = malloc(bytes), *packed = malloc(bytes);
        for (int f = 0; f < 4; f++)
            for (int k = 0; k < 4; k++) {
                memset(w, fills[f], bytes);
                for (int i = 0; i < (types[t] == QT_Q4_1 ? 2 : 1); i++) {
                    uint16_t d = f32_to_fp16(scales[(f + k + i) % 4]);
                    for (size_t b = 0; b < bytes / bb; b++) memcpy(w + b * bb + 2 * i, &d, 2);
                }
                block_q8_0 *a = random_act(B, cols, acts[k], k == 1 ? 65504.0f : 0.5f);
                repack_rows(layouts[t], rows, cols, w, packed);
                CHECK_MSG(same_as_ref(isa, t, packed, rows, cols, a, B), "%s fill %#x act %d",
                          qtype(types[t])->name, fills[f], acts[k]);
                free(a);
            }
        free(w), free(packed);
    }
}

TEST(x16_avx512_edge_values) {
    SKIP_WITHOUT_NATIVE_AVX512();
    REQUIRE(kernels_init("avx512", NULL) == 0);
    x16_edge_values(ISA_AVX512);
}

TEST(x16_amx_edge_values) {
    SKIP_WITHOUT_AMX();
    REQUIRE(kernels_init("amx", NULL) == 0);
    x16_edge_values(ISA_AMX);
}

/* matmul and matmul_multi of 16+ tokens on packed matrices: the row reference's bits
 * (every token, every row) on 1 and 2 threads, as for decode and small batches. */
static void x16_matmul_equals_row_reference(const char *isa) {
    REQUIRE(kernels_init(isa, NULL) == 0);
    kernel_config cfg = kernel_config_default();
    cfg.adapt_threads = 0;
    REQUIRE(test_kernel_set(&cfg) == 0);
    const vec_dot_fn dots[] = {vec_dot_q4_0_ref, vec_dot_q8_0_ref, vec_dot_q4_1_ref};
    const int64_t rows = 136, cols = 512, B = 40;
    for (int t = 0; t < NT; t++) {
        qmatrix W = test_random_matrix(types[t], rows, cols),
                V = test_random_matrix(types[t], 64, cols);
        REQUIRE(repack_matrix(&W, ISA_AVX512) == 0 && W.packed != NULL);
        REQUIRE(repack_matrix(&V, ISA_AVX512) == 0 && V.packed != NULL);
        float *x = malloc(B * cols * 4), *Y = malloc(B * rows * 4), *Z = malloc(B * 64 * 4);
        for (int64_t i = 0; i < B * cols; i++) x[i] = test_uniform();
        block_q8_0 *a = malloc(qtype_row_bytes(QT_Q8_0, cols));
        for (int th = 1; th <= 2; th++) {
            test_kernel_threads(th);
            const qmatrix *both[2] = {&W, &V};
            float *outs[2] = {Y, Z};
            for (int multi = 0; multi < 2; multi++) {
                if (multi)
                    REQUIRE(matmul_multi(test_kernels(), both, 2, x, B, outs) == 0);
                else
                    REQUIRE(matmul(test_kernels(), &W, x, B, Y) == 0);
                int bad = 0;
                for (int64_t b = 0; b < B && !bad; b++) {
                    kernels_for(ISA_AVX512, QT_Q8_0)->from_float(x + b * cols, a, cols);
                    for (int m = 0; m <= multi && !bad; m++) {
                        const qmatrix *M = both[m];
                        for (int64_t r = 0; r < M->rows && !bad; r++) {
                            float s, got = outs[m][b * M->rows + r];
                            dots[t](cols, &s, (const char *)M->data + r * M->row_bytes, a);
                            if (memcmp(&s, &got, 4))
                                bad = 1,
                                test_fail_at(__FILE__, __LINE__,
                                             "%s %d thr multi %d [%lld][%lld]: %.9g vs %.9g",
                                             qtype(types[t])->name, th, multi, (long long)b,
                                             (long long)r, got, s);
                        }
                    }
                }
                CHECK(!bad);
            }
        }
        repack_release(&W), repack_release(&V);
        free(x), free(Y), free(Z), free(a), free((void *)W.data), free((void *)V.data);
    }
    test_kernel_threads(1);
}

TEST(x16_matmul_equals_row_reference) {
    SKIP_WITHOUT_NATIVE_AVX512();
    x16_matmul_equals_row_reference("avx512");
}

TEST(x16_amx_matmul_equals_row_reference) {
    SKIP_WITHOUT_AMX();
    x16_matmul_equals_row_reference("amx");
}

/* Batches of 16+ tokens on matrices not packed at load (Q5_0 and IQ4_NL always, Q4_0 with
 * repack off) take GEMM_I8X8, whose per-batch packed panels now go through the x16
 * kernel: the same bits as the forced old path (SCARCE_GEMM=i8x8: the packed tile), and
 * in the packed rows as the row reference (the last rows % 8 go through the ISA's vec_dot,
 * within float tolerance of it, as before). */
TEST(x16_i8x8_panels_equal_packed_tile) {
    SKIP_WITHOUT_NATIVE_AVX512();
    REQUIRE(kernels_init("avx512", NULL) == 0);
    const uint32_t ids[] = {QT_Q5_0, QT_IQ4_NL, QT_Q4_0, QT_Q8_0};
    const vec_dot_fn dots[] = {vec_dot_q5_0_ref, vec_dot_iq4_nl_ref, vec_dot_q4_0_ref,
                               vec_dot_q8_0_ref};
    const int64_t rows = 100, cols = 256, B = 33; /* rows % 8 = 4: the row-dot tail too */
    for (int t = 0; t < 4; t++) {
        REQUIRE(gemm_i8x8_x16(kernels_of(ISA_AVX512), ids[t]));
        qmatrix W = test_random_matrix(ids[t], rows, cols);
        float *x = malloc(B * cols * 4), *Y = malloc(B * rows * 4), *Y0 = malloc(B * rows * 4);
        for (int64_t i = 0; i < B * cols; i++) x[i] = test_uniform();
        kernel_config cfg = kernel_config_default();
        cfg.adapt_threads = 0, cfg.gemm = GEMM_I8X8;
        REQUIRE(test_kernel_set(&cfg) == 0);
        REQUIRE(matmul(test_kernels(), &W, x, B, Y0) == 0);
        cfg.gemm = -1;
        REQUIRE(test_kernel_set(&cfg) == 0);
        for (int th = 1; th <= 2; th++) {
            test_kernel_threads(th);
            memset(Y, 0, B * rows * 4);
            REQUIRE(matmul(test_kernels(), &W, x, B, Y) == 0);
            CHECK_MSG(memcmp(Y, Y0, B * rows * 4) == 0, "%s %d thr: x16 panels vs packed tile",
                      qtype(ids[t])->name, th);
        }
        block_q8_0 *a = malloc(qtype_row_bytes(QT_Q8_0, cols));
        int bad = 0;
        for (int64_t b = 0; b < B && !bad; b++) {
            kernels_for(ISA_AVX512, QT_Q8_0)->from_float(x + b * cols, a, cols);
            for (int64_t r = 0; r < rows / 8 * 8 && !bad; r++) { /* the tail: vec_dot rows */
                float s;
                dots[t](cols, &s, (const char *)W.data + r * W.row_bytes, a);
                bad = memcmp(&s, &Y[b * rows + r], 4) != 0;
                CHECK_MSG(!bad, "%s [%lld][%lld]: %.9g vs ref %.9g", qtype(ids[t])->name,
                          (long long)b, (long long)r, Y[b * rows + r], s);
            }
        }
        free(a), free(x), free(Y), free(Y0), free((void *)W.data);
    }
    test_kernel_threads(1);
    kernel_config cfg = kernel_config_default();
    REQUIRE(test_kernel_set(&cfg) == 0);
}

/* The formats whose block starts with its one fp16 d (IQ4_XS and the codebook formats but
 * IQ1_M, quant/iq_unpack.h's iq_d_first). */
static int d_first(uint32_t id) {
    return id == QT_IQ4_XS || id == QT_IQ2_XXS || id == QT_IQ2_XS || id == QT_IQ2_S ||
           id == QT_IQ3_XXS || id == QT_IQ3_S || id == QT_IQ1_S;
}

/* The K-quant and codebook formats of the row kernels, with their row references. */
static const uint32_t kq_ids[] = {QT_Q4_K,    QT_Q5_K,    QT_Q6_K,   QT_Q2_K,  QT_Q3_K,
                                  QT_IQ4_XS,  QT_IQ2_XXS, QT_IQ2_XS, QT_IQ2_S, QT_IQ3_XXS,
                                  QT_IQ3_S,   QT_IQ1_S,   QT_IQ1_M};
static const vec_dot_fn kq_refs[] = {vec_dot_q4_k_ref,    vec_dot_q5_k_ref,   vec_dot_q6_k_ref,
                                     vec_dot_q2_k_ref,    vec_dot_q3_k_ref,   vec_dot_iq4_xs_ref,
                                     vec_dot_iq2_xxs_ref, vec_dot_iq2_xs_ref, vec_dot_iq2_s_ref,
                                     vec_dot_iq3_xxs_ref, vec_dot_iq3_s_ref,  vec_dot_iq1_s_ref,
                                     vec_dot_iq1_m_ref};
enum { NKQ = sizeof kq_ids / sizeof kq_ids[0] };

/* Every block's fp16 d (and Q2_K .. Q5_K's dmin) set by next_d(): finite, whatever the bytes
 * around them (IQ1_M keeps its d in its scales' high nibbles: left as they are). */
static void set_kquant_scales(uint32_t id, uint8_t *w, size_t bytes, float (*next_d)(int f)) {
    const size_t bb = qtype(id)->block_bytes;
    for (size_t b = 0; b < bytes / bb; b++)
        for (int f = 0; f < 2; f++) { /* Q4_K/Q5_K: d, dmin first; Q6_K: d last */
            uint16_t h = f32_to_fp16(next_d(f));
            if (id == QT_Q6_K && f == 0)
                memcpy(w + b * bb + offsetof(block_q6_K, d), &h, 2);
            else if (id == QT_Q3_K && f == 0)
                memcpy(w + b * bb + offsetof(block_q3_K, d), &h, 2);
            else if (d_first(id) && f == 0)
                memcpy(w + b * bb, &h, 2);
            else if (id == QT_Q2_K)
                memcpy(w + b * bb + offsetof(block_q2_K, d) + 2 * f, &h, 2);
            else if (id != QT_Q6_K && id != QT_Q3_K && !d_first(id) && id != QT_IQ1_M)
                memcpy(w + b * bb + 2 * f, &h, 2);
        }
}

static float random_d(int f) { return (float)(next_u32() % 2000) * 1e-4f - 0.1f; }
static float edge_d(int f) { return f ? -2.0f : 60000.0f; }

/* The row kernel of isa (avx512, or amx: its tile products) on x16k activations: every row
 * and token has the bits of the row reference. scramble: 0 the quantizer's rows, 1 random
 * bytes (every grid index, sign, scale and min) with finite d/dmin; fill (edge) >= 0: every
 * weight byte = fill with large d, and every activation code act_fill (0: random codes). */
static void check_kquant_rows(isa_level isa, uint32_t id, vec_dot_fn ref, int64_t rows,
                              int64_t cols, int64_t B, int scramble, int fill, int act_fill) {
    const quant_type *t = qtype(id);
    qmatrix W = test_random_matrix(id, rows, cols);
    uint8_t *w = (uint8_t *)W.data;
    if (scramble || fill >= 0) {
        for (size_t i = 0; i < W.row_bytes * rows; i++)
            w[i] = fill >= 0 ? (uint8_t)fill : (uint8_t)next_u32();
        set_kquant_scales(id, w, W.row_bytes * rows, fill >= 0 ? edge_d : random_d);
    }
    const size_t a_row = qtype_row_bytes(QT_Q8_K, cols);
    block_q8_K *a = malloc(a_row * B);
    for (int64_t i = 0; i < B * cols / QK_K; i++) {
        a[i].d = (float)(next_u32() % 1000 + 1) * 1e-5f;
        for (int k = 0; k < QK_K; k++)
            a[i].qs[k] = (int8_t)(act_fill ? act_fill : (int)(next_u32() % 256) - 128);
        for (int k = 0; k < QK_K / 16; k++) {
            int s = 0;
            for (int e = 16 * k; e < 16 * k + 16; e++) s += a[i].qs[e];
            a[i].bsums[k] = (int16_t)s;
        }
    }
    uint8_t *x = aligned_alloc(64, act_x16k_bytes(B, cols));
    act_x16k_pack(a, a_row, B, cols, x);
    float *Y = malloc(rows * B * 4);
    memset(Y, 0xA5, rows * B * 4);
    kernels_for(isa, id)->row_gemm(cols, Y, rows, w, W.row_bytes, (int)rows, x, B);
    int bad = 0;
    for (int64_t b = 0; b < B && !bad; b++)
        for (int64_t r = 0; r < rows && !bad; r++) {
            float s;
            ref(cols, &s, w + r * W.row_bytes, (const char *)a + b * a_row);
            bad = memcmp(&s, &Y[b * rows + r], 4) != 0;
            CHECK_MSG(!bad, "%s %s rows=%lld B=%lld fill %d act %d [%lld][%lld]: %.9g vs ref %.9g",
                      kernels_isa_name(isa), t->name, (long long)rows, (long long)B, fill,
                      act_fill, (long long)b, (long long)r, Y[b * rows + r], s);
        }
    free(a), free(x), free(Y), free(w);
}

/* Row tails of 1-3 (AVX-512: 4 rows a pass) and of 1-15 (AMX: 16 a tile, the rest on
 * AVX-512), 1 and 8 super-blocks, token tails and more groups than a pass holds. */
static void x16_kquant_rows_equal_row_reference(isa_level isa) {
    const int64_t batches[] = {16, 17, 33, 64, 145};
    for (int t = 0; t < NKQ; t++) {
        const uint32_t id = kq_ids[t];
        const vec_dot_fn ref = kq_refs[t];
        REQUIRE(kernels_for(isa, id)->row_gemm != NULL);
        check_kquant_rows(isa, id, ref, 8, 256, 16, 0, -1, 0);
        check_kquant_rows(isa, id, ref, 7, 768, 17, 0, -1, 0); /* 4 + 3 rows */
        check_kquant_rows(isa, id, ref, 13, 2048, 64, 0, -1, 0);
        for (int k = 0; k < 5; k++) /* 16, 2 x 16 + 3 rows */
            check_kquant_rows(isa, id, ref, k % 2 ? 35 : 16, k < 4 ? 512 : 256, batches[k], 0, -1,
                              0);
        /* any bytes (every grid index, sign and scale) with a finite d; IQ1_M keeps its d in
         * its scales' high nibbles, so it takes the quantizer's rows only */
        if (id != QT_IQ1_M) {
            check_kquant_rows(isa, id, ref, 6, 512, 33, 1, -1, 0);
            check_kquant_rows(isa, id, ref, 37, 1024, 33, 1, -1, 0);
        }
        /* edge values: zero and all-ones bytes (the largest codes, scales and mins), 0x80,
         * with activation codes 127, -128 and random */
        const int fills[] = {0x00, 0xFF, 0x80}, acts[] = {127, -128, 0};
        for (int f = 0; f < 3; f++)
            for (int k = 0; k < 3; k++)
                if (id != QT_IQ1_M || f == 0)
                    check_kquant_rows(isa, id, ref, 19, 512, 17, 0, fills[f], acts[k]);
    }
}

TEST(x16_kquant_rows_equal_row_reference) {
    SKIP_WITHOUT_NATIVE_AVX512();
    REQUIRE(kernels_init("avx512", NULL) == 0);
    /* AVX2 has the codebook formats' and IQ4_XS's (tests/test_avx2_x16_iq.c), not the
     * K-quants' */
    for (int t = 0; t < NKQ; t++)
        CHECK((kernels_for(ISA_AVX2, kq_ids[t])->row_gemm == NULL) == (t < 5));
    x16_kquant_rows_equal_row_reference(ISA_AVX512);
}

TEST(x16_amx_kquant_rows_equal_row_reference) {
    SKIP_WITHOUT_AMX();
    REQUIRE(kernels_init("amx", NULL) == 0);
    for (int t = 0; t < NKQ; t++) { /* AMX's own kernels, not AVX-512's, and said so */
        CHECK(kernels_for(ISA_AMX, kq_ids[t])->row_gemm != kernels_for(ISA_AVX512, kq_ids[t])->row_gemm);
        CHECK_EQ_INT(kernels_batch_origin(ISA_AMX, kq_ids[t], 0), ISA_AMX);
    }
    CHECK_EQ_INT(kernels_batch_origin(ISA_AMX, QT_Q2_K, 1), ISA_AMX);
    /* Q2_K's batches take the file rows' tiles, decode still its packed tile */
    CHECK(kernels_for(ISA_AMX, QT_Q2_K)->packed_gemm == NULL &&
          kernels_for(ISA_AMX, QT_Q2_K)->packed_tile == kernels_for(ISA_AVX512, QT_Q2_K)->packed_tile);
    x16_kquant_rows_equal_row_reference(ISA_AMX);
}

/* matmul of 16+ tokens on K-quant matrices takes the row kernel (Q2_K, packed: its packed
 * copy's batch kernel on AVX-512, the row kernel on AMX; unpacked: the row kernel): the row reference's bits on 1 and 2
 * threads. rows = 72 (AMX: 4 tiles and 8 rows of AVX-512) and B 20, 100. */
static void x16_kquant_matmul_equals_row_reference(const char *isa) {
    REQUIRE(kernels_init(isa, NULL) == 0);
    kernel_config cfg = kernel_config_default();
    cfg.adapt_threads = 0;
    REQUIRE(test_kernel_set(&cfg) == 0);
    const int64_t rows = 72, cols = 512, batches[] = {20, 100};
    for (int t = 0; t < NKQ; t++)
        for (int pk = 0; pk < (kq_ids[t] == QT_Q2_K ? 2 : 1); pk++)
            for (int nb = 0; nb < 2; nb++) {
                const int64_t B = batches[nb];
                qmatrix W = test_random_matrix(kq_ids[t], rows, cols);
                if (pk == 0) REQUIRE(repack_matrix(&W, ISA_AVX512) == 0);
                float *x = malloc(B * cols * 4), *Y = malloc(B * rows * 4);
                for (int64_t i = 0; i < B * cols; i++) x[i] = test_uniform();
                block_q8_K *a = malloc(qtype_row_bytes(QT_Q8_K, cols));
                for (int th = 1; th <= 2; th++) {
                    test_kernel_threads(th);
                    REQUIRE(matmul(test_kernels(), &W, x, B, Y) == 0);
                    int bad = 0;
                    for (int64_t b = 0; b < B && !bad; b++) {
                        kernels_for(ISA_AVX512, QT_Q8_K)->from_float
                            ? kernels_for(ISA_AVX512, QT_Q8_K)->from_float(x + b * cols, a, cols)
                            : qtype(QT_Q8_K)->quantize(x + b * cols, a, cols, NULL);
                        for (int64_t r = 0; r < rows && !bad; r++) {
                            float s;
                            kq_refs[t](cols, &s, (const char *)W.data + r * W.row_bytes, a);
                            bad = memcmp(&s, &Y[b * rows + r], 4) != 0;
                            CHECK_MSG(!bad, "%s %s packed %d B=%lld %d thr [%lld][%lld]: %.9g vs %.9g",
                                      isa, qtype(kq_ids[t])->name, !pk, (long long)B, th,
                                      (long long)b, (long long)r, Y[b * rows + r], s);
                        }
                    }
                }
                repack_release(&W);
                free(x), free(Y), free(a), free((void *)W.data);
            }
    test_kernel_threads(1);
}

TEST(x16_kquant_matmul_equals_row_reference) {
    SKIP_WITHOUT_NATIVE_AVX512();
    x16_kquant_matmul_equals_row_reference("avx512");
}

TEST(x16_amx_kquant_matmul_equals_row_reference) {
    SKIP_WITHOUT_AMX();
    x16_kquant_matmul_equals_row_reference("amx");
}
