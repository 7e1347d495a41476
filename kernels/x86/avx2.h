/* avx2.h - the AVX2 (+FMA, F16C) kernels, and avx2_install that puts them in the AVX2 table.
 * Every function here has the signature and the result of its scalar reference in
 * kernels/ref/ (up to float summation order; tests/test_kernels.c holds them to it). */
#ifndef SCARCE_AVX2_H
#define SCARCE_AVX2_H

#include <stddef.h>
#include <stdint.h>

#include "../cpu.h"

void vec_dot_f32_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_f16_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_bf16_avx2(int64_t n, float *s, const void *w, const void *a);
/* the same rows x several activation rows, each row converted once (avx2_f16_tile.c),
 * vec_dot_tile of the AVX2 table: bit for bit the row dots above */
void vec_dot_tile_f32_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                           int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_f16_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                           int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_bf16_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                            int nrows, const void *a, size_t a_stride, int nact);

/* block-32 weights against Q8_0 activations (avx2_q8.c) */
void vec_dot_q8_0_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q4_0_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q4_1_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q4_1_f32_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q5_0_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q5_1_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq4_nl_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q2_0_32_avx2(int64_t n, float *s, const void *w, const void *a);
void quantize_row_q8_0_avx2(const float *x, void *y, int64_t n);

/* NR x NA tiles of Q4_0, Q8_0, Q5_0, Q5_1, IQ4_NL (avx2_tile.c, which also has the Q5_0, Q5_1
 * and IQ4_NL row kernels: the 1 x 1 tile), vec_dot_tile of the AVX2 table */
void vec_dot_tile_q4_0_avx2(int64_t n, float *s, size_t s_stride, const void *w,
                            size_t w_stride, int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_q8_0_avx2(int64_t n, float *s, size_t s_stride, const void *w,
                            size_t w_stride, int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_q5_0_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
    int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_q5_1_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
    int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_iq4_nl_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
    int nrows, const void *a, size_t a_stride, int nact);
/* Q5_0 / IQ4_NL blocks rewritten as Q8_0 blocks, exactly (type_kernels.to_q8_0) */
void q5_0_to_q8_0_avx2(const void *src, void *dst, int64_t n);
void iq4_nl_to_q8_0_avx2(const void *src, void *dst, int64_t n);

/* FP8 weights against Q8_0 activations, vec_dot and tile (avx2_fp8.c) */
void vec_dot_fp8_e4m3_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_fp8_e5m2_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_tile_fp8_e4m3_avx2(int64_t n, float *s, size_t s_stride, const void *w,
                                size_t w_stride, int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_fp8_e5m2_avx2(int64_t n, float *s, size_t s_stride, const void *w,
                                size_t w_stride, int nrows, const void *a, size_t a_stride, int nact);

/* llama.cpp's Q2_0 (block 64) against Q8_0 activations (avx2_q2_0.c) */
void vec_dot_q2_0_avx2(int64_t n, float *s, const void *w, const void *a);

/* MXFP4 weights against Q8_0 activations, and its batch dequantizer (avx2_fp4.c) */
void vec_dot_mxfp4_avx2(int64_t n, float *s, const void *w, const void *a);
void dequantize_mxfp4_avx2(const void *src, float *dst, int64_t n);

/* K-quants against Q8_K activations (avx2_kquant.c; Q2_K and its tile: avx2_kquant_q2k.c) */
void vec_dot_q2_k_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_tile_q2_k_avx2(int64_t n, float *s, size_t s_stride, const void *w,
                            size_t w_stride, int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_q3_k_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q4_k_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q5_k_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q6_k_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_tile_q4_k_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
    int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_q5_k_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
    int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_q6_k_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
    int nrows, const void *a, size_t a_stride, int nact);
void quantize_row_q8_k_avx2(const float *x, void *y, int64_t n);

/* ternary weights against Q8_K activations (avx2_ternary.c) */
void vec_dot_tq2_0_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_tq1_0_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_tile_tq2_0_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                             int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_tq1_0_avx2(int64_t n, float *s, size_t s_stride, const void *w, size_t w_stride,
                             int nrows, const void *a, size_t a_stride, int nact);

/* NVFP4 and Q1_0 against Q8_0 activations (avx2_nvfp4.c, avx2_q1_0.c) */
void vec_dot_nvfp4_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_q1_0_avx2(int64_t n, float *s, const void *w, const void *a);

/* codebook formats against Q8_K activations (avx2_iq_sb.c) */
void vec_dot_iq2_xxs_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq2_xs_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq2_s_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq3_xxs_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq3_s_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq1_s_avx2(int64_t n, float *s, const void *w, const void *a);
void vec_dot_iq1_m_avx2(int64_t n, float *s, const void *w, const void *a);
/* their tiles: each super-block unpacked once for up to 8 tokens (avx2_iq_sb.c) */
void vec_dot_tile_iq2_xxs_avx2(int64_t n, float *s, size_t s_stride, const void *w,
    size_t w_stride, int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_iq2_xs_avx2(int64_t n, float *s, size_t s_stride, const void *w,
    size_t w_stride, int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_iq2_s_avx2(int64_t n, float *s, size_t s_stride, const void *w,
    size_t w_stride, int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_iq3_xxs_avx2(int64_t n, float *s, size_t s_stride, const void *w,
    size_t w_stride, int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_iq3_s_avx2(int64_t n, float *s, size_t s_stride, const void *w,
    size_t w_stride, int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_iq1_s_avx2(int64_t n, float *s, size_t s_stride, const void *w,
    size_t w_stride, int nrows, const void *a, size_t a_stride, int nact);
void vec_dot_tile_iq1_m_avx2(int64_t n, float *s, size_t s_stride, const void *w,
    size_t w_stride, int nrows, const void *a, size_t a_stride, int nact);

/* their batches of 16+ tokens, 16 in the lanes (x16_gemm_fn on x16k activations,
 * avx2_x16_iq.c): type_kernels.row_gemm, bit for bit the row references */
void gemm_iq2_xxsx16_avx2(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                          int nrows, const void *act, int64_t B);
void gemm_iq2_xsx16_avx2(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B);
void gemm_iq2_sx16_avx2(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                        int nrows, const void *act, int64_t B);
void gemm_iq3_xxsx16_avx2(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                          int nrows, const void *act, int64_t B);
void gemm_iq3_sx16_avx2(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                        int nrows, const void *act, int64_t B);
void gemm_iq1_sx16_avx2(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                        int nrows, const void *act, int64_t B);
void gemm_iq1_mx16_avx2(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                        int nrows, const void *act, int64_t B);
void gemm_iq4_xsx16_avx2(int64_t cols, float *Y, size_t ldy, const void *w, size_t w_stride,
                         int nrows, const void *act, int64_t B);

/* IQ4_XS weights against Q8_K activations, and its batch dequantizer (avx2_iq4_xs.c) */
void vec_dot_iq4_xs_avx2(int64_t n, float *s, const void *w, const void *a);
void dequantize_iq4_xs_avx2(const void *src, float *dst, int64_t n);

/* f32 GEMM micro-kernel (gemm_tile_fn of kernels/gemm.h) and the dequantizers that fill its
 * panels, same values as the reference dequantizers of quant/ (avx2_gemm.c) */
void gemm_tile_f32_avx2(int64_t kc, const float *xt, size_t ldx, const float *w, size_t ldw,
                        float *c, size_t ldc, int nr, int ng, int accumulate);
void dequantize_f16_avx2(const void *src, float *dst, int64_t n);
void dequantize_bf16_avx2(const void *src, float *dst, int64_t n);
void dequantize_q8_0_avx2(const void *src, float *dst, int64_t n);
void dequantize_q4_0_avx2(const void *src, float *dst, int64_t n);

/* Attention and swiglu (avx2_attention.c): attention_heads_fn and swiglu of kernels/ops.h
 * (head_dim not a multiple of 8 falls back to the reference); exp_f32_avx2: y = e^x with
 * the 8-lane exp they use (relative error 1.2e-7, see the file). */
void attention_heads_avx2(float *out, const float *q, const float *k, const float *v, int n_pos,
                          int n_group, int head_dim, int kv_stride, float scale);
void swiglu_avx2(float *gate, const float *up, int n);
void geglu_avx2(float *gate, const float *up, int n);
void exp_f32_avx2(float *y, const float *x, int n);

/* The AVX2 ISA's table: its kernels over the reference ones (kernels_init). */
void avx2_install(isa_kernels *k);

#endif
