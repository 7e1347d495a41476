/* repack.c - the 8-row interleaved layout (see repack.h): conversion both ways, which
 * kernel runs it on this ISA, and the packed copies' lifetime. */
#include "repack.h"

#include <stdlib.h>
#include <string.h>

#include "../quant/blocks.h"
#include "../quant/types.h"
#include "cpu.h"
#if defined(__x86_64__)
#include "x86/avx512.h"
#endif

/* Each type is fp16 fields (Q4_0 / Q8_0: d; Q4_1: d, m) followed by qs bytes (blocks.h);
 * the layout groups each field over the 8 rows and moves whole 4-byte chunks of qs, so
 * one routine serves all three. */
int repack_has_layout(uint32_t type) {
    return type == QT_Q4_0 || type == QT_Q8_0 || type == QT_Q4_1 || type == QT_Q2_K;
}

/* Bytes of one block of one row (the fp16 fields, then qs). */
static size_t block_bytes(uint32_t type) {
    return qtype(type)->block_bytes;
}

/* fp16 fields at the start of a block: 2 for Q4_1 (d, m), 1 for the others (d). */
static int n_fields(uint32_t type) {
    return type == QT_Q4_1 ? 2 : 1;
}

/* Copies one block between the two layouts: row block `one` <-> row r of packed block
 * `x8` (pack = 1: one -> x8). */
static void move_block(uint8_t *x8, uint8_t *one, int r, size_t bb, int nf, int pack) {
    const size_t head = 2 * (size_t)nf, qs_bytes = bb - head;
    uint8_t *qs = x8 + head * REPACK_ROWS;
    for (int f = 0; f < nf; f++) {
        uint8_t *field = x8 + 2 * REPACK_ROWS * f + 2 * r;
        if (pack)
            memcpy(field, one + 2 * f, 2);
        else
            memcpy(one + 2 * f, field, 2);
    }
    for (size_t c = 0; c < qs_bytes / 4; c++) {
        uint8_t *chunk = qs + 32 * c + 4 * r;
        if (pack)
            memcpy(chunk, one + head + 4 * c, 4);
        else
            memcpy(one + head + 4 * c, chunk, 4);
    }
}

/* Q2_K: every field moves in 2-byte pieces (scale pairs, qs byte pairs, d, dmin), so a
 * block is 42 pieces; piece k of row r goes from byte 2k of its block to
 * q2k_at(k) + q2k_row_step(k) r of the packed block (layout in repack.h). */
enum { Q2K_PIECES = sizeof(block_q2_K) / 2 };

static size_t q2k_at(int k) {
    const int byte = 2 * k;
    if (byte < 16) return 32 + 8 * (size_t)byte; /* scales[2m, 2m+1]: 32 + 16 m */
    if (byte < 80) {
        int b = byte - 16, h = b / 32, l = b % 32, half = l / 16, p = (l % 16) / 2;
        return 160 + 32 * (size_t)(8 * h + p) + 2 * (size_t)half;
    }
    return byte == 80 ? 0 : 16; /* d, dmin */
}

static size_t q2k_row_step(int k) {
    return 2 * k >= 16 && 2 * k < 80 ? 4 : 2;
}

static void move_block_q2_k(uint8_t *x8, uint8_t *one, int r, int pack) {
    for (int k = 0; k < Q2K_PIECES; k++) {
        uint8_t *at = x8 + q2k_at(k) + q2k_row_step(k) * (size_t)r;
        if (pack)
            memcpy(at, one + 2 * k, 2);
        else
            memcpy(one + 2 * k, at, 2);
    }
}

static void convert(uint32_t type, int64_t rows, int64_t cols, const uint8_t *src, uint8_t *dst,
                    int pack) {
    const size_t bb = block_bytes(type);
    const int nf = n_fields(type);
    const int64_t nb = cols / qtype(type)->block;
    const size_t row_bytes = (size_t)nb * bb;
    const uint8_t *packed = pack ? dst : src, *plain = pack ? src : dst;
    for (int64_t g = 0; g < rows / REPACK_ROWS; g++)
        for (int64_t i = 0; i < nb; i++) {
            uint8_t *x8 = (uint8_t *)packed + (g * nb + i) * REPACK_ROWS * bb;
            for (int r = 0; r < REPACK_ROWS; r++) {
                uint8_t *one = (uint8_t *)plain + (g * REPACK_ROWS + r) * row_bytes + i * bb;
                if (type == QT_Q2_K)
                    move_block_q2_k(x8, one, r, pack);
                else
                    move_block(x8, one, r, bb, nf, pack);
            }
        }
}

void repack_rows(uint32_t type, int64_t rows, int64_t cols, const void *src, void *dst) {
    convert(type, rows, cols, src, dst, 1);
}

void unpack_rows(uint32_t type, int64_t rows, int64_t cols, const void *src, void *dst) {
    convert(type, rows, cols, src, dst, 0);
}

vec_dot_tile_fn repack_tile(uint32_t type) {
#if defined(__x86_64__)
    isa_level isa = kernels_isa();
    if (isa == ISA_AVX512) {
        if (type == QT_Q4_0) return tile_q4_0x8_avx512;
        if (type == QT_Q8_0) return tile_q8_0x8_avx512;
        if (type == QT_Q4_1) return tile_q4_1x8_avx512;
        if (type == QT_Q2_K) return tile_q2_kx8_avx512;
    }
    if (isa == ISA_AVX2 || isa == ISA_AVX512) {
        if (type == QT_Q4_0) return tile_q4_0x8_avx2;
        if (type == QT_Q8_0) return tile_q8_0x8_avx2;
        if (type == QT_Q4_1) return tile_q4_1x8_avx2;
        if (type == QT_Q2_K) return tile_q2_kx8_avx2;
    }
#endif
    (void)type;
    return NULL;
}

int repack_enabled(void) {
    const char *e = getenv("SCARCE_REPACK");
    return !(e && strcmp(e, "0") == 0);
}

int repack_matrix(qmatrix *W) {
    if (W->packed || !repack_enabled() || !repack_tile(W->type) || !repack_has_layout(W->type) ||
        W->rows % REPACK_ROWS || W->rows == 0)
        return 0;
    size_t bytes = (size_t)W->rows * W->row_bytes;
    /* 64-byte lines: each group's first block starts a cache line when row_bytes allows */
    void *buf = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!buf) return -1;
    repack_rows(W->type, W->rows, W->cols, W->data, buf);
    W->packed = buf;
    return 0;
}

void repack_release(qmatrix *W) {
    free((void *)W->packed);
    W->packed = NULL;
}
