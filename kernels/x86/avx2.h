/* avx2.h - the AVX2 (+FMA, F16C) kernels and the table entries they replace.
 * Every function here has the signature and the result of its scalar reference in
 * kernels/ref/ (up to float summation order; tests/test_kernels.c holds them to it). */
#ifndef SCARCE_AVX2_H
#define SCARCE_AVX2_H

#include <stdint.h>

void vec_dot_f32_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_f16_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_bf16_avx2(int64_t n, float *s, const void *w, const void *a);

/* Installs the AVX2 kernels over the reference ones (kernels_init, after ref_install). */
void avx2_install(void);

#endif
