/* test_avx2_ternary.c - the AVX2 row-group tiles of the ternary formats on the file layout
 * (vec_dot_tile of the avx2 set, kernels/x86/avx2_ternary.c) equal vec_dot_tq*_ref bit for
 * bit: on any bytes (TQ2_0 code 3, TQ1_0 bytes no quantizer writes, the trit boundaries),
 * activations at -128 and +127, d of either sign, row counts that are not multiples of 8
 * (the remainder rows), one token (decode) and batches. */
#include <stdlib.h>
#include <string.h>

#include "../kernels/cpu.h"
#include "../kernels/ref/ref.h"
#include "../quant/blocks.h"
#include "../quant/fp16.h"
#include "../quant/types.h"
#include "ternary_data.h"
#include "test.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next_u32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

typedef struct {
    uint32_t type;
    vec_dot_fn ref;
    size_t d_at; /* the fp16 d's offset in a block */
} ternary_type;

static const ternary_type tt[] = {{QT_TQ2_0, vec_dot_tq2_0_ref, QK_K / 4},
                                  {QT_TQ1_0, vec_dot_tq1_0_ref, 52}};
enum { NTT = sizeof tt / sizeof tt[0] };

/* The tile on rows x cols against nact activations equals the row reference bit for bit. */
static int tile_same_as_ref(const ternary_type *t, vec_dot_tile_fn tile, const uint8_t *w,
                            int64_t rows, int64_t cols, const block_q8_K *a, int nact) {
    const size_t row_bytes = qtype_row_bytes(t->type, cols), a_row = qtype_row_bytes(QT_Q8_K, cols);
    float *y = malloc(sizeof *y * rows * nact), *want = malloc(sizeof *want * rows * nact);
    tile(cols, y, rows, w, row_bytes, (int)rows, a, a_row, nact);
    for (int b = 0; b < nact; b++)
        for (int64_t r = 0; r < rows; r++)
            t->ref(cols, &want[b * rows + r], w + r * row_bytes, (const char *)a + b * a_row);
    int same = memcmp(y, want, sizeof *y * rows * nact) == 0;
    for (int64_t i = 0; !same && i < rows * nact; i++)
        if (memcmp(&y[i], &want[i], 4)) {
            test_fail_at(__FILE__, __LINE__,
                         "%s rows=%lld cols=%lld nact=%d [%lld]: %.9g want %.9g",
                         qtype(t->type)->name, (long long)rows, (long long)cols, nact, (long long)i,
                         y[i], want[i]);
            break;
        }
    free(y), free(want);
    return same;
}

TEST(avx2_ternary_tiles_equal_reference) {
    if (!kernels_isa_supported(ISA_AVX2)) SKIP("no AVX2 on this CPU");
    REQUIRE(kernels_init("avx2", NULL) == 0);
    const int64_t shapes[][2] = {{8, 256}, {13, 512}, {40, 2816}, {3, 256}, {17, 5632}};
    int ran = 0;
    for (int k = 0; k < NTT; k++) {
        const ternary_type *t = &tt[k];
        vec_dot_tile_fn tile = kernels_for(ISA_AVX2, t->type)->vec_dot_tile;
        if (!tile) continue;
        ran++;
        for (int s = 0; s < 5; s++)
            for (int mode = 0; mode < 3; mode++) {
                const int64_t rows = shapes[s][0], cols = shapes[s][1];
                uint8_t *w = ternary_raw_rows(t->type, t->d_at, rows, cols, mode, next_u32);
                for (int nact = 1; nact <= 5; nact += 2) {
                    const int fill = mode == 2 ? (nact == 3 ? -128 : 127) : 0;
                    block_q8_K *a = ternary_activations(cols, nact, fill, next_u32);
                    CHECK_MSG(tile_same_as_ref(t, tile, w, rows, cols, a, nact), "mode %d fill %d",
                              mode, fill);
                    free(a);
                }
                free(w);
            }
    }
    REQUIRE(ran > 0); /* TQ2_0's tile at least is installed on AVX2 */
}
