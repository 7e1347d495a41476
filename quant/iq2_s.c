/* iq2_s.c - IQ2_S (ggml type 22): a 1024-entry grid (iq2s_grid), 10-bit indices (low byte in
 * qs[4 ib + l], 2 high bits of group l in qh[ib] bits 2l, 2l+1), 8 explicit sign bits per
 * group (qs[32 + 4 ib + l]) and a 4-bit scale per 16 values as IQ2_XS.
 * x = d (2 s + 1) / 8 * grid value * sign, 2.5625 bits/weight (iq_unpack.h). */
#include "formats.h"
#include "iq_search.h"

void dequantize_iq2_s(const void *src, float *dst, int64_t n) {
    iq_dequantize(src, dst, n, sizeof(block_iq2_s), iq2_s_sub, 0.125f);
}

static void pack(void *block, uint16_t d, const int *s, const int *entry, const uint8_t *signs) {
    block_iq2_s *b = block;
    b->d = d;
    for (int ib = 0; ib < 8; ib++) {
        b->qh[ib] = 0;
        for (int l = 0; l < 4; l++) {
            int e = entry[4 * ib + l];
            b->qs[4 * ib + l] = (uint8_t)(e & 255);
            b->qh[ib] |= (uint8_t)((e >> 8) << 2 * l);
            b->qs[32 + 4 * ib + l] = signs[4 * ib + l];
        }
        b->scales[ib] = (uint8_t)(s[2 * ib] | s[2 * ib + 1] << 4);
    }
}

void quantize_iq2_s(const float *src, void *dst, int64_t n, const float *importance) {
    static const iq_format f = {.grid = {.grid64 = iq2s_grid, .n_entries = 1024},
                                .parity = 0,
                                .sub_n = 16,
                                .unit = 0.125f,
                                .pack = pack};
    iq_quantize(&f, src, dst, n, sizeof(block_iq2_s), importance);
}
