/* avx512_kquant_gfni.c - Q4_K, Q5_K and Q6_K against Q8_K activations in 512-bit registers:
 * vec_dot and vec_dot_tile (kquant512_rows.h explains them). GFNI unpacks the codes, so
 * avx512_install.c installs these only where CPUID has it (else avx512_kquant.c's 256-bit
 * kernels run); GFNI is enabled for this file alone. */
#pragma GCC target("gfni")

#include "avx512.h"
#include "kquant512_rows.h"

void vec_dot_q4_k_avx512_gfni(int64_t n, float *s, const void *w, const void *a) {
    row512_q45_k(n / QK_K, s, 0, w, a, 0, 1, 0);
}
void vec_dot_q5_k_avx512_gfni(int64_t n, float *s, const void *w, const void *a) {
    row512_q45_k(n / QK_K, s, 0, w, a, 0, 1, 1);
}
void vec_dot_q6_k_avx512_gfni(int64_t n, float *s, const void *w, const void *a) {
    row512_q6_k(n / QK_K, s, 0, w, a, 0, 1);
}

void vec_dot_q2_k_avx512_gfni(int64_t n, float *s, const void *w, const void *a) {
    row512_q2_k(n / QK_K, s, 0, w, a, 0, 1);
}

void vec_dot_tile_q2_k_avx512_gfni(int64_t n, float *s, size_t s_stride, const void *w,
                                   size_t w_stride, int nrows, const void *a, size_t a_stride,
                                   int nact) {
    kq512_tile(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KQ512_Q2_K);
}
void vec_dot_tile_q4_k_avx512_gfni(int64_t n, float *s, size_t s_stride, const void *w,
                                   size_t w_stride, int nrows, const void *a, size_t a_stride,
                                   int nact) {
    kq512_tile(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KQ512_Q4_K);
}
void vec_dot_tile_q5_k_avx512_gfni(int64_t n, float *s, size_t s_stride, const void *w,
                                   size_t w_stride, int nrows, const void *a, size_t a_stride,
                                   int nact) {
    kq512_tile(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KQ512_Q5_K);
}
void vec_dot_tile_q6_k_avx512_gfni(int64_t n, float *s, size_t s_stride, const void *w,
                                   size_t w_stride, int nrows, const void *a, size_t a_stride,
                                   int nact) {
    kq512_tile(n, s, s_stride, w, w_stride, nrows, a, a_stride, nact, KQ512_Q6_K);
}
