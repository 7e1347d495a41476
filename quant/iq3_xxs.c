/* iq3_xxs.c - IQ3_XXS (ggml type 18): groups of 8 values as two entries of the 256-entry
 * 4-value grid iq3xxs_grid (indices qs[8 ib + 2l], +1), then per sub-block a uint32 at
 * qs + 64 + 4 ib of 4 x 7 sign bits (8th by parity) and the scale s in bits 28..31.
 * x = d (0.5 + s) / 2 * grid value * sign = d (2 s + 1) / 4 * ..., 3.0625 bits/weight. */
#include "formats.h"
#include "iq_search.h"

void dequantize_iq3_xxs(const void *src, float *dst, int64_t n) {
    iq_dequantize(src, dst, n, sizeof(block_iq3_xxs), iq3_xxs_sub, 0.25f);
}

static void pack(void *block, uint16_t d, const int *s, const int *entry, const uint8_t *signs) {
    block_iq3_xxs *b = block;
    b->d = d;
    for (int k = 0; k < 64; k++) b->qs[k] = (uint8_t)entry[k];
    for (int ib = 0; ib < 8; ib++) {
        uint32_t aux = (uint32_t)s[ib] << 28;
        for (int l = 0; l < 4; l++) aux |= (uint32_t)(signs[4 * ib + l] & 127) << 7 * l;
        memcpy(b->qs + 64 + 4 * ib, &aux, 4);
    }
}

void quantize_iq3_xxs(const float *src, void *dst, int64_t n, const float *importance) {
    static const iq_format f = {.grid = {.grid32 = iq3xxs_grid, .n_entries = 256},
                                .parity = 1,
                                .sub_n = 32,
                                .unit = 0.25f,
                                .pack = pack};
    iq_quantize(&f, src, dst, n, sizeof(block_iq3_xxs), importance);
}
