/* lut.h - lookup-table (LUT) decode kernels for the 1- and 2-bit formats Q1_0, Q2_0, TQ2_0
 * and TQ1_0, in the style of T-MAC and bitnet.cpp: instead of unpacking every weight and
 * multiplying it with its activation, the activations are cut into groups of 4, and for
 * each group the 16 partial sums
 *     T_g[p] = sum_{j<4} bit_j(p) a_{4g+j}          (p = 0..15, a the int8 activation codes)
 * are computed once per token; a weight bit-plane's 4 bits of a group are then the index p
 * of one table entry, fetched 16 rows at a time with a byte shuffle (vpshufb) instead of
 * 4 multiply-adds. The codes are recovered from the planes exactly:
 *   Q1_0   w = 2b - 1           sum w a = 2 S0 - A
 *   Q2_0   q = b0 + 2 b1, w = q - 1   sum w a = S0 + 2 S1 - A   (TQ2_0 the same, q <= 2)
 * with S_p = sum over groups of T_g[plane p's index], A = sum a over the activation block.
 * |T| <= 4 x 128 = 512 needs 10 bits: the tables are int16 held as two byte tables (low
 * bytes, high bytes) looked up with the same index and interleaved back into int16, so
 * every integer sum equals the multiply reference's and the float steps are done in the
 * reference's order: the LUT kernels equal vec_dot_*_ref bit for bit.
 *
 * Weights are re-laid at load (repack.h's hook: x8_layout.pack), 8 rows at a time, a
 * packed block being 8 file blocks' bytes (144 for Q1_0 and Q2_0, 528 for TQ2_0; TQ1_0
 * below):
 *   d[8]      at 0: the 8 rows' fp16 d, row order
 *   units     at 16: the block's columns 16 at a time (unit u = columns 16u .. 16u+15,
 *             groups q = 0..3 of 4 columns each; bit j of an index = column 4q + j)
 *     one plane (Q1_0), 16 bytes:  byte r      low nibble group 0, high nibble group 3
 *                                  byte 8 + r  low nibble group 1, high nibble group 2
 *     two planes, 32 bytes:        byte 16L + 8p + r  low nibble plane p of group L,
 *                                  high nibble plane p of group L + 2   (L = 0, 1)
 *   (r = row 0..7). So a 256-bit register holds group L's indices in lane L: one shuffle of
 *   the low nibbles against the tables (T_0 | T_1), one of the high nibbles against
 *   (T_2 | T_3), and every lookup result lane is 8 rows of one group (one plane: half of
 *   each lane is another group's, recombined with a dword blend).
 * TQ1_0's 5 trits a byte (1.6 bits) split into no 4-column nibbles, and 243-entry tables
 * per 5 columns would be gathers, not shuffles; so its LUT kernel is TQ2_0's: the trits are
 * re-laid at load in TQ2_0's two planes (codes 0..2 as TQ2_0's), a packed block of 528
 * bytes for 8 file blocks of 54 (x8_layout.packed_block_bytes). That copy streams 2.06
 * bits a weight instead of 1.69 (+22% bytes a token, which the engine's "weight bytes"
 * figures, counted from the file, do not show); it pays where TQ1_0's multiply kernel, its
 * trits decoded with multiplies, is compute-bound.
 *
 * The tables depend on the activations only, so they are built once per activation row
 * and matmul (kernels/matmul.c), not once per tile call: type_kernels.packed_act turns each
 * dot_type row into a "prepared" row (tables of every column, 8 bytes a column, then each
 * activation block's code sum A and scale), and the SIMD packed_tile kernels take prepared
 * rows as their activations (a_stride = packed_act's bytes). All rows and threads of a
 * matmul (and q/k/v or gate/up sharing one input) read the same prepared row. Built per
 * tile call, as before, the tables cost ~3 instructions a column (callgrind, AVX2 on the
 * 2-core AMD EPYC): 0.6% of a 2048 x 2048 Q2_0 matvec but ~20% of the 64-row pieces
 * matmul.c hands each of 2 threads. The scalar references below keep taking dot_type rows:
 * they are the spec. Which types run LUT kernels by default, with the figures:
 * kernels/x86/avx2_install.c and avx512_install.c. */
#ifndef SCARCE_LUT_H
#define SCARCE_LUT_H

#include <stddef.h>
#include <stdint.h>

#include "repack.h"

/* Columns whose tables the row loops walk at once (8 bytes of table per column: 32 KB, L1),
 * every 8-row group passing over them before the next columns. */
#define LUT_CHUNK_COLS 4096

/* The layouts above (kernels/ref/lut_pack.c), with their reference tiles. */
extern const x8_layout lut_q1_0, lut_q2_0, lut_tq2_0, lut_tq1_0;

/* Scalar references (kernels/ref/lut.c): build T_g, look every index up, equal to
 * vec_dot_<type>_ref per row. vec_dot_tile_fn arguments as repack.h's packed kernels. */
void tile_lut_q1_0_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                       int nrows, const void *a, size_t a_stride, int nact);
void tile_lut_q2_0_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                       int nrows, const void *a, size_t a_stride, int nact);
void tile_lut_tq2_0_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact);

/* AVX2 (kernels/x86/avx2_lut.c) and AVX-512 (kernels/x86/avx512_lut.c): the prepared row
 * of one activation row (packed_act_fn, kernels/cpu.h: Q8_0 rows for Q1_0 / Q2_0, Q8_K
 * rows for TQ2_0), and the tile kernels on prepared rows. Each ISA lays its tables for its
 * own lookups: a prepared row is for that ISA's tiles only. */
size_t lut_prepare_q8_0_avx2(const void *act, int64_t cols, void *dst);
size_t lut_prepare_q8_k_avx2(const void *act, int64_t cols, void *dst);
size_t lut_prepare_q8_0_avx512(const void *act, int64_t cols, void *dst);
size_t lut_prepare_q8_k_avx512(const void *act, int64_t cols, void *dst);
void tile_lut_q1_0_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact);
void tile_lut_q2_0_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact);
void tile_lut_tq2_0_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                         int nrows, const void *a, size_t a_stride, int nact);
void tile_lut_q1_0_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                          int nrows, const void *a, size_t a_stride, int nact);
void tile_lut_q2_0_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                          int nrows, const void *a, size_t a_stride, int nact);
void tile_lut_tq2_0_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                           int nrows, const void *a, size_t a_stride, int nact);

/* Where column c (0..15) of a unit, plane p, row r (0..7) sits: byte of the unit and the
 * bit of that byte (the layout above). */
static inline int lut_bit_pos(int planes, int c, int p, int r, int *bit) {
    const int q = c / 4;
    if (planes == 1) {
        static const int byte_of[4] = {0, 8, 8, 0}, shift_of[4] = {0, 0, 4, 4};
        *bit = shift_of[q] + c % 4;
        return byte_of[q] + r;
    }
    *bit = 4 * (q / 2) + c % 4;
    return 16 * (q % 2) + 8 * p + r;
}

#endif
