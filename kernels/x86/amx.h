/* amx.h - the AMX set: the AVX-512 kernels plus Intel AMX tile matrix multiplies (AMX-TILE,
 * AMX-INT8: Sapphire Rapids and later Xeons) for large batches.
 *
 * Why: a prompt batch is compute-bound, and one TDPBSSD multiplies a 16 x 64 int8 tile by a
 * 64 x 16 one (16384 multiply-adds) where a 512-bit vpdpbusd does 64. The kernels here keep
 * the token-lane kernels' activations (act_x16.h) and weights' packed layouts and their
 * results' bits; only the integer products move into the tiles. */
#ifndef SCARCE_AMX_H
#define SCARCE_AMX_H

#include <stddef.h>
#include <stdint.h>

struct isa_kernels;

/* 1 when this CPU has AMX-TILE and AMX-INT8, the OS saves the tile state, and Linux gave this
 * process leave to use it (arch_prctl ARCH_REQ_XCOMP_PERM, asked once here). names/size: when
 * 0, the missing parts, e.g. "amx-int8" or "tile-state permission". */
int amx_ready(char *names, size_t size);

/* The AMX set's table over the AVX-512 one (cpu.c). */
void amx_install(struct isa_kernels *k);

/* Token-lane GEMMs (act_x16.h's x16_gemm_fn) of the 8-row packed Q4_0 / Q4_1 / Q8_0 layouts,
 * 16 rows a tile: bit-identical to gemm_*x16_avx512 and tile_*x8_ref. */
void gemm_q4_0x16_amx(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                      int nrows, const void *act, int64_t B);
void gemm_q4_1x16_amx(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                      int nrows, const void *act, int64_t B);
void gemm_q8_0x16_amx(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                      int nrows, const void *act, int64_t B);

/* Token-lane GEMMs (row_gemm) of the file-layout K-quant and codebook rows against x16k
 * activations, 16 rows a tile (amx_kquant.c): bit-identical to gemm_*x16_avx512. */
#define AMX_KQUANT_GEMM(fmt)                                                                       \
    void gemm_##fmt##x16_amx(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,   \
                             int nrows, const void *act, int64_t B);
AMX_KQUANT_GEMM(q4_k)
AMX_KQUANT_GEMM(q5_k)
AMX_KQUANT_GEMM(q6_k)
AMX_KQUANT_GEMM(q2_k)
AMX_KQUANT_GEMM(q3_k)
AMX_KQUANT_GEMM(iq4_xs)
AMX_KQUANT_GEMM(iq2_xxs)
AMX_KQUANT_GEMM(iq2_xs)
AMX_KQUANT_GEMM(iq2_s)
AMX_KQUANT_GEMM(iq3_xxs)
AMX_KQUANT_GEMM(iq3_s)
AMX_KQUANT_GEMM(iq1_s)
AMX_KQUANT_GEMM(iq1_m)
#undef AMX_KQUANT_GEMM

#endif
