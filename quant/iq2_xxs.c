/* iq2_xxs.c - IQ2_XXS (ggml type 16): super-blocks of 256 in 8 sub-blocks of 32, each of 4
 * groups of 8 values taken from the 256-entry grid iq2xxs_grid (magnitudes 8, 25, 43) with
 * signs, 2.0625 bits/weight. Sub-block ib is 8 bytes at qs + 4 ib (uint16 units): bytes 0..3
 * the 4 grid indices, then a little-endian uint32 whose bits 7l..7l+6 are group l's sign
 * bits (the 8th by parity, iq_signs8) and bits 28..31 the scale s:
 *   x = d (0.5 + s) / 4 * grid value * sign = d (2 s + 1) / 8 * grid value * sign.
 * Quantizer: our codebook search (iq_search.c), without ggml's importance requirement. */
#include <string.h>

#include "formats.h"
#include "fp16.h"
#include "iq_grids.h"
#include "iq_search.h"

void dequantize_iq2_xxs(const void *src, float *dst, int64_t n) {
    const block_iq2_xxs *b = src;
    for (int64_t i = 0; i < n / QK_K; i++) {
        float d = fp16_to_f32(b[i].d), *y = dst + i * QK_K;
        for (int ib = 0; ib < 8; ib++) {
            const uint8_t *q = (const uint8_t *)(b[i].qs + 4 * ib);
            uint32_t aux;
            memcpy(&aux, q + 4, 4);
            float db = d * (0.5f + (float)(aux >> 28)) * 0.25f;
            for (int l = 0; l < 4; l++) {
                uint8_t signs = iq_signs8(aux >> 7 * l);
                for (int j = 0; j < 8; j++)
                    y[32 * ib + 8 * l + j] = db * (float)iq_grid_byte64(iq2xxs_grid, q[l], j) *
                                             (signs >> j & 1 ? -1.0f : 1.0f);
            }
        }
    }
}

void quantize_iq2_xxs(const float *src, void *dst, int64_t n, const float *importance) {
    block_iq2_xxs *b = dst;
    const iq_grid grid = {.grid64 = iq2xxs_grid, .n_entries = 256};
    float ones[QK_K], t[QK_K];
    int s[8], entry[32];
    uint8_t signs[32];
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float *x = src + i * QK_K, *w = q_weights(importance, i * QK_K, QK_K, ones);
        for (int k = 0; k < 32; k++) signs[k] = iq_signs(x + 8 * k, w + 8 * k, 1, t + 8 * k);
        b[i].d = iq_fit_super(&grid, 8, 32, t, w, 0.125f, 15, s, entry);
        for (int ib = 0; ib < 8; ib++) {
            uint8_t *q = (uint8_t *)(b[i].qs + 4 * ib);
            uint32_t aux = (uint32_t)s[ib] << 28;
            for (int l = 0; l < 4; l++) {
                q[l] = (uint8_t)entry[4 * ib + l];
                aux |= (uint32_t)(signs[4 * ib + l] & 127) << 7 * l;
            }
            memcpy(q + 4, &aux, 4);
        }
    }
}
