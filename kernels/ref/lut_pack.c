/* lut_pack.c - the LUT layouts of kernels/lut.h: file blocks <-> 8-row bit-plane blocks.
 * A format is described by where its d sits and how element j's code is read and written
 * (quant/blocks.h); the bit positions come from lut_bit_pos(). */
#include <string.h>

#include "../../quant/blocks.h"
#include "../lut.h"

typedef struct {
    uint32_t type;
    int block, block_bytes, planes, d_at;
    int (*code)(const uint8_t *blk, int j);
    void (*set_code)(uint8_t *blk, int j, int code); /* into a zeroed block */
    /* bit p of the codes of columns j .. j+3 (j % 4 == 0) as bits 0..3: one index */
    int (*nibble)(const uint8_t *blk, int j, int p);
} lut_format;

/* Q1_0 and Q2_0: d first, then the codes, 8 / bits codes a byte in element order */
static int code_q1_0(const uint8_t *b, int j) {
    return (b[2 + j / 8] >> (j % 8)) & 1;
}
static void set_q1_0(uint8_t *b, int j, int c) {
    b[2 + j / 8] |= (uint8_t)(c << (j % 8));
}
static int code_q2_0(const uint8_t *b, int j) {
    return (b[2 + j / 4] >> 2 * (j % 4)) & 3;
}
static void set_q2_0(uint8_t *b, int j, int c) {
    b[2 + j / 4] |= (uint8_t)(c << 2 * (j % 4));
}
/* TQ2_0: codes first (byte 32h + m holds 128h + m + 32s in bits 2s), d last */
static int tq2_byte(int j) {
    return j / 128 * 32 + j % 32;
}
static int code_tq2_0(const uint8_t *b, int j) {
    return (b[tq2_byte(j)] >> 2 * (j % 128 / 32)) & 3;
}
static void set_tq2_0(uint8_t *b, int j, int c) {
    b[tq2_byte(j)] |= (uint8_t)(c << 2 * (j % 128 / 32));
}

/* Bits p, p + 2, p + 4, p + 6 of a byte of four 2-bit codes as bits 0..3. */
static int every_other(int byte, int p) {
    byte >>= p;
    return (byte & 1) | (byte >> 1 & 2) | (byte >> 2 & 4) | (byte >> 3 & 8);
}
static int nibble_q1_0(const uint8_t *b, int j, int p) {
    return (b[2 + j / 8] >> (j % 8)) & 15;
}
static int nibble_q2_0(const uint8_t *b, int j, int p) {
    return every_other(b[2 + j / 4], p);
}
/* TQ2_0's columns j .. j+3 are 4 consecutive bytes at the same shift */
static int nibble_tq2_0(const uint8_t *b, int j, int p) {
    const uint8_t *q = b + tq2_byte(j);
    const int s = 2 * (j % 128 / 32) + p;
    return (q[0] >> s & 1) | (q[1] >> s & 1) << 1 | (q[2] >> s & 1) << 2 | (q[3] >> s & 1) << 3;
}

static const lut_format fmt_q1_0 = {QT_Q1_0, 128,       sizeof(block_q1_0), 1,
                                    0,       code_q1_0, set_q1_0,           nibble_q1_0};
static const lut_format fmt_q2_0 = {QT_Q2_0, 64,        sizeof(block_q2_0), 2,
                                    0,       code_q2_0, set_q2_0,           nibble_q2_0};
static const lut_format fmt_tq2_0 = {QT_TQ2_0, QK_K,       sizeof(block_tq2_0), 2,
                                     QK_K / 4, code_tq2_0, set_tq2_0,           nibble_tq2_0};

/* Row r's block `one` into its place in the packed block x8: whole bytes, two nibbles
 * (4 columns, one plane, each) at a time, as load time wants (TinyLlama: 1.1e9 weights).
 * lut_bit_pos() is the spec of where they go (unpack_block reads by it, the tests compare). */
static void pack_block(const lut_format *f, uint8_t *x8, const uint8_t *one, int r) {
    memcpy(x8 + 2 * r, one + f->d_at, 2);
    for (int c = 0; c < f->block; c += 16) {
        uint8_t *unit = x8 + 16 + c * f->planes;
        if (f->planes == 1) {
            unit[r] = (uint8_t)(f->nibble(one, c, 0) | f->nibble(one, c + 12, 0) << 4);
            unit[8 + r] = (uint8_t)(f->nibble(one, c + 4, 0) | f->nibble(one, c + 8, 0) << 4);
            continue;
        }
        for (int L = 0; L < 2; L++)
            for (int p = 0; p < 2; p++)
                unit[16 * L + 8 * p + r] =
                    (uint8_t)(f->nibble(one, c + 4 * L, p) | f->nibble(one, c + 4 * L + 8, p) << 4);
    }
}

/* Back: row r's block `one` (zeroed) from x8, bit by bit (tests only). */
static void unpack_block(const lut_format *f, const uint8_t *x8, uint8_t *one, int r) {
    memcpy(one + f->d_at, x8 + 2 * r, 2);
    for (int j = 0; j < f->block; j++)
        for (int p = 0; p < f->planes; p++) {
            int bit, at = 16 + j / 16 * 16 * f->planes + lut_bit_pos(f->planes, j % 16, p, r, &bit);
            if ((x8[at] >> bit) & 1) f->set_code(one, j, f->code(one, j) | 1 << p);
        }
}

/* Row r's block i sits in packed block i of its 8-row group (group g at 8 g row_bytes). */
static void convert(const lut_format *f, int64_t rows, int64_t cols, const uint8_t *src,
                    uint8_t *dst, int pack) {
    const int64_t nb = cols / f->block;
    const size_t bb = (size_t)f->block_bytes, row_bytes = (size_t)nb * bb;
    memset(dst, 0, (size_t)rows * row_bytes);
    uint8_t *packed = pack ? dst : (uint8_t *)src, *plain = pack ? (uint8_t *)src : dst;
    /* rows write disjoint bytes: split over the cores (load time) */
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < nb; i++)
            if (pack)
                pack_block(f, packed + ((r / REPACK_ROWS) * nb + i) * REPACK_ROWS * bb,
                           plain + r * row_bytes + i * bb, (int)(r % REPACK_ROWS));
            else
                unpack_block(f, packed + ((r / REPACK_ROWS) * nb + i) * REPACK_ROWS * bb,
                             plain + r * row_bytes + i * bb, (int)(r % REPACK_ROWS));
}

#define LUT_CONVERTERS(name)                                                                       \
    static void pack_##name(int64_t rows, int64_t cols, const void *src, void *dst) {              \
        convert(&fmt_##name, rows, cols, src, dst, 1);                                             \
    }                                                                                              \
    static void unpack_##name(int64_t rows, int64_t cols, const void *src, void *dst) {            \
        convert(&fmt_##name, rows, cols, src, dst, 0);                                             \
    }
LUT_CONVERTERS(q1_0)
LUT_CONVERTERS(q2_0)
LUT_CONVERTERS(tq2_0)

const x8_layout lut_q1_0 = {
    .type = QT_Q1_0, .ref_tile = tile_lut_q1_0_ref, .pack = pack_q1_0, .unpack = unpack_q1_0};
const x8_layout lut_q2_0 = {
    .type = QT_Q2_0, .ref_tile = tile_lut_q2_0_ref, .pack = pack_q2_0, .unpack = unpack_q2_0};
const x8_layout lut_tq2_0 = {
    .type = QT_TQ2_0, .ref_tile = tile_lut_tq2_0_ref, .pack = pack_tq2_0, .unpack = unpack_tq2_0};
