/* lut_pack.c - the LUT layouts of kernels/lut.h: file blocks <-> 8-row bit-plane blocks.
 * A format is described by where its d sits and how element j's code is read and written
 * (quant/blocks.h); the bit positions come from lut_bit_pos(). */
#include <string.h>

#include "../../quant/blocks.h"
#include "../lut.h"

typedef struct {
    uint32_t type;
    int block, block_bytes, planes, d_at;
    int packed_block_bytes; /* of 8 rows' blocks: 8 block_bytes, or more (TQ1_0) */
    int (*code)(const uint8_t *blk, int j);
    void (*set_code)(uint8_t *blk, int j, int code); /* into a zeroed block */
    /* bit p of the codes of columns j .. j+3 (j % 4 == 0) as bits 0..3: one index; NULL:
     * from the codes (code), decoded once per block */
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

/* TQ1_0: trit of element j, as code 0..2 (x = d (code - 1)); written back as the byte
 * fraction quant/tq1_0.c writes (v / 243 rounded up, v the byte's base-3 value; a qh
 * byte's fifth trit 0), so unpack gives the canonical bytes of the codes. */
static int code_tq1_0(const uint8_t *b, int j) {
    int trit, pos = tq1_pos(j, &trit);
    return tq1_trit(tq1_byte((const block_tq1_0 *)b, pos), trit);
}
static void set_tq1_0(uint8_t *b, int j, int c) {
    static const int weight[5] = {81, 27, 9, 3, 1};
    int trit, pos = tq1_pos(j, &trit);
    uint8_t *byte = pos < 48 ? b + pos : b + 48 + (pos - 48);
    int v = 0; /* the byte's value so far: its earlier codes, decoded back */
    for (int n = 0; n < 5; n++) v += (n == trit ? c : tq1_trit(*byte, n)) * weight[n];
    *byte = (uint8_t)((v * 256 + 242) / 243);
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

static const lut_format fmt_q1_0 = {QT_Q1_0,   128, sizeof(block_q1_0), 1, 0,
                                    8 * 18,    code_q1_0, set_q1_0, nibble_q1_0};
static const lut_format fmt_q2_0 = {QT_Q2_0,   64, sizeof(block_q2_0), 2, 0,
                                    8 * 18,    code_q2_0, set_q2_0, nibble_q2_0};
static const lut_format fmt_tq2_0 = {QT_TQ2_0, QK_K, sizeof(block_tq2_0), 2, QK_K / 4,
                                     8 * 66,   code_tq2_0, set_tq2_0, nibble_tq2_0};
/* TQ1_0 in TQ2_0's planes: 528 bytes for 8 blocks of 54 (lut.h) */
static const lut_format fmt_tq1_0 = {QT_TQ1_0, QK_K, sizeof(block_tq1_0), 2, 52,
                                     8 * 66,   code_tq1_0, set_tq1_0, NULL};

/* bit p of codes[j .. j+3] as bits 0..3 */
static int nibble_of_codes(const uint8_t *codes, int j, int p) {
    return (codes[j] >> p & 1) | (codes[j + 1] >> p & 1) << 1 | (codes[j + 2] >> p & 1) << 2 |
           (codes[j + 3] >> p & 1) << 3;
}

/* Row r's block `one` into its place in the packed block x8: whole bytes, two nibbles
 * (4 columns, one plane, each) at a time, as load time wants (TinyLlama: 1.1e9 weights).
 * lut_bit_pos() is the spec of where they go (unpack_block reads by it, the tests compare). */
static int nibble(const lut_format *f, const uint8_t *one, const uint8_t *codes, int j, int p) {
    return f->nibble ? f->nibble(one, j, p) : nibble_of_codes(codes, j, p);
}

static void pack_block(const lut_format *f, uint8_t *x8, const uint8_t *one, int r) {
    uint8_t codes[QK_K];
    for (int j = 0; !f->nibble && j < f->block; j++) codes[j] = (uint8_t)f->code(one, j);
    memcpy(x8 + 2 * r, one + f->d_at, 2);
    for (int c = 0; c < f->block; c += 16) {
        uint8_t *unit = x8 + 16 + c * f->planes;
        if (f->planes == 1) {
            unit[r] = (uint8_t)(nibble(f, one, codes, c, 0) | nibble(f, one, codes, c + 12, 0) << 4);
            unit[8 + r] =
                (uint8_t)(nibble(f, one, codes, c + 4, 0) | nibble(f, one, codes, c + 8, 0) << 4);
            continue;
        }
        for (int L = 0; L < 2; L++)
            for (int p = 0; p < 2; p++)
                unit[16 * L + 8 * p + r] = (uint8_t)(nibble(f, one, codes, c + 4 * L, p) |
                                                     nibble(f, one, codes, c + 4 * L + 8, p) << 4);
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

/* Row r's block i sits in packed block i of its 8-row group (group g at nb packed blocks
 * per group: 8 g row_bytes when a packed block is 8 blocks' bytes). */
static void convert(const lut_format *f, int64_t rows, int64_t cols, const uint8_t *src,
                    uint8_t *dst, int pack) {
    const int64_t nb = cols / f->block;
    const size_t bb = (size_t)f->block_bytes, row_bytes = (size_t)nb * bb,
                 pb = (size_t)f->packed_block_bytes;
    memset(dst, 0, pack ? (size_t)rows / REPACK_ROWS * nb * pb : (size_t)rows * row_bytes);
    uint8_t *packed = pack ? dst : (uint8_t *)src, *plain = pack ? (uint8_t *)src : dst;
    /* rows write disjoint bytes: split over the cores (load time) */
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < nb; i++)
            if (pack)
                pack_block(f, packed + ((r / REPACK_ROWS) * nb + i) * pb,
                           plain + r * row_bytes + i * bb, (int)(r % REPACK_ROWS));
            else
                unpack_block(f, packed + ((r / REPACK_ROWS) * nb + i) * pb,
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
LUT_CONVERTERS(tq1_0)

const x8_layout lut_q1_0 = {
    .type = QT_Q1_0, .ref_tile = tile_lut_q1_0_ref, .pack = pack_q1_0, .unpack = unpack_q1_0};
const x8_layout lut_q2_0 = {
    .type = QT_Q2_0, .ref_tile = tile_lut_q2_0_ref, .pack = pack_q2_0, .unpack = unpack_q2_0};
const x8_layout lut_tq2_0 = {
    .type = QT_TQ2_0, .ref_tile = tile_lut_tq2_0_ref, .pack = pack_tq2_0, .unpack = unpack_tq2_0};
/* the same planes and kernels as TQ2_0 (tile_lut_tq2_0_*), on a larger copy */
const x8_layout lut_tq1_0 = {.type = QT_TQ1_0,
                             .ref_tile = tile_lut_tq2_0_ref,
                             .pack = pack_tq1_0,
                             .unpack = unpack_tq1_0,
                             .packed_block_bytes = 8 * sizeof(block_tq2_0)};
