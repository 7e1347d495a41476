/* avx512.h - the AVX-512 kernels (F, BW, VL, DQ, VNNI: cpu_missing_avx512) and their install.
 *
 * Same signatures and results as the scalar references in kernels/ref/ (integer block sums
 * exactly, floats up to summation order; packed tiles bit for bit): tests/test_avx512.c.
 * Integer products use VNNI: vpdpbusd (u8 x s8, 4 products summed into int32, no int16
 * saturation) and vpdpwssd (s16 x s16 pairs into int32). Most kernels use them in 256-bit
 * registers through VL and keep the structure of their AVX2 sibling (kernels/x86/avx2_*.c;
 * where only the product differs the code is shared: kquant_rows.h, q2k_rows.h, tile_rows.h,
 * repack_x8_walk.h, repack_q2k_walk.h, fp8_walk.h). 512-bit registers: the block-32 decode
 * paths (avx512_repack.c: two chunks of 8 rows per load; avx512_tile.c: two rows per
 * register), FP8 (avx512_fp8.c), Q2_K-Q6_K (avx512_kquant_gfni.c, GFNI unpacking), the GEMM
 * micro-kernel (avx512_gemm.c), the float kernels and the activation quantizers. Types
 * without an AVX-512 kernel keep the AVX2 one: avx2_install() runs first. Tested natively on
 * a Sapphire-Rapids-class Xeon (AVX512 VBMI/BF16/FP16, GFNI), and under tests/avx512_emu.h
 * on AVX2 machines (make test-emu512; the GFNI/VBMI/BF16 files are left out there).
 *
 * BF16 weights do not use vdpbf16ps: it multiplies bf16 by bf16, and the activations of
 * vec_dot_bf16 are f32 (dot_type QT_F32). Rounding them to bf16 leaves 8 bits of each (far
 * outside the reference tolerance); splitting each into three bf16 parts is exact but
 * costs more per element than widening the weights (one shift) and an f32 FMA, which is
 * what avx512_float.c does. vdpbf16ps pays once activations are converted to bf16 once per
 * matvec (a dot_type of bf16: a type-table change). */
#ifndef SCARCE_AVX512_H
#define SCARCE_AVX512_H

#include <stddef.h>
#include <stdint.h>

#include "../cpu.h"

/* f32 / f16 / bf16 weights against f32 activations (avx512_float.c) */
void vec_dot_f32_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_f16_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_bf16_avx512(int64_t n, float *s, const void *w, const void *a);
/* the same rows x several activation rows, each row converted once (avx512_f16_tile.c),
 * vec_dot_tile of the AVX-512 table: bit for bit the row dots above */
void vec_dot_tile_f32_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                             int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_f16_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                             int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_bf16_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact);

/* block-32 weights against Q8_0 activations, and the Q8_0 quantizer (avx512_q8.c) */
void vec_dot_q8_0_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q4_0_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q4_1_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q4_1_f32_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_tile_q4_1_f32_avx512(int64_t n, float *s, size_t s_stride, const void *w,
                                  size_t w_stride, int nrows, const void *a, size_t a_stride,
                                  int nact);
void vec_dot_q5_0_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q5_1_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq4_nl_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q2_0_32_avx512(int64_t n, float *s, const void *w, const void *a);
void quantize_row_q8_0_avx512(const float *x, void *y, int64_t n);

/* NR x NA tiles of Q4_0 and Q8_0 in the file layout (avx512_tile.c), vec_dot_tile */
void vec_dot_tile_q4_0_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_q8_0_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_q5_0_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_q5_1_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_iq4_nl_avx512(int64_t n, float *s, size_t s_stride, const void *w,
                                size_t w_stride, int nrows, const void *a, size_t a_stride,
                                int nact);

/* FP8 weights against Q8_0 activations, vec_dot and tile (avx512_fp8.c) */
void vec_dot_fp8_e4m3_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_fp8_e5m2_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_tile_fp8_e4m3_avx512(int64_t n, float *s, size_t s_stride, const void *w,
                                  size_t w_stride, int nrows, const void *a, size_t a_stride,
                                  int nact);
void vec_dot_tile_fp8_e5m2_avx512(int64_t n, float *s, size_t s_stride, const void *w,
                                  size_t w_stride, int nrows, const void *a, size_t a_stride,
                                  int nact);

/* K-quants against Q8_K activations, and the Q8_K quantizer (avx512_kquant.c) */
void vec_dot_q2_k_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_tile_q2_k_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_q3_k_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q4_k_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q5_k_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q6_k_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_tile_q4_k_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_q5_k_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_q6_k_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                              int nrows, const void *a, size_t a_stride, int nact);
void quantize_row_q8_k_avx512(const float *x, void *y, int64_t n);
/* Q4_K, Q5_K, Q6_K in 512-bit registers with GFNI (avx512_kquant_gfni.c): installed over the
 * ones above where CPUID has GFNI */
void vec_dot_q2_k_avx512_gfni(int64_t n, float *s, const void *w, const void *a);
void vec_dot_tile_q2_k_avx512_gfni(int64_t n, float *s, size_t s_stride, const void *w,
                                   size_t w_stride, int nrows, const void *a, size_t a_stride,
                                   int nact);
void vec_dot_q4_k_avx512_gfni(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q5_k_avx512_gfni(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q6_k_avx512_gfni(int64_t n, float *s, const void *w, const void *a);
void vec_dot_tile_q4_k_avx512_gfni(int64_t n, float *s, size_t s_stride, const void *w,
                                   size_t w_stride, int nrows, const void *a, size_t a_stride,
                                   int nact);
void vec_dot_tile_q5_k_avx512_gfni(int64_t n, float *s, size_t s_stride, const void *w,
                                   size_t w_stride, int nrows, const void *a, size_t a_stride,
                                   int nact);
void vec_dot_tile_q6_k_avx512_gfni(int64_t n, float *s, size_t s_stride, const void *w,
                                   size_t w_stride, int nrows, const void *a, size_t a_stride,
                                   int nact);
/* IQ4_XS against Q8_K activations (avx512_iq4_xs.c) */
void vec_dot_iq4_xs_avx512(int64_t n, float *s, const void *w, const void *a);
/* codebook formats against Q8_K activations (avx512_iq_sb.c; make test-emu512: avx512_iq2.c) */
void vec_dot_iq2_xxs_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq2_xs_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq2_s_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq3_xxs_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq3_s_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq1_s_avx512(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq1_m_avx512(int64_t n, float *s, const void *w, const void *a);
/* their tiles: each super-block unpacked once for up to 8 tokens (avx512_iq_sb.c) */
void vec_dot_tile_iq2_xxs_avx512(int64_t n, float *s, size_t s_stride, const void *w,
                                 size_t w_stride, int nrows, const void *a, size_t a_stride,
                                 int nact);
void vec_dot_tile_iq2_xs_avx512(int64_t n, float *s, size_t s_stride, const void *w,
                                size_t w_stride, int nrows, const void *a, size_t a_stride,
                                int nact);
void vec_dot_tile_iq2_s_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                               int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_iq3_xxs_avx512(int64_t n, float *s, size_t s_stride, const void *w,
                                 size_t w_stride, int nrows, const void *a, size_t a_stride,
                                 int nact);
void vec_dot_tile_iq3_s_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                               int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_iq1_s_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                               int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_iq1_m_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                               int nrows, const void *a, size_t a_stride, int nact);

/* Packed 8-row tiles (kernels/repack.h layouts; avx512_repack.c, avx512_repack_q2k.c):
 * bit-identical to tile_*x8_ref. */
void tile_q4_0x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact);
void tile_q8_0x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact);
void tile_q4_1x8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact);
void tile_q2_kx8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact);
/* Q4_K (kernels/x86/avx512_repack_q4k.c; needs VBMI) */
void tile_q4_kx8_avx512(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                        int nrows, const void *a, size_t a_stride, int nact);

/* Token-lane GEMMs of batches of 16+ tokens on the same packed layouts (act_x16.h;
 * avx512_x16_gemm.c): bit-identical to tile_*x8_ref. */
void gemm_q4_0x16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B);
void gemm_q4_1x16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B);
void gemm_q8_0x16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B);

/* The same for Q2_K .. Q6_K and IQ4_XS rows in the file layout, x16k activations
 * (avx512_x16_kquant.c): a row's result has the bits of vec_dot_q4_k_ref / _q5_k_ref. */
void gemm_q4_kx16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B);
void gemm_q5_kx16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B);
void gemm_q6_kx16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B);
void gemm_q2_kx16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B);
void gemm_q3_kx16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B);
void gemm_iq4_xsx16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                           int nrows, const void *act, int64_t B);
/* The codebook formats the same way (their values + 64 as unsigned codes, the 64 off with the
 * bsums): bit-identical to vec_dot_<fmt>_ref. */
#define X16_IQ_DECL(fmt)                                                                           \
    void gemm_##fmt##x16_avx512(int64_t cols, float *Y, size_t ldy, const void *w,                 \
                                size_t w_stride, int nrows, const void *act, int64_t B);
X16_IQ_DECL(iq2_xxs)
X16_IQ_DECL(iq2_xs)
X16_IQ_DECL(iq2_s)
X16_IQ_DECL(iq3_xxs)
X16_IQ_DECL(iq3_s)
X16_IQ_DECL(iq1_s)
X16_IQ_DECL(iq1_m)
#undef X16_IQ_DECL
/* Q2_K's packed copy (repack.h q2_kx8d) with rows in the lanes, x16k activations
 * (avx512_x16_q2k.c): bit-identical to tile_q2_kx8d_ref. */
void gemm_q2_kx8d_x16_avx512(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                             int nrows, const void *act, int64_t B);

/* The f32 GEMM micro-kernel of GEMM_OWN, 16 tokens a zmm, and its f16 / bf16 panel converters
 * (avx512_gemm.c) */
void gemm_tile_f32_avx512(int64_t kc, const float *xt, size_t ldx, const float *w, size_t ldw,
                          float *c, size_t ldc, int nr, int ng, int accumulate);
void dequantize_f16_avx512(const void *src, float *dst, int64_t n);
void dequantize_bf16_avx512(const void *src, float *dst, int64_t n);

/* The AVX-512 table: fills k (a copy of the AVX2 table) with the kernels above (cpu.c's ISA
 * list; kernels/cpu.h). */
void avx512_install(isa_kernels *k);

#endif
