/* ternary.h - multiply (VNNI) decode kernels of the ternary formats TQ2_0 and TQ1_0 on an
 * 8-row interleaved copy, against Q8_K activations prepared once per matmul.
 *
 * Codes q = t + 1 (0..2, TQ2_0's 3 reads as 2 like ggml's) are the unsigned operand of
 * vpdpbusd against the int8 activations, and sum t a = sum q a - A with A = sum a over the
 * super-block (its bsums): one vpdpbusd sums 4 weights, no tables. Per super-block the
 * integer sum is exact and is scaled and added in the reference's order (mul, mul, add; no
 * FMA), so every row equals vec_dot_tq*_ref bit for bit.
 *
 * Layouts ("tq2_0x8", "tq1_0x8": byte runs, repack.h; a packed block is 8 file blocks'
 * bytes, so bytes streamed a token are the file's):
 *   TQ2_0 (528 bytes): d[8] at 0 (row order), row r's 64 qs bytes at 16 + 64 r, unchanged,
 *     so one 64-byte load is a row's whole super-block
 *   TQ1_0 (432 bytes): d[8] at 0, then row r's 52 code bytes (qs[0..47], qh[0..3]) in
 *     8-byte pieces: piece m = 0..5 (bytes 8 m .. 8 m + 7) at 16 + 64 m + 8 r, qh at
 *     400 + 4 r, so one 64-byte load is piece m of all 8 rows, row r in int32 lanes 2r and
 *     2r + 1, and one broadcast qword of activations serves the 8 rows
 *
 * Prepared activation row (packed_act): per super-block the activation codes re-ordered to
 * line up with the codes one load gives, then every block's A (int32) and d (float):
 *   TQ2_0, 256 bytes a block: vector s (64 bytes at 64 s) = a[32 s .. 32 s + 31],
 *     a[128 + 32 s .. 128 + 32 s + 31]: the codes (qs >> 2 s) & 3 of a row's 64 bytes
 *   TQ1_0, 256 bytes a block: at 40 m + 8 n the 8 codes under trit n of piece m's bytes,
 *     at 240 + 4 n those of qh's trit n (n < 4; the fifth holds no weight; quant/blocks.h
 *     tq1_pos)
 *   TQ1_0's trits without tables or multiplies: x_0 = b, x_(n+1) = 3 x_n mod 256 (two byte
 *   adds), t_n = floor(3 x_n / 256) (quant/blocks.h tq1_trit), so 256 t_n = 3 x_n - x_(n+1)
 *   and sum t_n a = (3 sum x_n a - sum x_(n+1) a) / 256: two vpdpbusd a trit vector
 *   (ggml's AVX2 kernel gets the trits with byte multiplies and averages, then maddubs). */
#ifndef SCARCE_TERNARY_H
#define SCARCE_TERNARY_H

#include <stddef.h>
#include <stdint.h>

#include "repack.h"

extern const x8_layout x8_tq2_0, x8_tq1_0;

/* Scalar references (kernels/ref/ternary_ref.c): per row of the packed copy, the file
 * block rebuilt and vec_dot_tq*_ref on it, block by block (dot_type rows as activations). */
void tile_tq2_0x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact);
void tile_tq1_0x8_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                      int nrows, const void *a, size_t a_stride, int nact);

/* AVX-512 VNNI (kernels/x86/avx512_ternary.c): prepared rows and the tiles on them. */
size_t ternary_prepare_tq2_0_avx512(const void *act, int64_t cols, void *dst);
size_t ternary_prepare_tq1_0_avx512(const void *act, int64_t cols, void *dst);
void tile_tq2_0x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                         int nrows, const void *a, size_t a_stride, int nact);
void tile_tq1_0x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                         int nrows, const void *a, size_t a_stride, int nact);

#endif
