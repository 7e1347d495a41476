/* iq2_xxs.c - IQ2_XXS (ggml type 16): super-blocks of 256 in 8 sub-blocks of 32, each of 4
 * groups of 8 values taken from the 256-entry grid iq2xxs_grid (magnitudes 8, 25, 43) with
 * signs, 2.0625 bits/weight. Sub-block ib is 8 bytes at qs + 4 ib (uint16 units): bytes 0..3
 * the 4 grid indices, then a little-endian uint32 whose bits 7l..7l+6 are group l's sign
 * bits (the 8th by parity, iq_signs8) and bits 28..31 the scale s:
 *   x = d (0.5 + s) / 4 * grid value * sign = d (2 s + 1) / 8 * grid value * sign.
 * Quantizer: our codebook search (iq_search.c), without ggml's importance requirement. */
#include "formats.h"
#include "iq_search.h"

void dequantize_iq2_xxs(const void *src, float *dst, int64_t n) {
    iq_dequantize(src, dst, n, sizeof(block_iq2_xxs), iq2_xxs_sub, 0.125f);
}

static void pack(void *block, uint16_t d, const int *s, const int *entry, const uint8_t *signs) {
    block_iq2_xxs *b = block;
    b->d = d;
    for (int ib = 0; ib < 8; ib++) {
        uint8_t *q = (uint8_t *)b->qs + 8 * ib;
        uint32_t aux = (uint32_t)s[ib] << 28;
        for (int l = 0; l < 4; l++) {
            q[l] = (uint8_t)entry[4 * ib + l];
            aux |= (uint32_t)(signs[4 * ib + l] & 127) << 7 * l;
        }
        memcpy(q + 4, &aux, 4);
    }
}

void quantize_iq2_xxs(const float *src, void *dst, int64_t n, const float *importance) {
    static const iq_format f = {.grid = {.grid64 = iq2xxs_grid, .n_entries = 256},
                                .parity = 1,
                                .sub_n = 32,
                                .unit = 0.125f,
                                .pack = pack};
    iq_quantize(&f, src, dst, n, sizeof(block_iq2_xxs), importance);
}
