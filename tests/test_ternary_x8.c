/* test_ternary_x8.c - the ternary VNNI kernels on 8-row copies (kernels/ternary.h): the
 * layouts round-trip, and the reference tiles and the AVX-512 tiles equal vec_dot_tq*_ref
 * bit for bit on any bytes (TQ1_0 bytes no quantizer writes, TQ2_0 code 3, the trit
 * boundaries 85/86 and 170/171 of x_n), activations at -128 and +127, one token (the decode
 * kernel) and batches (codes decoded once), several shapes. */
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../kernels/ref/ref.h"
#include "../kernels/ternary.h"
#include "../quant/blocks.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "bench_util.h"
#include "isa_util.h"
#include "ternary_data.h"
#include "test.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint32_t next_u32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

typedef struct {
    uint32_t type;
    const x8_layout *layout;
    vec_dot_fn dot;
    size_t d_at;
} ternary_type;

static const ternary_type tt[2] = {{QT_TQ2_0, &x8_tq2_0, vec_dot_tq2_0_ref, QK_K / 4},
                                   {QT_TQ1_0, &x8_tq1_0, vec_dot_tq1_0_ref, 52}};

/* The tile (prep: its activation rows, NULL: Q8_K rows) on the packed rows against the
 * row reference: identical bits. */
static int same_as_rows(const ternary_type *t, vec_dot_tile_fn tile, packed_act_fn prep,
                        const uint8_t *w, int64_t rows, int64_t cols, const block_q8_K *a,
                        int nact) {
    const size_t row_bytes = qtype_row_bytes(t->type, cols), a_row = qtype_row_bytes(QT_Q8_K, cols);
    uint8_t *packed = malloc(row_bytes * rows);
    float *y = malloc(sizeof *y * rows * nact), *want = malloc(sizeof *want * rows * nact);
    repack_rows(t->layout, rows, cols, w, packed);
    if (prep) {
        const size_t bytes = prep(NULL, cols, NULL);
        char *p = aligned_alloc(64, bytes * nact);
        for (int b = 0; b < nact; b++)
            CHECK(prep((const char *)a + b * a_row, cols, p + b * bytes) == bytes);
        tile(cols, y, rows, packed, row_bytes, (int)rows, p, bytes, nact);
        free(p);
    } else {
        tile(cols, y, rows, packed, row_bytes, (int)rows, a, a_row, nact);
    }
    for (int b = 0; b < nact; b++)
        for (int64_t r = 0; r < rows; r++)
            t->dot(cols, &want[b * rows + r], w + r * row_bytes, (const char *)a + b * a_row);
    int same = memcmp(y, want, sizeof *y * rows * nact) == 0;
    for (int64_t i = 0; !same && i < rows * nact; i++)
        if (memcmp(&y[i], &want[i], 4)) {
            test_fail_at(__FILE__, __LINE__, "%s rows=%lld cols=%lld nact=%d [%lld]: %.9g want %.9g",
                         qtype(t->type)->name, (long long)rows, (long long)cols, nact,
                         (long long)i, y[i], want[i]);
            break;
        }
    free(packed), free(y), free(want);
    return same;
}

static void check_tiles(vec_dot_tile_fn (*tile_of)(int), packed_act_fn (*prep_of)(int)) {
    const int64_t shapes[][2] = {{8, 256}, {16, 512}, {40, 2816}, {24, 5632}};
    for (int k = 0; k < 2; k++) {
        const ternary_type *t = &tt[k];
        for (int s = 0; s < 4; s++)
            for (int mode = 0; mode < 3; mode++) {
                const int64_t rows = shapes[s][0], cols = shapes[s][1];
                uint8_t *w = ternary_raw_rows(t->type, t->d_at, rows, cols, mode, next_u32);
                for (int nact = 1; nact <= 5; nact += 2) {
                    const int fill = mode == 2 ? (nact == 3 ? -128 : 127) : 0;
                    block_q8_K *a = ternary_activations(cols, nact, fill, next_u32);
                    CHECK_MSG(same_as_rows(t, tile_of(k), prep_of(k), w, rows, cols, a, nact),
                              "mode %d fill %d", mode, fill);
                    free(a);
                }
                free(w);
            }
    }
}

static vec_dot_tile_fn ref_tile(int k) {
    return tt[k].layout->ref_tile;
}
static packed_act_fn no_prep(int k) {
    return NULL;
}
/* the installed kernels (named through the table: test-emu512 does not build them) */
static vec_dot_tile_fn avx512_tile(int k) {
    return kernels_for(ISA_AVX512, tt[k].type)->packed_tile;
}
static packed_act_fn avx512_prep(int k) {
    return kernels_for(ISA_AVX512, tt[k].type)->packed_act;
}

TEST(ternary_x8_layout_round_trip) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    for (int k = 0; k < 2; k++) {
        const int64_t rows = 16, cols = 768;
        const size_t bytes = qtype_row_bytes(tt[k].type, cols) * rows;
        uint8_t *w = ternary_raw_rows(tt[k].type, tt[k].d_at, rows, cols, 0, next_u32),
                *packed = malloc(bytes), *back = malloc(bytes);
        repack_rows(tt[k].layout, rows, cols, w, packed);
        unpack_rows(tt[k].layout, rows, cols, packed, back);
        CHECK_MSG(memcmp(w, back, bytes) == 0, "%s", qtype(tt[k].type)->name);
        /* row 1's d second, its codes from byte 16 + row bytes */
        CHECK(memcmp(packed + 2, w + qtype_row_bytes(tt[k].type, cols) + tt[k].d_at, 2) == 0);
        free(w), free(packed), free(back);
    }
}

TEST(ternary_x8_ref_equals_rows) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    check_tiles(ref_tile, no_prep);
}

TEST(ternary_x8_avx512_equals_rows) {
    SKIP_WITHOUT_NATIVE_AVX512();
    REQUIRE(kernels_init("avx512", NULL) == 0);
    for (int k = 0; k < 2; k++) {
        const type_kernels *tk = kernels_for(ISA_AVX512, tt[k].type);
        REQUIRE(tk->packed_tile && tk->packed_act);
        CHECK(tk->packed_layout == tt[k].layout && tk->lut == LUT_NONE);
    }
    check_tiles(avx512_tile, avx512_prep);
    kernels_init(NULL, NULL);
}

/* The tile over all rows, split in `threads` equal shares (multiples of 8 rows). */
static void tile_threads(vec_dot_tile_fn tile, int threads, int64_t rows, int64_t cols, float *y,
                         const uint8_t *packed, size_t row_bytes, const char *act,
                         size_t act_bytes, int nact) {
#pragma omp parallel for num_threads(threads)
    for (int k = 0; k < threads; k++) {
        const int64_t r0 = rows * k / threads / 8 * 8, r1 = rows * (k + 1) / threads / 8 * 8;
        tile(cols, y + r0, rows, packed + r0 * row_bytes, row_bytes, (int)(r1 - r0), act,
             act_bytes, nact);
    }
}

/* Seconds of the fastest of the calls made in `budget` seconds after one warm-up. */
static double best_tile_seconds(vec_dot_tile_fn tile, int threads, int64_t rows, int64_t cols,
                                float *y, const uint8_t *packed, size_t row_bytes, const char *act,
                                size_t act_bytes, int nact, double budget) {
    tile_threads(tile, threads, rows, cols, y, packed, row_bytes, act, act_bytes, nact);
    double best = 1e30, t0 = bench_now();
    do {
        const double t1 = bench_now();
        tile_threads(tile, threads, rows, cols, y, packed, row_bytes, act, act_bytes, nact);
        if (bench_now() - t1 < best) best = bench_now() - t1;
    } while (bench_now() - t0 < budget);
    return best;
}

/* SCARCE_KBENCH=1: the installed AVX-512 ternary tiles called directly, file bytes a second
 * (x tokens for batches): decode on 65536 x 2048 (in the last-level cache: the kernel's own
 * rate) and 1048576 x 2048 (beyond it: DRAM) on 1 and 2 threads, batches of 8 and 64 tokens
 * on 4096 x 2048 on 1. Figures, not checks. */
TEST(ternary_x8_bench) {
    const char *on = getenv("SCARCE_KBENCH");
    if (!on || strcmp(on, "1") != 0) SKIP("set SCARCE_KBENCH=1 for the kernel figures");
    SKIP_WITHOUT_NATIVE_AVX512();
    REQUIRE(kernels_init("avx512", NULL) == 0);
    /* rows, tokens, threads */
    const int64_t cols = 2048, shapes[][3] = {{65536, 1, 1}, {65536, 1, 2},  {1048576, 1, 1},
                                              {1048576, 1, 2}, {4096, 8, 1}, {4096, 64, 1}};
    for (int k = 1; k >= 0; k--) {
        const ternary_type *t = &tt[k];
        const type_kernels *tk = kernels_for(ISA_AVX512, t->type);
        const size_t row_bytes = qtype_row_bytes(t->type, cols), a_row = qtype_row_bytes(QT_Q8_K, cols);
        const size_t act_bytes = tk->packed_act(NULL, cols, NULL);
        fprintf(stderr, "%s GB/s of file bytes (x tokens):", qtype(t->type)->name);
        for (int s = 0; s < 6; s++) {
            const int64_t rows = shapes[s][0];
            const int nact = (int)shapes[s][1], threads = (int)shapes[s][2];
            uint8_t *w = ternary_raw_rows(t->type, t->d_at, 64, cols, 0, next_u32),
                    *big = malloc(row_bytes * rows), *packed = aligned_alloc(64, row_bytes * rows);
            for (int64_t r = 0; r < rows; r += 64) memcpy(big + r * row_bytes, w, 64 * row_bytes);
            repack_rows(t->layout, rows, cols, big, packed);
            block_q8_K *a = ternary_activations(cols, nact, 0, next_u32);
            char *act = aligned_alloc(64, act_bytes * nact);
            for (int b = 0; b < nact; b++)
                tk->packed_act((const char *)a + b * a_row, cols, act + b * act_bytes);
            float *y = malloc(sizeof *y * rows * nact);
            const double sec = best_tile_seconds(tk->packed_tile, threads, rows, cols, y, packed,
                                                 row_bytes, act, act_bytes, nact, 0.5);
            fprintf(stderr, "  %lldx%lld B=%d %dt %.2f", (long long)rows, (long long)cols, nact,
                    threads, (double)rows * row_bytes * nact / sec / 1e9);
            free(w), free(big), free(packed), free(a), free(act), free(y);
        }
        fprintf(stderr, "\n");
    }
    kernels_init(NULL, NULL);
    CHECK(1);
}
