/* repack.c - the 8-row interleaved layouts (see repack.h): conversion both ways, driven by
 * the layout's runs, and the packed copies' lifetime. Which types have a layout and which
 * kernel runs it is in the ISA tables (kernels/cpu.h). */
#include "repack.h"

#include <stdlib.h>
#include <string.h>

#include "../quant/blocks.h"
#include "../quant/types.h"
#include "cpu.h"

/* Every layout's pieces are 2 or 4 bytes: constant sizes let the compiler move them with
 * one load and store, where a memcpy of a run-time length is a libc call (GEMM_I8X8 of
 * Q5_0 spent 26 instructions per weight in those calls, callgrind, Gemma 3 270M pp128). */
static inline void copy_piece(uint8_t *to, const uint8_t *from, size_t len) {
    if (len == 4)
        memcpy(to, from, 4);
    else if (len == 2)
        memcpy(to, from, 2);
    else
        memcpy(to, from, len);
}

/* Row r's Q8_0 block into the packed block x8: x8_q8_0's runs with their sizes spelt out
 * (d at 2r; qs bytes [4c, 4c + 4) at 16 + 32c + 4r), which the compiler unrolls. */
static void pack_q8_0_row(uint8_t *x8, const block_q8_0 *one, int r) {
    memcpy(x8 + 2 * r, &one->d, 2);
    for (int c = 0; c < 8; c++) memcpy(x8 + 16 + 32 * c + 4 * r, one->qs + 4 * c, 4);
}

/* Moves one block between the layouts: the row block `one` <-> row r of the packed block
 * `x8` (pack = 1: one -> x8). */
static void move_block(const x8_layout *l, uint8_t *x8, uint8_t *one, int r, int pack) {
    for (int k = 0; k < l->n_runs; k++) {
        const x8_run *run = &l->runs[k];
        for (int c = 0; c < run->count; c++) {
            uint8_t *at = x8 + run->at + (size_t)c * run->at_step + (size_t)r * run->row_step;
            uint8_t *from = one + run->from + (size_t)c * run->len;
            if (pack)
                copy_piece(at, from, run->len);
            else
                copy_piece(from, at, run->len);
        }
    }
}

static void convert(const x8_layout *l, int64_t rows, int64_t cols, const uint8_t *src,
                    uint8_t *dst, int pack) {
    if (l->pack) {
        (pack ? l->pack : l->unpack)(rows, cols, src, dst);
        return;
    }
    const quant_type *t = qtype(l->type);
    const size_t bb = t->block_bytes;
    const int64_t nb = cols / t->block;
    const size_t row_bytes = (size_t)nb * bb;
    const uint8_t *packed = pack ? dst : src, *plain = pack ? src : dst;
    for (int64_t g = 0; g < rows / REPACK_ROWS; g++)
        for (int64_t i = 0; i < nb; i++) {
            uint8_t *x8 = (uint8_t *)packed + (g * nb + i) * REPACK_ROWS * bb;
            for (int r = 0; r < REPACK_ROWS; r++)
                move_block(l, x8, (uint8_t *)plain + (g * REPACK_ROWS + r) * row_bytes + i * bb, r,
                           pack);
        }
}

void repack_rows(const x8_layout *layout, int64_t rows, int64_t cols, const void *src, void *dst) {
    convert(layout, rows, cols, src, dst, 1);
}

void unpack_rows(const x8_layout *layout, int64_t rows, int64_t cols, const void *src, void *dst) {
    convert(layout, rows, cols, src, dst, 0);
}

void repack_rows_to_q8_0(const x8_layout *layout, to_q8_0_fn to_q8_0, uint32_t from, int64_t rows,
                         int64_t cols, const void *src, void *dst) {
    const quant_type *t = qtype(from);
    const int64_t nb = cols / QK32;
    const size_t row_bytes = (size_t)nb * t->block_bytes;
    for (int64_t g = 0; g < rows / REPACK_ROWS; g++)
        for (int64_t i = 0; i < nb; i++) {
            uint8_t *x8 = (uint8_t *)dst + (g * nb + i) * REPACK_ROWS * sizeof(block_q8_0);
            for (int r = 0; r < REPACK_ROWS; r++) {
                block_q8_0 one;
                to_q8_0((const uint8_t *)src + (g * REPACK_ROWS + r) * row_bytes +
                            i * t->block_bytes,
                        &one, QK32);
                if (layout == &x8_q8_0)
                    pack_q8_0_row(x8, &one, r);
                else
                    move_block(layout, x8, (uint8_t *)&one, r, 1);
            }
        }
}

size_t repack_row_bytes(const x8_layout *layout, int64_t cols) {
    const quant_type *t = qtype(layout->type);
    const size_t nb = (size_t)(cols / t->block);
    return layout->packed_block_bytes ? nb * layout->packed_block_bytes / REPACK_ROWS
                                      : nb * t->block_bytes;
}

int repack_matrix(qmatrix *W, isa_level isa) {
    const type_kernels *k = kernels_for(isa, W->type);
    if (W->packed || !k || !k->packed_tile || !k->packed_layout || W->rows % REPACK_ROWS ||
        W->rows == 0)
        return 0;
    size_t bytes = (size_t)W->rows * repack_row_bytes(k->packed_layout, W->cols);
    /* 64-byte lines: each group's first block starts a cache line when row_bytes allows */
    void *buf = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!buf) return -1;
    repack_rows(k->packed_layout, W->rows, W->cols, W->data, buf);
    W->packed = buf;
    return 0;
}

void repack_release(qmatrix *W) {
    free((void *)W->packed);
    W->packed = NULL;
}
