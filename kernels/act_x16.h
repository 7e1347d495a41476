/* act_x16.h - the activations of a large batch laid out for the token-lane GEMM kernels of
 * the 8-row packed layouts (kernels/repack.h), and the signature of those kernels.
 *
 * Why: the packed tile kernels put rows in the lanes and multiply a group's weights against
 * one token at a time, so every (block, token) pays a shuffle of the token's codes into
 * place and a fold of 8 rows. With B >= 16 tokens the other way round is cheaper: lanes =
 * 16 tokens, so a 64-byte load gives one dword (4 codes) of all 16 tokens, one weight
 * dword broadcast from memory (a load, no shuffle port) multiplies it with one vpdpbusd,
 * and a block's fold covers 16 tokens of a row at once.
 *
 * Layout ("x16"): tokens in groups of 16, group by group; within a group block i (32
 * columns) is X16_BLOCK_BYTES at (group nb + i) X16_BLOCK_BYTES:
 *   int8  qs[8][16][4]   dword c (codes 4c .. 4c + 3) of token t at 64 c + 4 t
 *   float d[16]          at 512: the token's Q8_0 block scale (fp16 -> f32, exact)
 *   int32 sum[16]        at 576: the sum of the token's 32 codes
 * Tokens past B in the last group are zero (codes, d and sum), so their lanes stay 0. */
#ifndef SCARCE_ACT_X16_H
#define SCARCE_ACT_X16_H

#include <stddef.h>
#include <stdint.h>

#define X16_TOKENS 16
#define X16_BLOCK_BYTES 640
#define X16_D_AT 512
#define X16_SUM_AT 576

/* Bytes of B tokens of cols (a multiple of 32) in the x16 layout. */
size_t act_x16_bytes(int64_t B, int64_t cols);
/* B rows of block_q8_0 activations (row_bytes apart) -> x16 at dst (act_x16_bytes, 64-byte
 * aligned). */
void act_x16_pack(const void *rows, size_t row_bytes, int64_t B, int64_t cols, void *dst);

/* The K-quants' activations (Q8_K rows: one d per 256, sums per 16) as "x16k": per group
 * of 16 tokens, super-block i (256 columns) is X16K_BLOCK_BYTES at (group nsb + i)
 * X16K_BLOCK_BYTES:
 *   int8  qs[64][16][4]   dword c (codes 4c .. 4c + 3) of token t at 64 c + 4 t
 *   float d[16]           at 4096: the token's Q8_K d
 *   int16 bsums[8][16][2] at 4160: bsums[2j] and bsums[2j + 1] of token t at 64 j + 4 t
 *                         (low half first: one vpdpwssd multiplies a pair by two scales)
 * Tokens past B are zero. */
#define X16K_BLOCK_BYTES 4672
#define X16K_D_AT 4096
#define X16K_BSUMS_AT 4160
/* Bytes of B tokens of cols (a multiple of 256) in the x16k layout. */
size_t act_x16k_bytes(int64_t B, int64_t cols);
/* B rows of block_q8_K activations -> x16k at dst (act_x16k_bytes, 64-byte aligned). */
void act_x16k_pack(const void *rows, size_t row_bytes, int64_t B, int64_t cols, void *dst);

/* A token-lane kernel of one packed layout (type_kernels.packed_gemm, kernels/cpu.h):
 * Y[b * ldy + r] = row r . token b for r < nrows (% 8 == 0, from a group start, w_stride
 * the file's row bytes as for packed_tile) and b < B, bit-identical to the layout's
 * packed_tile / ref_tile on the Q8_0 rows that act_x16_pack took. */
/* The same for a format's file layout (type_kernels.row_gemm): w = nrows rows (any count)
 * of w_stride bytes, activations in x16 (Q8_0 dot type) or x16k (Q8_K). */
typedef void (*x16_gemm_fn)(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                            int nrows, const void *act_x16, int64_t B);

#endif
