/* neon.h - the AArch64 NEON kernels and the table entries they replace. Same contract
 * as the AVX2 ones (kernels/x86/avx2.h): results of the scalar reference up to float
 * summation order. Built for plain ARMv8-A; the dot-product extension is chosen at run time. */
#ifndef SCARCE_NEON_H
#define SCARCE_NEON_H

#include <stdint.h>

#include "../cpu.h"

/* neon_float.c */
void vec_dot_f32_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_f16_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_bf16_neon(int64_t n, float *s, const void *w, const void *a);
void quantize_row_q8_0_neon(const float *src, void *dst, int64_t n);
/* neon_fp8.c */
void vec_dot_fp8_e4m3_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_fp8_e5m2_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q4_1_f32_neon(int64_t n, float *s, const void *w, const void *a);

/* The int8 kernels, each file's into k by its install function: _neon plain NEON, _neondp
 * the same code built with sdot (neon_util.h). neon_q32.c: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
 * IQ4_NL, MXFP4, Q2_0, Q2_0_32; neon_kquant.c: Q2_K .. Q6_K; neon_iq.c: IQ4_XS and the
 * IQ2/IQ3/IQ1 codebook formats; neon_lowbit.c: TQ2_0, TQ1_0, Q1_0, NVFP4. */
void q32_install_neon(isa_kernels *k);
void q32_install_neondp(isa_kernels *k);
void kquant_install_neon(isa_kernels *k);
void kquant_install_neondp(isa_kernels *k);
void kquant_tile_install_neon(isa_kernels *k); /* neon_kquant_tile.c: their tiles */
void kquant_tile_install_neondp(isa_kernels *k);
void iq_install_neon(isa_kernels *k);
void iq_install_neondp(isa_kernels *k);
void lowbit_install_neon(isa_kernels *k);
void lowbit_install_neondp(isa_kernels *k);

/* 1 when this CPU has ARMv8.2's int8 dot product (Linux: HWCAP_ASIMDDP). */
int neon_cpu_has_dotprod(void);
/* The int8 kernels into k: the sdot copies (dotprod 1) or the plain NEON ones. */
void neon_install_int8(isa_kernels *k, int dotprod);

/* The NEON ISA's table: its kernels over the reference ones (kernels_init). */
void neon_install(isa_kernels *k);

#endif
