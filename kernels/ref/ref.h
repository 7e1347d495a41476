/* ref.h - scalar reference kernels: the spec every SIMD kernel is tested against.
 * vec_dot_<weight>_ref(n, s, w, a): s = dot(w, a), w a row of <weight>, a in its dot_type. */
#ifndef SCARCE_REF_H
#define SCARCE_REF_H

#include <stddef.h>
#include <stdint.h>

#include "../cpu.h"

void vec_dot_f32_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_f16_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_bf16_ref(int64_t n, float *s, const void *w, const void *a);
/* nrows x nact of the row dots above (vec_dot_tile_fn): the spec of the SIMD float tiles
 * (not installed: the scalar ISA runs vec_dot per pair) */
void vec_dot_tile_f32_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                          int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_f16_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                          int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_bf16_ref(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                           int nrows, const void *a, size_t a_stride, int nact);

/* block-32 weights against Q8_0 activations (dot_q32.c) */
void vec_dot_q8_0_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q4_0_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q4_1_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q4_1_f32_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q5_0_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q5_1_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq4_nl_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_mxfp4_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q2_0_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q2_0_32_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_fp8_e4m3_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_fp8_e5m2_ref(int64_t n, float *s, const void *w, const void *a);
/* K-quants against Q8_K activations (dot_qk.c) */
void vec_dot_q2_k_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q3_k_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q4_k_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q5_k_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q6_k_ref(int64_t n, float *s, const void *w, const void *a);
/* ternary weights against Q8_K activations (dot_tq.c) */
void vec_dot_tq2_0_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_tq1_0_ref(int64_t n, float *s, const void *w, const void *a);
/* NVFP4 and Q1_0 against Q8_0 activations (dot_lowbit.c) */
void vec_dot_nvfp4_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q1_0_ref(int64_t n, float *s, const void *w, const void *a);
/* IQ formats against Q8_K activations (dot_iq.c) */
void vec_dot_iq4_xs_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq2_xxs_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq2_xs_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq2_s_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq3_xxs_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq3_s_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq1_s_ref(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq1_m_ref(int64_t n, float *s, const void *w, const void *a);

/* Activation quantizers (plain amax / 127 rounding, no search): n floats -> blocks. */
void quantize_row_q8_0_ref(const float *x, void *y, int64_t n);
/* Also fills bsums (sum of each 16 codes). */
void quantize_row_q8_k_ref(const float *x, void *y, int64_t n);

/* The scalar ISA's table: every format's reference kernels (kernels_init; the base that
 * every other ISA's table starts from). */
void ref_install(isa_kernels *k);

#endif
