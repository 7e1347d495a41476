/* imatrix.h - importance matrix: for each weight matrix, the mean squared activation of
 * each input column, E[x_j^2], over the tokens of a text. A weight w_ij multiplies x_j, so
 * its rounding error costs about E[x_j^2] * err_ij^2 in the output: that is the weight the
 * quantizers give each column (quant_type.quantize's `importance`).
 *
 * File: a GGUF with one f32 tensor [cols] per weight matrix, named like the weight
 * ("blk.0.attn_q.weight"), plus imatrix.chunk_count / imatrix.chunk_size / imatrix.dataset. */
#ifndef SCARCE_IMATRIX_H
#define SCARCE_IMATRIX_H

#include <stdint.h>

#include "error.h"

typedef struct imatrix imatrix;

imatrix *imatrix_new(void);
void imatrix_free(imatrix *im);
/* Accumulates B rows of cols activations for `weight`; the signature of session.act_hook
 * (ctx is the imatrix). Out of memory is remembered and reported by imatrix_write. */
void imatrix_observe(void *ctx, const char *weight, const float *x, int B, int64_t cols);
/* Number of weight matrices seen so far. */
int imatrix_count(const imatrix *im);
/* Writes the means atomically. */
int imatrix_write(const imatrix *im, const char *path, int n_chunks, int chunk_size,
                  const char *dataset, scarce_error *err);

#endif
