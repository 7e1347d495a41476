/* formats.h - the scalar reference quantize/dequantize of every format (one .c each), and
 * the scale search they share (search.c, kquant.c). Internal to quant/: everything else
 * reaches formats through the type table (types.h); block layouts are in blocks.h. */
#ifndef SCARCE_FORMATS_H
#define SCARCE_FORMATS_H

#include <stdint.h>

#include "blocks.h"

#define DECLARE_FORMAT(fmt)                                                                        \
    void dequantize_##fmt(const void *src, float *dst, int64_t n);                                 \
    void quantize_##fmt(const float *src, void *dst, int64_t n, const float *importance);

/* every format of the list (type_list.h) */
#define QTYPE(NAME, fmt, ...) DECLARE_FORMAT(fmt)
#include "type_list.h"

/* --- search.c: per-block least-squares scale search (see the comment there) --- */
/* The n weights of a block: importance + offset, or all ones when importance is NULL or
 * sums to 0 in this block (then buf is filled and returned). */
const float *q_weights(const float *importance, int64_t offset, int n, float *buf);
/* The error weights of the n values x of a block at offset, as llama.cpp weights its
 * imatrix quantizations: importance (1 without an imatrix) times sqrt(sigma2 + x^2), sigma2
 * the row's mean square (q_mean_square). Larger weights count more: they are rarer, and
 * (SmolLM2, q4_0 KL) matter more than their share of the squared error. Fills buf. */
const float *q_weights_x(const float *importance, int64_t offset, const float *x, int n,
                         float sigma2, float *buf);
float q_mean_square(const float *x, int64_t n);
/* x ~ d q, q in [qmin, qmax]: returns d, fills q (n <= QK_K). */
float qsearch_sym(int n, const float *x, const float *w, int qmin, int qmax, int *q);
/* x ~ d q + m, q in [0, qmax] (m <= 0 when min_nonpos): returns d, fills *m and q. */
float qsearch_affine(int n, const float *x, const float *w, int qmax, int min_nonpos, float *m,
                     int *q);
/* x ~ d t, t in {-1, 0, 1} (n <= QK_K): d of the exact least-squares optimum as fp16 bits,
 * and the codes t for that rounded d. */
uint16_t qsearch_ternary(int n, const float *x, const float *w, int *t);
/* Codes for a given scale (round + clamp) and the weighted squared error they give. */
float q_err_sym(int n, const float *x, const float *w, float d, int qmin, int qmax, int *q);
float q_err_affine(int n, const float *x, const float *w, float d, float m, int qmax, int *q);

/* --- kquant.c: one super-block of QK_K values in nsub sub-blocks --- */
/* x ~ d*sc[j]*q - dmin*mn[j], q in [0, qmax], sc/mn in [0, smax]; d, dmin as fp16 bits. */
void kquant_affine(const float *x, const float *w, int nsub, int qmax, int smax, int *q, int *sc,
                   int *mn, uint16_t *d, uint16_t *dmin);
/* x ~ d*sc[j]*q, q in [qmin, qmax], sc in [smin, smax]; d as fp16 bits. */
void kquant_sym(const float *x, const float *w, int nsub, int qmin, int qmax, int smin, int smax,
                int *q, int *sc, uint16_t *d);

/* --- fp8.c: the two FP8 codecs (exact decode, round-to-nearest-even saturating encode) --- */
float fp8_e4m3_to_f32(uint8_t c);
float fp8_e5m2_to_f32(uint8_t c);
uint8_t f32_to_fp8_e4m3(float x);
uint8_t f32_to_fp8_e5m2(float x);

#endif
