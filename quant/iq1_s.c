/* iq1_s.c - IQ1_S (ggml type 19): super-blocks of 256 in 8 sub-blocks of 32, each of 4
 * groups of 8 values from the 2048-entry grid iq1s_grid (values -1, 0, 1), 50 bytes, 1.5625
 * bits/weight. Sub-block ib: the low index bytes qs[4 ib + l], and qh[ib] (uint16) with
 * each group's 3 high index bits (3l..3l+2), the scale s (bits 12..14) and the sign of the
 * shared delta (bit 15, set: -1/8):
 *   x = d (2 s + 1) (g + delta),   delta = +-1/8   (ggml's dequantize_row_iq1_s).
 * Quantizer: iq1_search.c, errors weighted as llama.cpp's IQ1 quantizer weights them
 * (importance x sqrt(sigma2 + x^2)). llama.cpp requires an importance matrix for IQ1_S;
 * without one this uses importance 1 (the caller decides whether to allow that). */
#include "formats.h"
#include "iq1_search.h"
#include "iq_search.h"

void dequantize_iq1_s(const void *src, float *dst, int64_t n) {
    iq_dequantize(src, dst, n, sizeof(block_iq1_s), iq1_s_sub, 0.125f);
}

static void pack(void *block, uint16_t d, const int *s, const int *entry, const int *neg) {
    block_iq1_s *b = block;
    b->d = d;
    for (int ib = 0; ib < 8; ib++) {
        unsigned qh = (unsigned)s[ib] << 12 | (unsigned)neg[4 * ib] << 15;
        for (int l = 0; l < 4; l++) {
            b->qs[4 * ib + l] = (uint8_t)(entry[4 * ib + l] & 255);
            qh |= (unsigned)(entry[4 * ib + l] >> 8) << 3 * l;
        }
        b->qh[ib] = (uint16_t)qh;
    }
}

void quantize_iq1_s(const float *src, void *dst, int64_t n, const float *importance) {
    iq1_quantize(src, dst, n, importance, 4, 1, sizeof(block_iq1_s), pack);
}
