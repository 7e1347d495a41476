/* iq3_s.c - IQ3_S (ggml type 21): groups of 8 as two entries of the 512-entry 4-value grid
 * iq3s_grid (low index bytes qs[8 ib + 2l], +1; their 9th bits are bits 2l, 2l+1 of
 * qh[ib]), 8 explicit sign bits per group (signs[4 ib + l]), a 4-bit scale per sub-block
 * (nibble ib % 2 of scales[ib / 2]). x = d (1 + 2 s) * grid value * sign, 3.4375 bits/weight. */
#include "formats.h"
#include "iq_search.h"

void dequantize_iq3_s(const void *src, float *dst, int64_t n) {
    iq_dequantize(src, dst, n, sizeof(block_iq3_s), iq3_s_sub, 1.0f);
}

static void pack(void *block, uint16_t d, const int *s, const int *entry, const uint8_t *signs) {
    block_iq3_s *b = block;
    b->d = d;
    for (int ib = 0; ib < 8; ib++) {
        b->qh[ib] = 0;
        for (int k = 0; k < 8; k++) {
            int e = entry[8 * ib + k];
            b->qs[8 * ib + k] = (uint8_t)(e & 255);
            b->qh[ib] |= (uint8_t)((e >> 8) << k);
        }
        for (int l = 0; l < 4; l++) b->signs[4 * ib + l] = signs[4 * ib + l];
    }
    for (int k = 0; k < 4; k++) b->scales[k] = (uint8_t)(s[2 * k] | s[2 * k + 1] << 4);
}

void quantize_iq3_s(const float *src, void *dst, int64_t n, const float *importance) {
    static const iq_format f = {.grid = {.grid32 = iq3s_grid, .n_entries = 512},
                                .parity = 0,
                                .sub_n = 32,
                                .unit = 1.0f,
                                .pack = pack};
    iq_quantize(&f, src, dst, n, sizeof(block_iq3_s), importance);
}
