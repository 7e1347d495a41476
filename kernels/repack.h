/* repack.h - Q4_0 / Q4_1 / Q8_0 / Q2_K / Q4_K weights re-laid at load time, 8 rows
 * interleaved, for decode and small batches.
 *
 * Why: a one-row dot product ends every 32-weight block with a float fold (int32 sum ->
 * float -> x scales -> accumulate) and every row with a horizontal sum. With 8 rows
 * interleaved, one 256-bit register holds 4 weights of each of 8 rows (lane = row), one
 * broadcast activation chunk serves all 8, and the fold and the final store work on 8
 * rows at once: the kernel stops being compute-bound (see tests/test_repack.c bench).
 *
 * Layout ("x8"). Rows are taken in groups of 8; a group is stored as its blocks in
 * column order, and block i of a group (the 8 rows' block i) is
 *   d[8]        the 8 rows' fp16 scales, row order
 *   m[8]        Q4_1 only: the 8 rows' fp16 minimums, row order
 *   qs[32 * nc] chunks c = 0 .. nc-1 of 32 bytes; chunk c holds, for row r = 0..7,
 *               the row's qs bytes [4c, 4c + 4) at offset 32c + 4r
 * with nc = 4 for Q4_0 and Q4_1 (16 qs bytes a row: byte j holds element j in its low
 * nibble and element j + 16 in its high nibble, unchanged) and nc = 8 for Q8_0 (32 qs
 * bytes a row). A block of a group is exactly 8 original blocks' bytes (144 = 8 x 18,
 * Q4_1 160 = 8 x 20, 272 = 8 x 34), so group g starts at byte 8 g row_bytes: rows
 * [r0, r1) with r0 % 8 == 0 start at r0 row_bytes, as in the file, and bytes streamed per
 * token are unchanged.
 *
 * Q2_K ("q2_kx8", activations in Q8_K). Block i of a group (672 = 8 x 84 bytes) is
 *   d[8]        at   0: the 8 rows' fp16 d, row order
 *   dmin[8]     at  16: the 8 rows' fp16 dmin
 *   scales[128] at  32: for sub-block pair m = 0..7, 16 bytes: row r's scales[2m],
 *               scales[2m + 1] at 32 + 16 m + 2 r (scale | min << 4, unchanged)
 *   qs[512]     at 160: chunks c = 8 h + p (h = 0..1, p = 0..7) of 32 bytes; row r's
 *               dword at 160 + 32 c + 4 r holds its qs bytes 32h + 2p, 32h + 2p + 1,
 *               32h + 16 + 2p, 32h + 17 + 2p
 * qs byte 32h + l holds elements 128h + 32j + l in bits 2j..2j+1 (blocks.h), so after
 * the shift by 2j the low int16 of a row's dword covers sub-block 8h + 2j and the high
 * one sub-block 8h + 2j + 1: a maddubs result is a pair of sub-block sums, and one madd
 * with the pair of scales (scales[2m], scales[2m + 1], m = 4h + j) applies both
 * (kernels/x86/avx2_repack_q2k.c).
 *
 * Q2_K in sub-block dwords ("q2_kx8d", the AVX-512 kernel's; activations in Q8_K). Block i
 * of a group (672 bytes) is
 *   d[8]        at   0, dmin[8] at 16, as q2_kx8
 *   scales[128] at  32: groups t = 0..3 of 32 bytes; row r's dword at 32 + 32 t + 4 r holds
 *               its scale bytes 4t .. 4t + 3 (scale | min << 4, unchanged)
 *   qs[512]     at 160: chunks c = 8 h + k (h = 0..1, k = 0..7) of 32 bytes; row r's dword
 *               at 160 + 32 c + 4 r holds its qs bytes 32 h + 4 k .. 32 h + 4 k + 3
 * so the 4 codes at bits 2j of a row's dword are elements 128 h + 32 j + 4 k .. + 3, all in
 * sub-block 8 h + 2 j + k / 4: one vpdpbusd sums them against one activation dword
 * (kernels/x86/avx512_repack_q2k.c).
 *
 * Q4_K ("q4_kx8", activations in Q8_K). Block i of a group (1152 = 8 x 144 bytes) is
 *   d[8]        at   0: the 8 rows' fp16 d, row order
 *   dmin[8]     at  16: the 8 rows' fp16 dmin
 *   units[4]    at  32: unit u (24 bytes at 32 + 24 u) holds fields 4u .. 4u + 3 of each row,
 *               field f < 8 the scale of sub-block f, f >= 8 the min of sub-block f - 8
 *               (k4_scale_min's 6-bit values, re-encoded: the 96 bits of a row's 12 scale
 *               bytes, each once); rows 2q and 2q + 1 share the 6 bytes at 32 + 24 u + 6 q,
 *               a 48-bit little-endian word with row 2q's field 4u + j at bit 6 j and row
 *               2q + 1's at bit 24 + 6 j
 *   qs[1024]    at 128: chunks c = 8 p + k (p = 0..3, k = 0..7) of 32 bytes; row r's dword at
 *               128 + 32 c + 4 r holds its qs bytes 32 p + 4 k .. 32 p + 4 k + 3 (unchanged:
 *               low nibbles elements 64 p + 4 k .., sub-block 2 p; high nibbles + 32,
 *               sub-block 2 p + 1)
 * so one 32-byte load is 4 codes of 8 rows against one activation dword per nibble, and one
 * byte permute plus one bit-field extract (vpermb, vpmultishiftqb) gives a sub-block's 8
 * scales in the rows' lanes (kernels/x86/avx512_repack_q4k.c).
 *
 * Only matrices with rows % 8 == 0, of a type with a packed kernel for the running ISA,
 * are packed (repack_matrix); the file's bytes stay mapped and qmatrix.data keeps
 * pointing at them, so qmatrix_row (embedding lookup) and large batches read the
 * original layout. The packed copy is anonymous memory: RSS grows by its size. */
#ifndef SCARCE_REPACK_H
#define SCARCE_REPACK_H

#include <stddef.h>
#include <stdint.h>

#include "../quant/types.h"
#include "matmul.h"

#define REPACK_ROWS 8

/* Batches up to this many tokens use the packed copy (4 tokens per weight unpack), larger
 * ones the file layout. 64 = forward's BATCH_CAP, so today every batch: prefill of 64
 * tokens, 110M q4_0, 1 thread, measured 51 -> 110 tok/s. Lower it if a faster large-batch
 * path (dequantize + sgemm) comes. */
#define REPACK_MAX_BATCH 64

/* A layout as data: each run moves `count` pieces of `len` bytes; piece c of a row's block
 * starts at byte from + c len there, and for row r (0..7) at byte
 * at + c at_step + r row_step of the packed block (8 blocks' bytes). Q4_0 is
 *   {from 0, len 2, count 1, at 0, at_step 0, row_step 2}      d
 *   {from 2, len 4, count 4, at 16, at_step 32, row_step 4}    qs chunks
 * The runs of a layout cover the block's bytes once and the packed block's once
 * (tests/test_type_table.c checks it). */
typedef struct {
    uint16_t from, len, count, at, at_step, row_step;
} x8_run;

/* rows (% 8 == 0) x cols of a layout's type, file layout -> packed (pack) or back. */
typedef void (*x8_convert_fn)(int64_t rows, int64_t cols, const void *src, void *dst);

#define X8_MAX_RUNS 8
typedef struct x8_layout {
    uint32_t type; /* the format whose rows it re-lays */
    int n_runs;
    x8_run runs[X8_MAX_RUNS];
    /* The scalar reference of the packed kernels of this layout (the spec they are held
     * to): vec_dot_tile_fn signature, as packed_tile of the ISA tables (kernels/cpu.h). */
    vec_dot_tile_fn ref_tile;
    /* Non-NULL: a layout that byte runs cannot describe (bit planes, kernels/lut.h); these
     * convert it (n_runs 0), under the same size and group-offset rules, except: */
    x8_convert_fn pack, unpack;
    /* 0: a packed block is 8 file blocks' bytes. Else its bytes, more than that (TQ1_0 in
     * TQ2_0's bit planes, lut.h): the copy then has repack_row_bytes() a row, group g at
     * 8 g of those, and the packed kernels take that as w_stride. */
    uint16_t packed_block_bytes;
} x8_layout;

/* Bytes a row of `cols` takes in the packed copy of layout (the type's row bytes unless
 * packed_block_bytes says more). */
size_t repack_row_bytes(const x8_layout *layout, int64_t cols);

/* The layouts above (kernels/ref/repack_ref.c); ref_install gives them to their types. */
extern const x8_layout x8_q4_0, x8_q4_1, x8_q8_0, x8_q2_k, x8_q2_k_d, x8_q4_k;

/* Packed kernels (packed_tile of a type's kernels, kernels/cpu.h) have the vec_dot_tile_fn
 * signature (quant/types.h): w is the packed data of nrows (% 8 == 0) rows from a group
 * start, w_stride the file's row bytes (a group is 8 w_stride bytes), activations in the
 * type's dot_type (Q8_0; Q8_K for Q2_K and Q4_K). An ISA without a packed kernel for a type
 * (scalar: none) keeps the file layout and the ordinary kernels. */

/* Packs W when the type has a packed kernel on `isa` and rows % 8 == 0, and sets W->packed
 * to a new aligned buffer of rows * row_bytes bytes (free with repack_release). A kernel
 * configuration with repack = 0 does not call it (engine/model.c). Returns 0 (also when W
 * stays unpacked), -1 when out of memory. */
int repack_matrix(qmatrix *W, isa_level isa);
void repack_release(qmatrix *W);

/* The layout itself, rows % 8 == 0 rows of `cols` of layout->type. */
void repack_rows(const x8_layout *layout, int64_t rows, int64_t cols, const void *src, void *dst);
void unpack_rows(const x8_layout *layout, int64_t rows, int64_t cols, const void *src, void *dst);
/* repack_rows of layout (Q8_0's) from rows of another block-32 type `from`, each block first
 * rewritten by to_q8_0 (type_kernels.to_q8_0): GEMM_I8X8 of Q5_0 and IQ4_NL. */
void repack_rows_to_q8_0(const x8_layout *layout, to_q8_0_fn to_q8_0, uint32_t from,
                         int64_t rows, int64_t cols, const void *src, void *dst);

/* Scalar references (kernels/ref/repack_ref.c): the spec of the packed kernels. */
void tile_q4_0x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                     int nrows, const void *a, size_t a_stride, int nact);
void tile_q8_0x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                     int nrows, const void *a, size_t a_stride, int nact);
void tile_q4_1x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                     int nrows, const void *a, size_t a_stride, int nact);
/* Q2_K: per row exactly vec_dot_q2_k_ref's sum (activations block_q8_K). */
void tile_q2_kx8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                     int nrows, const void *a, size_t a_stride, int nact);
/* Q2_K in sub-block dwords: the same sums as tile_q2_kx8_ref. */
void tile_q2_kx8d_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact);
/* Q4_K: per row exactly vec_dot_q4_k_ref's sum (activations block_q8_K). */
void tile_q4_kx8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                     int nrows, const void *a, size_t a_stride, int nact);
/* AVX2 (kernels/x86/avx2_repack.c; Q2_K, Q4_K: kernels/x86/avx2_repack_q{2,4}k.c) */
void tile_q4_0x8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact);
void tile_q8_0x8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact);
void tile_q4_1x8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact);
void tile_q2_kx8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact);
/* Q4_K in q4_kx8 with AVX2 only (kernels/x86/avx2_repack_q4k.c) */
void tile_q4_kx8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact);

#endif
