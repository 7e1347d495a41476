/* iq1_m.c - IQ1_M (ggml type 29): super-blocks of 256 in 8 sub-blocks of 32, groups of 8
 * from iq1s_grid (values -1, 0, 1) with a delta of +-1/8 each, a 3-bit scale per half
 * sub-block of 16, 56 bytes, 1.75 bits/weight. No d field: the fp16 d is the top nibbles
 * of the 4 uint16 scale words. Group l of sub-block ib: low index byte qs[4 ib + l], high
 * 3 bits and delta sign (bit 3) in nibble l % 2 of qh[2 ib + l / 2]; the scales s of the
 * halves are 6 (ib % 2) + 0..2 and + 3..5 of scale word ib / 2:
 *   x = d (2 s + 1) (g + delta)   (ggml's dequantize_row_iq1_m).
 * Quantizer: iq1_search.c, as IQ1_S (iq1_s.c says what happens without an imatrix). */
#include <string.h>

#include "formats.h"
#include "iq1_search.h"
#include "iq_search.h"

void dequantize_iq1_m(const void *src, float *dst, int64_t n) {
    iq_dequantize(src, dst, n, sizeof(block_iq1_m), iq1_m_sub, 0.125f);
}

static void pack(void *block, uint16_t d, const int *s, const int *entry, const int *neg) {
    block_iq1_m *b = block;
    uint16_t sc[4] = {0, 0, 0, 0};
    memset(b->qh, 0, sizeof b->qh);
    for (int ib = 0; ib < 8; ib++) {
        for (int l = 0; l < 4; l++) {
            const int g = 4 * ib + l;
            b->qs[g] = (uint8_t)(entry[g] & 255);
            b->qh[2 * ib + l / 2] |= (uint8_t)(((entry[g] >> 8) | neg[g] << 3) << 4 * (l % 2));
        }
        sc[ib / 2] |= (uint16_t)((s[2 * ib] | s[2 * ib + 1] << 3) << 6 * (ib % 2));
    }
    for (int k = 0; k < 4; k++) sc[k] |= (uint16_t)(((d >> 4 * k) & 15) << 12);
    memcpy(b->scales, sc, 8);
}

void quantize_iq1_m(const float *src, void *dst, int64_t n, const float *importance) {
    iq1_quantize(src, dst, n, importance, 2, 0, sizeof(block_iq1_m), pack);
}
