/* iq_unpack.h - one sub-block of 32 of the codebook formats (IQ2_XXS, IQ2_XS, IQ2_S,
 * IQ3_XXS, IQ3_S) in a common form: 32 grid magnitudes (4 words of 8 bytes, element 0 in
 * the low byte), 32 sign bits (bit j set: element j negative) and the odd integer scales
 * ls = 2 s + 1 of its two halves of 16. Every value of these formats is
 *   x = d * ls * factor * magnitude * sign,   factor 1/8 (IQ2), 1/4 (IQ3_XXS), 1 (IQ3_S),
 * which is ggml's d (0.5 + s) / 4 (IQ2), d (0.5 + s) / 2 (IQ3_XXS), d (1 + 2 s) (IQ3_S)
 * exactly (a power-of-two factor does not change float rounding). Layouts from ggml's
 * ggml-common.h and dequantize_row_iq*; the dequantizers (quant/iq_codebook.c), reference dots
 * (kernels/ref/dot_iq.c) and the emulated AVX-512 dots (kernels/x86/iq_rows.h) read the blocks
 * here; the SIMD super-block kernels (kernels/x86/avx*_iq_sb.c) read the same layouts. */
#ifndef SCARCE_IQ_UNPACK_H
#define SCARCE_IQ_UNPACK_H

#include <string.h>

#include "blocks.h"
#include "iq_grids.h"

typedef struct {
    uint64_t mag[4];
    uint32_t signs;
    int ls[2];
    uint16_t d; /* the super-block's fp16 d (the same in each of its sub-blocks) */
} iq_sub;

typedef void (*iq_unpack_fn)(const void *block, int ib, iq_sub *u);

static inline uint32_t iq_le32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The fp16 d at the start of a block (every format here but IQ1_M). */
static inline uint16_t iq_d_first(const void *block) {
    uint16_t d;
    memcpy(&d, block, 2);
    return d;
}

/* IQ2_XXS: 8 bytes per sub-block: 4 grid indices, then 4 x 7 sign bits + the scale s. */
static inline void iq2_xxs_sub(const void *block, int ib, iq_sub *u) {
    const uint8_t *q = (const uint8_t *)((const block_iq2_xxs *)block)->qs + 8 * ib;
    uint32_t aux = iq_le32(q + 4);
    u->signs = 0, u->d = iq_d_first(block);
    for (int l = 0; l < 4; l++) {
        u->mag[l] = iq2xxs_grid[q[l]];
        u->signs |= (uint32_t)iq_signs8(aux >> 7 * l) << 8 * l;
    }
    u->ls[0] = u->ls[1] = (int)(2 * (aux >> 28) + 1);
}

/* IQ2_XS: per group a uint16 of 9-bit grid index and 7 sign bits; a 4-bit scale per 16. */
static inline void iq2_xs_sub(const void *block, int ib, iq_sub *u) {
    const block_iq2_xs *b = block;
    u->signs = 0, u->d = iq_d_first(block);
    for (int l = 0; l < 4; l++) {
        uint16_t v = b->qs[4 * ib + l];
        u->mag[l] = iq2xs_grid[v & 511];
        u->signs |= (uint32_t)iq_signs8(v >> 9) << 8 * l;
    }
    u->ls[0] = 2 * (b->scales[ib] & 15) + 1, u->ls[1] = 2 * (b->scales[ib] >> 4) + 1;
}

/* IQ2_S: 10-bit grid index (low byte in qs, 2 high bits in qh), 8 explicit sign bits. */
static inline void iq2_s_sub(const void *block, int ib, iq_sub *u) {
    const block_iq2_s *b = block;
    u->signs = 0, u->d = iq_d_first(block);
    for (int l = 0; l < 4; l++) {
        int idx = b->qs[4 * ib + l] | ((b->qh[ib] << (8 - 2 * l)) & 0x300);
        u->mag[l] = iq2s_grid[idx];
        u->signs |= (uint32_t)b->qs[32 + 4 * ib + l] << 8 * l;
    }
    u->ls[0] = 2 * (b->scales[ib] & 15) + 1, u->ls[1] = 2 * (b->scales[ib] >> 4) + 1;
}

/* IQ3_XXS: two 4-value grid entries per group (qs[8 ib + 2l], +1), then per sub-block a
 * uint32 of 4 x 7 sign bits + the scale s. */
static inline void iq3_xxs_sub(const void *block, int ib, iq_sub *u) {
    const uint8_t *q = ((const block_iq3_xxs *)block)->qs;
    uint32_t aux = iq_le32(q + 64 + 4 * ib);
    u->signs = 0, u->d = iq_d_first(block);
    for (int l = 0; l < 4; l++) {
        u->mag[l] = iq3xxs_grid[q[8 * ib + 2 * l]] | (uint64_t)iq3xxs_grid[q[8 * ib + 2 * l + 1]]
                                                         << 32;
        u->signs |= (uint32_t)iq_signs8(aux >> 7 * l) << 8 * l;
    }
    u->ls[0] = u->ls[1] = (int)(2 * (aux >> 28) + 1);
}

/* IQ3_S: 9-bit indices of two 4-value entries per group (high bits in qh[ib]), 8 explicit
 * sign bits, a 4-bit scale per sub-block (two per byte). */
static inline void iq3_s_sub(const void *block, int ib, iq_sub *u) {
    const block_iq3_s *b = block;
    u->signs = 0, u->d = iq_d_first(block);
    for (int l = 0; l < 4; l++) {
        int i1 = b->qs[8 * ib + 2 * l] | ((b->qh[ib] << (8 - 2 * l)) & 256);
        int i2 = b->qs[8 * ib + 2 * l + 1] | ((b->qh[ib] << (7 - 2 * l)) & 256);
        u->mag[l] = iq3s_grid[i1] | (uint64_t)iq3s_grid[i2] << 32;
        u->signs |= (uint32_t)b->signs[4 * ib + l] << 8 * l;
    }
    u->ls[0] = u->ls[1] = 2 * ((b->scales[ib / 2] >> 4 * (ib % 2)) & 15) + 1;
}

/* IQ1_S / IQ1_M: a grid entry g (8 values in {-1, 0, 1}) shifted by delta = +-1/8 is
 * (8 g + 8 delta) / 8 with 8 g + 8 delta in {-9, -7, -1, 1, 7, 9}: group l of the common
 * form is |8 g + 8 delta| with its sign bits, at factor 1/8. */
static inline void iq1_group(iq_sub *u, int l, int grid_index, int negative_delta) {
    const uint64_t e = iq1s_grid[grid_index];
    uint64_t mag = 0;
    for (int j = 0; j < 8; j++) {
        int v = 8 * (int8_t)(e >> 8 * j) + (negative_delta ? -1 : 1);
        mag |= (uint64_t)(v < 0 ? -v : v) << 8 * j;
        u->signs |= (uint32_t)(v < 0) << (8 * l + j);
    }
    u->mag[l] = mag;
}

/* IQ1_S: group l's index is qs[4 ib + l] | bits 3l..3l+2 of qh[ib] << 8; qh[ib] bits 12..14
 * are the scale s (ls = 2 s + 1), bit 15 the delta's sign (set: -1/8). */
static inline void iq1_s_sub(const void *block, int ib, iq_sub *u) {
    const block_iq1_s *b = block;
    const unsigned qh = b->qh[ib];
    u->signs = 0, u->d = b->d;
    for (int l = 0; l < 4; l++)
        iq1_group(u, l, b->qs[4 * ib + l] | ((qh >> 3 * l) & 7) << 8, (qh >> 15) & 1);
    u->ls[0] = u->ls[1] = (int)(2 * ((qh >> 12) & 7) + 1);
}

/* IQ1_M: group l's index is qs[4 ib + l] | 3 bits of qh[2 ib + l / 2] (bits 0..2 for even
 * l, 4..6 for odd) << 8, its delta's sign bit 3 or 7 of that byte. The scales, read as 4
 * little-endian uint16 sc[]: bits 6 (ib % 2) .. +2 of sc[ib / 2] are s of groups 0, 1,
 * the next 3 bits s of groups 2, 3; the top nibbles of sc[0..3] are the fp16 d. */
static inline void iq1_m_sub(const void *block, int ib, iq_sub *u) {
    const block_iq1_m *b = block;
    uint16_t sc[4];
    memcpy(sc, b->scales, 8);
    u->signs = 0;
    u->d = (uint16_t)((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) |
                      (sc[3] & 0xf000));
    for (int l = 0; l < 4; l++) {
        const unsigned qh = b->qh[2 * ib + l / 2] >> 4 * (l % 2);
        iq1_group(u, l, b->qs[4 * ib + l] | (qh & 7) << 8, (qh >> 3) & 1);
    }
    const unsigned s = sc[ib / 2] >> 6 * (ib % 2);
    u->ls[0] = (int)(2 * (s & 7) + 1), u->ls[1] = (int)(2 * ((s >> 3) & 7) + 1);
}

#endif
