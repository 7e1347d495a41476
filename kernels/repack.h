/* repack.h - Q4_0 / Q4_1 / Q8_0 weights re-laid at load time, 8 rows interleaved, for decode
 * and small batches.
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

/* Packed kernels have the vec_dot_tile_fn signature (quant/types.h): w is the packed
 * data of nrows (% 8 == 0) rows from a group start, w_stride the file's row bytes (a group
 * is 8 w_stride bytes), activations in Q8_0. The packed kernel of a type for the ISA
 * kernels_init() chose; NULL when there is none (scalar ISA: the file layout and the
 * ordinary kernels stay in use). */
vec_dot_tile_fn repack_tile(uint32_t type);
/* 1 unless the environment says SCARCE_REPACK=0 (A/B measurement). */
int repack_enabled(void);

/* Packs W when repack_enabled(), the type has a packed kernel and rows % 8 == 0, and sets
 * W->packed to a new aligned buffer of rows * row_bytes bytes (free with repack_release).
 * Returns 0 (also when W stays unpacked), -1 when out of memory. */
int repack_matrix(qmatrix *W);
void repack_release(qmatrix *W);

/* The layout itself (any type with a layout: Q4_0, Q4_1, Q8_0); rows % 8 == 0. */
int repack_has_layout(uint32_t type);
void repack_rows(uint32_t type, int64_t rows, int64_t cols, const void *src, void *dst);
void unpack_rows(uint32_t type, int64_t rows, int64_t cols, const void *src, void *dst);

/* Scalar references (kernels/ref/repack_ref.c): the spec of the packed kernels. */
void tile_q4_0x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                     int nrows, const void *a, size_t a_stride, int nact);
void tile_q8_0x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                     int nrows, const void *a, size_t a_stride, int nact);
void tile_q4_1x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                     int nrows, const void *a, size_t a_stride, int nact);
/* AVX2 (kernels/x86/avx2_repack.c) */
void tile_q4_0x8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact);
void tile_q8_0x8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact);
void tile_q4_1x8_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact);

#endif
