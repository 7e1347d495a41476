/* test_gemm_q2k.c - the batch kernel of Q2_K's packed copy (repack.h q2_kx8d, rows in the
 * lanes, x16k activations: kernels/x86/avx512_x16_q2k.c) bit for bit against the layout's
 * packed reference on random rows, every byte pattern of the codes, scales and mins, edge
 * values, a lone last group of 8 rows, token tails and more tokens than one chunk. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../kernels/act_x16.h"
#include "../kernels/cpu.h"
#include "../kernels/repack.h"
#include "../quant/blocks.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "bench_util.h"
#include "isa_util.h"
#include "kernel_ctx_util.h"
#include "test.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t next_u32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* B Q8_K rows of cols: codes `fill` (0: random -128..127), d random, bsums their sums. */
static block_q8_K *q8k_rows(int64_t B, int64_t cols, int fill) {
    block_q8_K *a = malloc((size_t)(B * cols / QK_K) * sizeof *a);
    for (int64_t i = 0; i < B * cols / QK_K; i++) {
        a[i].d = (float)(next_u32() % 1000 + 1) * 1e-5f;
        for (int k = 0; k < QK_K; k++)
            a[i].qs[k] = (int8_t)(fill ? fill : (int)(next_u32() % 256) - 128);
        for (int k = 0; k < QK_K / 16; k++) {
            int s = 0;
            for (int e = 16 * k; e < 16 * k + 16; e++) s += a[i].qs[e];
            a[i].bsums[k] = (int16_t)s;
        }
    }
    return a;
}

/* The kernel vs tile_q2_kx8d_ref on rows x cols of file-layout w (packed here) and B tokens
 * of a; 1 = same bits everywhere. */
static int same_as_ref(const uint8_t *w, int64_t rows, int64_t cols, const block_q8_K *a,
                       int64_t B) {
    const size_t row_bytes = qtype_row_bytes(QT_Q2_K, cols), a_row = qtype_row_bytes(QT_Q8_K, cols);
    const size_t n = (size_t)(rows * B);
    uint8_t *packed = malloc(row_bytes * rows), *x = aligned_alloc(64, act_x16k_bytes(B, cols));
    float *y0 = malloc(n * 4), *y1 = malloc(n * 4);
    repack_rows(&x8_q2_k_d, rows, cols, w, packed);
    act_x16k_pack(a, a_row, B, cols, x);
    tile_q2_kx8d_ref(cols, y0, rows, packed, row_bytes, (int)rows, a, a_row, (int)B);
    memset(y1, 0xA5, n * 4);
    kernels_for(ISA_AVX512, QT_Q2_K)
        ->packed_gemm(cols, y1, rows, packed, row_bytes, (int)rows, x, B);
    int same = 1;
    for (size_t i = 0; i < n && same; i++)
        if (memcmp(&y0[i], &y1[i], 4)) {
            test_fail_at(__FILE__, __LINE__,
                         "rows=%lld cols=%lld B=%lld [%zu][%zu]: %.9g vs ref %.9g", (long long)rows,
                         (long long)cols, (long long)B, i / rows, i % rows, y1[i], y0[i]);
            same = 0;
        }
    free(packed), free(x), free(y0), free(y1);
    return same;
}

/* Every byte of w random, then d and dmin finite (-0.1 .. 0.1). */
static void scramble(uint8_t *w, size_t bytes) {
    for (size_t i = 0; i < bytes; i++) w[i] = (uint8_t)next_u32();
    for (size_t b = 0; b < bytes / sizeof(block_q2_K); b++)
        for (int f = 0; f < 2; f++) {
            uint16_t h = f32_to_fp16((float)(next_u32() % 2000) * 1e-4f - 0.1f);
            memcpy(w + b * sizeof(block_q2_K) + offsetof(block_q2_K, d) + 2 * f, &h, 2);
        }
}

TEST(gemm_q2k_packed_equals_reference) {
    SKIP_WITHOUT_NATIVE_AVX512();
    REQUIRE(kernels_init("avx512", NULL) == 0);
    REQUIRE(kernels_for(ISA_AVX512, QT_Q2_K)->packed_gemm != NULL);
    CHECK(kernels_for(ISA_AVX2, QT_Q2_K)->packed_gemm == NULL);
    /* one group, a pair and a lone group, 5 groups; 1, 3 and 8 super-blocks */
    const int64_t shapes[][2] = {{8, 256}, {24, 768}, {40, 2048}, {16, 256}};
    const int64_t batches[] = {1, 16, 17, 31, 33, 64, 300};
    for (int s = 0; s < 4; s++) {
        const int64_t rows = shapes[s][0], cols = shapes[s][1];
        qmatrix W = test_random_matrix(QT_Q2_K, rows, cols);
        block_q8_K *a = q8k_rows(300, cols, 0);
        for (int k = 0; k < 7; k++)
            if (batches[k] < 300 || s == 3) CHECK(same_as_ref(W.data, rows, cols, a, batches[k]));
        scramble((uint8_t *)W.data, W.row_bytes * rows);
        CHECK(same_as_ref(W.data, rows, cols, a, 19));
        free(a), free((void *)W.data);
    }
}

/* The largest codes, scales and mins (q sc = 45 in every byte, sumi and summ at their
 * largest) against activation codes 127, -128, 1; zero weights; d, dmin at fp16's largest
 * (products overflow to inf alike). */
TEST(gemm_q2k_packed_edge_values) {
    SKIP_WITHOUT_NATIVE_AVX512();
    REQUIRE(kernels_init("avx512", NULL) == 0);
    const int64_t rows = 24, cols = 512, B = 18;
    const size_t bytes = qtype_row_bytes(QT_Q2_K, cols) * rows;
    const int fills[] = {0xFF, 0x00, 0x0F, 0xF0}, acts[] = {127, -128, 1};
    const float scales[] = {1.0f, 65504.0f, -0.5f};
    uint8_t *w = malloc(bytes);
    for (int f = 0; f < 4; f++)
        for (int k = 0; k < 3; k++) {
            memset(w, fills[f], bytes);
            for (size_t b = 0; b < bytes / sizeof(block_q2_K); b++) {
                uint16_t d = f32_to_fp16(scales[k]), m = f32_to_fp16(scales[(k + 1) % 3]);
                memcpy(w + b * sizeof(block_q2_K) + offsetof(block_q2_K, d), &d, 2);
                memcpy(w + b * sizeof(block_q2_K) + offsetof(block_q2_K, dmin), &m, 2);
            }
            block_q8_K *a = q8k_rows(B, cols, acts[k]);
            CHECK_MSG(same_as_ref(w, rows, cols, a, B), "fill %#x act %d", fills[f], acts[k]);
            free(a);
        }
    free(w);
}

/* ---- SCARCE_KBENCH=1: figures, not checks ---- */

typedef void (*x16_call)(int64_t, float *, size_t, const void *, size_t, int, const void *,
                         int64_t);

/* Seconds of the fastest of `reps` calls (after one warm-up): the least disturbed one. */
static double best_call(x16_call f, int64_t cols, float *Y, int64_t rows, const void *w,
                        size_t row_bytes, const void *x, int64_t B, int reps) {
    double best = 1e30;
    for (int i = 0; i <= reps; i++) {
        const double t0 = bench_now();
        f(cols, Y, rows, w, row_bytes, (int)rows, x, B);
        const double t = bench_now() - t0;
        if (i && t < best) best = t;
    }
    return best;
}

/* GMAC/s of the packed kernel and of the file-layout row kernel (avx512_x16_kquant.c) on
 * the 110M shape's matrices, 64 tokens (forward's batch), one thread. */
TEST(gemm_q2k_bench) {
    if (!getenv("SCARCE_KBENCH")) SKIP("set SCARCE_KBENCH=1 for the Q2_K batch figures");
    SKIP_WITHOUT_NATIVE_AVX512();
    REQUIRE(kernels_init("avx512", NULL) == 0);
    const int64_t shapes[][2] = {{768, 768}, {2048, 768}, {768, 2048}}, B = 64;
    const type_kernels *k = kernels_for(ISA_AVX512, QT_Q2_K);
    for (int s = 0; s < 3; s++) {
        const int64_t rows = shapes[s][0], cols = shapes[s][1];
        qmatrix W = test_random_matrix(QT_Q2_K, rows, cols);
        uint8_t *packed = malloc(W.row_bytes * rows),
                *x = aligned_alloc(64, act_x16k_bytes(B, cols));
        repack_rows(&x8_q2_k_d, rows, cols, W.data, packed);
        block_q8_K *a = q8k_rows(B, cols, 0);
        act_x16k_pack(a, qtype_row_bytes(QT_Q8_K, cols), B, cols, x);
        float *Y = malloc(rows * B * 4);
        const double macs = (double)rows * cols * B / 1e9;
        const double tp = best_call(k->packed_gemm, cols, Y, rows, packed, W.row_bytes, x, B, 50);
        const double tr = best_call(k->row_gemm, cols, Y, rows, W.data, W.row_bytes, x, B, 50);
        printf("\nq2_k %lld x %lld, B %lld: packed (rows in lanes) %.1f GMAC/s, file rows (tokens "
               "in lanes) %.1f GMAC/s",
               (long long)rows, (long long)cols, (long long)B, macs / tp, macs / tr);
        free(packed), free(x), free(a), free(Y), free((void *)W.data);
    }
    printf("\n");
}
