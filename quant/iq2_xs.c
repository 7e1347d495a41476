/* iq2_xs.c - IQ2_XS (ggml type 17): as IQ2_XXS but a 512-entry grid (iq2xs_grid) and a
 * 4-bit scale per 16 values: per group of 8 a uint16 of 9-bit grid index | 7 sign bits
 * << 9 (the 8th by parity); scales[ib] low / high nibble for the two halves of sub-block
 * ib. x = d (2 s + 1) / 8 * grid value * sign, 2.3125 bits/weight (iq_unpack.h). */
#include "formats.h"
#include "iq_search.h"

void dequantize_iq2_xs(const void *src, float *dst, int64_t n) {
    iq_dequantize(src, dst, n, sizeof(block_iq2_xs), iq2_xs_sub, 0.125f);
}

static void pack(void *block, uint16_t d, const int *s, const int *entry, const uint8_t *signs) {
    block_iq2_xs *b = block;
    b->d = d;
    for (int k = 0; k < 32; k++) b->qs[k] = (uint16_t)(entry[k] | (signs[k] & 127) << 9);
    for (int ib = 0; ib < 8; ib++) b->scales[ib] = (uint8_t)(s[2 * ib] | s[2 * ib + 1] << 4);
}

void quantize_iq2_xs(const float *src, void *dst, int64_t n, const float *importance) {
    static const iq_format f = {.grid = {.grid64 = iq2xs_grid, .n_entries = 512},
                                .parity = 1,
                                .sub_n = 16,
                                .unit = 0.125f,
                                .pack = pack};
    iq_quantize(&f, src, dst, n, sizeof(block_iq2_xs), importance);
}
