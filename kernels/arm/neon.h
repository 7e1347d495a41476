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

/* The NEON ISA's table: its kernels over the reference ones (kernels_init). */
void neon_install(isa_kernels *k);

#endif
