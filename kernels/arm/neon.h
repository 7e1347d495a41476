/* neon.h - the AArch64 NEON kernels and the table entries they replace. Same contract
 * as the AVX2 ones (kernels/x86/avx2.h): results of the scalar reference up to float
 * summation order. */
#ifndef SCARCE_NEON_H
#define SCARCE_NEON_H

#include <stdint.h>

#include "../cpu.h"

void vec_dot_f32_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_f16_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q8_0_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q4_0_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_bf16_neon(int64_t n, float *s, const void *w, const void *a);
/* neon_q32.c */
void vec_dot_q4_1_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q5_0_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q5_1_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq4_nl_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_mxfp4_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q2_0_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q2_0_32_neon(int64_t n, float *s, const void *w, const void *a);
/* neon_fp8.c */
void vec_dot_fp8_e4m3_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_fp8_e5m2_neon(int64_t n, float *s, const void *w, const void *a);
/* neon_kquant.c */
void vec_dot_q2_k_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q3_k_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q4_k_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q5_k_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q6_k_neon(int64_t n, float *s, const void *w, const void *a);
/* neon_iq.c */
void vec_dot_iq4_xs_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq2_xxs_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq2_xs_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq2_s_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq3_xxs_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq3_s_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq1_s_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq1_m_neon(int64_t n, float *s, const void *w, const void *a);
/* neon_lowbit.c */
void vec_dot_tq2_0_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_tq1_0_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q1_0_neon(int64_t n, float *s, const void *w, const void *a);
void vec_dot_nvfp4_neon(int64_t n, float *s, const void *w, const void *a);

/* The NEON ISA's table: its kernels over the reference ones (kernels_init). */
void neon_install(isa_kernels *k);

#endif
