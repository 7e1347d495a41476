/* test_lut.c - the lookup-table kernels (kernels/lut.h): the bit-plane layout round trip,
 * the scalar LUT reference against the multiply references (vec_dot_*_ref, bit for bit),
 * the AVX2 and AVX-512 LUT kernels against the LUT reference (bit for bit) on random,
 * edge-case and tail shapes, and the A/B switch (SCARCE_LUT) deciding what is packed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../kernels/kconfig.h"
#include "../kernels/lut.h"
#include "../kernels/matmul.h"
#include "../kernels/ref/ref.h"
#include "../quant/blocks.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "bench_util.h"
#include "isa_util.h"
#include "kernel_ctx_util.h"
#include "test.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t next_u32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static const uint32_t types[] = {QT_Q1_0, QT_Q2_0, QT_TQ2_0, QT_TQ1_0};
enum { NT = sizeof types / sizeof types[0] };
static const x8_layout *const layouts[NT] = {&lut_q1_0, &lut_q2_0, &lut_tq2_0, &lut_tq1_0};
static const vec_dot_fn row_dots[NT] = {vec_dot_q1_0_ref, vec_dot_q2_0_ref, vec_dot_tq2_0_ref,
                                        vec_dot_tq1_0_ref};

static const char *name_of(int t) {
    return qtype(types[t])->name;
}

static int64_t cols_for(int t, int64_t cols) {
    int64_t block = qtype(types[t])->block;
    return (cols + block - 1) / block * block;
}

/* TQ1_0 block b of random trits (fill 0xFF: all 2, 0x00: all 0, else a pattern of all
 * three), in quant/tq1_0.c's canonical bytes. */
static void tq1_block(uint8_t *b, int fill) {
    static const int weight[5] = {81, 27, 9, 3, 1};
    int value[52] = {0};
    for (int k = 0; k < QK_K; k++) {
        int trit, pos = tq1_pos(k, &trit);
        int code = fill == 0xFF ? 2 : fill == 0 ? 0 : fill > 0 ? (k + fill) % 3 : (int)(next_u32() % 3);
        value[pos] += code * weight[trit];
    }
    for (int j = 0; j < 52; j++) b[j] = (uint8_t)((value[j] * 256 + 242) / 243);
}

static size_t d_offset(int t) {
    return types[t] == QT_TQ2_0 ? QK_K / 4 : types[t] == QT_TQ1_0 ? 52 : 0;
}

/* Bytes of a row of the packed copy (TQ1_0's is larger than the file's). */
static size_t packed_row(int t, int64_t cols) {
    return repack_row_bytes(layouts[t], cols);
}

/* Random code bytes with finite fp16 scales (|d| < 2, either sign: Q2_0's d may be
 * negative); TQ2_0's codes 3 (not ternary) are made 2 so the rows stay in the format;
 * TQ1_0's bytes are those its quantizer writes. */
static uint8_t *random_rows(int t, int64_t rows, int64_t cols, int fill) {
    const quant_type *qt = qtype(types[t]);
    size_t bytes = qtype_row_bytes(types[t], cols) * rows, bb = qt->block_bytes;
    uint8_t *w = malloc(bytes);
    for (size_t i = 0; i < bytes; i++) w[i] = fill >= 0 ? (uint8_t)fill : (uint8_t)next_u32();
    for (size_t b = 0; types[t] == QT_TQ1_0 && b < bytes / bb; b++) tq1_block(w + b * bb, fill);
    const size_t d_at = d_offset(t);
    for (size_t b = 0; b < bytes / bb; b++) {
        uint16_t d = f32_to_fp16(((float)(next_u32() % 2001) - 1000) / 500.0f);
        memcpy(w + b * bb + d_at, &d, 2);
        if (types[t] == QT_TQ2_0)
            for (size_t k = 0; k < QK_K / 4; k++) {
                uint8_t *q = &w[b * bb + k];
                for (int s = 0; s < 8; s += 2)
                    if (((*q >> s) & 3) == 3) *q ^= (uint8_t)(1 << s);
            }
    }
    return w;
}

/* Activations in the type's dot_type, from the reference quantizer of random floats, or
 * with every code `fill` (Q8_K: its bsums made to match), so the edges are reached: +127,
 * -127, and -128, which ggml's Q8_K quantizer can write. */
static void *activation(int t, int64_t cols, int fill) {
    const int q8_k = qtype(types[t])->dot_type == QT_Q8_K;
    const size_t bytes = qtype_row_bytes(qtype(types[t])->dot_type, cols);
    float *x = malloc(cols * sizeof *x);
    void *a = malloc(bytes);
    for (int64_t i = 0; i < cols; i++) x[i] = (float)(next_u32() % 20001) / 1000.0f - 10;
    (q8_k ? quantize_row_q8_k_ref : quantize_row_q8_0_ref)(x, a, cols);
    free(x);
    for (int64_t i = 0; fill && q8_k && i < cols / QK_K; i++) {
        block_q8_K *b = (block_q8_K *)a + i;
        memset(b->qs, fill, QK_K);
        for (int k = 0; k < QK_K / 16; k++) b->bsums[k] = (int16_t)(16 * fill);
    }
    for (int64_t i = 0; fill && !q8_k && i < cols / QK32; i++)
        memset(((block_q8_0 *)a)[i].qs, fill, QK32);
    return a;
}

TEST(lut_layout_round_trip) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    for (int t = 0; t < NT; t++) {
        int64_t rows = 24, cols = cols_for(t, 384);
        size_t row_bytes = qtype_row_bytes(types[t], cols), bytes = row_bytes * rows;
        uint8_t *src = random_rows(t, rows, cols, -1), *packed = malloc(packed_row(t, cols) * rows),
                *back = malloc(bytes);
        repack_rows(layouts[t], rows, cols, src, packed);
        unpack_rows(layouts[t], rows, cols, packed, back);
        CHECK_MSG(memcmp(src, back, bytes) == 0, "%s: unpack(pack(rows)) != rows", name_of(t));
        /* group 1 starts where row 8 starts in the copy, with row 8's d first */
        CHECK(memcmp(packed + 8 * packed_row(t, cols), src + 8 * row_bytes + d_offset(t), 2) == 0);
        /* the layout is the type's packed layout on every ISA (the scalar one too) */
        CHECK(kernels_for(ISA_SCALAR, types[t])->packed_layout == layouts[t]);
        free(src), free(packed), free(back);
    }
}

/* A packed kernel, the activation rows it reads (prep NULL: dot_type rows) and its layout
 * (the LUT planes, or another ISA's own: the ternary VNNI kernels', kernels/ternary.h). */
typedef struct {
    vec_dot_tile_fn tile;
    packed_act_fn prep;
    const x8_layout *layout;
} packed_kernel;

/* Runs the kernel on packed rows (its prepared activations made from a's dot_type rows)
 * and compares every row with the multiply reference (row_ref = 1) or with the LUT
 * reference on a's rows (row_ref = 0): identical bits. */
static int same_results(int t, packed_kernel kernel, const uint8_t *w, int64_t rows, int64_t cols,
                        const void *a, int nact, int row_ref) {
    size_t row_bytes = qtype_row_bytes(types[t], cols),
           a_stride = qtype_row_bytes(qtype(types[t])->dot_type, cols);
    size_t n = (size_t)rows * nact;
    const size_t w_stride = repack_row_bytes(kernel.layout, cols);
    uint8_t *packed = malloc(w_stride * rows);
    float *y = malloc(n * 4), *want = malloc(n * 4);
    repack_rows(kernel.layout, rows, cols, w, packed);
    if (kernel.prep) {
        const size_t bytes = kernel.prep(NULL, cols, NULL);
        char *prepared = aligned_alloc(64, bytes * nact);
        for (int b = 0; b < nact; b++)
            CHECK(kernel.prep((const char *)a + b * a_stride, cols, prepared + b * bytes) == bytes);
        kernel.tile(cols, y, rows, packed, w_stride, (int)rows, prepared, bytes, nact);
        free(prepared);
    } else {
        kernel.tile(cols, y, rows, packed, w_stride, (int)rows, a, a_stride, nact);
    }
    if (row_ref)
        for (int b = 0; b < nact; b++)
            for (int64_t r = 0; r < rows; r++)
                row_dots[t](cols, &want[b * rows + r], w + r * row_bytes,
                            (const char *)a + b * a_stride);
    else
        kernel.layout->ref_tile(cols, want, rows, packed, w_stride, (int)rows, a, a_stride, nact);
    int same = 1;
    for (size_t i = 0; i < n && same; i++)
        if (memcmp(&y[i], &want[i], 4)) {
            test_fail_at(__FILE__, __LINE__, "%s rows=%lld cols=%lld [%zu][%zu]: %.9g want %.9g",
                         name_of(t), (long long)rows, (long long)cols, i / rows, i % rows, y[i],
                         want[i]);
            same = 0;
        }
    free(packed), free(y), free(want);
    return same;
}

/* The shapes: one block, several, past one table chunk (LUT_CHUNK_COLS) and ending inside
 * the second; 8 rows (one group) to 40. Inputs: random, every weight bit set, every bit
 * clear, activations at +127 and at the negative end. */
static void check_all(packed_kernel (*kernel_of)(int t), int row_ref) {
    const int64_t shapes[][2] = {
        {8, 1}, {16, 256}, {24, 640}, {8, LUT_CHUNK_COLS + 256}, {40, 512}};
    for (int t = 0; t < NT; t++) {
        packed_kernel tile = kernel_of(t);
        REQUIRE(tile.tile);
        for (int s = 0; s < 5; s++) {
            int64_t rows = shapes[s][0], cols = cols_for(t, shapes[s][1]);
            uint8_t *w = random_rows(t, rows, cols, -1);
            void *a = activation(t, 3 * cols, 0);
            for (int nact = 1; nact <= 3; nact += 2)
                CHECK(same_results(t, tile, w, rows, cols, a, nact, row_ref));
            free(w), free(a);
        }
        const int fills[][2] = {{0xFF, 127}, {0x00, -127}, {0xAA, -128}, {0x55, 127}};
        for (int f = 0; f < 4; f++) {
            if (fills[f][1] == -128 && qtype(types[t])->dot_type != QT_Q8_K) continue;
            int64_t rows = 16, cols = cols_for(t, 512);
            uint8_t *w = random_rows(t, rows, cols, fills[f][0]);
            void *a = activation(t, cols, fills[f][1]);
            CHECK_MSG(same_results(t, tile, w, rows, cols, a, 1, row_ref), "fill %d", f);
            free(w), free(a);
        }
    }
}

static packed_kernel ref_tile_of(int t) {
    return (packed_kernel){layouts[t]->ref_tile, NULL, layouts[t]};
}
/* the ISA's LUT (and ternary VNNI) kernels read prepared rows: packed_act is set with them */
static packed_kernel packed_tile_of(int t) {
    const type_kernels *k = kernels_for(kernels_isa(), types[t]);
    CHECK_MSG(k->packed_act != NULL, "%s: a packed tile without packed_act", name_of(t));
    return (packed_kernel){k->packed_tile, k->packed_act, k->packed_layout};
}

TEST(lut_ref_equals_multiply_reference) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    check_all(ref_tile_of, 1);
}

TEST(lut_avx2_equals_reference) {
    if (!kernels_isa_supported(ISA_AVX2)) SKIP("no AVX2 on this CPU");
    REQUIRE(kernels_init("avx2", NULL) == 0);
    check_all(packed_tile_of, 0);
    check_all(packed_tile_of, 1);
}

TEST(lut_avx512_equals_reference) {
    SKIP_WITHOUT_AVX512();
    REQUIRE(kernels_init("avx512", NULL) == 0);
    for (int t = 0; t < NT; t++) CHECK_EQ_INT(kernels_origin(ISA_AVX512, types[t], 1), ISA_AVX512);
    check_all(packed_tile_of, 0);
}

/* SCARCE_LUT: auto packs the types whose LUT kernel is LUT_ON, 0 none, 1 all; repack=0
 * none; bad values are refused naming the variable. */
TEST(lut_config_switch) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    kernel_config c;
    char msg[128] = "";
    unsetenv("SCARCE_REPACK");
    setenv("SCARCE_LUT", "0", 1);
    REQUIRE(kernel_config_from_env(&c, msg) == 0);
    CHECK(c.lut == 0);
    for (int t = 0; t < NT; t++) {
        const type_kernels *k = kernels_for(c.isa, types[t]);
        if (k->packed_tile && k->lut == LUT_NONE) { /* a multiply kernel: packed always */
            CHECK(kernel_config_packs(&c, types[t]));
            c.repack = 0;
            CHECK(!kernel_config_packs(&c, types[t]));
            c.repack = 1;
            continue;
        }
        int has = k->packed_tile != NULL && k->lut != LUT_NONE;
        CHECK(!kernel_config_packs(&c, types[t]));
        c.lut = 1;
        CHECK_EQ_INT(kernel_config_packs(&c, types[t]), has);
        c.lut = -1;
        CHECK_EQ_INT(kernel_config_packs(&c, types[t]), has && k->lut == LUT_ON);
        c.repack = 0;
        CHECK(!kernel_config_packs(&c, types[t]));
        c.repack = 1, c.lut = 0;
    }
    /* a type without a LUT kernel keeps packing with the switch off */
    if (kernels_for(c.isa, QT_Q4_0)->packed_tile) CHECK(kernel_config_packs(&c, QT_Q4_0));
    setenv("SCARCE_LUT", "sometimes", 1);
    CHECK(kernel_config_from_env(&c, msg) == -1 && strstr(msg, "SCARCE_LUT"));
    setenv("SCARCE_LUT", "auto", 1);
    CHECK(kernel_config_from_env(&c, msg) == 0 && c.lut == -1);
    unsetenv("SCARCE_LUT");
}

/* Through matmul: a packed matrix (LUT layout) gives the multiply reference's rows, one
 * and two threads, for a decode step and a small batch. */
TEST(lut_matmul_equals_reference) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    for (int t = 0; t < NT; t++) {
        if (!kernels_for(kernels_isa(), types[t])->packed_tile) SKIP("no LUT kernel on this ISA");
        const int64_t rows = 64, cols = cols_for(t, 512), B = 3;
        qmatrix W = test_random_matrix(types[t], rows, cols);
        float *x = malloc(B * cols * 4), *y = malloc(B * rows * 4), *want = malloc(B * rows * 4);
        for (int64_t i = 0; i < B * cols; i++) x[i] = (float)(next_u32() % 2001) / 1000.0f - 1;
        REQUIRE(repack_matrix(&W, kernels_isa()) == 0 && W.packed);
        for (int threads = 1; threads <= 2; threads++) {
            kernel_config cfg = kernel_config_default();
            cfg.threads = threads;
            kernel_shape shape = {.max_batch = B};
            kernel_shape_add(&shape, &W);
            char msg[128];
            kernel_ctx *k = kernel_ctx_new(&cfg, &shape, msg);
            REQUIRE(k);
            REQUIRE(matmul(k, &W, x, B, y) == 0);
            size_t act = qtype_row_bytes(qtype(types[t])->dot_type, cols);
            void *a = malloc(act);
            from_float_fn from_float =
                kernels_for(kernels_isa(), qtype(types[t])->dot_type)->from_float;
            for (int64_t b = 0; b < B; b++) {
                from_float(x + b * cols, a, cols);
                for (int64_t r = 0; r < rows; r++)
                    row_dots[t](cols, &want[b * rows + r], (const char *)W.data + r * W.row_bytes,
                                a);
            }
            CHECK_MSG(memcmp(y, want, B * rows * 4) == 0, "%s threads %d", name_of(t), threads);
            free(a);
            kernel_ctx_free(k);
        }
        repack_release(&W);
        free(x), free(y), free(want), free((void *)W.data);
    }
}

/* The multiply reference of W x (x converted by isa's from_float) into want. */
static void reference_rows(isa_level isa, const qmatrix *W, const float *x, int64_t B,
                           float *want) {
    const uint32_t dot = qtype(W->type)->dot_type;
    void *a = malloc(qtype_row_bytes(dot, W->cols));
    const vec_dot_fn *dots = row_dots;
    int t = 0;
    while (types[t] != W->type) t++;
    for (int64_t b = 0; b < B; b++) {
        kernels_for(isa, dot)->from_float(x + b * W->cols, a, W->cols);
        for (int64_t r = 0; r < W->rows; r++)
            dots[t](W->cols, &want[b * W->rows + r], (const char *)W->data + r * W->row_bytes, a);
    }
    free(a);
}

/* One input for packed LUT matrices of two types sharing the Q8_0 tables (Q2_0, Q1_0), an
 * unpacked Q2_0 matrix (the same dot type, no tables), TQ2_0 and TQ1_0 (Q8_K tables, TQ1_0
 * with its larger packed rows): matmul_multi
 * and matmul_each give each its multiply reference's rows, on AVX2 and AVX-512. */
TEST(lut_multi_and_each_share_prepared_rows) {
    enum { NM = 5 };
    const uint32_t mix[NM] = {QT_Q2_0, QT_Q1_0, QT_Q2_0, QT_TQ2_0, QT_TQ1_0};
    const int64_t rows = 48, cols = 512, B = 2;
    for (int isa = ISA_AVX2; isa <= ISA_AVX512; isa++) {
        if (!kernels_isa_supported(isa)) continue;
        REQUIRE(kernels_init(kernels_isa_name(isa), NULL) == 0);
        qmatrix W[NM];
        const qmatrix *Wp[NM];
        float *x = malloc(B * cols * 4), *Y[NM], *want = malloc(B * rows * 4);
        for (int64_t i = 0; i < B * cols; i++) x[i] = (float)(next_u32() % 2001) / 1000.0f - 1;
        kernel_shape shape = {.max_batch = B};
        matmul_item items[NM];
        for (int m = 0; m < NM; m++) {
            W[m] = test_random_matrix(mix[m], rows, cols);
            if (m != 2) REQUIRE(repack_matrix(&W[m], isa) == 0 && W[m].packed);
            Wp[m] = &W[m], Y[m] = malloc(B * rows * 4);
            kernel_shape_add(&shape, &W[m]);
            items[m] = (matmul_item){.W = &W[m], .X = x, .B = B, .Y = Y[m]};
        }
        kernel_config cfg = kernel_config_default();
        cfg.isa = isa, cfg.threads = 2;
        char msg[128];
        kernel_ctx *k = kernel_ctx_new(&cfg, &shape, msg);
        REQUIRE(k);
        for (int call = 0; call < 2; call++) {
            for (int m = 0; m < NM; m++) memset(Y[m], 0xFF, B * rows * 4);
            REQUIRE(call ? matmul_each(k, items, NM) == 0 : matmul_multi(k, Wp, NM, x, B, Y) == 0);
            for (int m = 0; m < NM; m++) {
                reference_rows(isa, &W[m], x, B, want);
                CHECK_MSG(memcmp(Y[m], want, B * rows * 4) == 0, "%s %s matrix %d (%s)",
                          kernels_isa_name(isa), call ? "matmul_each" : "matmul_multi", m,
                          qtype(mix[m])->name);
            }
        }
        kernel_ctx_free(k);
        for (int m = 0; m < NM; m++) {
            repack_release(&W[m]);
            free((void *)W[m].data), free(Y[m]);
        }
        free(x), free(want);
    }
    kernels_init(NULL, NULL);
}

/* Weight GB/s of the best call in 0.3 s (shared machine: the least disturbed call). */
static double matmul_gbs(const qmatrix *W, const float *x, float *y) {
    return (double)W->rows * W->row_bytes / bench_best_matmul(W, x, 1, y, 0.3) / 1e9;
}

/* SCARCE_KBENCH=1: decode (B = 1) GB/s of the multiply kernels (file layout) and the LUT
 * kernels (packed), 1 and 2 threads, on rows x cols (default 65536 x 2048: larger than
 * the last-level cache, TinyLlama's row length; SCARCE_KBENCH_ROWS / _COLS). */
TEST(lut_bench) {
    const char *on = getenv("SCARCE_KBENCH");
    if (!on || strcmp(on, "1") != 0) SKIP("set SCARCE_KBENCH=1 for the kernel figures");
    REQUIRE(kernels_init(NULL, NULL) == 0);
    int64_t rows = 65536, cols = 2048;
    if (getenv("SCARCE_KBENCH_ROWS")) rows = atoll(getenv("SCARCE_KBENCH_ROWS")) / 64 * 64;
    if (getenv("SCARCE_KBENCH_COLS")) cols = atoll(getenv("SCARCE_KBENCH_COLS")) / QK_K * QK_K;
    float *x = malloc(cols * 4), *y = malloc(rows * 4);
    for (int64_t i = 0; i < cols; i++) x[i] = (float)(next_u32() % 2001) / 1000.0f - 1;
    fprintf(stderr, "%lldx%lld weight GB/s: %-6s %8s %8s %8s %8s\n", (long long)rows,
            (long long)cols, "type", "mul 1t", "mul 2t", "lut 1t", "lut 2t");
    for (int t = 0; t < NT; t++) {
        size_t row_bytes = qtype_row_bytes(types[t], cols);
        uint8_t *w = random_rows(t, 64, cols, -1), *big = malloc(row_bytes * rows);
        for (int64_t r = 0; r < rows; r += 64) memcpy(big + r * row_bytes, w, 64 * row_bytes);
        qmatrix W = {
            .data = big, .type = types[t], .rows = rows, .cols = cols, .row_bytes = row_bytes};
        double g[4];
        for (int k = 0; k < 4; k++) {
            if (k == 2) REQUIRE(repack_matrix(&W, kernels_isa()) == 0 && W.packed);
            test_kernel_threads(k % 2 + 1);
            g[k] = matmul_gbs(&W, x, y);
        }
        fprintf(stderr, "%32s %8.2f %8.2f %8.2f %8.2f\n", name_of(t), g[0], g[1], g[2], g[3]);
        repack_release(&W);
        free(w), free(big);
    }
    free(x), free(y);
    CHECK(1);
}
